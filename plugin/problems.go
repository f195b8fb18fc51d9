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

	// unresolved are the fields that still hold a variable reference: that is their one problem,
	// and what parsing the reference as a value would add about them is left out.
	unresolved map[string]bool
}

func (ps *Problems) add(field, key string, args ...any) {
	if ps.unresolved[field] {
		return
	}
	ps.Errors = append(ps.Errors, Problem{Field: field, Key: key, Args: args})
}

func (ps *Problems) warn(field, key string, args ...any) {
	if ps.unresolved[field] {
		return
	}
	ps.Warnings = append(ps.Warnings, Problem{Field: field, Key: key, Args: args})
}

// addUnresolved reports that field still holds the variable references refs, and nothing else
// about that field.
func (ps *Problems) addUnresolved(field string, refs []string) {
	ps.add(field, "val.unresolved", strings.Join(refs, ", "))
	if ps.unresolved == nil {
		ps.unresolved = map[string]bool{}
	}
	ps.unresolved[field] = true
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
