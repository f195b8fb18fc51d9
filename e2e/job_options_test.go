//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// submitBody is the one submit's body the simulator received.
func submitBody(t *testing.T, sim *jobsim.Sim) []byte {
	t.Helper()
	for _, q := range sim.Requests() {
		if q.Endpoint == jobsim.EPSubmit {
			return q.Body
		}
	}
	t.Fatal("no submit")
	return nil
}

// TestWindowsInterpreter_Sent: an inline PowerShell step sends windowsInterpreter trimmed as
// windows_interpreter (docs/JOB.md#windows-interpreter); a shell step never sends a value left in the
// hidden field.
func TestWindowsInterpreter_Sent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lang, want string }{{"5", `C:\Program Files\PowerShell\7\pwsh.exe`}, {"2", `C:\Python310\python.exe`}, {"1", ""}} {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			in := tc.want
			if in == "" {
				in = `C:\x.exe`
			}
			// The simulator runs real scripts: Bat and PowerShell fail on a Linux agent, after the submit.
			newStep(t, sim, "scriptLanguage", tc.lang, "windowsInterpreter", "  "+in+" ").run()
			wantSubmits(t, sim, 1, 1)
			got := gjson.GetBytes(submitBody(t, sim), "windows_interpreter")
			if got.String() != tc.want || (tc.want == "" && got.Exists()) {
				t.Errorf("windows_interpreter sent = %s, want %q", got.Raw, tc.want)
			}
		})
	}
}

// TestWindowsInterpreter_RefusedBeforeSending: values JOB refuses (no lower-case .exe, over 260 UTF-16
// units) fail the step with a problem naming the field, and nothing is sent.
func TestWindowsInterpreter_RefusedBeforeSending(t *testing.T) {
	t.Parallel()
	for _, v := range []string{`C:\Python\python`, `C:\PY.EXE`, `C:\` + strings.Repeat("😀", 128) + ".exe"} {
		t.Run(v[:8], func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			res := newStep(t, sim, "scriptLanguage", "2", "windowsInterpreter", v).run()
			res.wantStatus(t, "failure", 1, "")
			if msg := res.out.Get("message").String(); !strings.Contains(msg, "Windows interpreter") {
				t.Errorf("message does not name the field: %s", msg)
			}
			if n := len(sim.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

// TestStaggeredRolling_Runs: a staggered rolling job (one target a batch, 1 s apart, no jitter) is sent
// with execution_mode 2 and the waits in ms; the simulator plans the batches 1 s apart and the step
// ends successfully with every target counted.
func TestStaggeredRolling_Runs(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "staggered",
		"rollingStaggerSeconds", "1", "rollingJitterMinSeconds", "0", "rollingJitterMaxSeconds", "0").run()
	res.wantStatus(t, "success", 0, "success")
	body := submitBody(t, sim)
	for k, want := range map[string]int64{"execution_mode": 2, "batch_start_wait_fixed_ms": 1000, "batch_start_wait_random_min_ms": 0, "batch_start_wait_random_max_ms": 0} {
		if got := gjson.GetBytes(body, "rolling_config."+k); !got.Exists() || got.Int() != want {
			t.Errorf("rolling_config.%s = %s, want %d", k, got.Raw, want)
		}
	}
	d := sim.Dispatch(gjson.Get(res.data("job_instance_id"), "@this").Int())
	if len(d) != 3 || d[1]-d[0] != 1000 || d[2]-d[1] != 1000 {
		t.Errorf("dispatch times %v, want 3 batches 1000 ms apart", d)
	}
	if res.data("success_count") != "3" {
		t.Errorf("success_count = %s", res.data("success_count"))
	}
	// Progress follows the targets as they finish, the batch named as the last one started.
	if !strings.Contains(res.Stdout, "::set-progress-rate 1") {
		t.Errorf("no final progress:\n%s", res.Stdout)
	}
	wantLine(t, res.Stdout, "rolling: 3/3 targets done (0 failed), batch 3 of 3")
}

// TestStaggeredRolling_BoundsRefused: out-of-range delays and min > max fail before anything is sent.
func TestStaggeredRolling_BoundsRefused(t *testing.T) {
	t.Parallel()
	for _, kv := range [][]string{{"rollingStaggerSeconds", "3601"}, {"rollingJitterMinSeconds", "-1"}, {"rollingJitterMinSeconds", "9", "rollingJitterMaxSeconds", "8"}} {
		t.Run(strings.Join(kv, "="), func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			args := append([]string{"rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "staggered"}, kv...)
			res := newStep(t, sim, args...).run()
			res.wantStatus(t, "failure", 1, "")
			if n := len(sim.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}
