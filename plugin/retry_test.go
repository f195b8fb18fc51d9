package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/tooling/jobsim"
)

// failFirstRun fails the script on 0:10.0.0.2 in the step's first run (JOBSIM_EXECUTE_COUNT 0).
const failFirstRun = "echo \"run $JOBSIM_EXECUTE_COUNT\"\n" +
	"[ \"$JOBSIM_TARGET_LABEL\" != 0:10.0.0.2 ] || [ \"$JOBSIM_EXECUTE_COUNT\" -ge 1 ] || { echo boom; exit 3; }\n"

func retryOps(sim *jobsim.Sim) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Endpoint == jobsim.EPOperateStep && gjson.GetBytes(r.Body, "operation_code").Int() == jobapi.OpStepRetryFailed {
			n++
		}
	}
	return n
}

// parseT parses the base form with kv laid over it; BK_CI_ATOM_TIMEOUT sets the build's step timeout.
func parseT(t *testing.T, kv ...string) (*Config, *Problems) {
	t.Helper()
	b := testBuild
	var form []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "BK_CI_ATOM_TIMEOUT" {
			b.AtomTimeout = kv[i+1]
			continue
		}
		form = append(form, kv[i], kv[i+1])
	}
	return parseWithBuild(t, b, base(form...))
}

func TestParseRetry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		kv       []string
		problem  string // field of the one error, or "" for none
		warning  string // key of the one warning, or ""
		failed   int
		interval time.Duration
	}{
		{name: "defaults", failed: 0, interval: 10 * time.Second},
		{name: "set", kv: []string{"retryFailed", "3", "retryInterval", "0"}, failed: 3},
		{name: "too many", kv: []string{"retryFailed", "6"}, problem: "retryFailed"},
		{name: "negative", kv: []string{"retryFailed", "-1"}, problem: "retryFailed"},
		{name: "interval too long", kv: []string{"retryFailed", "1", "retryInterval", "3601"}, problem: "retryInterval"},
		{name: "interval not a number", kv: []string{"retryFailed", "1", "retryInterval", "10s"}, problem: "retryInterval"},
		// Without retries the form hides the interval (its rely): whatever it holds changes nothing.
		{name: "hidden interval ignored", kv: []string{"retryInterval", "10s"}, failed: 0, interval: 10 * time.Second},
		{name: "no wait", kv: []string{"retryFailed", "1", "wait", "none"}, warning: "warn.retry_no_wait", failed: 1, interval: 10 * time.Second},
		{name: "rolling mode 2", kv: []string{"retryFailed", "1", "rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "2"},
			warning: "warn.retry_rolling_mode2", failed: 1, interval: 10 * time.Second},
		{name: "staggered mode 2 fails the job", kv: []string{"retryFailed", "1", "rollingEnabled", "true", "rollingExpression", "1",
			"rollingMode", "2", "rollingExecution", "staggered"}, failed: 1, interval: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ps := parseT(t, tc.kv...)
			if tc.problem != "" {
				if ps == nil || len(ps.Errors) != 1 || ps.Errors[0].Field != tc.problem {
					t.Fatalf("problems %+v, want one on %s", ps, tc.problem)
				}
				return
			}
			if c == nil {
				t.Fatalf("problems %+v", ps.Errors)
			}
			var warned []string
			for _, w := range ps.Warnings {
				warned = append(warned, w.Key)
			}
			if (tc.warning == "") != (len(warned) == 0) || (tc.warning != "" && (len(warned) != 1 || warned[0] != tc.warning)) {
				t.Errorf("warnings %v, want %q", warned, tc.warning)
			}
			if c.RetryFailed != tc.failed || (tc.interval != 0 && c.RetryInterval != tc.interval) {
				t.Errorf("retryFailed %d interval %v", c.RetryFailed, c.RetryInterval)
			}
		})
	}
}

// TestRetryWaitLimit: the derived wait limit allows for each retry's interval and run, within the
// step's own deadline; the plan says how many retries fit when the limit is shorter.
func TestRetryWaitLimit(t *testing.T) {
	t.Parallel()
	base := []string{"timeout", "60", "hosts", "0:10.0.0.1\n0:10.0.0.2", "BK_CI_ATOM_TIMEOUT", "900"}
	c0, _ := parseT(t, base...)
	c2, _ := parseT(t, append(base, "retryFailed", "2", "retryInterval", "30")...)
	if got, want := c2.EffectiveWait()-c0.EffectiveWait(), 2*(30*time.Second+60*time.Second+waitMarginPerBatch); got != want {
		t.Errorf("two retries add %v to the wait limit, want %v", got, want)
	}
	if n, known := c2.RetriesThatFit(); !known || n != 2 {
		t.Errorf("retries that fit: %d %v", n, known)
	}
	// waitTimeout 10 min: the first run may take 60 s + margins; each retry 30 s + 60 s + a margin.
	short, _ := parseT(t, append(base, "retryFailed", "5", "retryInterval", "30", "waitTimeout", "600")...)
	n, known := short.RetriesThatFit()
	if !known || n < 1 || n >= 5 {
		t.Errorf("retries that fit in 10 min: %d %v", n, known)
	}
	if short.firstAttemptWait()+short.retryAllowance(n) > 600*time.Second || short.firstAttemptWait()+short.retryAllowance(n+1) <= 600*time.Second {
		t.Errorf("%d retries is not the most that fits", n)
	}
	// The step's own deadline bounds it all.
	capped, _ := parseT(t, "timeout", "600", "hosts", "0:10.0.0.1", "BK_CI_ATOM_TIMEOUT", "15", "retryFailed", "5", "retryInterval", "600")
	if capped.EffectiveWait() != capped.StepDeadline {
		t.Errorf("wait %v, step deadline %v", capped.EffectiveWait(), capped.StepDeadline)
	}
}

// TestRetryStaleStatus: a status read served behind JOB's write still shows the first run's end after
// the retry was accepted; the step does not take it for the retry's end (it waits for the higher
// execute count).
func TestRetryStaleStatus(t *testing.T) {
	t.Parallel()
	sim := inprocSim(t, jobsim.Options{RetryLag: 2 * time.Second})
	res := newInproc(t, sim, "scriptContent", failFirstRun, "retryFailed", "1", "retryInterval", "0").run(t.Context())
	res.want(t, "success", 0, "success")
	if res.data("retry_count") != "1" || res.data("failed_count") != "0" || retryOps(sim) != 1 {
		t.Errorf("retry_count %q failed %q, %d retry requests\n%s", res.data("retry_count"), res.data("failed_count"), retryOps(sim), res.stdout)
	}
}

// TestRetryRefused: JOB refuses the retry (the step is not in a state it retries from): the step says so
// and ends with the job's result as it was.
func TestRetryRefused(t *testing.T) {
	t.Parallel()
	sim := inprocSim(t, jobsim.Options{})
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPOperateStep, Kind: jobsim.FaultResultFalse, Code: jobapi.CodeUnsupportedOperation})
	res := newInproc(t, sim, "scriptContent", failFirstRun, "retryFailed", "2", "retryInterval", "0").run(t.Context())
	res.want(t, "failure", 1, "failed")
	if res.data("retry_count") != "0" || res.data("failed_targets") != "0:10.0.0.2" {
		t.Errorf("retry_count %q failed %q", res.data("retry_count"), res.data("failed_targets"))
	}
	if !strings.Contains(res.stdout, "JOB did not retry the failed targets") || strings.Contains(res.stdout, "attempt 2") {
		t.Errorf("log:\n%s", res.stdout)
	}
}

// TestRetryLostAnswer: the retry request's answer is lost after JOB ran it: the step reads the job,
// sees the retry under way and follows it.
func TestRetryLostAnswer(t *testing.T) {
	t.Parallel()
	sim := inprocSim(t, jobsim.Options{})
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPOperateStep, Kind: jobsim.FaultCreatedLost})
	res := newInproc(t, sim, "scriptContent", failFirstRun, "retryFailed", "1", "retryInterval", "0").run(t.Context())
	res.want(t, "success", 0, "success")
	if res.data("retry_count") != "1" {
		t.Errorf("retry_count %q\n%s", res.data("retry_count"), res.stdout)
	}
}

// TestRetryIntervalCut: the wait limit passes during the interval before a retry: no retry, the job's
// result stands (it ended; nothing to terminate). A cancel during the interval ends the step cancelled.
func TestRetryIntervalCut(t *testing.T) {
	t.Parallel()
	t.Run("wait limit", func(t *testing.T) {
		t.Parallel()
		sim := inprocSim(t, jobsim.Options{})
		res := newInproc(t, sim, "scriptContent", failFirstRun, "retryFailed", "1", "retryInterval", "3600", "waitTimeout", "4").run(t.Context())
		res.want(t, "failure", 1, "failed")
		if retryOps(sim) != 0 || !strings.Contains(res.stdout, "attempt 2 not started: the wait limit of 4s passed") {
			t.Errorf("%d retry requests\n%s", retryOps(sim), res.stdout)
		}
		if sim.Count(jobsim.EPOperateJob) != 0 {
			t.Error("a finished job was terminated")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		sim := inprocSim(t, jobsim.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		r := newInproc(t, sim, "scriptContent", failFirstRun, "retryFailed", "1", "retryInterval", "3600")
		go func() {
			defer cancel()
			for {
				if jobs := sim.Jobs(); len(jobs) == 1 && jobs[0].Status == jobsim.StatusFail {
					time.Sleep(500 * time.Millisecond) // the step reads the end, then waits the interval
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		res := r.run(ctx)
		res.want(t, "failure", 1, "canceled")
		if retryOps(sim) != 0 {
			t.Errorf("%d retry requests after the cancel", retryOps(sim))
		}
	})
}
