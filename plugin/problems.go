package plugin

import (
	"strings"

	"jobfastexecutescript/i18n"
)

// Problem is one invalid input: the task.json key of the field and a message key with its arguments.
type Problem struct {
	Field string
	Key   string
	Args  []any
}

// Text renders p in lang, naming the field by its form label.
func (p Problem) Text(lang i18n.Lang) string {
	msg := lang.T(p.Key, p.Args...)
	if p.Field == "" {
		return msg
	}
	return lang.T("val.field", lang.T("field."+p.Field), msg)
}

// Problems collects validation problems and warnings in the order found.
type Problems struct {
	Errors   []Problem
	Warnings []Problem
}

func (ps *Problems) add(field, key string, args ...any) {
	ps.Errors = append(ps.Errors, Problem{Field: field, Key: key, Args: args})
}

func (ps *Problems) warn(field, key string, args ...any) {
	ps.Warnings = append(ps.Warnings, Problem{Field: field, Key: key, Args: args})
}

// InputError reports every invalid input at once. It is a user error (errorType 1).
type InputError struct {
	Problems []Problem
	Lang     i18n.Lang
}

func (e *InputError) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		lines = append(lines, p.Text(e.Lang))
	}
	return e.Lang.T("val.summary", len(e.Problems)) + "\n" + strings.Join(lines, "\n")
}
