package jobsim

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRealExecution(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{})
	body := submitBody("echo \"hi $JOBSIM_TARGET_LABEL $JOBSIM_HOST_ID $1 $2\"; echo err >&2", 101, 102, 103)
	body["script_param"] = b64("first\nsecond")
	start := time.Now()
	id, r := c.submit(body)
	if r.data()["job_instance_name"] != "test-task" {
		t.Fatalf("job_instance_name: %s", r.raw)
	}
	snap, err := s.WaitFinished(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("3 echo targets took %v", el)
	}
	t.Logf("3 real targets finished in %v", time.Since(start))
	if snap.Status != StatusSuccess || snap.StepStatus != StatusSuccess {
		t.Fatalf("status %d/%d, want 3/3", snap.Status, snap.StepStatus)
	}
	if snap.Param != "first second" {
		t.Errorf("param %q: newlines must become spaces", snap.Param)
	}
	for _, tg := range snap.Targets {
		want := "hi " + tg.Label + " " + tg.ResourceID + " first second\nerr\n"
		if !strings.HasSuffix(tg.Log, want) || !strings.Contains(tg.Log, "] job_start\n") {
			t.Errorf("log of %s = %q, want suffix %q", tg.Label, tg.Log, want)
		}
		if tg.Status != TargetSuccess || tg.ExitCode == nil || *tg.ExitCode != 0 {
			t.Errorf("target %s: status %d exit %v", tg.Label, tg.Status, tg.ExitCode)
		}
	}
	// The status response as JOB sends it.
	st := c.status(id)
	data := st.data()
	if data["finished"] != true {
		t.Fatalf("finished: %s", st.raw)
	}
	steps := data["step_instance_list"].([]any)
	results := steps[0].(map[string]any)["execute_object_result_list"].([]any)
	first := results[0].(map[string]any)
	host := first["execute_object"].(map[string]any)["host"].(map[string]any)
	for _, k := range []string{"bk_host_id", "bk_cloud_id", "ip", "bk_cloud_name", "ipv6", "bk_agent_id", "alive"} {
		if _, ok := host[k]; !ok {
			t.Errorf("host object lacks %q: %v", k, host)
		}
	}
	if host["ipv6"] != nil || host["alive"] != nil {
		t.Errorf("want explicit nulls, got %v", host)
	}
	if first["execute_object"].(map[string]any)["resource_id"] != "101" {
		t.Errorf("resource_id: %v", first)
	}
	// Logs.
	lr := c.post(EPLogs, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": id,
		"step_instance_id": snap.StepID, "execute_object_list": []map[string]any{{"type": 1, "resource_id": "102"}, {"type": 1, "resource_id": "999"}}})
	logs := lr.data()["script_execute_object_task_logs"].([]any)
	if len(logs) != 1 || !strings.Contains(logs[0].(map[string]any)["log_content"].(string), "hi 0:10.0.0.2 102") {
		t.Fatalf("logs: %s", lr.raw)
	}
	if lr.data()["log_type"].(json.Number).String() != "1" {
		t.Fatalf("log_type: %s", lr.raw)
	}
}

func TestRealExecutionOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   string
		language int
		timeout  int
		status   int
		exit     *int
		tag      string
		logPart  string
	}{
		{name: "non-zero exit", script: "echo failing; exit 3", language: 1, status: TargetNonZeroExit, exit: intp(3), logPart: "failing"},
		{name: "timeout", script: "sleep 30", language: 1, timeout: 1, status: TargetScriptTimeout},
		{name: "job_success tag", script: "job_success \"all good\"", language: 1, status: TargetSuccess, exit: intp(0), tag: "all good"},
		{name: "job_fail tag", script: "job_fail broken", language: 1, status: TargetNonZeroExit, exit: intp(1), tag: "broken"},
		{name: "perl", script: "print \"perl ok\\n\";", language: 3, status: TargetSuccess, exit: intp(0), logPart: "perl ok"},
		{name: "python", script: "import os\nprint('py', os.environ['JOBSIM_HOST_IP'])", language: 4, status: TargetSuccess, exit: intp(0), logPart: "py 10.0.0.1"},
		{name: "bat", script: "echo hi", language: 2, status: TargetSubmitFailed, logPart: "Windows agent"},
		{name: "powershell", script: "Write-Host hi", language: 5, status: TargetSubmitFailed, logPart: "Windows agent"},
	}
	s, c := newSim(t, Options{})
	for _, tt := range tests {
		// Where perl or python3 is not installed the target must fail as JOB reports a target that
		// could not start (status 12), naming the missing interpreter.
		if bin := map[int]string{3: "perl", 4: "python3"}[tt.language]; bin != "" {
			if _, err := exec.LookPath(bin); err != nil {
				tt.status, tt.exit, tt.logPart = TargetSubmitFailed, nil, "not found"
			}
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := submitBody(tt.script, 101)
			body["script_language"] = tt.language
			if tt.timeout > 0 {
				body["timeout"] = tt.timeout
			}
			id, _ := c.submit(body)
			snap, err := s.WaitFinished(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			tg := snap.Targets[0]
			if tg.Status != tt.status {
				t.Fatalf("status %d, want %d (log %q)", tg.Status, tt.status, tg.Log)
			}
			if snap.Status != StatusSuccess && tt.status == TargetSuccess || snap.Status != StatusFail && tt.status != TargetSuccess {
				t.Fatalf("job status %d for target status %d", snap.Status, tg.Status)
			}
			if (tt.exit == nil) != (tg.ExitCode == nil) || tt.exit != nil && *tt.exit != *tg.ExitCode {
				t.Fatalf("exit code %v, want %v", tg.ExitCode, tt.exit)
			}
			if tt.tag != "" && (tg.Tag == nil || *tg.Tag != tt.tag) {
				t.Fatalf("tag %v, want %q", tg.Tag, tt.tag)
			}
			if !strings.Contains(tg.Log, tt.logPart) {
				t.Fatalf("log %q lacks %q", tg.Log, tt.logPart)
			}
		})
	}
}

func intp(v int) *int { return &v }

func TestRealExecutionContainerEnv(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{})
	body := submitBody("echo \"$JOBSIM_CONTAINER_NAME $JOBSIM_POD_NAME $JOBSIM_TARGET_KIND\"")
	body["execute_target"] = map[string]any{"kube_container_filters": []any{map[string]any{
		"kube_pod_filter": map[string]any{"pod_name_list": []string{"db-0"}}}}}
	id, _ := c.submit(body)
	snap, err := s.WaitFinished(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Targets) != 1 || !strings.HasSuffix(snap.Targets[0].Log, "main db-0 container\n") {
		t.Fatalf("targets %+v", snap.Targets)
	}
	if snap.Targets[0].Label != "container:main@10004" {
		t.Fatalf("label %q", snap.Targets[0].Label)
	}
}
