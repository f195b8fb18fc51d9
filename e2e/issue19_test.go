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
