package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"jobfastexecutescript/internal/logvars"
)

// writeJSON streams r as JSON: the header fields in one piece, then the targets one by one.
func writeJSON(w io.Writer, r *Result) error {
	h := *r
	h.Targets = nil
	// Empty collections are written as [] and {}, never null.
	if h.Variables == nil {
		h.Variables = map[string]string{}
	}
	if h.StatusCounts == nil {
		h.StatusCounts = []StatusCount{}
	}
	if h.VariableConflicts == nil {
		h.VariableConflicts = []logvars.Conflict{}
	}
	if h.SkippedVariables == nil {
		h.SkippedVariables = []logvars.Skip{}
	}
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&h); err != nil {
		return err
	}
	b := bytes.TrimRight(head.Bytes(), "\n")
	if len(b) < 2 || b[len(b)-1] != '}' {
		return errors.New("unexpected JSON encoding of the result header")
	}
	if _, err := w.Write(b[:len(b)-1]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, `,"targets":[`); err != nil {
		return err
	}
	enc = json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range r.Targets {
		sep := "\n"
		if i > 0 {
			sep = ",\n"
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		// Encode ends each target with a newline, which JSON allows between tokens.
		if err := enc.Encode(r.Targets[i].toJSON()); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return err
}
