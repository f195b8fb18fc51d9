package e2e

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/internal/jobsim"
)

// TestPostActionAfterSIGKILLDuringSubmit: BK-CI kills the step while JOB has created the job but its
// answer has not arrived. The state file written before the submit has no job id, only the unique task
// name: the post action finds the job by it and terminates it.
func TestPostActionAfterSIGKILLDuringSubmit(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedHang, Delay: time.Minute})
	h := holdTargets(t, sim, "0:10.0.0.1")
	r := newStep(t, sim)
	p := r.startRun()
	id := h.job(t)
	state := statePath(r.step.Workspace, "e-task1")
	p.until("the pre-submit state file", func() bool { return fileExists(state) })
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if gjson.GetBytes(b, "job_instance_id").Int() != 0 || gjson.GetBytes(b, "task_name").String() == "" {
		t.Fatalf("state before the answer: %s", b)
	}
	p.signal(syscall.SIGKILL)
	p.waitKilled()
	res := postStep(t, sim, r).run("--postAction=terminate")
	res.wantStatus(t, "success", 0, "")
	wantSubmits(t, sim, 1, 1)
	if snap, _ := sim.Job(id); snap.Status != jobsim.StatusStopSuccess || sim.Count(jobsim.EPOperateJob) != 1 {
		t.Errorf("job status %d, %d terminate requests; want 11 and 1\n%s", snap.Status, sim.Count(jobsim.EPOperateJob), res.Stdout)
	}
	if sim.Count(jobsim.EPList) == 0 {
		t.Error("the post action did not look the job up by its name")
	}
}
