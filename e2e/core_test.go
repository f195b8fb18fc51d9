//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

func TestDryRun(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	r := newStep(t, sim, "dryRun", "true", "scriptParam", "--token verysecretvalue", "paramSensitive", "true",
		"wait", "callback", "callbackBaseUrl", "http://10.0.0.5:19091")
	res := r.run()
	res.wantStatus(t, "success", 0, "dry_run")
	for _, want := range []string{"bk_scope_type", `"execute_target"`, "10.0.0.1", "plan"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.Stdout)
		}
	}
	if strings.Contains(res.Stdout, "verysecretvalue") {
		t.Error("sensitive parameter printed in the dry run")
	}
	if n := len(sim.Requests()); n != 0 {
		t.Errorf("%d requests sent in a dry run", n)
	}
}

func TestBadForm_AllFieldsNamed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lang, scope, timeout, hosts, tolerance string }{
		{"en_US", "Scope ID", "Script timeout (seconds)", "Hosts", "Failure tolerance"},
		{"zh_CN", "资源范围 ID", "脚本超时（秒）", "主机", "允许失败的目标数"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			res := newStep(t, sim, "BK_CI_LOCALE_LANGUAGE", tc.lang, "scopeId", "abc", "timeout", "0",
				"hosts", "10.0.0.300", "failureTolerance", "lots").run()
			res.wantStatus(t, "failure", 1, "")
			msg := res.out.Get("message").String()
			for _, label := range []string{tc.scope, tc.timeout, tc.hosts, tc.tolerance} {
				if !strings.Contains(msg, label) {
					t.Errorf("message does not name %q:\n%s", label, msg)
				}
			}
			if res.out.Get("errorCode").Int() != 800002 {
				t.Errorf("errorCode = %d", res.out.Get("errorCode").Int())
			}
			if n := len(sim.Requests()); n != 0 {
				t.Errorf("%d requests sent for a bad form", n)
			}
		})
	}
}

func TestMissingPrivateConfig(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim).private("BK_APP_SECRET", "").run()
	res.wantStatus(t, "failure", 1, "")
	if res.out.Get("errorCode").Int() != 800001 || !strings.Contains(res.out.Get("message").String(), "BK_APP_SECRET") {
		t.Errorf("message: %s (code %d)", res.out.Get("message").String(), res.out.Get("errorCode").Int())
	}
	if len(sim.Requests()) != 0 {
		t.Error("a request was sent")
	}
}

func TestSuccess(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", "echo \"::set-output name=ver::1.2.3\"\necho line2").run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	if res.data("total_count") != "3" || res.data("success_count") != "3" || res.data("failed_count") != "0" {
		t.Errorf("counts: %s", res.Output)
	}
	if res.data("success_targets") != "0:10.0.0.1,0:10.0.0.2,0:10.0.0.3" || res.data("ver") != "1.2.3" {
		t.Errorf("outputs: %s", res.Output)
	}
	// Every output written is declared in task.json, or is a variable from the logs.
	declared := readDeclaredOutputs(t)
	res.out.Get("data").ForEach(func(k, _ gjson.Result) bool {
		if !declared[k.String()] && k.String() != "ver" {
			t.Errorf("output %q is not declared in task.json", k.String())
		}
		return true
	})
	for name := range declared {
		if !res.out.Get("data." + name).Exists() {
			t.Errorf("declared output %q not written on success", name)
		}
	}
	if res.data("job_url") != "https://job.example.com/api_execute/"+res.data("job_instance_id") {
		t.Errorf("job_url = %q", res.data("job_url"))
	}
	for _, label := range []string{"0:10.0.0.1", "0:10.0.0.2", "0:10.0.0.3"} {
		if strings.Count(res.Stdout, "##subTag##"+label+"##subTag##line2") != 1 {
			t.Errorf("%s: line2 not printed exactly once:\n%s", label, res.Stdout)
		}
		if !strings.Contains(res.Stdout, "##subTag##"+label+"##subTag####subTagFinish##") {
			t.Errorf("%s: sub-tag not finished", label)
		}
	}
	st, err := os.ReadFile(statePath(res.dataDir))
	if err != nil || gjson.GetBytes(st, "job_instance_id").String() != res.data("job_instance_id") {
		t.Errorf("state file: %s %v", st, err)
	}
	req := sim.Requests()[0]
	for h, want := range map[string]string{"Accept": "application/json", "Content-Type": "application/json",
		"User-Agent": "jobFastExecuteScript/e2e", "Blueking-Language": "en"} {
		if got := req.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	auth := req.Header.Get("X-Bkapi-Authorization")
	if gjson.Get(auth, "bk_username").String() != "bob" || gjson.Get(auth, "bk_app_code").String() != appCode {
		t.Errorf("authorization header: operator or app wrong")
	}
	for _, q := range sim.Requests() {
		if gjson.Get(q.Header.Get("X-Bkapi-Authorization"), "bk_username").String() != "bob" {
			t.Errorf("%s used another operator", q.Path)
		}
	}
}

func readDeclaredOutputs(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../task.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for name := range gjson.GetBytes(b, "output").Map() {
		out[name] = true
	}
	return out
}

// TestPermissionDenied: an IAM denial names the operator and the missing actions (errorType 1); a
// gateway that has not granted the app the bkci_plugin_* resources says how to get the grant.
func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	t.Run("iam", func(t *testing.T) {
		t.Parallel()
		sim := startSim(t, jobsim.Options{DeniedUsers: []string{"bob"}})
		res := newStep(t, sim).run()
		res.wantStatus(t, "failure", 1, "")
		wantSubmits(t, sim, 0, 1)
		msg := res.out.Get("message").String()
		if !strings.Contains(msg, "bob") || !strings.Contains(msg, "quick_execute_script") || !strings.Contains(msg, "9900403") {
			t.Errorf("message does not name the operator, the action and JOB's code: %s", msg)
		}
		if res.out.Get("errorCode").Int() != 800003 || res.out.Get("platformErrorCode").Int() != 9900403 {
			t.Errorf("codes: %s", res.Output)
		}
	})
	t.Run("gateway", func(t *testing.T) {
		t.Parallel()
		sim := startSim(t, jobsim.Options{Grants: map[string][]jobsim.Endpoint{appCode: {jobsim.EPStatus}}})
		res := newStep(t, sim).run()
		res.wantStatus(t, "failure", 1, "")
		wantSubmits(t, sim, 0, 1)
		msg := res.out.Get("message").String()
		if !strings.Contains(msg, "1640301") || !strings.Contains(msg, "bkci_plugin_") {
			t.Errorf("message does not explain the missing grant: %s", msg)
		}
	})
}

// TestHelp (issue 17, item 6): --help and -h say what the binary is, how BK-CI runs it and its flags,
// in the agent's language; exit 0 and no output.json, in a dir with no input.json at all.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ arg, lang, want string }{
		{"--help", "en_US", "BK-CI's agent runs it"},
		{"-h", "en_US", "--postAction=terminate"},
		{"--help", "zh_CN", "由 BK-CI 的构建机 Agent 运行"},
	} {
		t.Run(tc.arg+" "+tc.lang, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command(binary, tc.arg)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "bk_data_dir="+dir, "BK_CI_LOCALE_LANGUAGE="+tc.lang)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", tc.arg, err)
			}
			for _, w := range []string{tc.want, "jobFastExecuteScript e2e", "--version", "BK_CI_LOCALE_LANGUAGE"} {
				if !strings.Contains(string(out), w) {
					t.Errorf("%s lacks %q:\n%s", tc.arg, w, out)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "output.json")); !os.IsNotExist(err) {
				t.Errorf("%s wrote output.json (%v)", tc.arg, err)
			}
		})
	}
}
