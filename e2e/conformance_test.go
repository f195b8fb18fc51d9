//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// TestCallbackHosts_RefusedBeforeSubmit: a callback URL whose host java.net.URI does not accept (JOB
// refuses the submit with 1240003: internal/callbackurl, recorded from JOB's class) is refused by the
// step itself, in callbackUrl and in callbackBaseUrl, naming the field, with no request to JOB.
func TestCallbackHosts_RefusedBeforeSubmit(t *testing.T) {
	t.Parallel()
	hosts := []string{"a_b:8080", "build_agent.example.com", "host.123", "-bad.com", "例子.cn"}
	for _, h := range hosts {
		for _, field := range []string{"callbackUrl", "callbackBaseUrl"} {
			t.Run(field+"/"+h, func(t *testing.T) {
				t.Parallel()
				sim := startSim(t, jobsim.Options{})
				kv := []string{"callbackUrl", "http://" + h + "/cb"}
				label := "Job status webhook"
				if field == "callbackBaseUrl" {
					kv = []string{"wait", "callback", "callbackBaseUrl", "http://" + h, "callbackListen", "127.0.0.1:0"}
					label = "URL JOB calls back"
				}
				res := newStep(t, sim, kv...).run()
				res.wantStatus(t, "failure", 1, "")
				msg := res.out.Get("message").String()
				if res.out.Get("errorCode").Int() != 800002 || !strings.Contains(msg, label) || !strings.Contains(msg, "java.net.URI") {
					t.Errorf("code %d, message %s", res.out.Get("errorCode").Int(), msg)
				}
				if n := len(sim.Requests()); n != 0 {
					t.Errorf("%d requests sent for a callback host JOB refuses", n)
				}
			})
		}
	}
}

// TestCallbackHosts_IPv6AndDNSPass: an IPv6 literal and a DNS name with inner hyphens are hosts JOB
// accepts: the step submits them as the callback URL and the job runs.
func TestCallbackHosts_IPv6AndDNSPass(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://[::1]:9/jobcb-hook", "https://ci-agent5.example.com:8443/hook"} {
		t.Run(u, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			res := newStep(t, sim, "callbackUrl", u).run()
			res.wantStatus(t, "success", 0, "success")
			wantSubmits(t, sim, 1, 1)
			for _, q := range sim.Requests() {
				if q.Endpoint == jobsim.EPSubmit {
					if got := gjson.GetBytes(q.Body, "callback.url").String(); got != u {
						t.Errorf("callback.url sent = %q, want %q", got, u)
					}
				}
			}
		})
	}
}

// TestTimeout_JOBMaximum: a timeout of 259200 s (JOB's own maximum, ValidTimeoutLimit) is accepted by
// the form and sent as is.
func TestTimeout_JOBMaximum(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "timeout", "259200").run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	for _, q := range sim.Requests() {
		if q.Endpoint == jobsim.EPSubmit && gjson.GetBytes(q.Body, "timeout").Int() != 259200 {
			t.Errorf("timeout sent = %s", gjson.GetBytes(q.Body, "timeout").Raw)
		}
	}
}

// TestTimeout_LowerBusinessMaximum: JOB's administrator set a lower maximum for the business; JOB refuses
// the submit with 1240003, and the step shows JOB's message, which names the field and the bound.
func TestTimeout_LowerBusinessMaximum(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{MaxTimeout: 3600})
	res := newStep(t, sim, "timeout", "7200").run()
	res.wantStatus(t, "failure", 1, "")
	msg := res.out.Get("message").String()
	if res.out.Get("platformErrorCode").Int() != 1240003 || !strings.Contains(msg, "Job timeout must be between 1 and 3600") ||
		!strings.Contains(msg, "lower maximum timeout") {
		t.Errorf("platform code %d, message %s", res.out.Get("platformErrorCode").Int(), msg)
	}
	wantSubmits(t, sim, 0, 1)
}

// TestNeverStartedJob_BoundedWait: JOB saves a job before it resolves the rolling batches, so a submit
// it refuses (here 1240002: "1 +2147483647" overflows JOB's int on the second batch, which the step cannot
// foresee for a dynamic group of unknown size) leaves a job at status 1 that never starts. The answer is
// lost, the look-up adopts that job, and the step stops waiting after a minute, naming the job, long
// before its 10-minute deadline.
func TestNeverStartedJob_BoundedWait(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedLost})
	res := newStep(t, sim, "hosts", "", "dynamicGroups", "dg-web", "rollingEnabled", "true",
		"rollingExpression", "1 +2147483647", "waitTimeout", "600").run()
	res.wantStatus(t, "failure", 2, "")
	jobs := sim.Jobs()
	if len(jobs) != 1 || !jobs[0].Orphan || jobs[0].Status != 1 {
		t.Fatalf("jobs = %+v, want one orphan at status 1", jobs)
	}
	msg := res.out.Get("message").String()
	id := res.data("job_instance_id")
	if res.out.Get("errorCode").Int() != 800017 || id != fmt.Sprint(jobs[0].ID) ||
		!strings.Contains(msg, "JOB job "+id+" ("+jobs[0].Name+")") || !strings.Contains(msg, "status 1") {
		t.Errorf("code %d, job id %q, message %s", res.out.Get("errorCode").Int(), id, msg)
	}
	if res.Duration < 55*time.Second || res.Duration > 100*time.Second {
		t.Errorf("the step took %s, want about a minute (the bound), far from the 600 s deadline", res.Duration)
	}
}
