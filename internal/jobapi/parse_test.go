package jobapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestGetJobInstanceStatus_ParsesExample(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 200, ok(statusExample)) })
	c := newTestClient(t, g.URL(), nil)
	got, err := c.GetJobInstanceStatus(context.Background(), testScope, 123, true)
	if err != nil {
		t.Fatal(err)
	}
	want := &JobStatus{
		Finished: false,
		Job:      JobInstance{ID: 123, Name: "t", Status: 2, CreateTime: i64(1700000000000), StartTime: i64(1700000000100)},
		Steps: []StepInstance{{
			ID: 456, Name: "t", Type: 1, Status: 2, ExecuteCount: 0, CreateTime: i64(0), StartTime: i64(0),
			Results: []ObjectResult{{
				Object: ExecuteObject{Type: 1, ResourceID: "101", Host: &Host{HostID: 101, CloudID: 0, IP: "10.0.0.1"}},
				Status: 7, ErrorCode: iptr(115), StartTime: i64(0),
			}, {
				Object: ExecuteObject{Type: 2, ResourceID: "10002",
					Container: &Container{ID: 10002, ContainerID: "docker://0f65...", NodeHostID: 101, Name: "job-execute"}},
				Status: 9, ExitCode: iptr(0), ErrorCode: iptr(0), StartTime: i64(0), EndTime: i64(0), TotalTime: i64(1000),
			}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed status differs\n got %#v\nwant %#v", got, want)
	}
	if k := got.Steps[0].Results[1].Object.Key(); k != (ObjectKey{2, "10002"}) {
		t.Errorf("container key = %v", k)
	}
}

func TestParseStatus_Variants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		wantErr  string
		finished bool
		steps    int
	}{
		{"finished derived from status", ok(`{"job_instance":{"job_instance_id":1,"status":3},"step_instance_list":null}`), "", true, 0},
		{"finished derived from stop-failed (12), final for the plugin too", ok(`{"job_instance":{"job_instance_id":1,"status":12}}`), "", true, 0},
		{"finished explicit false", ok(`{"finished":false,"job_instance":{"status":3}}`), "", false, 0},
		{"string numbers", ok(`{"job_instance":{"job_instance_id":"9","status":"4"},"step_instance_list":[{"step_instance_id":"5","execute_object_result_list":null}]}`), "", true, 1},
		{"non-object step skipped", ok(`{"job_instance":{"status":2},"step_instance_list":[null,1,{"step_instance_id":5}]}`), "", false, 1},
		{"data null", ok(`null`), "data", false, 0},
		{"no job instance", ok(`{"finished":true}`), "data.job_instance", false, 0},
		{"job instance null status", ok(`{"job_instance":{"status":null}}`), "status", false, 0},
		{"not json", `<html>`, "not a JSON object", false, 0},
		{"array", `[1,2]`, "not a JSON object", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := statusOf(tt.body)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Finished != tt.finished || len(st.Steps) != tt.steps {
				t.Errorf("finished=%v steps=%d", st.Finished, len(st.Steps))
			}
		})
	}
}

func TestBatchGetObjectLogs_Parses(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 200, ok(logsExample)) })
	c := newTestClient(t, g.URL(), nil)
	keys := []ObjectKey{{2, "10002"}, {1, "999"}, {1, "101"}}
	got, err := c.BatchGetObjectLogs(context.Background(), testScope, 123, 456, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []ObjectLog{
		{Key: ObjectKey{2, "10002"}, Content: "", Present: true},
		{Key: ObjectKey{1, "999"}},
		{Key: ObjectKey{1, "101"}, Content: "[2024-01-01 00:00:00][PID:1] job_start\nhello\n", Present: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("logs\n got %#v\nwant %#v", got, want)
	}
}

func TestParseLogs_Variants(t *testing.T) {
	t.Parallel()
	keys := []ObjectKey{{1, "7"}}
	tests := []struct {
		name    string
		body    string
		content string
		present bool
		wantErr bool
	}{
		{"logs null", ok(`{"script_execute_object_task_logs":null}`), "", false, false},
		{"resource id from host", ok(`{"script_execute_object_task_logs":[{"execute_object":{"type":1,"host":{"bk_host_id":7}},"log_content":"x"}]}`), "x", true, false},
		{"numeric resource id", ok(`{"script_execute_object_task_logs":[{"execute_object":{"type":1,"resource_id":7},"log_content":"y"}]}`), "y", true, false},
		{"two entries concatenated", ok(`{"script_execute_object_task_logs":[{"execute_object":{"type":1,"resource_id":"7"},"log_content":"a"},{"execute_object":{"type":1,"resource_id":"7"},"log_content":"b"}]}`), "ab", true, false},
		{"data missing", `{"result":true,"code":0}`, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := logsOf(tt.body, keys)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (got[0].Content != tt.content || got[0].Present != tt.present) {
				t.Errorf("got %+v", got[0])
			}
		})
	}
}

func TestParseSubmitted(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set(headerRequestID, "gw-req")
	tests := []struct {
		name    string
		body    string
		want    Submitted
		wantErr bool
	}{
		{"doc example", `{"result": true, "code": 0, "job_request_id": "abc", "data": {"job_instance_id": 123, "job_instance_name": "my-task", "step_instance_id": 456}}`,
			Submitted{123, "my-task", 456, "abc"}, false},
		{"numeric name, header request id", `{"result":true,"code":0,"data":{"job_instance_id":"5","job_instance_name":42}}`,
			Submitted{5, "42", 0, "gw-req"}, false},
		{"no id", `{"result":true,"code":0,"data":{"job_instance_id":null}}`, Submitted{}, true},
		{"zero id", `{"result":true,"code":0,"data":{"job_instance_id":0}}`, Submitted{}, true},
	}
	for _, tt := range tests {
		got, err := submittedOf(tt.body, h)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: got %+v, %v", tt.name, got, err)
		}
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()
	items, total, err := listOf(ok(`{"data":[{"bk_scope_type":"biz","bk_scope_id":"2","id":11,"name":"a","operator":"alice","create_time":1700000000000,"task_status":3,"task_type":1,"launch_mode":2,"start_time":null},null],"start":0,"total":7,"length":20}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []JobSummary{{ID: 11, Name: "a", Operator: "alice", Status: 3, CreateTime: 1700000000000, Type: 1, LaunchMode: 2}}
	if !reflect.DeepEqual(items, want) || total != 7 {
		t.Errorf("got %+v total %d", items, total)
	}
	// The field names of JOB's code (the doc's are above).
	items, total, err = listOf(ok(`{"data":[{"job_instance_id":12,"name":"b","operator":"bob","create_time":5,"status":2,"type":1,"launch_mode":2}],"total":1}`))
	want = []JobSummary{{ID: 12, Name: "b", Operator: "bob", Status: 2, CreateTime: 5, Type: 1, LaunchMode: 2}}
	if err != nil || !reflect.DeepEqual(items, want) || total != 1 {
		t.Errorf("code field names: got %+v total %d err %v", items, total, err)
	}
	if _, _, err := listOf(ok(`{"data":null}`)); err != nil {
		t.Errorf("null page: %v", err)
	}
}

func TestIntOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want int64
		ok   bool
	}{
		{`12`, 12, true}, {`"12"`, 12, true}, {`"12abc"`, 0, false}, {`null`, 0, false}, {`true`, 0, false},
		{`9223372036854775807`, 9223372036854775807, true}, {`1e300`, 0, false}, {`-5`, -5, true},
	}
	for _, tt := range tests {
		got, gotOK := intOf(gjsonParse(tt.raw))
		if got != tt.want || gotOK != tt.ok {
			t.Errorf("intOf(%s) = %d, %v; want %d, %v", tt.raw, got, gotOK, tt.want, tt.ok)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(ok(statusExample)))
	f.Add([]byte(ok(`{"job_instance":{"status":3},"step_instance_list":[{"execute_object_result_list":[{"execute_object":null}]}]}`)))
	f.Add([]byte(`{"result":true,"data":{"job_instance":{"status":1e999}}}`))
	f.Add([]byte(`{"result":true,"data":{"job_instance":{"status":2`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := statusOf(string(body))
		if err == nil && st == nil {
			t.Fatal("nil status without error")
		}
	})
}

func FuzzParseLogs(f *testing.F) {
	f.Add([]byte(ok(logsExample)))
	f.Add([]byte(ok(`{"script_execute_object_task_logs":[{"execute_object":{"type":"x","resource_id":{}},"log_content":[1]}]}`)))
	f.Add([]byte(`{"data":{"script_execute_object_task_logs":{}}}`))
	f.Add([]byte{0xff, '{'})
	keys := []ObjectKey{{1, "101"}, {2, "10002"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		logs, err := logsOf(string(body), keys)
		if err == nil && len(logs) != len(keys) {
			t.Fatalf("got %d logs for %d keys", len(logs), len(keys))
		}
	})
}

func FuzzParseError(f *testing.F) {
	f.Add(403, `{"code":1640301,"code_name":"APP_NO_PERMISSION","message":"no","result":false,"data":null}`, "", "")
	f.Add(200, `{"result":false,"code":9900403,"message":"denied","permission":{"system_id":"bk_job","actions":[{"id":"a","related_resource_types":[{"instances":[[{"id":"1"}],{}]}]}]}}`, "", "")
	f.Add(429, ``, "3", "")
	f.Add(502, `<html><title>Bad Gateway</title></html>`, "", "1650200")
	f.Add(401, ``, "Wed, 21 Oct 2015 07:28:00 GMT", "x")
	f.Add(200, `{"result":true,"code":0,"data":{}}`, "", "")
	f.Add(200, `{"code":1e400,"result":"maybe"}`, "-1", "99999999999999999999")
	f.Add(502, "\u023a<title>", "", "")
	f.Fuzz(func(t *testing.T, status int, body, retryAfter, gwCode string) {
		h := http.Header{}
		h.Set(headerRetryAfter, retryAfter)
		h.Set(headerGatewayCode, gwCode)
		h.Set(headerRateLimitReset, retryAfter)
		_, e := classifyResponse(status, h, body, fixedNow, nil)
		if e == nil {
			return
		}
		e.Op, e.Method, e.Path = "op", "POST", "/p"
		e = scrubber{secret: testSecret}.finish(e)
		msg := e.Error()
		if strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("multi-line error: %q", msg)
		}
		if e.retryAfter < 0 || e.Kind == 0 {
			t.Fatalf("bad classification %+v", e)
		}
	})
}

func TestHTMLTitle(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"plain", "<html><title>502 Bad Gateway</title></html>", "502 Bad Gateway"},
		{"upper case tags", "<HTML><TITLE> Service\n Unavailable </TiTle>", "Service Unavailable"},
		{"no title", "<html><body>x</body></html>", ""},
		{"unclosed", "<title>never closed", ""},
		{"empty", "", ""},
		// Lower-casing U+023A takes 3 bytes instead of 2: indexes in a lower-cased copy would be off.
		{"longer when lower-cased", "\u023a<title>", ""},
		{"longer before the title", "\u023a\u023a<title>ok</title>", "ok"},
		{"shorter when lower-cased", "\u212a<title>kelvin</title>", "kelvin"},
		{"invalid utf-8 inside", "<title>a\xffb</title>", "ab"},
		{"beyond 4 KiB", strings.Repeat(" ", 4096) + "<title>late</title>", ""},
	}
	for _, tt := range tests {
		if got := htmlTitle(tt.body); got != tt.want {
			t.Errorf("%s: htmlTitle(%q) = %q, want %q", tt.name, tt.body, got, tt.want)
		}
	}
}

// TestExecuteObjectKey_Parsed: the key the log endpoint needs, also when JOB left out the type or the
// resource id; an object JOB named nothing of has no valid key.
func TestExecuteObjectKey_Parsed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, object string
		want         ObjectKey
		valid        bool
	}{
		{"complete", `{"type":1,"resource_id":"101","host":{"bk_host_id":101}}`, ObjectKey{1, "101"}, true},
		{"no type, host", `{"resource_id":"101","host":{"bk_host_id":101}}`, ObjectKey{1, "101"}, true},
		{"no type, container", `{"resource_id":"7","container":{"id":7}}`, ObjectKey{2, "7"}, true},
		{"type null, no resource id", `{"type":null,"host":{"bk_host_id":101}}`, ObjectKey{1, "101"}, true},
		{"container, no resource id", `{"type":2,"container":{"id":7}}`, ObjectKey{2, "7"}, true},
		{"nothing", `{}`, ObjectKey{}, false},
		{"blank resource id", `{"type":1,"resource_id":" "}`, ObjectKey{1, " "}, false},
		{"unknown type", `{"type":3,"resource_id":"1"}`, ObjectKey{3, "1"}, false},
	} {
		k := parseExecuteObject(gjson.Parse(tc.object)).Key()
		if k != tc.want || k.Valid() != tc.valid {
			t.Errorf("%s: key %+v valid %v, want %+v valid %v", tc.name, k, k.Valid(), tc.want, tc.valid)
		}
	}
}
