// Package logvars turns markers in the targets' logs into variables (docs/CONTRACT.md#variables).
//
// Two marker forms are recognised:
//
//   - BK-CI's `::set-output name=KEY::VALUE`. The marker may stand anywhere on a line (JOB and
//     scripts put prefixes such as `[2024-01-01 00:00:00][PID:1] ` before it). The name runs to
//     the next `::`, the value to the end of the line (trailing carriage returns are dropped).
//     Only the first marker of a line counts: the value is the rest of the line, whatever it holds.
//   - bk-sops's `<SOPS_VAR>KEY:VALUE</SOPS_VAR>`, also HTML-escaped as
//     `&lt;SOPS_VAR&gt;KEY:VALUE&lt;/SOPS_VAR&gt;`. As in bk-sops, a marker may span lines, a line
//     may hold several, the content ends at the first closing tag after the opening one, and it
//     splits at its first colon (content without a colon is no variable). Unlike bk-sops, the key
//     is trimmed of surrounding white space, a CRLF inside the value becomes LF, and the key and
//     value of an HTML-escaped marker are unescaped (the whole log was escaped, so was the value).
//
// Extract only finds markers; the [Collector] applies the naming rules and merges targets.
package logvars

import (
	"html"
	"sort"
	"strings"
)

// Form says which marker a variable came from.
type Form int

const (
	// FormSetOutput is `::set-output name=KEY::VALUE`.
	FormSetOutput Form = iota + 1
	// FormSOPS is `<SOPS_VAR>KEY:VALUE</SOPS_VAR>`.
	FormSOPS
	// FormSOPSEscaped is `&lt;SOPS_VAR&gt;KEY:VALUE&lt;/SOPS_VAR&gt;`.
	FormSOPSEscaped
)

// String returns a short name of the form, for messages.
func (f Form) String() string {
	switch f {
	case FormSetOutput:
		return "set-output"
	case FormSOPS:
		return "SOPS_VAR"
	case FormSOPSEscaped:
		return "SOPS_VAR (HTML-escaped)"
	default:
		return "unknown"
	}
}

// Var is one variable found in a log. Name is not yet checked against the naming rule.
type Var struct {
	Name  string
	Value string
	Form  Form // which marker it came from
}

const (
	setOutputMarker = "::set-output name="
	sopsWord        = "SOPS_VAR"
)

type sopsTags struct {
	open, close string
	form        Form
}

var sopsForms = [...]sopsTags{
	{open: "<SOPS_VAR>", close: "</SOPS_VAR>", form: FormSOPS},
	{open: "&lt;SOPS_VAR&gt;", close: "&lt;/SOPS_VAR&gt;", form: FormSOPSEscaped},
}

// found is a variable with the byte offset of its marker, for ordering.
type found struct {
	at int
	v  Var
}

// Extract returns the variables marked in log, in order of appearance (by the position of their
// markers). A name may occur several times; the caller decides which occurrence wins. A log
// without markers costs about two substring searches. The returned strings may share memory
// with log; copy them to keep them without the log.
func Extract(log string) []Var {
	hasSetOutput := strings.Contains(log, setOutputMarker)
	hasSOPS := strings.Contains(log, sopsWord)
	if !hasSetOutput && !hasSOPS {
		return nil
	}
	var all []found
	if hasSetOutput {
		all = appendSetOutput(all, log)
	}
	if hasSOPS {
		for _, tags := range sopsForms {
			all = appendSOPS(all, log, tags)
		}
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	out := make([]Var, len(all))
	for i, f := range all {
		out[i] = f.v
	}
	return out
}

// appendSetOutput finds `::set-output name=KEY::VALUE` markers, the first of each line.
func appendSetOutput(dst []found, log string) []found {
	pos := 0
	for pos < len(log) {
		i := strings.Index(log[pos:], setOutputMarker)
		if i < 0 {
			break
		}
		at := pos + i
		rest := log[at+len(setOutputMarker):]
		line := rest
		next := len(log)
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			line = rest[:nl]
			next = at + len(setOutputMarker) + nl + 1
		}
		line = strings.TrimRight(line, "\r")
		if sep := strings.Index(line, "::"); sep > 0 {
			dst = append(dst, found{at: at, v: Var{Name: line[:sep], Value: line[sep+2:], Form: FormSetOutput}})
		}
		pos = next
	}
	return dst
}

// appendSOPS finds the markers of one SOPS form.
func appendSOPS(dst []found, log string, tags sopsTags) []found {
	pos := 0
	for pos < len(log) {
		i := strings.Index(log[pos:], tags.open)
		if i < 0 {
			break
		}
		at := pos + i
		start := at + len(tags.open)
		j := strings.Index(log[start:], tags.close)
		if j < 0 {
			// No closing tag after this opening one, hence none after any later one either.
			break
		}
		content := log[start : start+j]
		pos = start + j + len(tags.close)
		if v, ok := sopsVar(content, tags.form); ok {
			dst = append(dst, found{at: at, v: v})
		}
	}
	return dst
}

// sopsVar splits a SOPS marker's content into a variable.
func sopsVar(content string, form Form) (Var, bool) {
	if form == FormSOPSEscaped && strings.IndexByte(content, '&') >= 0 {
		content = html.UnescapeString(content)
	}
	key, value, ok := strings.Cut(content, ":")
	if !ok {
		return Var{}, false
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return Var{}, false
	}
	value = strings.ReplaceAll(value, "\r\n", "\n")
	return Var{Name: key, Value: value, Form: form}, true
}
