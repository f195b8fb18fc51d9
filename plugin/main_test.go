package plugin

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/jobsim"
)

// The tests in this file run the step in-process (Main), against the JOB simulator on 127.0.0.1, with
// input.json built as BK-CI's worker builds it (tooling/agent): the orchestration (load, submit, watch,
// terminate, logs, results, the post action) without building the binary. The end-to-end tests in e2e/
// run the same paths through the binary.

const (
	ipAppCode   = "bkci-inproc"
	ipAppSecret = "INPROC-APP-SECRET-5d1e"
)

var (
	ipFormOnce sync.Once
	ipForm     *agent.Form
)

func inprocSim(t *testing.T, opts jobsim.Options) *jobsim.Sim {
	t.Helper()
	opts.Apps = map[string]string{ipAppCode: ipAppSecret}
	return jobsim.StartTest(t, opts)
}

// inproc is one prepared in-process run.
type inproc struct {
	t    *testing.T
	step *agent.Step
}

func newInproc(t *testing.T, sim *jobsim.Sim, kv ...string) *inproc {
	t.Helper()
	ipFormOnce.Do(func() {
		f, err := agent.LoadForm("..")
		if err != nil {
			panic(err)
		}
		ipForm = f
	})
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	in := map[string]any{
		"scopeId": "2", "scriptContent": "#!/bin/bash\necho \"hi from $JOBSIM_TARGET_LABEL\"\n",
		"timeout": "60", "hosts": "0:10.0.0.1\n0:10.0.0.2\n0:10.0.0.3",
		"BK_CI_PIPELINE_NAME": "deploy", "BK_CI_BUILD_ID": "b-1", "BK_CI_BUILD_NUM": "7",
		"BK_CI_START_USER_ID": "alice", "BK_CI_PIPELINE_UPDATE_USER": "bob", "BK_CI_BUILD_TASK_ID": "e-task1",
		"BK_CI_ATOM_TIMEOUT": "10", "BK_CI_LOCALE_LANGUAGE": "en_US", "bkWorkspace": ws,
		"bkSensitiveConfInfo": map[string]any{"BK_JOB_API_URL": sim.URL(), "BK_APP_CODE": ipAppCode,
			"BK_APP_SECRET": ipAppSecret, "BK_JOB_WEB_URL": "https://job.example.com"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		in[kv[i]] = kv[i+1]
	}
	return &inproc{t: t, step: &agent.Step{TmpDir: filepath.Join(dir, "tmp"), Workspace: ws, Form: ipForm, Input: in}}
}

// ipResult is what an in-process run left.
type ipResult struct {
	code   int
	stdout string
	stderr string
	out    gjson.Result
	dir    string
}

func (r ipResult) data(name string) string {
	return r.out.Get("data." + gjson.Escape(name) + ".value").String()
}

func (r *inproc) run(ctx context.Context, args ...string) ipResult {
	r.t.Helper()
	env, err := r.step.PrepareData()
	if err != nil {
		r.t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	code := Main(ctx, args, Env{Getenv: func(k string) string { return vars[k] }, Stdout: &stdout, Stderr: &stderr})
	b, _ := os.ReadFile(filepath.Join(r.step.DataDir, "output.json"))
	res := ipResult{code: code, stdout: stdout.String(), stderr: stderr.String(), out: gjson.ParseBytes(b), dir: r.step.DataDir}
	if (code == 0) != (res.out.Get("status").String() == "success") {
		r.t.Errorf("exit code %d with output.json %s", code, b)
	}
	for name, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "output.json": string(b)} {
		if strings.Contains(text, ipAppSecret) {
			r.t.Errorf("the app secret leaked into %s", name)
		}
	}
	return res
}

func (r ipResult) want(t *testing.T, status string, errorType int, jobStatus string) {
	t.Helper()
	if got := r.out.Get("status").String(); got != status || int(r.out.Get("errorType").Int()) != errorType || r.data("job_status") != jobStatus {
		t.Fatalf("status %s errorType %d job_status %q (want %s %d %q)\nmessage: %s\nstdout:\n%s",
			got, r.out.Get("errorType").Int(), r.data("job_status"), status, errorType, jobStatus,
			r.out.Get("message").String(), r.stdout)
	}
}

// hold holds every target of the simulator's jobs until the test ends, and reports the held job.
func hold(t *testing.T, sim *jobsim.Sim) <-chan int64 {
	gate := jobsim.NewGate()
	jobs := make(chan int64, 1)
	sim.SetHold(func(tg jobsim.Target) *jobsim.Gate {
		select {
		case jobs <- tg.JobID:
		default:
		}
		return gate
	})
	t.Cleanup(gate.Open)
	return jobs
}

func recvJob(t *testing.T, jobs <-chan int64) int64 {
	t.Helper()
	select {
	case id := <-jobs:
		return id
	case <-time.After(30 * time.Second):
		t.Fatal("no job held")
		return 0
	}
}

// TestMain_Results: a job's end becomes the verdict, the counts, the outputs and the report.
func TestMain_Results(t *testing.T) {
	t.Parallel()
	fail2 := "echo \"::set-output name=VERSION::1.2\"\n[ \"$JOBSIM_TARGET_LABEL\" != 0:10.0.0.2 ] || exit 3\n"
	for _, tc := range []struct {
		name              string
		kv                []string
		status, jobStatus string
		errorType         int
		success, failed   string
	}{
		{"success", nil, "success", "success", 0, "3", "0"},
		{"failed target", []string{"scriptContent", fail2}, "failure", "failed", 1, "2", "1"},
		{"logs none, no variables", []string{"scriptContent", fail2, "logMode", "none", "extractVars", "false"}, "failure", "failed", 1, "2", "1"},
		{"rolling", []string{"rollingEnabled", "true", "rollingExpression", "1 2", "rollingMode", "1"}, "success", "success", 0, "3", "0"},
		{"logs failed", []string{"scriptContent", fail2, "logMode", "failed"}, "failure", "failed", 1, "2", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := inprocSim(t, jobsim.Options{})
			res := newInproc(t, sim, tc.kv...).run(t.Context())
			res.want(t, tc.status, tc.errorType, tc.jobStatus)
			if res.data("success_count") != tc.success || res.data("failed_count") != tc.failed {
				t.Errorf("counts %s/%s, want %s/%s", res.data("success_count"), res.data("failed_count"), tc.success, tc.failed)
			}
			if !fileExistsT(filepath.Join(filepath.Dir(res.dir), "..", "ws", ".jobFastExecuteScript", "e-task1", "report", "index.html")) {
				t.Error("no report")
			}
		})
	}
}

func fileExistsT(p string) bool { _, err := os.Stat(p); return err == nil }

// TestMain_Modes: dry run, wait none, callback, bad input, missing config, --version.
func TestMain_Modes(t *testing.T) {
	t.Parallel()
	sim := inprocSim(t, jobsim.Options{})
	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		res := newInproc(t, sim, "dryRun", "true").run(t.Context())
		res.want(t, "success", 0, "dry_run")
	})
	t.Run("wait none", func(t *testing.T) {
		t.Parallel()
		res := newInproc(t, sim, "wait", "none").run(t.Context())
		res.want(t, "success", 0, "submitted")
		if res.data("job_instance_id") == "" {
			t.Error("no job id")
		}
	})
	t.Run("callback", func(t *testing.T) {
		t.Parallel()
		port := freePortT(t)
		res := newInproc(t, sim, "wait", "callback", "callbackBaseUrl", "http://127.0.0.1:"+port,
			"callbackListen", "127.0.0.1:"+port).run(t.Context())
		res.want(t, "success", 0, "success")
	})
	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		res := newInproc(t, sim, "scopeId", "x").run(t.Context())
		res.want(t, "failure", 1, "")
		if res.out.Get("errorCode").Int() != codeInvalidInput {
			t.Errorf("errorCode %d", res.out.Get("errorCode").Int())
		}
	})
	t.Run("missing config", func(t *testing.T) {
		t.Parallel()
		r := newInproc(t, sim)
		delete(r.step.Input["bkSensitiveConfInfo"].(map[string]any), "BK_APP_SECRET")
		res := r.run(t.Context())
		res.want(t, "failure", 1, "")
		if res.out.Get("errorCode").Int() != codeMissingConfig {
			t.Errorf("errorCode %d", res.out.Get("errorCode").Int())
		}
	})
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		for _, arg := range []string{"--help", "-h"} {
			var out bytes.Buffer
			code := Main(t.Context(), []string{arg}, Env{Getenv: func(k string) string {
				if k == "BK_CI_LOCALE_LANGUAGE" {
					return "en_US"
				}
				return ""
			}, Stdout: &out})
			if code != 0 || !strings.Contains(out.String(), "--postAction=terminate") || !strings.Contains(out.String(), "BK-CI's agent runs it") {
				t.Errorf("%s: %d %q", arg, code, out.String())
			}
		}
	})
	t.Run("version", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		if code := Main(t.Context(), []string{"--version"}, Env{Getenv: func(string) string { return "" }, Stdout: &out}); code != 0 || !strings.Contains(out.String(), AtomCode) {
			t.Errorf("--version: %d %q", code, out.String())
		}
	})
}

// TestMain_JOBRefuses: JOB's refusals become the right endings, with JOB's code.
func TestMain_JOBRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		fault     jobsim.Fault
		errorType int
		code      int
	}{
		{"permission", jobsim.Fault{Kind: jobsim.FaultResultFalse, Code: jobsim.CodePermissionDenied}, 1, codePermission},
		{"unknown outcome", jobsim.Fault{Kind: jobsim.Fault503}, 2, codeSubmitUnknown},
		{"rejected", jobsim.Fault{Kind: jobsim.FaultResultFalse, Code: 1244002}, 1, codeRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := inprocSim(t, jobsim.Options{})
			f := tc.fault
			f.Endpoint, f.Calls = jobsim.EPSubmit, jobsim.Every()
			sim.Inject(f)
			res := newInproc(t, sim).run(t.Context())
			res.want(t, "failure", tc.errorType, "")
			if got := res.out.Get("errorCode").Int(); got != int64(tc.code) {
				t.Errorf("errorCode %d, want %d: %s", got, tc.code, res.out.Get("message").String())
			}
		})
	}
}

// TestMain_EndsEarly: a cancel and the wait limit terminate the job; the post action after a kill
// terminates it too, or leaves it; a lost submit answer is looked up.
func TestMain_EndsEarly(t *testing.T) {
	t.Parallel()
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		sim := inprocSim(t, jobsim.Options{})
		jobs := hold(t, sim)
		ctx, cancel := context.WithCancel(t.Context())
		go func() { recvJob(t, jobs); time.Sleep(300 * time.Millisecond); cancel() }()
		res := newInproc(t, sim).run(ctx)
		res.want(t, "failure", 1, "canceled")
		if res.data("job_status_code") != "11" {
			t.Errorf("job_status_code %q", res.data("job_status_code"))
		}
	})
	t.Run("wait limit", func(t *testing.T) {
		t.Parallel()
		sim := inprocSim(t, jobsim.Options{})
		hold(t, sim)
		res := newInproc(t, sim, "waitTimeout", "1").run(t.Context())
		res.want(t, "failure", 1, "timeout")
	})
	t.Run("lost answer", func(t *testing.T) {
		t.Parallel()
		sim := inprocSim(t, jobsim.Options{})
		sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedLost})
		res := newInproc(t, sim).run(t.Context())
		res.want(t, "success", 0, "success")
		if sim.Count(jobsim.EPList) == 0 || sim.JobsCreated() != 1 {
			t.Errorf("%d look-ups, %d jobs", sim.Count(jobsim.EPList), sim.JobsCreated())
		}
	})
	for _, onCancel := range []string{"terminate", "leave"} {
		t.Run("post action "+onCancel, func(t *testing.T) {
			t.Parallel()
			sim := inprocSim(t, jobsim.Options{})
			jobs := hold(t, sim)
			ctx, cancel := context.WithCancel(t.Context())
			step := newInproc(t, sim, "wait", "none", "onCancel", onCancel)
			step.run(ctx).want(t, "success", 0, "submitted")
			cancel()
			id := recvJob(t, jobs)
			post := newInproc(t, sim, "onCancel", onCancel, "BK_CI_BUILD_TASK_ID", "e-post1", "parentTaskId", "e-task1")
			post.step.TmpDir = step.step.TmpDir
			res := post.run(t.Context(), "--postAction=terminate")
			res.want(t, "success", 0, "")
			snap, _ := sim.Job(id)
			if want := map[string]int{"terminate": jobsim.StatusStopSuccess, "leave": jobsim.StatusRunning}[onCancel]; snap.Status != want {
				t.Errorf("job status %d, want %d\n%s", snap.Status, want, res.stdout)
			}
		})
	}
	t.Run("post action, nothing", func(t *testing.T) {
		t.Parallel()
		sim := inprocSim(t, jobsim.Options{})
		res := newInproc(t, sim, "BK_CI_BUILD_TASK_ID", "e-post1", "parentTaskId", "e-task1").run(t.Context(), "--postAction=terminate")
		res.want(t, "success", 0, "")
		if n := sim.Count(jobsim.EPOperateJob); n != 0 {
			t.Errorf("%d terminates", n)
		}
	})
}

func freePortT(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestMain_NotStarted: a rolling mode 1 stop at batch 2 of 3 leaves two targets that never ran: they
// are not started, not failed (total = success + failed + not started), the summary says why, and the
// step fails whatever the tolerance.
func TestMain_NotStarted(t *testing.T) {
	t.Parallel()
	sim := inprocSim(t, jobsim.Options{})
	res := newInproc(t, sim, "hosts", "0:10.0.0.1 0:10.0.0.2 0:10.0.0.3 0:10.0.0.4", "rollingEnabled", "true",
		"rollingExpression", "1 1 2", "rollingMode", "1", "failureTolerance", "100%",
		"scriptContent", "[ \"$JOBSIM_TARGET_LABEL\" != 0:10.0.0.2 ] || exit 3\n").run(t.Context())
	res.want(t, "failure", 1, "failed")
	for k, v := range map[string]string{"total_count": "4", "success_count": "1", "failed_count": "1", "not_started_count": "2",
		"success_targets": "0:10.0.0.1", "failed_targets": "0:10.0.0.2", "not_started_targets": "0:10.0.0.3,0:10.0.0.4",
		"job_status_code": "4"} {
		if res.data(k) != v {
			t.Errorf("%s = %q, want %q", k, res.data(k), v)
		}
	}
	if !strings.Contains(res.stdout, "2 not started: rolling stopped at batch 2 of 3") {
		t.Errorf("the summary does not say why:\n%s", res.stdout)
	}
}

// TestMain_ToleranceOfFailedJob: JOB ends the job 4 (a failed target, no rolling) and every target
// ran: within failureTolerance the step passes, job_status_code keeps 4, a warning names the target.
func TestMain_ToleranceOfFailedJob(t *testing.T) {
	t.Parallel()
	sim := inprocSim(t, jobsim.Options{})
	script := "[ \"$JOBSIM_TARGET_LABEL\" != 0:10.0.0.2 ] || exit 3\n"
	res := newInproc(t, sim, "scriptContent", script, "failureTolerance", "1").run(t.Context())
	res.want(t, "success", 0, "success")
	if res.data("job_status_code") != "4" || res.data("failed_targets") != "0:10.0.0.2" || res.data("not_started_count") != "0" {
		t.Errorf("outputs: %s", res.out.Raw)
	}
	if !strings.Contains(res.stdout, "within the tolerance 1: the step passes. Failed: 0:10.0.0.2") {
		t.Errorf("no warning naming the failed target:\n%s", res.stdout)
	}
	res = newInproc(t, sim, "scriptContent", script, "failureTolerance", "0").run(t.Context())
	res.want(t, "failure", 1, "failed")
}
