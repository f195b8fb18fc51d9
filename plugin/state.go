package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"jobfastexecutescript/internal/atomicfile"
	"jobfastexecutescript/internal/bkciapi"
	"jobfastexecutescript/internal/jobapi"
)

// stateFile is the name of the state file in the step's data dir.
const stateFile = "jobFastExecuteScript.state.json"

// State is what the post action needs to find this run's job again after BK-CI killed the step.
//
// Where it lives: in the step's data dir, which BK-CI's worker creates for each run of a task as
// <tmp>/<atomCode>_<taskId>_data<random> and deletes only when the worker exits at the end of the job
// (bk-ci worker-common .../task/market/MarketAtomTask.kt: Files.createTempDirectory, and
// deletePluginFile -> FileUtils.deleteRecursivelyOnExit). The post action runs later in the same worker,
// on agents and on agentless jobs alike, so it finds its parent's data dirs beside its own
// (findStates). The workspace is no such place: an agentless job gets a fresh one per task, and an
// agent keeps one across builds.
type State struct {
	// The run (Run): the post action acts only on a state of its own build's run of its parent step.
	BuildID string `json:"build_id"`
	TaskID  string `json:"task_id"`
	Retry   string `json:"retry_count,omitempty"`

	JobInstanceID   int64        `json:"job_instance_id"` // 0 before the submit's answer
	JobInstanceName string       `json:"job_instance_name,omitempty"`
	StepInstanceID  int64        `json:"step_instance_id,omitempty"`
	ScopeType       string       `json:"bk_scope_type"`
	ScopeID         string       `json:"bk_scope_id"`
	Operator        string       `json:"operator"`
	TaskName        string       `json:"task_name"` // unique per run (runMarker)
	OnCancel        CancelPolicy `json:"on_cancel"`
	JobURL          string       `json:"job_url,omitempty"`
	SubmittedAt     time.Time    `json:"submitted_at"`
}

func (st *State) run() Run { return Run{BuildID: st.BuildID, TaskID: st.TaskID, Retry: st.Retry} }

// saveState writes the state file: once before the submit (no job id yet: the post action then looks
// the job up by its unique task name) and again the moment the job id is known. A failure is a
// warning: the job runs.
func (s *step) saveState(sub jobapi.Submitted) {
	submitted := time.Now().UTC()
	if s.state != nil {
		submitted = s.state.SubmittedAt
	}
	r := s.cfg.Run
	s.state = &State{
		BuildID: r.BuildID, TaskID: r.TaskID, Retry: r.Retry,
		JobInstanceID: sub.JobInstanceID, JobInstanceName: sub.JobInstanceName, StepInstanceID: sub.StepInstanceID,
		ScopeType: s.cfg.ScopeType, ScopeID: s.cfg.ScopeID, Operator: s.cfg.Operator, TaskName: s.cfg.TaskName,
		OnCancel: s.cfg.OnCancel, JobURL: s.jobURL(), SubmittedAt: submitted,
	}
	if err := writeState(filepath.Join(s.in.DataDir, stateFile), s.state); err != nil {
		s.log.Warn(s.t("msg.state_failed", s.log.Redact(err.Error())))
	}
}

func writeState(path string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	// 0600: the state is the step's own.
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

// parentRuns is what the post action finds of its parent step's runs in this worker.
type parentRuns struct {
	states []*State // this run's states, newest first
	ran    bool     // a data dir of the parent in this build: the step ran in this worker
	errs   []error  // state files that could not be read
}

// findStates looks for the states of run (the parent step's run of this build) in the data dirs of
// the parent's task beside dataDir, the post action's own data dir.
func findStates(dataDir string, run Run) parentRuns {
	var out parentRuns
	pattern := filepath.Join(filepath.Dir(dataDir), globEscape(AtomCode+"_"+run.TaskID+"_data")+"*")
	dirs, _ := filepath.Glob(pattern)
	for _, d := range dirs {
		if d == dataDir {
			continue
		}
		st, err := readState(filepath.Join(d, stateFile))
		switch {
		case err == nil:
			if st.run() == run {
				out.ran = true
				out.states = append(out.states, st)
			}
		case errors.Is(err, fs.ErrNotExist):
			// The step ran here but had not reached its submit, when the worker's own file says the
			// dir is this build's (an earlier build's can outlive a crashed worker).
			if sdk, err := bkciapi.ReadSDKEnv(d); err == nil && sdk.BuildID == run.BuildID {
				out.ran = true
			}
		default:
			out.errs = append(out.errs, err)
		}
	}
	sort.SliceStable(out.states, func(i, j int) bool { return out.states[i].SubmittedAt.After(out.states[j].SubmittedAt) })
	return out
}

// globEscape escapes filepath.Match's special characters in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
