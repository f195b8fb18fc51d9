//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// Retrying the failed targets in the same job (retryFailed, retryInterval; plugin/retry.go). The
// simulator runs the script for real and tells it which run of the step it is in
// (JOBSIM_EXECUTE_COUNT: 0 first, one more for each retry), as JOB's execute_count.

// failUntil is a script that fails on the given targets while the step's execute count is below n.
func failUntil(n int, labels ...string) string {
	return "echo \"run $JOBSIM_EXECUTE_COUNT on $JOBSIM_TARGET_LABEL\"\ncase \"$JOBSIM_TARGET_LABEL\" in " +
		strings.Join(labels, "|") + ") [ \"$JOBSIM_EXECUTE_COUNT\" -ge " + itoa(n) + " ] || { echo boom; exit 3; };; esac\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

// retryRequests are the operate_step_instance requests with operation code 2.
func retryRequests(sim *jobsim.Sim) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Endpoint == jobsim.EPOperateStep && gjson.GetBytes(r.Body, "operation_code").Int() == 2 {
			n++
		}
	}
	return n
}

// TestRetryFailedTargetsPass: two targets fail the first run and pass the second. One submit, one
// code-2 request, the step passes with retry_count 1, and each attempt is a folded group of the log.
func TestRetryFailedTargetsPass(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", failUntil(1, "0:10.0.0.1", "0:10.0.0.3"),
		"retryFailed", "2", "retryInterval", "1").run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	if n := retryRequests(sim); n != 1 {
		t.Errorf("%d retry requests, want 1", n)
	}
	if res.data("retry_count") != "1" || res.data("success_count") != "3" || res.data("failed_count") != "0" {
		t.Errorf("retry_count %q success %q failed %q", res.data("retry_count"), res.data("success_count"), res.data("failed_count"))
	}
	wantLine(t, res.Stdout, "##[group]", "attempt 1 of 3: 3 targets")
	wantLine(t, res.Stdout, "attempt 1: job failed, 2 of 3 targets failed", "0:10.0.0.1, 0:10.0.0.3")
	wantLine(t, res.Stdout, "retry 1 of 2", "2 failed targets again in 1 s")
	wantLine(t, res.Stdout, "##[group]", "attempt 2 of 3: 2 targets")
	wantLine(t, res.Stdout, "retries of the failed targets: at most 2, 1 s apart")
	job := onlyJob(t, sim)
	if job.ExecuteCount != 1 {
		t.Errorf("execute count %d", job.ExecuteCount)
	}
	b, err := os.ReadFile(filepath.Join(reportDir(res), "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep := gjson.ParseBytes(b)
	if a := rep.Get("attempts"); len(a.Array()) != 2 || a.Get("0.failed_count").Int() != 2 || a.Get("1.failed_count").Int() != 0 {
		t.Errorf("report attempts %s", a.Raw)
	}
	// The target that passed the first time ran once, and the report shows that run's log; the retried
	// ones show the second run's.
	for _, tg := range rep.Get("targets").Array() {
		want := "run 1 on"
		if tg.Get("label").String() == "0:10.0.0.2" {
			want = "run 0 on"
		}
		if !strings.Contains(tg.Get("log_tail").String(), want) {
			t.Errorf("%s's log %q, want %q", tg.Get("label"), tg.Get("log_tail"), want)
		}
	}
}

// TestRetryFailedEveryAttempt: a target that fails every run: the step fails after 1 + retryFailed
// attempts with the last attempt's failed targets, and retry_count says how many retries ran.
func TestRetryFailedEveryAttempt(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", failOn("0:10.0.0.2"), "retryFailed", "2", "retryInterval", "0").run()
	res.wantStatus(t, "failure", 1, "failed")
	if n := retryRequests(sim); n != 2 {
		t.Errorf("%d retry requests, want 2", n)
	}
	if res.data("retry_count") != "2" || res.data("failed_targets") != "0:10.0.0.2" || res.data("success_count") != "2" {
		t.Errorf("retry_count %q failed %q success %q", res.data("retry_count"), res.data("failed_targets"), res.data("success_count"))
	}
	wantLine(t, res.Stdout, "attempt 3 of 3: 1 target")
	if strings.Contains(res.Stdout, "attempt 4") {
		t.Error("a fourth attempt")
	}
	if job := onlyJob(t, sim); job.ExecuteCount != 2 {
		t.Errorf("execute count %d", job.ExecuteCount)
	}
}

// TestNoRetryAfterStopInJOB: a person stops the job in JOB (status 11): no retry, whatever retryFailed.
func TestNoRetryAfterStopInJOB(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	h := holdTargets(t, sim, "0:10.0.0.2")
	p := newStep(t, sim, "retryFailed", "3", "retryInterval", "0").startRun()
	id := h.job(t)
	if err := sim.UITerminate(id, jobsim.StatusStopSuccess); err != nil {
		t.Fatal(err)
	}
	res := p.wait()
	res.wantStatus(t, "failure", 1, "terminated")
	if n := retryRequests(sim); n != 0 {
		t.Errorf("%d retry requests after a stop in JOB", n)
	}
	if res.data("retry_count") != "0" {
		t.Errorf("retry_count %q", res.data("retry_count"))
	}
}

// TestRetryRolling: serial rolling, one target a batch, mode 1 (pause on failure). The second batch fails
// its first run: JOB stops there; the retry re-runs that batch's failed target and rolling goes on to
// the third batch (GseStepEventHandler.retryStepFail, JobListener's next batch).
func TestRetryRolling(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", failUntil(1, "0:10.0.0.2"), "retryFailed", "1", "retryInterval", "0",
		"rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "1").run()
	res.wantStatus(t, "success", 0, "success")
	wantLine(t, res.Stdout, "attempt 1: job failed, 1 of 3 targets failed", "0:10.0.0.2")
	// The second attempt runs the failed target and the batch rolling had not reached.
	wantLine(t, res.Stdout, "##[group]", "attempt 2 of 2: 2 targets")
	if res.data("retry_count") != "1" || res.data("success_count") != "3" {
		t.Errorf("retry_count %q success %q", res.data("retry_count"), res.data("success_count"))
	}
	// The retried target and the batch after it ran in the second run.
	wantRuns(t, sim, "0:10.0.0.1")
}

// TestRetryRollingIgnoreFailures: rolling mode 2 ends the job successful (JOB ignores the failures), so
// nothing is retried; the plan warns of it.
func TestRetryRollingIgnoreFailures(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", failOn("0:10.0.0.2"), "retryFailed", "2",
		"rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "2").run()
	if n := retryRequests(sim); n != 0 {
		t.Errorf("%d retry requests", n)
	}
	wantLine(t, res.Stdout, "Ignore failures", "no retry will run")
}

// TestRetryCallback: callback mode: the retried job finishes and calls back again; the step follows it
// to its second end without waiting for a safety poll.
func TestRetryCallback(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	r, _ := callbackStep(t, sim, "scriptContent", failUntil(1, "0:10.0.0.3"), "retryFailed", "1", "retryInterval", "1")
	res := r.run()
	res.wantStatus(t, "success", 0, "success")
	if res.data("retry_count") != "1" {
		t.Errorf("retry_count %q", res.data("retry_count"))
	}
	job := onlyJob(t, sim)
	recs := 0
	for _, c := range sim.Callbacks() {
		if c.JobID == job.ID {
			recs++
		}
	}
	if recs != 2 {
		t.Errorf("%d callbacks, want 2 (one per run)", recs)
	}
	if res.Duration > 12*time.Second {
		t.Errorf("the run took %v: it waited for a safety poll", res.Duration)
	}
}

// TestRetryStaggered: staggered rolling: JOB retries the failed targets of every batch, with new
// stagger times (GseStepEventHandler.retryParallelStep).
func TestRetryStaggered(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", failUntil(1, "0:10.0.0.1", "0:10.0.0.3"), "retryFailed", "1", "retryInterval", "0",
		"rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "staggered", "rollingStaggerSeconds", "1").run()
	res.wantStatus(t, "success", 0, "success")
	if res.data("retry_count") != "1" || res.data("success_count") != "3" {
		t.Errorf("retry_count %q success %q", res.data("retry_count"), res.data("success_count"))
	}
	wantRuns(t, sim, "0:10.0.0.2")
}

// wantRuns asserts that the job's kept target ran in the first run (execute count 0) and every other
// target in the second (1).
func wantRuns(t *testing.T, sim *jobsim.Sim, kept string) {
	t.Helper()
	for _, tg := range onlyJob(t, sim).Targets {
		want := 1
		if tg.Label == kept {
			want = 0
		}
		if tg.ExecuteCount != want {
			t.Errorf("%s ran in run %d, want %d", tg.Label, tg.ExecuteCount, want)
		}
	}
}

// TestRetryRollingConfirm: rolling mode 3 (confirm each batch): the second batch fails, is retried, and
// the job waits for a confirmation again before the third batch, as JOB rolls on after a retried batch.
func TestRetryRollingConfirm(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	p := newStep(t, sim, "scriptContent", failUntil(1, "0:10.0.0.2"), "retryFailed", "1", "retryInterval", "0",
		"rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "3").startRun()
	const msg = "waiting for confirmation of batch"
	for pause := 1; pause <= 2; pause++ {
		p.untilCount(msg, pause)
		id := onlyJob(t, sim).ID
		if err := sim.ConfirmContinue(id); err != nil {
			t.Fatalf("pause %d: %v", pause, err)
		}
	}
	res := p.wait()
	res.wantStatus(t, "success", 0, "success")
	if res.data("retry_count") != "1" || res.data("success_count") != "3" {
		t.Errorf("retry_count %q success %q", res.data("retry_count"), res.data("success_count"))
	}
	if i, j := strings.Index(res.Stdout, "retry 1 of 1 started"), strings.LastIndex(res.Stdout, msg+" 3"); i < 0 || j < i {
		t.Errorf("the second pause does not follow the retry:\n%s", res.Stdout)
	}
}
