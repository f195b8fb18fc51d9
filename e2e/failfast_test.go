//go:build e2e

package e2e

import (
	"regexp"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// Fail fast (failFast; plugin/failfast.go): the step terminates the job as soon as more targets failed
// than failureTolerance allows. The simulated targets finish one by one at their own times.

// firstFail is a 40-target outcome: hosts 1..n fail one after another (host i after i × gap), the
// others succeed after long.
func firstFail(n int, gap, long time.Duration) func(jobsim.Target) jobsim.Outcome {
	return func(tg jobsim.Target) jobsim.Outcome {
		if tg.HostID <= int64(n) {
			return jobsim.Outcome{ExitCode: 3, Duration: time.Duration(tg.HostID) * gap, Log: "boom\n"}
		}
		return jobsim.Outcome{Duration: long, Log: "ok\n"}
	}
}

func terminateRequests(sim *jobsim.Sim) int { return sim.Count(jobsim.EPOperateJob) }

// TestFailFastStopsEarly: 40 targets, the first 6 fail one after another, tolerance 2. The terminate
// comes within seconds of the third failure, long before the job would end (the others take 60 s), and
// the step fails with the counts split; onCancel=leave does not keep the job running.
func TestFailFastStopsEarly(t *testing.T) {
	t.Parallel()
	sim := fleetSim(t, 40, firstFail(6, 300*time.Millisecond, 60*time.Second))
	start := time.Now()
	res := fleetStep(t, sim, "failureTolerance", "2", "failFast", "true", "onCancel", "leave").run()
	res.wantStatus(t, "failure", 1, "failed")
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the step took %v: it did not stop early (the job runs 60 s)", took)
	}
	if res.out.Get("errorCode").Int() != 800018 {
		t.Errorf("errorCode %d", res.out.Get("errorCode").Int())
	}
	if n := terminateRequests(sim); n != 1 {
		t.Errorf("%d terminate requests", n)
	}
	job := onlyJob(t, sim)
	if job.Status != jobsim.StatusStopSuccess {
		t.Errorf("job status %d, want 11 (stopped)", job.Status)
	}
	// The third failure comes 0.9 s after the start; the terminate within seconds of it.
	var firstFailEnd time.Time
	for _, tg := range job.Targets {
		if tg.HostID == 3 {
			firstFailEnd = tg.End
		}
	}
	for _, r := range sim.Requests() {
		if r.Endpoint == jobsim.EPOperateJob {
			if d := r.Time.Sub(firstFailEnd); d > 5*time.Second {
				t.Errorf("the terminate came %v after the third failure", d)
			}
		}
	}
	// failed_count holds the targets killed while running too (failed_targets is what to run again);
	// the message splits them.
	if res.data("failed_count") != "40" || res.data("not_started_count") != "0" {
		t.Errorf("failed_count %q not_started_count %q", res.data("failed_count"), res.data("not_started_count"))
	}
	wantLine(t, res.Stdout, "fail fast:", "targets failed, over the tolerance 2: terminating job")
	msg := res.out.Get("message").String()
	if !regexp.MustCompile(`stopped early: [3-6] of 40 targets failed, over the tolerance 2; 3[4-7] terminated while running, 0 had not started`).MatchString(msg) {
		t.Errorf("message %q", msg)
	}
}

// TestFailFastOffRunsToEnd: the same job without failFast runs to its end.
func TestFailFastOffRunsToEnd(t *testing.T) {
	t.Parallel()
	sim := fleetSim(t, 40, firstFail(6, 300*time.Millisecond, 3*time.Second))
	res := fleetStep(t, sim, "failureTolerance", "2").run()
	res.wantStatus(t, "failure", 1, "failed")
	if n := terminateRequests(sim); n != 0 {
		t.Errorf("%d terminate requests", n)
	}
	if res.data("failed_count") != "6" || res.data("success_count") != "34" {
		t.Errorf("failed %q success %q", res.data("failed_count"), res.data("success_count"))
	}
}

// TestFailFastRollingIgnoreFailures: rolling mode 2 (ignore failures) in batches of 10: the first batch
// passes, the second has 3 failures, over the tolerance 2: the step stops the job in batch 2, and the
// last two batches never start.
func TestFailFastRollingIgnoreFailures(t *testing.T) {
	t.Parallel()
	sim := fleetSim(t, 40, func(tg jobsim.Target) jobsim.Outcome {
		if tg.HostID >= 11 && tg.HostID <= 13 {
			return jobsim.Outcome{ExitCode: 3, Duration: 200 * time.Millisecond}
		}
		return jobsim.Outcome{Duration: 2 * time.Second}
	})
	res := fleetStep(t, sim, "failureTolerance", "2", "failFast", "true",
		"rollingEnabled", "true", "rollingExpression", "10", "rollingMode", "2").run()
	res.wantStatus(t, "failure", 1, "failed")
	wantLine(t, res.Stdout, "fail fast: 3 of 40 targets failed, over the tolerance 2, in batch 2 of 4")
	if res.data("not_started_count") != "20" || res.data("failed_count") != "10" {
		t.Errorf("not started %q failed %q (3 failed + 7 terminated)", res.data("not_started_count"), res.data("failed_count"))
	}
	for _, tg := range onlyJob(t, sim).Targets {
		if tg.Batch > 2 && !tg.Start.IsZero() {
			t.Errorf("%s of batch %d started", tg.Label, tg.Batch)
		}
	}
}

// TestFailFastPercent: a tolerance of 10% of 40 targets allows 4 failures: the stop comes at the fifth.
func TestFailFastPercent(t *testing.T) {
	t.Parallel()
	sim := fleetSim(t, 40, firstFail(6, 1500*time.Millisecond, 60*time.Second))
	res := fleetStep(t, sim, "failureTolerance", "10%", "failFast", "true").run()
	res.wantStatus(t, "failure", 1, "failed")
	wantLine(t, res.Stdout, "fail fast: 5 of 40 targets failed, over the tolerance 10%")
}

// TestFailFastCallback: callback mode polls at the poll mode's pace with failFast on: the stop does not
// wait for a safety-net poll (15 s), and the job is not retried (retryFailed set).
func TestFailFastCallback(t *testing.T) {
	t.Parallel()
	sim := fleetSim(t, 40, firstFail(6, 300*time.Millisecond, 60*time.Second))
	port := freePort(t)
	base := "http://127.0.0.1:" + port
	start := time.Now()
	res := fleetStep(t, sim, "failureTolerance", "2", "failFast", "true", "retryFailed", "2", "retryInterval", "0",
		"wait", "callback", "callbackBaseUrl", base, "callbackListen", "127.0.0.1:"+port).run()
	res.wantStatus(t, "failure", 1, "failed")
	if took := time.Since(start); took > 12*time.Second {
		t.Errorf("the step took %v", took)
	}
	for _, r := range sim.Requests() {
		if r.Endpoint == jobsim.EPOperateStep && gjson.GetBytes(r.Body, "operation_code").Int() == 2 {
			t.Error("a job stopped by fail fast was retried")
		}
	}
	if res.data("retry_count") != "0" {
		t.Errorf("retry_count %q", res.data("retry_count"))
	}
}
