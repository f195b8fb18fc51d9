package plugin

import "strings"

// WaitMode is how the step waits for the job (the wait input).
type WaitMode string

// The wait modes.
const (
	WaitPoll     WaitMode = "poll"     // poll the status until JOB says finished
	WaitCallback WaitMode = "callback" // JOB calls the step back; a slow poll is the safety net
	WaitNone     WaitMode = "none"     // submit and succeed
)

// CancelPolicy is what happens to the job when the step ends early (the onCancel input).
type CancelPolicy string

// The cancel policies.
const (
	CancelTerminate CancelPolicy = "terminate"
	CancelLeave     CancelPolicy = "leave"
)

// LogMode is whose logs are printed (the logMode input). Auto is resolved per run (printMode) into one
// of the others.
type LogMode string

// The log modes.
const (
	LogAuto   LogMode = "auto"
	LogAll    LogMode = "all"
	LogFailed LogMode = "failed"
	LogNone   LogMode = "none"
)

// ScriptSource is where the script comes from (the scriptSource input).
type ScriptSource string

// The script sources.
const (
	SourceInline          ScriptSource = "inline"
	SourceScriptID        ScriptSource = "scriptId"
	SourceScriptVersionID ScriptSource = "scriptVersionId"
	SourceFile            ScriptSource = "file" // a file in the workspace (scriptFile)
)

var (
	waitModes     = []WaitMode{WaitPoll, WaitCallback, WaitNone}
	cancelModes   = []CancelPolicy{CancelTerminate, CancelLeave}
	logModes      = []LogMode{LogAuto, LogAll, LogFailed, LogNone}
	scriptSources = []ScriptSource{SourceInline, SourceFile, SourceScriptID, SourceScriptVersionID}
)

// parseMode returns v when it is one of allowed, else adds a problem for field and returns "".
func parseMode[T ~string](ps *Problems, field, v string, allowed []T) T {
	v = strings.TrimSpace(v)
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if v == string(a) {
			return a
		}
		names[i] = string(a)
	}
	ps.add(field, "val.enum", v, strings.Join(names, ", "))
	return ""
}
