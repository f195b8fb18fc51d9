// Package report writes the run's report (docs/CONTRACT.md#report): a self-contained HTML page,
// index.html, with one row per target and a status filter, and result.json beside it with the
// full structured result. Both are streamed, so 30,000 targets never become one big string.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"jobfastexecutescript/internal/atomicfile"
	"jobfastexecutescript/internal/logvars"
)

// File names inside the report directory.
const (
	HTMLFile = "index.html"
	JSONFile = "result.json"
)

// Target kinds.
const (
	KindHost      = "host"
	KindContainer = "container"
)

// Target is one execute object of the job.
type Target struct {
	Label      string            `json:"label"`       // cloudId:ip, host:<id> or container:<name>@<id>
	Kind       string            `json:"kind"`        // KindHost or KindContainer
	Status     int               `json:"status"`      // JOB's execute-object status
	StatusName string            `json:"status_name"` // its name in the run's language
	Success    bool              `json:"success"`
	NotStarted bool              `json:"not_started"` // never ran (JOB's status 5 in a finished job): not failed
	ExitCode   *int              `json:"exit_code"`   // nil when the target never ran a script
	DurationMs *int64            `json:"duration_ms"` // nil when unknown
	Tag        string            `json:"tag"`
	LogTail    string            `json:"log_tail"`
	Vars       map[string]string `json:"vars,omitempty"`     // variables from this target's log
	LogFile    string            `json:"log_file,omitempty"` // its full log (Logs.Add), relative to the report folder

	HostID        int64  `json:"host_id,omitempty"` // bk_host_id (for containers: the node's, when known)
	CloudID       int64  `json:"cloud_id"`          // written for hosts only
	IP            string `json:"ip,omitempty"`
	ContainerID   int64  `json:"container_id,omitempty"`
	ContainerName string `json:"container_name,omitempty"`
}

// targetJSON is Target's JSON shape: cloud_id only for hosts (0 is a real cloud area).
type targetJSON struct {
	Label         string            `json:"label"`
	Kind          string            `json:"kind"`
	Status        int               `json:"status"`
	StatusName    string            `json:"status_name"`
	Success       bool              `json:"success"`
	NotStarted    bool              `json:"not_started"`
	ExitCode      *int              `json:"exit_code"`
	DurationMs    *int64            `json:"duration_ms"`
	Tag           string            `json:"tag"`
	LogTail       string            `json:"log_tail"`
	Vars          map[string]string `json:"vars,omitempty"`
	LogFile       string            `json:"log_file,omitempty"`
	HostID        int64             `json:"host_id,omitempty"`
	CloudID       *int64            `json:"cloud_id,omitempty"`
	IP            string            `json:"ip,omitempty"`
	ContainerID   int64             `json:"container_id,omitempty"`
	ContainerName string            `json:"container_name,omitempty"`
}

// MarshalJSON writes cloud_id for hosts only.
func (t Target) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(t.toJSON()); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func (t *Target) toJSON() *targetJSON {
	j := &targetJSON{
		Label: t.Label, Kind: t.Kind, Status: t.Status, StatusName: t.StatusName, Success: t.Success, NotStarted: t.NotStarted,
		ExitCode: t.ExitCode, DurationMs: t.DurationMs, Tag: t.Tag, LogTail: t.LogTail, Vars: t.Vars, LogFile: t.LogFile,
		HostID: t.HostID, IP: t.IP, ContainerID: t.ContainerID, ContainerName: t.ContainerName,
	}
	if t.Kind != KindContainer {
		cloud := t.CloudID
		j.CloudID = &cloud
	}
	return j
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Target) UnmarshalJSON(b []byte) error {
	var j targetJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Target{
		Label: j.Label, Kind: j.Kind, Status: j.Status, StatusName: j.StatusName, Success: j.Success,
		ExitCode: j.ExitCode, DurationMs: j.DurationMs, Tag: j.Tag, LogTail: j.LogTail, Vars: j.Vars, LogFile: j.LogFile,
		HostID: j.HostID, IP: j.IP, ContainerID: j.ContainerID, ContainerName: j.ContainerName,
	}
	if j.CloudID != nil {
		t.CloudID = *j.CloudID
	}
	return nil
}

// StatusCount is the number of targets in one status.
type StatusCount struct {
	Status int    `json:"status"`
	Name   string `json:"name"`
	Count  int    `json:"count"`
}

// Batch is one batch of a rolling job. JOB names no batch per target: the step attributes targets
// to batches from their start and end times (docs/CONTRACT.md#report).
type Batch struct {
	Number       int `json:"number"` // 1-based
	Total        int `json:"total_count"`
	SuccessCount int `json:"success_count"`
	FailedCount  int `json:"failed_count"`
	NotStarted   int `json:"not_started_count"`
}

// Attempt is one run of the step's targets: the first, then each retry of the failed ones.
type Attempt struct {
	Number       int           `json:"number"` // 1-based
	Total        int           `json:"total_count"`
	SuccessCount int           `json:"success_count"`
	FailedCount  int           `json:"failed_count"`
	NotStarted   int           `json:"not_started_count"`
	StatusCounts []StatusCount `json:"status_counts,omitempty"`
}

// Verdicts.
const (
	VerdictSuccess = "success"
	VerdictFailure = "failure"
)

// Result is everything the report shows. Its JSON form is result.json.
type Result struct {
	Plugin   string `json:"plugin"`
	Version  string `json:"version"`
	Language string `json:"language"` // zh_CN or en_US

	JobInstanceID   int64  `json:"job_instance_id"`
	StepInstanceID  int64  `json:"step_instance_id"`
	JobInstanceName string `json:"job_instance_name"`
	JobURL          string `json:"job_url"`
	JobStatus       string `json:"job_status"` // the job_status output
	JobStatusCode   int    `json:"job_status_code"`
	JobStatusName   string `json:"job_status_name,omitempty"` // the job's status in the run's language

	ScopeType string `json:"scope_type"`
	ScopeID   string `json:"scope_id"`
	Operator  string `json:"operator"`
	TaskName  string `json:"task_name"`

	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Verdict    string    `json:"verdict"` // VerdictSuccess or VerdictFailure
	Message    string    `json:"message"`

	Total        int           `json:"total_count"`
	SuccessCount int           `json:"success_count"`
	FailedCount  int           `json:"failed_count"`
	NotStarted   int           `json:"not_started_count"` // targets that never ran, not in FailedCount
	StatusCounts []StatusCount `json:"status_counts"`

	// Batches is the progress of a rolling job by batch, when the step could attribute its targets
	// to batches (see Batch); empty otherwise.
	Batches []Batch `json:"batches,omitempty"`
	// Attempts are the runs of the step when failed targets were retried, the first attempt first;
	// the page draws them when there is more than one.
	Attempts []Attempt `json:"attempts,omitempty"`

	Variables         map[string]string  `json:"variables"`
	VariableConflicts []logvars.Conflict `json:"variable_conflicts"`
	SkippedVariables  []logvars.Skip     `json:"skipped_variables"`

	Targets []Target `json:"targets,omitempty"` // streamed by Write; omitempty only serves that
}

// Translator returns the text of a message key with {0}, {1}, ... replaced by args.
type Translator = func(key string, args ...any) string

// Write writes dir/index.html and dir/result.json, creating dir, and removes the files of dir/logs
// that no target's LogFile names (an earlier run's). Each file is written to a
// temporary file in dir and renamed into place, so a reader never sees half a file. t gives
// the page's texts (keys "report.*").
func Write(dir string, r *Result, t Translator) error {
	if r == nil {
		return errors.New("write report: nil result")
	}
	if t == nil {
		return errors.New("write report: nil translator")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := removeStaleLogs(dir, r.Targets); err != nil {
		return fmt.Errorf("write report: %s: %w", LogDir, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, JSONFile), 0o644, func(w io.Writer) error { return writeJSON(w, r) }); err != nil {
		return fmt.Errorf("write report: %s: %w", JSONFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, HTMLFile), 0o644, func(w io.Writer) error { return writeHTML(w, r, t) }); err != nil {
		return fmt.Errorf("write report: %s: %w", HTMLFile, err)
	}
	return nil
}
