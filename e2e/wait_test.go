//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// failOn is a script that fails (exit 3, after a line) on the targets with the given labels.
func failOn(labels ...string) string {
	return "echo \"run on $JOBSIM_TARGET_LABEL\"\ncase \"$JOBSIM_TARGET_LABEL\" in " + strings.Join(labels, "|") +
		") echo boom; exit 3;; esac\n"
}

// wantLine asserts that one line of stdout holds every given piece.
func wantLine(t *testing.T, stdout string, pieces ...string) {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		ok := true
		for _, p := range pieces {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	t.Errorf("no line of stdout holds %q:\n%s", pieces, stdout)
}

func TestNonZeroExit_OneTarget(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", failOn("0:10.0.0.2")).run()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	if res.data("failed_targets") != "0:10.0.0.2" || res.data("failed_count") != "1" ||
		res.data("success_targets") != "0:10.0.0.1,0:10.0.0.3" || res.data("job_status_code") != "4" {
		t.Errorf("outputs: %s", res.Output)
	}
	// The summary names the failed target with its status name and exit code.
	wantLine(t, res.Stdout, "0:10.0.0.2", "non-zero exit code", "exit code: 3")
	if !strings.Contains(res.Stdout, "##subTag##0:10.0.0.2##subTag##boom") {
		t.Errorf("the failed target's log is missing:\n%s", res.Stdout)
	}
}

func TestAgentError(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	// Host 105 (10.0.0.5) of the demo inventory has its agent down.
	res := newStep(t, sim, "hosts", "0:10.0.0.1\n0:10.0.0.5").run()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	if res.data("failed_targets") != "0:10.0.0.5" || res.data("success_targets") != "0:10.0.0.1" || res.data("total_count") != "2" {
		t.Errorf("outputs: %s", res.Output)
	}
	wantLine(t, res.Stdout, "0:10.0.0.5", "agent error")
}

// TestTerminatedInJOB: someone terminates the job in JOB's UI while a target runs.
func TestTerminatedInJOB(t *testing.T) {
	t.Parallel()
	for _, final := range []int{jobsim.StatusTerminated, jobsim.StatusStopSuccess} {
		t.Run(fmt.Sprint(final), func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			h := holdTargets(t, sim, "0:10.0.0.2")
			p := newStep(t, sim).startRun()
			id := h.job(t)
			p.untilPolled(1)
			if err := sim.UITerminate(id, final); err != nil {
				t.Fatal(err)
			}
			res := p.wait()
			res.wantStatus(t, "failure", 1, "terminated")
			wantSubmits(t, sim, 1, 1)
			if res.data("job_status_code") != fmt.Sprint(final) || !strings.Contains(res.data("failed_targets"), "0:10.0.0.2") {
				t.Errorf("outputs: %s", res.Output)
			}
			if n := sim.Count(jobsim.EPOperateJob); n != 0 {
				t.Errorf("the plugin sent %d operate_job_instance requests for a job JOB already ended", n)
			}
		})
	}
}

func TestAbnormal(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	h := holdTargets(t, sim, "0:10.0.0.3")
	p := newStep(t, sim).startRun()
	id := h.job(t)
	p.untilPolled(1)
	if err := sim.ForceAbnormal(id); err != nil {
		t.Fatal(err)
	}
	res := p.wait()
	res.wantStatus(t, "failure", 2, "abnormal")
	wantSubmits(t, sim, 1, 1)
	if res.data("job_status_code") != "9" {
		t.Errorf("job_status_code = %q", res.data("job_status_code"))
	}
}

// TestRollingMode1_StopsOnFailure: batches 1, 1, 2 of four hosts; the second batch fails, the job
// stops at 4 at batch 2 of 3, and the two targets that never ran are not started, not failed
// (issue 17: they used to count as failed), with the reason in the summary.
func TestRollingMode1_StopsOnFailure(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "hosts", "0:10.0.0.1 0:10.0.0.2 0:10.0.0.3 0:10.0.0.4", "rollingEnabled", "true",
		"rollingExpression", "1 1 2", "rollingMode", "1", "failureTolerance", "100%",
		"scriptContent", failOn("0:10.0.0.2")).run()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	for k, v := range map[string]string{"total_count": "4", "success_count": "1", "failed_count": "1", "not_started_count": "2",
		"success_targets": "0:10.0.0.1", "failed_targets": "0:10.0.0.2", "not_started_targets": "0:10.0.0.3,0:10.0.0.4",
		"job_status_code": "4"} {
		if res.data(k) != v {
			t.Errorf("%s = %q, want %q", k, res.data(k), v)
		}
	}
	wantLine(t, res.Stdout, "0:10.0.0.2", "non-zero exit code", "exit code: 3")
	wantLine(t, res.Stdout, "2 not started: rolling stopped at batch 2 of 3")
	wantLine(t, res.out.Get("message").String(), "1 failed, 2 not started of 4 targets (rolling stopped at batch 2 of 3)")
	for _, l := range []string{"0:10.0.0.3", "0:10.0.0.4"} {
		if strings.Contains(res.Stdout, l+"  status:") {
			t.Errorf("%s is listed among the failed targets:\n%s", l, res.Stdout)
		}
	}
	if snap := onlyJob(t, sim); snap.Status != jobsim.StatusFail || snap.CurrentBatch != 2 {
		t.Errorf("simulated job ended %d at batch %d", snap.Status, snap.CurrentBatch)
	}
}

// TestRollingMode2_Tolerance: JOB ends the job 3 although a batch failed; failureTolerance decides.
func TestRollingMode2_Tolerance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tolerance, status, jobStatus string
		errorType                    int
	}{
		{"1", "success", "success", 0},
		{"34%", "success", "success", 0}, // ⌊3 × 34 / 100⌋ = 1
		{"0", "failure", "failed", 1},
		{"33%", "failure", "failed", 1}, // ⌊3 × 33 / 100⌋ = 0
	} {
		t.Run(tc.tolerance, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			res := newStep(t, sim, "rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "2",
				"failureTolerance", tc.tolerance, "scriptContent", failOn("0:10.0.0.2")).run()
			res.wantStatus(t, tc.status, tc.errorType, tc.jobStatus)
			wantSubmits(t, sim, 1, 1)
			if res.data("job_status_code") != "3" || res.data("failed_targets") != "0:10.0.0.2" ||
				res.data("success_targets") != "0:10.0.0.1,0:10.0.0.3" || res.data("failed_count") != "1" {
				t.Errorf("outputs: %s", res.Output)
			}
			wantLine(t, res.Stdout, "0:10.0.0.2", "non-zero exit code", "exit code: 3")
		})
	}
}

// TestRollingMode3_WaitsForConfirmation: after each batch JOB waits (7); the plugin says so once per
// pause with the link, keeps polling, never confirms itself, and goes on when a person confirms.
func TestRollingMode3_WaitsForConfirmation(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	p := newStep(t, sim, "rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "3").startRun()
	const msg = "waiting for confirmation of batch"
	for pause := 1; pause <= 2; pause++ {
		p.untilCount(msg, pause)
		id := onlyJob(t, sim).ID
		if snap, _ := sim.Job(id); snap.Status != jobsim.StatusWaitingUser {
			t.Fatalf("pause %d: the plugin says it waits while the job is %d", pause, snap.Status)
		}
		// A few more polls at 7 must not repeat the message.
		polled := sim.Count(jobsim.EPStatus)
		p.until("more polls during the pause", func() bool { return sim.Count(jobsim.EPStatus) >= polled+3 })
		if n := strings.Count(p.stdout.String(), msg); n != pause {
			t.Fatalf("pause %d: the message was printed %d times:\n%s", pause, n, p.stdout.String())
		}
		wantLine(t, p.stdout.String(), fmt.Sprintf("%s %d", msg, pause+1), "https://job.example.com/api_execute/"+fmt.Sprint(id))
		if err := sim.ConfirmContinue(id); err != nil {
			t.Fatal(err)
		}
	}
	res := p.wait()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	if n := strings.Count(res.Stdout, msg); n != 2 {
		t.Errorf("the waiting message was printed %d times, want once per pause (2)", n)
	}
	if n := sim.Count(jobsim.EPOperateStep); n != 0 {
		t.Errorf("the plugin sent %d operate_step_instance requests: it must never confirm a batch itself", n)
	}
	if res.data("success_count") != "3" {
		t.Errorf("outputs: %s", res.Output)
	}
}

// TestPollSurvivesBursts: status calls 2..5 fail with a gateway error; the step still follows its one job.
func TestPollSurvivesBursts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		kind jobsim.FaultKind
	}{
		{"502", jobsim.Fault502}, {"503", jobsim.Fault503}, {"504", jobsim.Fault504}, {"429", jobsim.FaultRateLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			sim.Inject(jobsim.Fault{Endpoint: jobsim.EPStatus, Calls: jobsim.Range(2, 5), Kind: tc.kind})
			// The job runs until the whole burst has been answered.
			h := holdTargets(t, sim, "0:10.0.0.1")
			p := newStep(t, sim).startRun()
			h.job(t)
			p.untilPolled(6)
			h.gate.Open()
			res := p.wait()
			res.wantStatus(t, "success", 0, "success")
			wantSubmits(t, sim, 1, 1)
			bad := 0
			for _, q := range sim.Requests() {
				if q.Endpoint == jobsim.EPStatus && q.Status != http.StatusOK {
					bad++
				}
			}
			if bad != 4 {
				t.Errorf("%d failed status requests, want the 4 injected", bad)
			}
			if res.data("job_instance_id") != fmt.Sprint(onlyJob(t, sim).ID) || res.data("success_count") != "3" {
				t.Errorf("outputs: %s", res.Output)
			}
		})
	}
}

// TestAmbiguousSubmit: the submit creates the job but its answer is lost; the step finds the job by its
// task name and follows it, without a second submit.
func TestAmbiguousSubmit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault jobsim.Fault
	}{
		{"lost", jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedLost}},
		{"hang", jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedHang, Delay: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			sim.Inject(tc.fault)
			res := newStep(t, sim).run()
			res.wantStatus(t, "success", 0, "success")
			wantSubmits(t, sim, 1, 1)
			if sim.Count(jobsim.EPList) == 0 {
				t.Error("the job was not looked up with get_job_instance_list")
			}
			job := onlyJob(t, sim)
			if res.data("job_instance_id") != fmt.Sprint(job.ID) || res.data("job_instance_name") != job.Name ||
				res.data("step_instance_id") != fmt.Sprint(job.StepID) {
				t.Errorf("outputs %s, simulated job %d %q step %d", res.Output, job.ID, job.Name, job.StepID)
			}
			st, err := os.ReadFile(statePath(res.dataDir))
			if err != nil || gjson.GetBytes(st, "job_instance_id").Int() != job.ID {
				t.Errorf("state file: %s %v", st, err)
			}
			if !strings.Contains(res.Stdout, "found the job created: "+fmt.Sprint(job.ID)) {
				t.Errorf("the adoption is not reported:\n%s", res.Stdout)
			}
		})
	}
}

// TestLostSubmitNamedInForm: a task name from the form is not unique per run, but the step appends the
// run's marker to it: after a lost submit answer the look-up finds this run's job, never another build's
// job of the same form name (started a moment before, still running).
func TestLostSubmitNamedInForm(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	other := newStep(t, sim, "taskName", "nightly-deploy", "wait", "none", "BK_CI_BUILD_ID", "b-other").run()
	other.wantStatus(t, "success", 0, "submitted")
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(2), Kind: jobsim.FaultCreatedLost})
	res := newStep(t, sim, "taskName", "nightly-deploy").run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 2, 2)
	if sim.Count(jobsim.EPList) == 0 {
		t.Error("the job was not looked up")
	}
	if res.data("job_instance_id") == other.data("job_instance_id") || res.data("job_instance_id") == "" {
		t.Errorf("adopted job %q; the other build's job is %q", res.data("job_instance_id"), other.data("job_instance_id"))
	}
	for _, name := range []string{res.data("job_instance_name"), other.data("job_instance_name")} {
		if !strings.HasPrefix(name, "nightly-deploy-") || len(name) != len("nightly-deploy-")+12 {
			t.Errorf("task name %q: want the form's name and the run's marker", name)
		}
	}
}

// callbackStep is a step in callback mode with its listener on a free local port.
func callbackStep(t *testing.T, sim *jobsim.Sim, kv ...string) (*stepRun, string) {
	port := freePort(t)
	base := "http://127.0.0.1:" + port
	return newStep(t, sim, append([]string{"wait", "callback", "callbackBaseUrl", base,
		"callbackListen", "127.0.0.1:" + port}, kv...)...), base
}

// TestJobEndsJustBeforeTheLimit: the job ends about 2 s before waitTimeout, between two polls (the
// poll after it would come after the limit). What the step reads at the limit decides: the job's real
// verdict with its counts, and no terminate.
func TestJobEndsJustBeforeTheLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script, status, jobStatus string
		errorType                       int
		success, failed                 string
	}{
		{"success", "sleep 27.5\necho done", "success", "success", 0, "3", "0"},
		{"failed", "sleep 27.5\nexit 3", "failure", "failed", 1, "0", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			res := newStep(t, sim, "waitTimeout", "30", "scriptContent", tc.script).run()
			res.wantStatus(t, tc.status, tc.errorType, tc.jobStatus)
			if n := sim.Count(jobsim.EPOperateJob); n != 0 {
				t.Errorf("%d terminate requests for a job that had ended", n)
			}
			if res.data("success_count") != tc.success || res.data("failed_count") != tc.failed || res.data("total_count") != "3" {
				t.Errorf("counts %s/%s of %s, want %s/%s of 3", res.data("success_count"), res.data("failed_count"), res.data("total_count"), tc.success, tc.failed)
			}
			if strings.Contains(res.out.Get("message").String(), "termination") {
				t.Errorf("message %q", res.out.Get("message").String())
			}
		})
	}
}

// TestCallbackAheadOfStatus: JOB's callback arrives while status reads still say "running" for half a
// second; the step polls quickly after the callback and ends within a few seconds of the job, not at
// the next safety-net poll (15 s).
func TestCallbackAheadOfStatus(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{StatusLag: 500 * time.Millisecond})
	r, _ := callbackStep(t, sim, "scriptContent", "sleep 1\necho done")
	res := r.run()
	res.wantStatus(t, "success", 0, "success")
	if res.Duration > 8*time.Second {
		t.Errorf("the step ended %v after it started, for a job of about 1 s", res.Duration)
	}
	if n := sim.Count(jobsim.EPStatus); n > 14 {
		t.Errorf("%d status requests", n)
	}
}

// TestCallbackEndsWait: JOB's callback wakes the step long before its first safety poll (15 s ± 10 %).
func TestCallbackEndsWait(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	r, base := callbackStep(t, sim, "scriptContent", "sleep 1\necho done")
	res := r.run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	if n := sim.Count(jobsim.EPStatus); n > 3 {
		t.Errorf("%d status requests: the callback should have made the safety polls unnecessary", n)
	}
	if res.Duration > 12*time.Second {
		t.Errorf("the run took %v: it waited for a safety poll", res.Duration)
	}
	job := onlyJob(t, sim)
	if !strings.HasPrefix(job.CallbackURL, base+"/jobcb/") {
		t.Errorf("callback url given to JOB: %q", job.CallbackURL)
	}
	cbs := sim.Callbacks()
	if len(cbs) == 0 || cbs[0].HTTPStatus != http.StatusOK {
		t.Errorf("callbacks: %+v", cbs)
	}
	secret := strings.TrimPrefix(job.CallbackURL, base+"/jobcb/")
	if secret == "" || strings.Contains(res.Stdout, secret) {
		t.Errorf("the callback path's secret part %q is empty or printed", secret)
	}
}

// TestCallbackForgeries: while the job is held, callbacks to a wrong path, with a wrong method, an
// oversized body or another job's id are refused, and accepted ones (a forged "success" and its
// duplicate) only wake the step: the verdict still comes from JOB.
func TestCallbackForgeries(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	h := holdTargets(t, sim, "0:10.0.0.2")
	r, base := callbackStep(t, sim, "scriptContent", failOn("0:10.0.0.2"))
	p := r.startRun()
	id := h.job(t)
	// The state file is written before the submit too: wait for the job id, known to the listener
	// from the same moment (before it, a well-formed callback of any job is remembered, not refused).
	p.until("the state file with the job id", func() bool {
		b, err := os.ReadFile(statePath(r.step.DataDir))
		return err == nil && gjson.GetBytes(b, "job_instance_id").Int() == id
	})
	job, _ := sim.Job(id)
	cbURL := job.CallbackURL
	if !strings.HasPrefix(cbURL, base+"/jobcb/") {
		t.Fatalf("callback url given to JOB: %q", cbURL)
	}
	success := fmt.Sprintf(`{"job_instance_id":%d,"status":3,"step_instance_list":[{"step_instance_id":%d,"status":3}]}`, id, job.StepID)
	huge := fmt.Sprintf(`{"job_instance_id":%d,"status":3,"pad":"%s"}`, id, strings.Repeat("x", 70<<10))
	// "Expect: 100-continue" lets the listener refuse an oversized body before it is sent: without it,
	// a refusal that closes the connection while the body is still being written can reach this
	// client as a reset instead of the 400 (on a loaded machine).
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	t.Cleanup(client.CloseIdleConnections)
	send := func(method, url, ctype, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if len(body) > 64<<10 {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	refused := []struct {
		name, method, url, ctype, body string
		want                           int
	}{
		{"wrong path", "POST", base + "/jobcb/00000000000000000000000000000000", "application/json", success, 404},
		{"root path", "POST", base + "/", "application/json", success, 404},
		{"wrong method", "GET", cbURL, "", "", 405},
		{"oversized", "POST", cbURL, "application/json", huge, 400},
		{"not json", "POST", cbURL, "application/json", "status=3", 400},
		{"another job", "POST", cbURL, "application/json", fmt.Sprintf(`{"job_instance_id":%d,"status":3}`, id+1), 409},
	}
	for _, c := range refused {
		if got := send(c.method, c.url, c.ctype, c.body); got != c.want {
			t.Errorf("%s: HTTP %d, want %d", c.name, got, c.want)
		}
	}
	// A forged "success" for the right job, and its duplicate (as JOB's retry sends it): accepted, they
	// wake the step, which asks JOB and keeps waiting.
	if got := send("POST", cbURL, "application/json", success); got != http.StatusOK {
		t.Errorf("forged callback: HTTP %d, want 200", got)
	}
	if got := send("POST", cbURL, "application/x-www-form-urlencoded", success); got != http.StatusOK {
		t.Errorf("duplicate callback: HTTP %d, want 200", got)
	}
	p.untilCount("job status: running (2)", 1)
	if p.exited() {
		t.Fatalf("a forged callback ended the step:\n%s", p.stdout.String())
	}
	if snap, _ := sim.Job(id); snap.Status != jobsim.StatusRunning {
		t.Fatalf("job status %d while held", snap.Status)
	}
	h.gate.Open()
	res := p.wait()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	if res.data("failed_targets") != "0:10.0.0.2" || res.data("job_status_code") != "4" {
		t.Errorf("outputs: %s", res.Output)
	}
	if n := sim.Count(jobsim.EPStatus); n > 6 {
		t.Errorf("%d status requests", n)
	}
	if strings.Contains(res.Stdout+res.Stderr, "xxxxxxxxxx") {
		t.Error("a callback body was printed")
	}
}

// TestSIGTERM: the step is cancelled while the job runs.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	for _, onCancel := range []string{"terminate", "leave"} {
		t.Run(onCancel, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			h := holdTargets(t, sim, "0:10.0.0.2")
			p := newStep(t, sim, "onCancel", onCancel).startRun()
			id := h.job(t)
			p.untilPolled(1)
			p.signal(syscall.SIGTERM)
			res := p.wait()
			res.wantStatus(t, "failure", 1, "canceled")
			wantSubmits(t, sim, 1, 1)
			if res.data("job_instance_id") != fmt.Sprint(id) {
				t.Errorf("outputs: %s", res.Output)
			}
			snap, _ := sim.Job(id)
			if onCancel == "terminate" {
				if snap.Status != jobsim.StatusStopSuccess || sim.Count(jobsim.EPOperateJob) != 1 {
					t.Errorf("job status %d after the step ended, %d terminate requests; want 11 and 1", snap.Status, sim.Count(jobsim.EPOperateJob))
				}
				if res.data("job_status_code") != "11" {
					t.Errorf("job_status_code = %q", res.data("job_status_code"))
				}
				return
			}
			if snap.Status != jobsim.StatusRunning || sim.Count(jobsim.EPOperateJob) != 0 {
				t.Errorf("job status %d, %d terminate requests; want the job left running", snap.Status, sim.Count(jobsim.EPOperateJob))
			}
		})
	}
}

// TestSIGTERMWhileReadingLogs: the job ended, and the step is cancelled while it reads the logs. The
// logs are incomplete: the step fails as canceled and sets no variable, rather than succeeding with some
// of them missing; the ended job is left alone.
func TestSIGTERMWhileReadingLogs(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPLogs, Calls: jobsim.Every(), Kind: jobsim.FaultDelay, Delay: 20 * time.Second})
	p := newStep(t, sim, "logMode", "failed", "scriptContent", "echo '::set-output name=ver::1.2.3'").startRun()
	p.until("the first log request", func() bool { return sim.Count(jobsim.EPLogs) > 0 })
	p.signal(syscall.SIGTERM)
	res := p.wait()
	res.wantStatus(t, "failure", 1, "canceled")
	wantSubmits(t, sim, 1, 1)
	if got := res.out.Get("errorCode").Int(); got != 800011 {
		t.Errorf("errorCode %d, want 800011", got)
	}
	if res.data("ver") != "" || res.data("job_status_code") != "3" || res.data("success_count") != "3" {
		t.Errorf("outputs: %s", res.Output)
	}
	if sim.Count(jobsim.EPOperateJob) != 0 {
		t.Error("the ended job was sent a terminate")
	}
	if res.Duration > 15*time.Second {
		t.Errorf("the step took %v to stop", res.Duration)
	}
}

// TestSIGTERMBeforeTheJobStarts: the step is cancelled while JOB still shows the job as created but
// not started (status 1), when JOB refuses a terminate. The plugin waits for the job to start, then
// terminates it.
func TestSIGTERMBeforeTheJobStarts(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{StartDelay: 3 * time.Second})
	h := holdTargets(t, sim, "0:10.0.0.2")
	p := newStep(t, sim).startRun()
	p.untilPolled(1)
	if sim.JobsCreated() != 1 {
		t.Fatalf("%d jobs after the first poll", sim.JobsCreated())
	}
	if snap, _ := sim.Job(hzFirstJob); snap.Status != jobsim.StatusBlank {
		t.Fatalf("job status %d when the signal is sent, want 1 (not started)", snap.Status)
	}
	p.signal(syscall.SIGTERM)
	res := p.wait()
	res.wantStatus(t, "failure", 1, "canceled")
	wantSubmits(t, sim, 1, 1)
	id := h.job(t)
	if snap, _ := sim.Job(id); snap.Status != jobsim.StatusStopSuccess || sim.Count(jobsim.EPOperateJob) != 1 {
		t.Errorf("job status %d after the step ended, %d terminate requests; want 11 and 1\n%s", snap.Status, sim.Count(jobsim.EPOperateJob), res.Stdout)
	}
}

// TestPostActionAfterSIGKILL: BK-CI kills the step (SIGKILL); its post action finds the job in the
// state file and terminates it, or leaves it with onCancel=leave.
func TestPostActionAfterSIGKILL(t *testing.T) {
	t.Parallel()
	for _, onCancel := range []string{"terminate", "leave"} {
		t.Run(onCancel, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			h := holdTargets(t, sim, "0:10.0.0.1")
			r := newStep(t, sim, "onCancel", onCancel)
			id := killWhileRunning(t, sim, r, h)
			res := postStep(t, sim, r, "onCancel", onCancel).run("--postAction=terminate")
			res.wantStatus(t, "success", 0, "")
			wantSubmits(t, sim, 1, 1)
			snap, _ := sim.Job(id)
			if onCancel == "terminate" {
				if snap.Status != jobsim.StatusStopSuccess || sim.Count(jobsim.EPOperateJob) != 1 {
					t.Errorf("job status %d, %d terminate requests; want 11 and 1\n%s", snap.Status, sim.Count(jobsim.EPOperateJob), res.Stdout)
				}
				return
			}
			if snap.Status != jobsim.StatusRunning || sim.Count(jobsim.EPOperateJob) != 0 {
				t.Errorf("job status %d, %d terminate requests; want the job left running", snap.Status, sim.Count(jobsim.EPOperateJob))
			}
			if !strings.Contains(res.Stdout, "https://job.example.com/api_execute/"+fmt.Sprint(id)) {
				t.Errorf("the post action does not link the job it left:\n%s", res.Stdout)
			}
		})
	}
}

// TestDeadline: waitTimeout passes while a target is held; the step terminates the job and fails.
func TestDeadline(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	h := holdTargets(t, sim, "0:10.0.0.3")
	res := newStep(t, sim, "waitTimeout", "2").run()
	res.wantStatus(t, "failure", 1, "timeout")
	wantSubmits(t, sim, 1, 1)
	id := h.job(t)
	if snap, _ := sim.Job(id); snap.Status != jobsim.StatusStopSuccess || sim.Count(jobsim.EPOperateJob) != 1 {
		t.Errorf("job status %d, %d terminate requests; want 11 and 1", snap.Status, sim.Count(jobsim.EPOperateJob))
	}
	if res.data("job_status_code") != "11" {
		t.Errorf("job_status_code = %q", res.data("job_status_code"))
	}
}

// TestAdaptivePoll: a job of about 2 s takes few status requests.
func TestAdaptivePoll(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", "sleep 2\necho done").run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	// Sub-second polls at first (every 0.5 s ± 10 %): at most one per 0.45 s of the run, however slow
	// the machine made it, plus the last.
	if n, most := sim.Count(jobsim.EPStatus), int(res.Duration/(450*time.Millisecond))+2; n > most || n < 2 {
		t.Errorf("%d status requests for a 2 s job that took %v, want 2..%d", n, res.Duration, most)
	}
}
