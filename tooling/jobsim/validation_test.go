package jobsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestSubmitValidation(t *testing.T) {
	t.Parallel()
	_, c := newSim(t, Options{Exec: Synthetic(okOutcome), DangerousPatterns: []string{`rm\s+-rf\s+/\s*$`}})
	kube := func(f map[string]any) map[string]any {
		return map[string]any{"kube_container_filters": []any{f}}
	}
	tests := []struct {
		name   string
		mutate func(b map[string]any)
		code   int
		msg    string
	}{
		{name: "no scope type", mutate: func(b map[string]any) { delete(b, "bk_scope_type") }, code: CodeBadRequest, msg: "'bk_scope_type' cannot be empty"},
		{name: "bad scope type", mutate: func(b map[string]any) { b["bk_scope_type"] = "tenant" }, code: CodeBadRequest, msg: "must be 'biz' or 'biz_set'"},
		{name: "no scope id", mutate: func(b map[string]any) { b["bk_scope_id"] = " " }, code: CodeBadRequest, msg: "'bk_scope_id' cannot be empty"},
		{name: "unknown scope", mutate: func(b map[string]any) { b["bk_scope_id"] = "77" }, code: CodeAppNotExist},
		{name: "task name too long", mutate: func(b map[string]any) { b["task_name"] = strings.Repeat("名", 513) }, code: CodeBadRequest, msg: "can not exceed 512"},
		{name: "timeout zero", mutate: func(b map[string]any) { b["timeout"] = 0 }, code: CodeBadRequest, msg: "greater or equal than 1"},
		{name: "timeout too big", mutate: func(b map[string]any) { b["timeout"] = 259201 }, code: CodeBadRequest, msg: "between 1 and 259200"},
		{name: "timeout not a number", mutate: func(b map[string]any) { b["timeout"] = "60" }, code: CodeBadRequest, msg: "Bad Request"},
		{name: "sensitive not boolean", mutate: func(b map[string]any) { b["is_param_sensitive"] = 1 }, code: CodeBadRequest, msg: "Bad Request"},
		{name: "no account", mutate: func(b map[string]any) { delete(b, "account_alias") }, code: CodeBadRequest, msg: "Account id cannot be empty"},
		{name: "unknown account alias", mutate: func(b map[string]any) { b["account_alias"] = "nobody" }, code: CodeAccountNotExist, msg: "Account [nobody]"},
		{name: "unknown account id", mutate: func(b map[string]any) { b["account_id"] = 99 }, code: CodeAccountNotExist, msg: "Account [ID=99]"},
		{name: "param too long", mutate: func(b map[string]any) { b["script_param"] = b64(strings.Repeat("x", 65536)) }, code: CodeBadRequest, msg: "script_paramField content too long"},
		{name: "bad script language", mutate: func(b map[string]any) { b["script_language"] = 9 }, code: CodeBadRequest, msg: "Illegal script type"},
		{name: "unknown script id", mutate: func(b map[string]any) { b["script_id"] = "nope" }, code: CodeScriptNotExist},
		{name: "unknown script version", mutate: func(b map[string]any) { b["script_version_id"] = 424242 }, code: CodeScriptNotExist},
		{name: "script of other business", mutate: func(b map[string]any) { b["bk_scope_id"] = "3"; b["script_id"] = "demo-hello" }, code: CodeScriptNotExist},
		{name: "draft version", mutate: func(b map[string]any) { b["script_version_id"] = 1002 }, code: CodeScriptNotExecutable, msg: "Draft"},
		{name: "dangerous script", mutate: func(b map[string]any) { b["script_content"] = b64("rm -rf /") }, code: CodeDangerousScript},
		{name: "windows interpreter upper-case suffix", mutate: func(b map[string]any) { b["windows_interpreter"] = "C:\\PY.EXE" }, code: CodeBadRequest, msg: "must end with suffix: .exe"},
		{name: "windows interpreter 261 UTF-16 units", mutate: func(b map[string]any) { b["windows_interpreter"] = "C:\\" + strings.Repeat("😀", 128) + ".exe" }, code: CodeBadRequest, msg: "cannot exceed 260"},
		{name: "windows interpreter", mutate: func(b map[string]any) { b["windows_interpreter"] = "C:\\python" }, code: CodeBadRequest, msg: "must end with suffix: .exe"},
		{name: "empty target object", mutate: func(b map[string]any) { b["execute_target"] = map[string]any{} }, code: CodeBadRequest, msg: "execute target can not be empty"},
		{name: "missing target", mutate: func(b map[string]any) { delete(b, "execute_target") }, code: CodeTargetEmpty, msg: "Step [test-task]"},
		{name: "host without id", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_list": []any{map[string]any{}}}
		}, code: CodeBadRequest, msg: "Host id must not be null"},
		{name: "host id zero", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_list": []any{map[string]any{"bk_host_id": 0}}}
		}, code: CodeBadRequest, msg: "Invalid host id"},
		{name: "bad ip", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_list": []any{map[string]any{"bk_cloud_id": 0, "ip": "10.0.0.256"}}}
		}, code: CodeBadRequest, msg: "Invalid IP"},
		{name: "ip without cloud", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_list": []any{map[string]any{"ip": "10.0.0.1"}}}
		}, code: CodeBadRequest, msg: "Invalid BK-Net"},
		{name: "host in other business", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_list": []any{map[string]any{"bk_host_id": 101}, map[string]any{"bk_host_id": 201}}}
		}, code: CodeHostInvalid, msg: "Invalid 1 hosts:(ip:10.0.1.1)"},
		{name: "host does not exist", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_list": []any{map[string]any{"bk_cloud_id": 0, "ip": "10.9.9.9"}}}
		}, code: CodeObjectNotExist, msg: "(ip:10.9.9.9)"},
		{name: "unknown dynamic group", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_dynamic_group_list": []any{map[string]any{"id": "nope"}}}
		}, code: CodeTargetEmpty},
		{name: "topo node without type", mutate: func(b map[string]any) {
			b["execute_target"] = map[string]any{"host_topo_node_list": []any{map[string]any{"id": 1000}}}
		}, code: CodeBadRequest, msg: "Topo node type can not be empty"},
		{name: "empty container filter", mutate: func(b map[string]any) { b["execute_target"] = kube(map[string]any{}) }, code: CodeBadRequest, msg: "container filter cannot be empty"},
		{name: "bad label selector", mutate: func(b map[string]any) {
			b["execute_target"] = kube(map[string]any{"kube_pod_filter": map[string]any{"label_selector_expr": "app in (a b)"}})
		}, code: CodeInvalidLabel},
		{name: "bad label operator", mutate: func(b map[string]any) {
			b["execute_target"] = kube(map[string]any{"kube_pod_filter": map[string]any{"label_selector": []any{map[string]any{"key": "app", "operator": "eq", "values": []string{"api"}}}}})
		}, code: CodeBadRequest, msg: "Bad Request"},
		{name: "containers resolve to nothing", mutate: func(b map[string]any) {
			b["execute_target"] = kube(map[string]any{"kube_pod_filter": map[string]any{"pod_name_list": []string{"ghost"}}})
		}, code: CodeTargetEmpty},
		{name: "containers on biz set", mutate: func(b map[string]any) {
			b["bk_scope_type"], b["bk_scope_id"] = "biz_set", "9991"
			b["execute_target"] = kube(map[string]any{"is_empty_filter": true})
		}, code: CodeNotSupported},
		{name: "bad callback scheme", mutate: func(b map[string]any) { b["callback"] = map[string]any{"url": "ftp://x/y"} }, code: CodeBadRequest, msg: "Callback url is invalid"},
		{name: "callback userinfo", mutate: func(b map[string]any) { b["callback"] = map[string]any{"url": "http://a@127.0.0.1/cb"} }, code: CodeBadRequest, msg: "Callback url is invalid"},
		{name: "callback no host", mutate: func(b map[string]any) { b["callback"] = map[string]any{"url": "http:///cb"} }, code: CodeBadRequest, msg: "Callback url is invalid"},
		// java.net.URI finds no host in these (internal/callbackurl's vectors, recorded from JOB's class).
		{name: "callback underscore host", mutate: func(b map[string]any) { b["callback"] = map[string]any{"url": "http://a_b:8080/x"} }, code: CodeBadRequest, msg: "Callback url is invalid"},
		{name: "callback numeric last label", mutate: func(b map[string]any) { b["callback"] = map[string]any{"url": "http://host.123/x"} }, code: CodeBadRequest, msg: "Callback url is invalid"},
		{name: "callback IDN host", mutate: func(b map[string]any) { b["callback"] = map[string]any{"url": "http://例子.cn/x"} }, code: CodeBadRequest, msg: "Callback url is invalid"},
		{name: "rolling blank expression", mutate: func(b map[string]any) { b["rolling_config"] = map[string]any{"expression": " "} }, code: CodeBadRequest, msg: "Rolling expression cannot be blank"},
		{name: "rolling bad mode", mutate: func(b map[string]any) { b["rolling_config"] = map[string]any{"expression": "1", "mode": 4} }, code: CodeBadRequest, msg: "Illegal rolling mode"},
		{name: "rolling invalid expression", mutate: func(b map[string]any) { b["rolling_config"] = map[string]any{"expression": "30%+"} }, code: CodeInvalidRolling},
		{name: "rolling leading space", mutate: func(b map[string]any) { b["rolling_config"] = map[string]any{"expression": " 1"} }, code: CodeInvalidRolling},
		{name: "rolling overflow", mutate: func(b map[string]any) { b["rolling_config"] = map[string]any{"expression": "99999999999"} }, code: CodeInternal},
		{name: "label list null operator", mutate: func(b map[string]any) {
			b["execute_target"] = kube(map[string]any{"kube_pod_filter": map[string]any{"label_selector": []any{map[string]any{"key": "app", "values": []string{"api"}}}}})
		}, code: CodeInternal},
		{name: "no script at all", mutate: func(b map[string]any) { delete(b, "script_content") }, code: CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := submitBody("echo hi", 101, 102)
			tt.mutate(b)
			wantCode(t, c.post(EPSubmit, b), tt.code, tt.msg)
		})
	}
}

func TestSubmitBindingErrors(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	for name, body := range map[string]string{"empty": "", "array": "[]", "broken": "{\"bk_scope_type\":", "number scope id": `{"bk_scope_type":"biz","bk_scope_id":2}`} {
		wantCode(t, c.postRaw(EPSubmit, body), CodeBadRequest, "Bad Request")
		_ = name
	}
	r, err := c.do(http.MethodPost, EPSubmit.Path(), []byte(`{}`), func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") })
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, r, CodeBadRequest, "Bad Request")
	if s.JobsCreated() != 0 {
		t.Fatalf("jobs created: %d", s.JobsCreated())
	}
}

func TestLenientTypes(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome), LenientTypes: true})
	b := submitBody("echo hi", 101)
	b["bk_scope_id"] = 2
	b["timeout"] = "60"
	b["is_param_sensitive"] = 1
	id, _ := c.submit(b)
	snap, err := s.WaitFinished(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Sensitive || snap.Timeout.Seconds() != 60 {
		t.Fatalf("snapshot %+v", snap)
	}
}

func TestUnknownFieldsAndLabelSpellings(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	b := submitBody("echo hi", 101)
	b["start_task"] = false
	b["no_such_field"] = map[string]any{"x": 1}
	id, _ := c.submit(b)
	if _, err := s.WaitJobStatus(ctxT(t), id, StatusSuccess); err != nil {
		t.Fatal(err)
	}
	// The API document's label_key/label_values spellings are dropped: the requirement has no key and
	// matches no pod, so a filter that relies on it selects nothing.
	b = submitBody("echo hi")
	b["execute_target"] = map[string]any{"kube_container_filters": []any{map[string]any{"kube_pod_filter": map[string]any{
		"label_selector": []any{map[string]any{"label_key": "app", "operator": "in", "label_values": []string{"api"}}}}}}}
	wantCode(t, c.post(EPSubmit, b), CodeTargetEmpty, "")
}

func TestTooManyTargets(t *testing.T) {
	t.Parallel()
	inv := &Inventory{Bizs: []Biz{{ID: 2, Name: "big"}}, Hosts: FakeHosts(2, 1, 12), Accounts: []Account{{ID: 1, Alias: "root", BizID: 2}}}
	_, c := newSim(t, Options{Inventory: inv, Exec: Synthetic(okOutcome), MaxTargets: 10})
	b := submitBody("echo", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	wantCode(t, c.post(EPSubmit, b), CodeTooManyTargets, "exceeds the limit: 10")
}

func TestRollingTooManyBatchesLeavesOrphan(t *testing.T) {
	t.Parallel()
	inv := &Inventory{Bizs: []Biz{{ID: 2, Name: "big"}}, Hosts: FakeHosts(2, 1, 502), Accounts: []Account{{ID: 1, Alias: "root", BizID: 2}}}
	s, c := newSim(t, Options{Inventory: inv, Exec: Synthetic(okOutcome)})
	b := submitBody("echo")
	b["execute_target"] = map[string]any{"host_topo_node_list": []any{map[string]any{"node_type": "biz", "id": 2}}}
	b["rolling_config"] = map[string]any{"expression": "1"}
	wantCode(t, c.post(EPSubmit, b), CodeTooManyBatches, "greater than 500")
	jobs := s.Jobs()
	if len(jobs) != 1 || !jobs[0].Orphan || jobs[0].Status != StatusBlank {
		t.Fatalf("jobs %+v", jobs)
	}
	// 501 batches are accepted (JOB checks "more than 500" before adding a batch).
	b["execute_target"] = map[string]any{"host_list": hostList(501)}
	id, _ := c.submit(b)
	snap, _ := s.Job(id)
	if len(snap.Batches) != 501 {
		t.Fatalf("%d batches", len(snap.Batches))
	}
}

func hostList(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"bk_host_id": i + 1}
	}
	return out
}

func TestOtherEndpointValidation(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	id, _ := c.submit(submitBody("echo", 101))
	snap, err := s.WaitFinished(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	scope := func(m map[string]any) map[string]any {
		m["bk_scope_type"], m["bk_scope_id"] = "biz", "2"
		return m
	}
	objs := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"type": 1, "resource_id": "101"}
		}
		return out
	}
	tests := []struct {
		name string
		ep   Endpoint
		body map[string]any
		code int
		msg  string
	}{
		{name: "status unknown job", ep: EPStatus, body: scope(map[string]any{"job_instance_id": 1}), code: CodeTaskNotExist},
		{name: "status other scope", ep: EPStatus, body: map[string]any{"bk_scope_type": "biz", "bk_scope_id": "3", "job_instance_id": id}, code: CodeTaskNotExist},
		{name: "status zero id", ep: EPStatus, body: scope(map[string]any{"job_instance_id": 0}), code: CodeBadRequest, msg: "must be a positive number"},
		{name: "logs too many objects", ep: EPLogs, body: scope(map[string]any{"job_instance_id": id, "step_instance_id": snap.StepID, "execute_object_list": objs(501)}), code: CodeBadRequest, msg: "between 1 and 500"},
		{name: "logs no objects", ep: EPLogs, body: scope(map[string]any{"job_instance_id": id, "step_instance_id": snap.StepID, "execute_object_list": objs(0)}), code: CodeBadRequest, msg: "between 1 and 500"},
		{name: "logs missing list", ep: EPLogs, body: scope(map[string]any{"job_instance_id": id, "step_instance_id": snap.StepID}), code: CodeInternal},
		{name: "logs unknown job", ep: EPLogs, body: scope(map[string]any{"job_instance_id": 5, "step_instance_id": 5, "execute_object_list": objs(1)}), code: CodeTaskNotExist},
		{name: "logs wrong step", ep: EPLogs, body: scope(map[string]any{"job_instance_id": id, "step_instance_id": 5, "execute_object_list": objs(1)}), code: CodeTaskNotExist},
		{name: "operate bad code", ep: EPOperateJob, body: scope(map[string]any{"job_instance_id": id, "operation_code": 7}), code: CodeIllegalParam},
		{name: "operate missing id", ep: EPOperateJob, body: scope(map[string]any{"operation_code": 1}), code: CodeIllegalParam},
		{name: "terminate finished", ep: EPOperateJob, body: scope(map[string]any{"job_instance_id": id, "operation_code": 1}), code: CodeUnsupportedOp},
		{name: "continue not waiting", ep: EPOperateStep, body: scope(map[string]any{"job_instance_id": id, "step_instance_id": snap.StepID, "operation_code": 13}), code: CodeUnsupportedOp},
		{name: "step unknown", ep: EPOperateStep, body: scope(map[string]any{"job_instance_id": id, "step_instance_id": 1, "operation_code": 13}), code: CodeStepNotExist},
		{name: "step bad code", ep: EPOperateStep, body: scope(map[string]any{"job_instance_id": id, "step_instance_id": snap.StepID, "operation_code": 99}), code: CodeIllegalParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantCode(t, c.post(tt.ep, tt.body), tt.code, tt.msg)
		})
	}
}

func TestJobInstanceList(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	for i, name := range []string{"pipe-#1-a", "pipe-#2-a", "other_task"} {
		b := submitBody("echo", 101)
		b["task_name"] = name
		if i == 2 {
			c.user = "bob"
		}
		id, _ := c.submit(b)
		if _, err := s.WaitFinished(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
	}
	c.user = testUser
	jobs := s.Jobs()
	from, to := jobs[0].Created.UnixMilli()-1000, jobs[2].Created.UnixMilli()+1000
	q := func(kv ...string) url.Values {
		v := url.Values{"bk_scope_type": {"biz"}, "bk_scope_id": {"2"}, "create_time_start": {strconv.FormatInt(from, 10)}, "create_time_end": {strconv.FormatInt(to, 10)}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	names := func(r response) []string {
		var out []string
		list, _ := r.data()["data"].([]any)
		for _, it := range list {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names(c.list(q("name", "pipe-#"))); strings.Join(got, ",") != "pipe-#2-a,pipe-#1-a" {
		t.Fatalf("name filter: %v %s", got, c.list(q("name", "pipe-#")).raw)
	}
	if got := names(c.list(q("name", "PIPE_#1"))); strings.Join(got, ",") != "pipe-#1-a" {
		t.Fatalf("LIKE wildcard filter: %v", got)
	}
	if got := names(c.list(q("operator", "bob"))); strings.Join(got, ",") != "other_task" {
		t.Fatalf("operator filter: %v", got)
	}
	r := c.list(q("job_instance_id", strconv.FormatInt(jobs[0].ID, 10), "name", "zzz"))
	item := r.data()["data"].([]any)[0].(map[string]any)
	for _, k := range []string{"job_instance_id", "job_plan_id", "job_template_id", "name", "operator", "launch_mode", "status", "start_time", "end_time", "total_time", "create_time", "type", "bk_scope_type", "bk_scope_id"} {
		if _, ok := item[k]; !ok {
			t.Errorf("list item lacks %q: %v", k, item)
		}
	}
	if item["operator"] != testUser || item["launch_mode"].(interface{ String() string }).String() != "2" {
		t.Errorf("item %v", item)
	}
	empty := c.list(q("name", "nothing-like-this"))
	if empty.data()["data"] != nil || empty.data()["total"].(interface{ String() string }).String() != "0" {
		t.Errorf("empty page: %s", empty.raw)
	}
	v := q()
	v.Del("create_time_start")
	wantCode(t, c.list(v), CodeMissingOrIllegalArg, "[create_time_start]")
	wantCode(t, c.list(q("create_time_end", strconv.FormatInt(from+31*24*3600*1000, 10))), CodeIllegalParam, "")
	wantCode(t, c.list(q("start", "x")), CodeBadRequest, "")
	// JOB's checkRequest: the end strictly after the start; the start limit (maxStart 1000) where enabled.
	wantCode(t, c.list(q("create_time_end", strconv.FormatInt(from, 10))), CodeMissingOrIllegalArg, "[create_time_start|create_time_end]")
	wantCode(t, c.list(q("start", "1001")), CodeIllegalParamReason, "cannot exceed 1000")
	if r := c.list(q("start", "1000")); r.code() != 0 {
		t.Errorf("start 1000 refused: %s", r.raw)
	}
}
