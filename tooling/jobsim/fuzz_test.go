package jobsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func FuzzRequestBodies(f *testing.F) {
	seed, _ := json.Marshal(submitBody("echo", 101, 102))
	f.Add(uint8(0), seed)
	f.Add(uint8(0), []byte(`{"bk_scope_type":"biz","bk_scope_id":"2","account_alias":"root","script_content":"ZWNobw==","script_language":1,"execute_target":{"kube_container_filters":[{"kube_pod_filter":{"label_selector_expr":"a in (x,","label_selector":[null]}},null]},"rolling_config":{"expression":"1 *2000000000"}}`))
	f.Add(uint8(1), []byte(`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":10001,"include_execute_object_task_result":true}`))
	f.Add(uint8(2), []byte(`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":10001,"step_instance_id":100010,"execute_object_list":[{"type":1,"resource_id":"101"},null,{"type":"x"}]}`))
	f.Add(uint8(3), []byte(`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":10001,"operation_code":1}`))
	f.Add(uint8(4), []byte(`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":10001,"step_instance_id":100010,"operation_code":13}`))
	s, err := New(Options{Apps: map[string]string{testApp: testSecret}, Exec: Synthetic(okOutcome), MaxTargets: 50})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	auth := `{"bk_app_code":"bkci","bk_app_secret":"s3cret-value","bk_username":"fuzz"}`
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ep := Endpoints[int(which)%(len(Endpoints)-1)]
		req := httptest.NewRequest(http.MethodPost, DefaultPrefix+ep.Path(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Bkapi-Authorization", auth)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", rec.Code, rec.Body.Bytes())
		}
		var env map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env["job_request_id"] == nil {
			t.Fatalf("not a JOB envelope: %s", rec.Body.Bytes())
		}
	})
}

func FuzzParseInventory(f *testing.F) {
	demo, _ := json.Marshal(DemoInventory())
	f.Add(demo)
	f.Add([]byte(`{"hosts":[{"bk_host_id":1},{"bk_host_id":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := ParseInventory(b)
		if err == nil {
			if _, err := newIndex(inv); err != nil {
				t.Fatalf("accepted inventory does not index: %v", err)
			}
		}
	})
}

func FuzzLikeMatch(f *testing.F) {
	f.Add("pipe-#1-a", "pipe_#1%")
	f.Add("abc", `a\%c`)
	f.Fuzz(func(t *testing.T, name, pattern string) {
		if len(name) > 300 || len(pattern) > 300 {
			return
		}
		if !likeMatch(name, "%") {
			t.Fatal("% must match everything")
		}
		_ = likeMatch(name, pattern)
	})
}
