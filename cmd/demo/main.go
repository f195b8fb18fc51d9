// Command demo runs the plugin end to end on the embedded default: it starts the JOB simulator with a
// small demo inventory, builds the plugin and runs it exactly as BK-CI's agent does, with an inline
// shell script over a rolling plan that prints per-target lines and sets a variable. It then shows
// output.json and where the report is.
//
//	go run ./cmd/demo
//	go run ./cmd/demo -set retryFailed=2 -set 'scriptContent=[ "$JOBSIM_EXECUTE_COUNT" -ge 1 ] || exit 3'
//	go run ./cmd/demo -fail -screenshot docs/report-failed-rolling.png   # the README's failed rolling run
//
// -set overrides a form field (or a build variable) by its task.json name, as the pipeline user would
// fill it in; the simulator's scripts see JOBSIM_TARGET_LABEL, JOBSIM_BATCH and JOBSIM_EXECUTE_COUNT.
// -fail runs a fleet of 60 hosts in rolling batches "5 20 100%" (stop on failure) with a script that
// fails on 8 hosts of batch 2 with two distinct errors, so batch 3 never starts. -screenshot opens the
// report in headless Chromium and saves a PNG of its first screen.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/chromium"
	"jobfastexecutescript/tooling/jobsim"
)

const demoScript = `#!/bin/bash
# Runs on every target of the demo, in rolling batches.
echo "hello from $JOBSIM_TARGET_LABEL (job step $JOBSIM_STEP_INSTANCE_ID)"
echo "deploying version $1"
sleep 0.2
echo "::set-output name=deployed_version::$1"
echo "<SOPS_VAR>demo_result:ok</SOPS_VAR>"
`

// failScript fails on some hosts of the failed rolling run's second batch (hosts 6 to 25, by the
// last number of the IP): 5 with a full disk, 3 with a refused connection. Host 1 tags its result.
const failScript = `#!/bin/bash
n=${JOBSIM_TARGET_LABEL##*.}
echo "deploying version $1 on $JOBSIM_TARGET_LABEL"
echo "fetching package… done"
if [ "$n" -ge 6 ] && [ "$n" -le 25 ] && [ $((n % 4)) -eq 0 ]; then
  echo "unpacking to /data/app/$1"
  echo "ERROR: no space left on device (/data is 100% full)"
  exit 28
fi
if [ "$n" -ge 6 ] && [ "$n" -le 25 ] && [ $((n % 7)) -eq 0 ]; then
  echo "registering with the load balancer"
  echo "ERROR: connection refused (10.9.9.9:443)"
  exit 7
fi
echo "health check passed"
if [ "$n" -eq 1 ]; then job_success "canary"; fi
`

// fleetSize is the number of hosts of the failed rolling run.
const fleetSize = 60

func main() {
	lang := flag.String("lang", "en_US", "runtime language (zh_CN or en_US)")
	keep := flag.Bool("keep", true, "keep the workspace (report) after the demo")
	failRun := flag.Bool("fail", false, "a failed rolling run of 60 hosts instead of the demo inventory")
	shot := flag.String("screenshot", "", "save a PNG of the report's first screen (headless Chromium) to this file")
	sets := fieldValues{}
	flag.Var(sets, "set", "`name=value`: set a form field (task.json name) or build variable; repeatable")
	flag.Parse()
	os.Exit(run(*lang, *keep, *failRun, *shot, sets))
}

// fieldValues collects -set name=value flags.
type fieldValues map[string]string

func (f fieldValues) String() string { return "" }

func (f fieldValues) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q: want name=value", v)
	}
	f[strings.TrimSpace(name)] = value
	return nil
}

func run(lang string, keep, failRun bool, shot string, sets fieldValues) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	const app, secret = "bkci-demo", "demo-app-secret-not-for-production"
	inv := jobsim.DemoInventory()
	if failRun {
		hosts := jobsim.FakeHosts(2, 5001, fleetSize)
		ids := make([]int64, len(hosts))
		for i := range hosts {
			ids[i] = hosts[i].ID
		}
		inv = &jobsim.Inventory{Bizs: inv.Bizs, Hosts: hosts, Accounts: inv.Accounts,
			Modules: []jobsim.Module{{ID: 7000, BizID: 2, Name: "web", HostIDs: ids}}}
	}
	sim, err := jobsim.New(jobsim.Options{Apps: map[string]string{app: secret}, Inventory: inv,
		Exec: jobsim.RealExec{MaxConcurrency: 4}})
	if err != nil {
		return fail("start the JOB simulator", err)
	}
	base, err := sim.Start()
	if err != nil {
		return fail("start the JOB simulator", err)
	}
	defer sim.Close()
	fmt.Printf("JOB simulator: %s\n", base)

	wd, _ := os.Getwd()
	root, err := agent.ModuleRoot(wd)
	if err != nil {
		return fail("find the project", err)
	}
	tmp, err := os.MkdirTemp("", "jobFastExecuteScript-demo-")
	if err != nil {
		return fail("make a temporary dir", err)
	}
	if !keep {
		defer os.RemoveAll(tmp)
	}
	form, err := agent.LoadForm(root)
	if err != nil {
		return fail("read task.json", err)
	}
	bin, err := agent.Build(ctx, root, tmp)
	if err != nil {
		return fail("build the plugin", err)
	}
	workspace := filepath.Join(tmp, "workspace")
	if err := os.MkdirAll(workspace, 0o755); err != nil {
		return fail("make the workspace", err)
	}
	step := &agent.Step{
		// The step saved with the form's defaults, then the fields below, laid over the build variables.
		Binary: bin, DataDir: filepath.Join(tmp, "data"), Workspace: workspace, Form: form,
		Stdout: os.Stdout, Stderr: os.Stderr,
		Input: map[string]any{
			// The form, as BK-CI sends it: every value a string.
			"scopeType": "biz", "scopeId": "2",
			"scriptSource": "inline", "scriptLanguage": "1", "scriptContent": demoScript,
			"scriptParam": "1.4.2", "timeout": "60", "accountAlias": "root",
			"hosts": "0:10.0.0.1\n0:10.0.0.2", "dynamicGroups": "dg-web", "topoNodes": "module:1001",
			"containerFilters": `[{"kube_workload_filter":{"kind":"deployment","workload_name_list":["api"]},"kube_pod_filter":{"label_selector":[{"key":"env","operator":"equals","values":["prod"]}]},"kube_container_prop_filter":{"container_name_list":["main"]}}]`,
			"rollingEnabled":   "true", "rollingExpression": "1 50% 100%", "rollingMode": "1",
			"wait": "poll", "onCancel": "terminate", "operator": "lastModifier",
			"failureTolerance": "0", "logMode": "auto", "extractVars": "true", "dryRun": "false",
			// Build variables.
			"BK_CI_PROJECT_NAME": "demo", "BK_CI_PIPELINE_ID": "p-demo", "BK_CI_PIPELINE_NAME": "demo-deploy",
			"BK_CI_BUILD_ID": "b-demo", "BK_CI_BUILD_NUM": "1", "BK_CI_START_USER_ID": "alice",
			"BK_CI_PIPELINE_UPDATE_USER": "alice", "BK_CI_BUILD_TASK_ID": "e-demo", "BK_CI_ATOM_TIMEOUT": "10",
			"BK_CI_LOCALE_LANGUAGE": lang, "bkWorkspace": workspace,
			// Private config, as the store delivers it.
			"bkSensitiveConfInfo": map[string]string{
				"BK_JOB_API_URL": base, "BK_APP_CODE": app, "BK_APP_SECRET": secret,
				"BK_JOB_WEB_URL": "https://job.example.com",
			},
		},
		Env: map[string]string{"BK_CI_LOCALE_LANGUAGE": lang},
	}
	if failRun {
		for k, v := range map[string]any{"scriptContent": failScript, "hosts": "", "dynamicGroups": "", "topoNodes": "module:7000",
			"containerFilters": "", "rollingExpression": "5 20 100%", "BK_CI_PIPELINE_NAME": "web-deploy"} {
			step.Input[k] = v
		}
	}
	for k, v := range sets {
		step.Input[k] = v
	}
	fmt.Printf("running %s in %s as BK-CI's agent would\n\n", agent.BinaryName, filepath.Join(tmp, "data"))
	res, err := step.Run(ctx)
	if err != nil {
		return fail("run the plugin", err)
	}
	fmt.Printf("\nexit code: %d\noutput.json:\n", res.ExitCode)
	var pretty map[string]any
	if json.Unmarshal(res.Output, &pretty) == nil {
		b, _ := json.MarshalIndent(pretty, "", "  ")
		fmt.Println(string(b))
	} else {
		fmt.Println(string(res.Output))
	}
	report := filepath.Join(workspace, ".jobFastExecuteScript", "e-demo", "report", "index.html")
	if _, err := os.Stat(report); err == nil {
		fmt.Printf("\nreport: %s\nresult: %s\n", report, filepath.Join(filepath.Dir(report), "result.json"))
		if shot != "" {
			if err := screenshot(ctx, report, shot, tmp); err != nil {
				return fail("take the screenshot", err)
			}
			fmt.Printf("screenshot: %s\n", shot)
		}
	}
	fmt.Printf("simulator requests: submit %d, status %d, logs %d\n",
		sim.Count(jobsim.EPSubmit), sim.Count(jobsim.EPStatus), sim.Count(jobsim.EPLogs))
	return res.ExitCode
}

// screenshot saves a PNG of the report's first screen, 1200 × 1400 px, as headless Chromium draws it.
func screenshot(ctx context.Context, page, out, tmp string) error {
	b, err := chromium.Start(filepath.Join(tmp, "chromium"))
	if err != nil {
		return err
	}
	defer b.Close()
	p, err := b.NewPage(ctx, 1200, 1400)
	if err != nil {
		return err
	}
	if err := p.Navigate(ctx, "file://"+filepath.ToSlash(page)); err != nil {
		return err
	}
	if err := p.WaitFor(ctx, "document.body.hasAttribute('data-ready')"); err != nil {
		return err
	}
	// The largest group open, as a reader would have it.
	if err := p.Eval(ctx, `(function () { var g = document.querySelector('details.group'); if (g) { g.open = true; } return true; })()`, nil); err != nil {
		return err
	}
	png, err := p.Screenshot(ctx, false)
	if err != nil {
		return err
	}
	return os.WriteFile(out, png, 0o644)
}

func fail(what string, err error) int {
	fmt.Fprintf(os.Stderr, "demo: %s: %v\n", what, err)
	return 1
}
