//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// TestPostActionAfterSIGKILLDuringSubmit: BK-CI kills the step while JOB has created the job but its
// answer has not arrived. The state file written before the submit has no job id, only the run's
// unique task name (a name from the form gets the run's marker too): the post action finds the job by
// it and terminates it, or links it with onCancel=leave. With leave, a look-up that fails leaves
// nothing undone: the post action succeeds with a warning.
func TestPostActionAfterSIGKILLDuringSubmit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, onCancel string
		listFails      bool
		taskName       string
	}{
		{"terminate", "terminate", false, ""},
		{"leave", "leave", false, ""},
		{"leave, look-up refused", "leave", true, ""},
		{"terminate, name from the form", "terminate", false, "nightly-deploy"},
		{"leave, name from the form", "leave", false, "nightly-deploy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedHang, Delay: time.Minute})
			if tc.listFails {
				sim.Inject(jobsim.Fault{Endpoint: jobsim.EPList, Calls: jobsim.Every(), Kind: jobsim.FaultResultFalse,
					Code: jobsim.CodePermissionDenied, Permission: hzPermission})
			}
			h := holdTargets(t, sim, "0:10.0.0.1")
			r := newStep(t, sim, "onCancel", tc.onCancel, "taskName", tc.taskName)
			p := r.startRun()
			id := h.job(t)
			state := statePath(r.step.DataDir)
			p.until("the pre-submit state file", func() bool { return fileExists(state) })
			b, err := os.ReadFile(state)
			if err != nil {
				t.Fatal(err)
			}
			taskName := gjson.GetBytes(b, "task_name").String()
			if gjson.GetBytes(b, "job_instance_id").Int() != 0 || taskName == "" || !strings.HasPrefix(taskName, tc.taskName) {
				t.Fatalf("state before the answer: %s", b)
			}
			p.signal(syscall.SIGKILL)
			p.waitKilled()
			res := postStep(t, sim, r, "onCancel", tc.onCancel).run("--postAction=terminate")
			wantSubmits(t, sim, 1, 1)
			snap, _ := sim.Job(id)
			res.wantStatus(t, "success", 0, "")
			if sim.Count(jobsim.EPList) == 0 {
				t.Error("the post action did not look the job up by its name")
			}
			switch {
			case tc.onCancel == "terminate":
				if snap.Status != jobsim.StatusStopSuccess || sim.Count(jobsim.EPOperateJob) != 1 {
					t.Errorf("job status %d, %d terminate requests; want 11 and 1\n%s", snap.Status, sim.Count(jobsim.EPOperateJob), res.Stdout)
				}
				return
			case snap.Status != jobsim.StatusRunning || sim.Count(jobsim.EPOperateJob) != 0:
				t.Errorf("job status %d, %d terminate requests; want the job left running", snap.Status, sim.Count(jobsim.EPOperateJob))
			}
			if tc.listFails {
				if msg := res.out.Get("message").String(); !strings.Contains(msg, taskName) || !strings.Contains(res.Stdout, "##[warning]") {
					t.Errorf("the warning does not name the task name %q: %s\n%s", taskName, msg, res.Stdout)
				}
			} else if !strings.Contains(res.Stdout, "https://job.example.com/api_execute/"+fmt.Sprint(id)) {
				t.Errorf("the post action does not link the job it left:\n%s", res.Stdout)
			}
		})
	}
}
