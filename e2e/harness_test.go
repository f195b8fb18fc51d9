//go:build e2e

// Package e2e runs the real plugin binary against the in-process JOB simulator, the way BK-CI's agent
// runs it (tooling/agent).
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/jobsim"
)

const (
	appCode   = "bkci-e2e"
	appSecret = "E2E-APP-SECRET-7f3c9a1b"
)

var (
	binary string
	form   *agent.Form // task.json's inputs: a new step is saved with their defaults
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		wd, _ := os.Getwd()
		root, err := agent.ModuleRoot(wd)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if form, err = agent.LoadForm(root); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		binary, err = agent.Build(ctx, root, dir, "-ldflags", "-X jobfastexecutescript/plugin.Version=e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// startSim starts a simulator for the test (jobsim.StartTest) that knows the test's app.
func startSim(t *testing.T, opts jobsim.Options) *jobsim.Sim {
	t.Helper()
	if opts.Apps == nil {
		opts.Apps = map[string]string{appCode: appSecret}
	}
	return jobsim.StartTest(t, opts)
}

// stepRun is one prepared run of the binary.
type stepRun struct {
	t    *testing.T
	sim  *jobsim.Sim
	step *agent.Step
}

// newStep prepares a run with a valid form (3 demo hosts, an echo script) overridden by kv pairs. As
// BK-CI's worker builds it, input.json holds the build variables, then the step's saved inputs: every
// form field's default, overridden by what the test sets (agent.Step).
func newStep(t *testing.T, sim *jobsim.Sim, kv ...string) *stepRun {
	t.Helper()
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	base := ""
	if sim != nil {
		base = sim.URL()
	}
	in := map[string]any{
		"scopeType": "biz", "scopeId": "2", "scriptSource": "inline", "scriptLanguage": "1",
		"scriptContent": "#!/bin/bash\necho \"hi from $JOBSIM_TARGET_LABEL\"\n",
		"timeout":       "60", "accountAlias": "root", "hosts": "0:10.0.0.1\n0:10.0.0.2\n0:10.0.0.3",
		"wait": "poll", "onCancel": "terminate", "operator": "lastModifier", "failureTolerance": "0",
		"logMode": "auto", "extractVars": "true", "dryRun": "false", "rollingEnabled": "false", "rollingMode": "1",
		"BK_CI_PROJECT_NAME": "proj", "BK_CI_PIPELINE_ID": "p-1", "BK_CI_PIPELINE_NAME": "deploy",
		"BK_CI_BUILD_ID": "b-1", "BK_CI_BUILD_NUM": "7", "BK_CI_START_USER_ID": "alice",
		"BK_CI_PIPELINE_UPDATE_USER": "bob", "BK_CI_BUILD_TASK_ID": "e-task1", "BK_CI_ATOM_TIMEOUT": "10",
		"BK_CI_LOCALE_LANGUAGE": "en_US", "bkWorkspace": ws,
		"bkSensitiveConfInfo": map[string]any{
			"BK_JOB_API_URL": base, "BK_APP_CODE": appCode, "BK_APP_SECRET": appSecret,
			"BK_JOB_WEB_URL": "https://job.example.com",
		},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		in[kv[i]] = kv[i+1] // agent.Unset leaves a field out of the saved step, a variable out of the build
	}
	return &stepRun{t: t, sim: sim, step: &agent.Step{Binary: binary, TmpDir: filepath.Join(dir, "tmp"), Workspace: ws,
		Form: form, Input: in, Env: map[string]string{"BK_CI_LOCALE_LANGUAGE": fmt.Sprint(in["BK_CI_LOCALE_LANGUAGE"])}}}
}

// private sets a private config key (empty removes it).
func (r *stepRun) private(k, v string) *stepRun {
	m := r.step.Input["bkSensitiveConfInfo"].(map[string]any)
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
	return r
}

// result is a finished run.
type result struct {
	*agent.Result
	out     gjson.Result
	ws      string
	dataDir string
}

func (r *stepRun) run(args ...string) *result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r.step.Args = args
	res, err := r.step.Run(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.finish(res)
}

func (r *stepRun) finish(res *agent.Result) *result {
	r.t.Helper()
	if !gjson.ValidBytes(res.Output) {
		r.t.Fatalf("output.json invalid or missing (exit %d)\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	out := gjson.ParseBytes(res.Output)
	if (res.ExitCode == 0) != (out.Get("status").String() == "success") {
		r.t.Errorf("exit code %d with status %s", res.ExitCode, out.Get("status").String())
	}
	if out.Get("type").String() != "default" {
		r.t.Errorf("output.json type = %q", out.Get("type").String())
	}
	for _, s := range []string{appSecret} {
		for name, text := range map[string]string{"stdout": res.Stdout, "stderr": res.Stderr, "output.json": string(res.Output)} {
			if strings.Contains(text, s) {
				r.t.Errorf("the app secret leaked into %s", name)
			}
		}
	}
	return &result{Result: res, out: out, ws: r.step.Workspace, dataDir: r.step.DataDir}
}

func (res *result) data(name string) string {
	return res.out.Get("data." + gjson.Escape(name) + ".value").String()
}

func (res *result) wantStatus(t *testing.T, status string, errorType int, jobStatus string) {
	t.Helper()
	got := res.out.Get("status").String()
	if got != status || int(res.out.Get("errorType").Int()) != errorType || res.data("job_status") != jobStatus {
		t.Fatalf("status %s errorType %d job_status %q (want %s %d %q)\nmessage: %s\nstdout:\n%s\nstderr:\n%s",
			got, res.out.Get("errorType").Int(), res.data("job_status"), status, errorType, jobStatus,
			res.out.Get("message").String(), res.Stdout, res.Stderr)
	}
}

// wantSubmits asserts the number of jobs created and submit requests made.
func wantSubmits(t *testing.T, sim *jobsim.Sim, jobs, submits int) {
	t.Helper()
	if got := sim.JobsCreated(); got != jobs {
		t.Errorf("jobs created = %d, want %d", got, jobs)
	}
	if got := sim.Count(jobsim.EPSubmit); got != submits {
		t.Errorf("submit requests = %d, want %d", got, submits)
	}
}

// statePath is the state file in a run's data dir (plugin/state.go).
func statePath(dataDir string) string {
	return filepath.Join(dataDir, "jobFastExecuteScript.state.json")
}
