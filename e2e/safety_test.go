//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// hostileVars are pipeline variables named like the form's fields, each with a value that would show
// if it reached the request: BK-CI writes every build variable into input.json and lays the saved
// step inputs over them (bk-ci worker-common .../task/market/MarketAtomTask.kt), so a field missing
// from the saved step would take the variable's value.
var hostileVars = map[string]string{
	"scopeType": "biz_set", "scopeId": "666", "scriptSource": "scriptId", "scriptLanguage": "4",
	"scriptContent": "echo from-a-variable", "scriptId": "777", "scriptVersionId": "888",
	"scriptParam": "--from-a-variable", "paramSensitive": "true", "timeout": "86400",
	"accountAlias": "evil", "accountId": "99", "taskName": "from-a-variable", "hosts": "0:10.6.6.6",
	"dynamicGroups": "dg-evil", "topoNodes": "set:10",
	"containerFilters": `[{"is_empty_filter":true}]`, "rollingEnabled": "true", "rollingExpression": "1",
	"rollingMode": "3", "wait": "callback", "callbackListen": "0.0.0.0:1", "callbackBaseUrl": "http://10.6.6.6:1",
	"callbackUrl": "http://10.6.6.6/cb", "waitTimeout": "1", "onCancel": "leave", "operator": "starter",
	"failureTolerance": "100%", "retryFailed": "5", "retryInterval": "1", "failFast": "true", "logMode": "none", "extractVars": "false", "dryRun": "true", "formVersion": "99",
	"allowedVariables": "PATH, LD_PRELOAD", "windowsInterpreter": "C:\\evil.exe", "rollingExecution": "staggered",
	"rollingStaggerSeconds": "9", "rollingJitterMinSeconds": "1", "rollingJitterMaxSeconds": "2",
	"scriptFile": "../../etc/passwd", "targetsFile": "evil-hosts.txt", "strictMode": "false",
	"scriptContentBat": "echo from-a-variable", "scriptContentPerl": "print 'from-a-variable';",
	"scriptContentPython": "print('from-a-variable')", "scriptContentPowershell": "Write-Output from-a-variable",
	"containerFiltersExample": "from-a-variable",
}

// TestPipelineVariablesNeverFillFields: a step whose user set only the topology node runs on that
// node alone, with the form's account alias, its own task name and nothing else, whatever pipeline
// variables named like the fields hold.
func TestPipelineVariablesNeverFillFields(t *testing.T) {
	t.Parallel()
	for name := range form.Inputs {
		if _, ok := hostileVars[name]; !ok {
			t.Fatalf("input %s has no hostile variable in this test: add one", name)
		}
	}
	sim := startSim(t, jobsim.Options{})
	r := newStep(t, sim, "hosts", "", "topoNodes", "module:1000",
		// What the saved step holds is the form's defaults and the fields the test sets; the harness
		// sets these for every test, here they are the form's defaults again.
		"scriptContent", form.Defaults["scriptContent"], "timeout", "7200")
	r.step.Vars = hostileVars
	res := r.run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	body := gjson.ParseBytes(sim.Requests()[0].Body)
	if got := body.Get("execute_target.host_topo_node_list").Raw; gjson.Get(got, "#").Int() != 1 ||
		gjson.Get(got, "0.id").Int() != 1000 || gjson.Get(got, "0.node_type").String() != "module" {
		t.Errorf("topology nodes %s, want module 1000 alone", got)
	}
	for _, path := range []string{"execute_target.host_list", "execute_target.host_dynamic_group_list",
		"execute_target.kube_container_filters", "callback", "script_param", "script_id", "script_version_id",
		"account_id", "rolling_config"} {
		if v := body.Get(path); v.Exists() && v.Raw != "[]" && v.Raw != "null" {
			t.Errorf("%s = %s: from a pipeline variable", path, v.Raw)
		}
	}
	if body.Get("account_alias").String() != "root" || body.Get("bk_scope_id").String() != "2" ||
		body.Get("bk_scope_type").String() != "biz" || body.Get("timeout").Int() != 7200 || body.Get("is_param_sensitive").Bool() {
		t.Errorf("request %s", body.Raw)
	}
	if name := body.Get("task_name").String(); strings.Contains(name, "from-a-variable") || !strings.HasPrefix(name, "deploy-#7-") {
		t.Errorf("task name %q", name)
	}
	if strings.Contains(res.Stdout, "from-a-variable") {
		t.Errorf("a variable's value reached the step:\n%s", res.Stdout)
	}
}

// TestScriptPrintedOnlyInDryRun: BK-CI's worker does not print the script (task.json marks the editor
// isSensitive), and neither does the step, except in the dry run the user asks for.
func TestScriptPrintedOnlyInDryRun(t *testing.T) {
	t.Parallel()
	script := "#!/bin/bash\n# SCRIPT-BODY-MARKER\necho hi\n"
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", script).run()
	res.wantStatus(t, "success", 0, "success")
	if strings.Contains(res.Stdout, "SCRIPT-BODY-MARKER") {
		t.Errorf("the script was printed:\n%s", res.Stdout)
	}
	dry := newStep(t, sim, "scriptContent", script, "dryRun", "true").run()
	dry.wantStatus(t, "success", 0, "dry_run")
	if !strings.Contains(dry.Stdout, "# SCRIPT-BODY-MARKER") {
		t.Errorf("the dry run does not show the script:\n%s", dry.Stdout)
	}
}

// killWhileRunning starts r, waits until its job runs with the id in the state file, and kills it.
func killWhileRunning(t *testing.T, sim *jobsim.Sim, r *stepRun, h *holder) int64 {
	t.Helper()
	p := r.startRun()
	id := h.job(t)
	p.until("the state file with the job id", func() bool {
		b, err := os.ReadFile(statePath(r.step.DataDir))
		return err == nil && gjson.GetBytes(b, "job_instance_id").Int() == id
	})
	p.signal(syscall.SIGKILL)
	p.waitKilled()
	if snap, _ := sim.Job(id); snap.Status != jobsim.StatusRunning {
		t.Fatalf("job status %d after the kill", snap.Status)
	}
	return id
}

// TestPostAction_OwnRunOnly: the post action terminates its own build's job wherever BK-CI runs it
// (an agent's shared workspace, an agentless job's fresh one, or a worker where nothing of the step is
// left: then it finds the job in JOB by the run's marker), and never another build's job.
func TestPostAction_OwnRunOnly(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"agent", "agentless", "nothing shared"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			h := holdTargets(t, sim, "0:10.0.0.1")
			r := newStep(t, sim)
			id := killWhileRunning(t, sim, r, h)
			var post *stepRun
			switch where {
			case "agent":
				post = postStep(t, sim, r)
			case "agentless":
				post = agentlessPost(t, sim, r)
				if post.step.Workspace == r.step.Workspace {
					t.Fatal("the agentless post action shares the step's workspace")
				}
			default:
				post = newStep(t, sim, "BK_CI_BUILD_TASK_ID", "e-post1", "parentTaskId", "e-task1")
			}
			res := post.run("--postAction=terminate")
			res.wantStatus(t, "success", 0, "")
			wantSubmits(t, sim, 1, 1)
			if snap, _ := sim.Job(id); snap.Status != jobsim.StatusStopSuccess || sim.Count(jobsim.EPOperateJob) != 1 {
				t.Errorf("job status %d, %d terminate requests; want 11 and 1\n%s", snap.Status, sim.Count(jobsim.EPOperateJob), res.Stdout)
			}
			if looked := sim.Count(jobsim.EPList) > 0; looked != (where == "nothing shared") {
				t.Errorf("%d look-ups in JOB; want them only when nothing of the step is found", sim.Count(jobsim.EPList))
			}
		})
	}
}

// TestPostAction_LeavesOtherBuilds: build 7's step was killed with its job running; build 8 is
// cancelled before its step runs, on the same agent (the same workspace and temporary dir). Build 8's
// post action leaves build 7's job alone, and so does the post action of a retry of build 7 (BK-CI
// retries a build under its build id, with BK_CI_RETRY_COUNT).
func TestPostAction_LeavesOtherBuilds(t *testing.T) {
	t.Parallel()
	for _, other := range [][]string{{"BK_CI_BUILD_ID", "b-8", "BK_CI_BUILD_NUM", "8"}, {"BK_CI_RETRY_COUNT", "1"}} {
		t.Run(strings.Join(other, "="), func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			h := holdTargets(t, sim, "0:10.0.0.1")
			r := newStep(t, sim)
			id := killWhileRunning(t, sim, r, h)
			res := postStep(t, sim, r, other...).run("--postAction=terminate")
			res.wantStatus(t, "success", 0, "")
			if snap, _ := sim.Job(id); snap.Status != jobsim.StatusRunning || sim.Count(jobsim.EPOperateJob) != 0 {
				t.Errorf("job status %d, %d terminate requests: another run's post action touched the job\n%s",
					snap.Status, sim.Count(jobsim.EPOperateJob), res.Stdout)
			}
			if !strings.Contains(res.out.Get("message").String(), "nothing to do") {
				t.Errorf("message %q", res.out.Get("message").String())
			}
		})
	}
}

// TestPostAction_NothingOfItsOwn: a post action whose step never reached its submit does nothing: it
// terminates nothing, submits nothing, and succeeds. When the step ran in this worker (its data dir is
// there, without a job), it sends no request at all.
func TestPostAction_NothingOfItsOwn(t *testing.T) {
	t.Parallel()
	t.Run("step never ran", func(t *testing.T) {
		t.Parallel()
		sim := startSim(t, jobsim.Options{})
		main := newStep(t, sim)
		res := postStep(t, sim, main).run("--postAction=terminate")
		res.wantStatus(t, "success", 0, "")
		wantSubmits(t, sim, 0, 0)
		if n := sim.Count(jobsim.EPOperateJob); n != 0 || len(sim.Requests()) > 1 {
			t.Errorf("%d requests, %d terminates: want one look-up at most and nothing else", len(sim.Requests()), n)
		}
	})
	t.Run("step refused its input", func(t *testing.T) {
		t.Parallel()
		sim := startSim(t, jobsim.Options{})
		main := newStep(t, sim, "scopeId", "x")
		main.run().wantStatus(t, "failure", 1, "")
		res := postStep(t, sim, main).run("--postAction=terminate")
		res.wantStatus(t, "success", 0, "")
		if n := len(sim.Requests()); n != 0 {
			t.Errorf("%d requests sent with nothing to do", n)
		}
	})
}

// TestLookupNotCut: JOB created the job but its answer was lost; while the step looks the job up by
// its name (a slow list), a SIGTERM or the step's deadline arrives. The look-up runs on its own clock:
// the step finds the job and terminates it; when the look-up cannot find it, the step names the task
// name to search for instead of "no job".
func TestLookupNotCut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		kv       []string
		sigterm  bool
		listFail bool
		status   string
	}{
		{"SIGTERM", nil, true, false, "canceled"},
		{"deadline", []string{"waitTimeout", "1"}, false, false, "timeout"},
		{"SIGTERM, not found", nil, true, true, "canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedLost})
			if tc.listFail {
				sim.Inject(jobsim.Fault{Endpoint: jobsim.EPList, Calls: jobsim.Every(), Kind: jobsim.Fault503})
			} else {
				sim.Inject(jobsim.Fault{Endpoint: jobsim.EPList, Calls: jobsim.Nth(1), Kind: jobsim.FaultDelay, Delay: 2500 * time.Millisecond})
			}
			h := holdTargets(t, sim, "0:10.0.0.1")
			r := newStep(t, sim, tc.kv...)
			p := r.startRun()
			id := h.job(t)
			p.until("the look-up", func() bool { return sim.Count(jobsim.EPList) >= 1 })
			if tc.sigterm {
				p.signal(syscall.SIGTERM)
			}
			res := p.wait()
			res.wantStatus(t, "failure", 1, tc.status)
			wantSubmits(t, sim, 1, 1)
			snap, _ := sim.Job(id)
			if tc.listFail {
				if msg := res.out.Get("message").String(); !strings.Contains(msg, snap.Name) || strings.Contains(msg, "no job known") {
					t.Errorf("the message does not name the task name %q: %s", snap.Name, msg)
				}
				return
			}
			if snap.Status != jobsim.StatusStopSuccess || res.data("job_instance_id") != fmt.Sprint(id) {
				t.Errorf("job %d at status %d, job_instance_id %q: want it found and terminated\n%s", id, snap.Status, res.data("job_instance_id"), res.Stdout)
			}
		})
	}
}

// TestDeadlineCountsBKCITimer: BK-CI's timer for the step started 40 s before the plugin did (a slow
// download); with BK_CI_ATOM_TIMEOUT=1 the step has 20 s of BK-CI's minute left, and ends with the job
// terminated before BK-CI's timer runs out (BK-CI would signal only the shell that started it).
func TestDeadlineCountsBKCITimer(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	h := holdTargets(t, sim, "0:10.0.0.1")
	r := newStep(t, sim, "BK_CI_ATOM_TIMEOUT", "1")
	r.step.TimerStart = time.Now().Add(-40 * time.Second)
	res := r.run()
	res.wantStatus(t, "failure", 1, "timeout")
	id := h.job(t)
	if snap, _ := sim.Job(id); snap.Status != jobsim.StatusStopSuccess {
		t.Errorf("job status %d, want terminated", snap.Status)
	}
	if end := r.step.TimerStart.Add(time.Minute); time.Now().After(end) {
		t.Errorf("the step ended %v after BK-CI's timer ran out (it ran %v)", time.Since(end), res.Duration)
	}
}
