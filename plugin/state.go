package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"jobfastexecutescript/internal/atomicfile"
	"jobfastexecutescript/internal/jobapi"
)

// State is what a later action (the post action after a SIGKILL) needs to find the job again:
// <workspace>/.jobFastExecuteScript/<taskId>/state.json.
type State struct {
	JobInstanceID   int64     `json:"job_instance_id"`
	JobInstanceName string    `json:"job_instance_name"`
	StepInstanceID  int64     `json:"step_instance_id"`
	ScopeType       string    `json:"bk_scope_type"`
	ScopeID         string    `json:"bk_scope_id"`
	Operator        string    `json:"operator"`
	TaskName        string    `json:"task_name"`
	TaskNameGiven   bool      `json:"task_name_given,omitempty"` // from the form: not unique, never looked up
	OnCancel        string    `json:"on_cancel"`
	JobURL          string    `json:"job_url,omitempty"`
	SubmittedAt     time.Time `json:"submitted_at"`
}

// stateRoot is <workspace>/.jobFastExecuteScript (the workspace: bkWorkspace, else WORKSPACE from
// input.json or the environment, else cwd).
func stateRoot(b Build) string {
	ws := b.Workspace
	if ws == "" {
		ws = b.WorkspaceEnv
	}
	if ws == "" {
		ws, _ = os.Getwd()
	}
	return filepath.Join(ws, "."+AtomCode)
}

func statePath(b Build, taskID string) string {
	return filepath.Join(stateRoot(b), safeName(taskID), "state.json")
}

// saveState writes the state file: once before the submit (no job id yet: the post action then looks
// the job up by its unique task name) and again the moment the job id is known. A failure is a
// warning: the job runs.
func (s *step) saveState(sub jobapi.Submitted) {
	submitted := time.Now().UTC()
	if s.state != nil {
		submitted = s.state.SubmittedAt
	}
	s.state = &State{
		JobInstanceID: sub.JobInstanceID, JobInstanceName: sub.JobInstanceName, StepInstanceID: sub.StepInstanceID,
		ScopeType: s.cfg.ScopeType, ScopeID: s.cfg.ScopeID, Operator: s.cfg.Operator, TaskName: s.cfg.TaskName,
		TaskNameGiven: s.cfg.TaskNameGiven, OnCancel: s.cfg.OnCancel, JobURL: s.jobURL(), SubmittedAt: submitted,
	}
	if err := writeState(statePath(s.cfg.Build, s.cfg.Build.TaskID), s.state); err != nil {
		s.log.Warn(s.t("msg.state_failed", s.log.Redact(err.Error())))
	}
}

func writeState(path string, st *State) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	// 0600 like the temporary file it was before: the state is the step's own.
	if err := atomicfile.Write(path, 0o600, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func readState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &st, nil
}
