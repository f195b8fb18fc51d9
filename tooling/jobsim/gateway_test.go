package jobsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGateway(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome), Apps: map[string]string{testApp: testSecret, "other": "x"},
		Grants: map[string][]Endpoint{testApp: Endpoints, "other": {EPStatus}}})
	body, _ := json.Marshal(submitBody("echo", 101))
	auth := func(m map[string]string) func(*http.Request) {
		return func(r *http.Request) {
			if m == nil {
				r.Header.Del("X-Bkapi-Authorization")
				return
			}
			b, _ := json.Marshal(m)
			r.Header.Set("X-Bkapi-Authorization", string(b))
		}
	}
	tests := []struct {
		name     string
		method   string
		path     string
		mutate   func(*http.Request)
		status   int
		code     int
		codeName string
		msg      string
	}{
		{name: "no header", mutate: auth(nil), status: 400, code: GWInvalidArgs, codeName: "INVALID_ARGS", msg: "app code cannot be empty"},
		{name: "not json", mutate: func(r *http.Request) { r.Header.Set("X-Bkapi-Authorization", "bkci:secret") }, status: 400, code: GWInvalidArgs, msg: "app code cannot be empty"},
		{name: "no secret", mutate: auth(map[string]string{"bk_app_code": testApp, "bk_username": "a"}), status: 400, code: GWInvalidArgs, msg: "please provide bk_app_secret"},
		{name: "wrong secret", mutate: auth(map[string]string{"bk_app_code": testApp, "bk_app_secret": "nope", "bk_username": "a"}), status: 400, code: GWInvalidArgs, msg: "bk_app_code or bk_app_secret is incorrect"},
		{name: "unknown app", mutate: auth(map[string]string{"bk_app_code": "ghost", "bk_app_secret": "x", "bk_username": "a"}), status: 400, code: GWInvalidArgs, msg: "incorrect"},
		{name: "not granted", mutate: auth(map[string]string{"bk_app_code": "other", "bk_app_secret": "x", "bk_username": "a"}), status: 403, code: GWAppNoPermission, codeName: "APP_NO_PERMISSION"},
		{name: "unknown resource", path: "/api/v3/system/fast_execute_script", status: 404, code: GWAPINotFound, codeName: "API_NOT_FOUND", msg: "API not found"},
		{name: "wrong method", method: http.MethodGet, status: 404, code: GWAPINotFound},
		{name: "trailing slash", path: EPSubmit.Path() + "/", status: 404, code: GWAPINotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = EPSubmit.Path()
			}
			r, err := c.do(method, path, body, tt.mutate)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.status || r.code() != tt.code || r.body["result"] != false {
				t.Fatalf("HTTP %d code %d, want %d %d: %s", r.status, r.code(), tt.status, tt.code, r.raw)
			}
			if _, ok := r.body["code_name"]; !ok {
				t.Fatalf("gateway error without code_name: %s", r.raw)
			}
			if tt.codeName != "" && r.body["code_name"] != tt.codeName {
				t.Fatalf("code_name %v", r.body["code_name"])
			}
			if !strings.Contains(r.body["message"].(string), tt.msg) {
				t.Fatalf("message %q lacks %q", r.body["message"], tt.msg)
			}
			if r.header.Get("X-Bkapi-Error-Code") != jsonNum(tt.code) || r.header.Get("X-Bkapi-Error-Message") == "" || r.header.Get("X-Bkapi-Request-Id") == "" {
				t.Fatalf("headers %v", r.header)
			}
			if v, ok := r.body["data"]; !ok || v != nil {
				t.Fatalf("data must be null: %s", r.raw)
			}
		})
	}
	t.Run("no user", func(t *testing.T) {
		t.Parallel()
		r, err := c.do(http.MethodPost, EPSubmit.Path(), body, auth(map[string]string{"bk_app_code": testApp, "bk_app_secret": testSecret}))
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusUnauthorized || r.code() != CodeMissingUser || r.header.Get("X-Bkapi-Error-Code") != "" {
			t.Fatalf("HTTP %d %s", r.status, r.raw)
		}
		if _, ok := r.body["code_name"]; ok {
			t.Fatalf("JOB's error must not carry code_name: %s", r.raw)
		}
	})
	t.Run("username header wins", func(t *testing.T) {
		t.Parallel()
		r, err := c.do(http.MethodPost, EPSubmit.Path(), body, func(r *http.Request) { r.Header.Set("X-Bk-Username", "carol") })
		if err != nil || r.code() != 0 {
			t.Fatalf("%v %s", err, r.raw)
		}
		id, _ := r.data()["job_instance_id"].(json.Number).Int64()
		snap, _ := s.Job(id)
		if snap.Operator != "carol" || snap.AppCode != testApp {
			t.Fatalf("operator %q app %q", snap.Operator, snap.AppCode)
		}
	})
	t.Run("grant at runtime", func(t *testing.T) {
		t.Parallel()
		oc := *c
		oc.app, oc.secret = "other", "x"
		r := oc.post(EPStatus, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": 1})
		if r.code() != CodeTaskNotExist {
			t.Fatalf("granted endpoint: %s", r.raw)
		}
	})
	t.Cleanup(func() {
		if s.Count(EPUnknown) < 3 || s.Count(EPSubmit) < 8 {
			t.Errorf("counts: unknown %d submit %d", s.Count(EPUnknown), s.Count(EPSubmit))
		}
	})
}

func jsonNum(n int) string { return strings.TrimSpace(string(must(json.Marshal(n)))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestMultiTenant(t *testing.T) {
	t.Parallel()
	_, c := newSim(t, Options{Exec: Synthetic(okOutcome), MultiTenant: true})
	r := c.post(EPStatus, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": 1})
	if r.status != http.StatusUnauthorized || len(r.raw) != 0 {
		t.Fatalf("HTTP %d %q", r.status, r.raw)
	}
	c.header = http.Header{"X-Bk-Tenant-Id": {"default"}}
	if r := c.post(EPStatus, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": 1}); r.code() != CodeTaskNotExist {
		t.Fatalf("%s", r.raw)
	}
}

func TestRequestsRecorded(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	id, _ := c.submit(submitBody("echo", 101))
	c.status(id)
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Endpoint != EPSubmit || reqs[1].Endpoint != EPStatus || reqs[0].Status != 200 || reqs[0].Call != 1 {
		t.Fatalf("requests %+v", reqs)
	}
	if !bytes.Contains(reqs[0].Body, []byte(`"task_name":"test-task"`)) || reqs[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("recorded body/header: %s %v", reqs[0].Body, reqs[0].Header)
	}
	if s.JobsCreated() != 1 || s.Count(EPStatus) != 1 {
		t.Fatalf("created %d status calls %d", s.JobsCreated(), s.Count(EPStatus))
	}
}

func TestViewPermission(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome), EnforceViewPermission: true, ViewHistoryUsers: []string{"auditor"}, DeniedUsers: []string{"mallory"}})
	id, _ := c.submit(submitBody("echo", 101))
	if _, err := s.WaitFinished(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if r := c.status(id); r.code() != 0 {
		t.Fatalf("operator view: %s", r.raw)
	}
	c.user = "bob"
	r := c.status(id)
	wantCode(t, r, CodePermissionDenied, "User (bob)")
	if r.body["permission"] == nil {
		t.Fatalf("no permission block: %s", r.raw)
	}
	c.user = "auditor"
	if r := c.status(id); r.code() != 0 {
		t.Fatalf("auditor view: %s", r.raw)
	}
	c.user = "mallory"
	r = c.post(EPSubmit, submitBody("echo", 101))
	wantCode(t, r, CodePermissionDenied, "mallory")
	perm, _ := r.body["permission"].(map[string]any)
	if perm["system_id"] != "bk_job" {
		t.Fatalf("permission %v", perm)
	}
}

func TestCallbackRetryWithFormContentType(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	cb := newCallbackServer(t, http.StatusInternalServerError, http.StatusNoContent)
	b := submitBody("echo", 101)
	b["callback"] = map[string]any{"url": cb.srv.URL + "/hook?x=1"}
	id, _ := c.submit(b)
	recs, err := s.WaitJobCallbacks(ctxT(t), id, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := cb.received()
	if len(got) != 2 || len(recs) != 2 {
		t.Fatalf("received %d, recorded %d", len(got), len(recs))
	}
	// Exactly JOB's content types (HttpConPoolUtil.postJson / postFormData): no charset parameter.
	if got[0].ContentType != "application/json" || got[1].ContentType != "application/x-www-form-urlencoded" {
		t.Fatalf("content types %q %q", got[0].ContentType, got[1].ContentType)
	}
	if !bytes.Equal(got[0].Body, got[1].Body) {
		t.Fatalf("bodies differ: %s / %s", got[0].Body, got[1].Body)
	}
	var payload map[string]any
	if err := json.Unmarshal(got[0].Body, &payload); err != nil {
		t.Fatal(err)
	}
	steps, _ := payload["step_instances"].([]any)
	if payload["status"] != float64(3) || len(steps) != 1 || payload["job_instance_id"] != float64(id) {
		t.Fatalf("payload %s", got[0].Body)
	}
	// 204 counts as a failure too, but there is no third attempt.
	time.Sleep(50 * time.Millisecond)
	if len(cb.received()) != 2 || recs[1].HTTPStatus != http.StatusNoContent {
		t.Fatalf("attempts %d", len(cb.received()))
	}
}

func TestCallbackNetworkErrorNoRetry(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	cb := newCallbackServer(t)
	url := cb.srv.URL
	cb.srv.Close()
	b := submitBody("echo", 101)
	b["callback"] = map[string]any{"url": url}
	id, _ := c.submit(b)
	if _, err := s.WaitJobCallbacks(ctxT(t), id, 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if recs, _ := s.WaitJobCallbacks(ctxT(t), id, 1); len(recs) != 1 || recs[0].Err == "" || recs[0].HTTPStatus != 0 {
		t.Fatalf("records %+v", recs)
	}
}

func TestCallbackFaults(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	cb := newCallbackServer(t)
	s.InjectCallback(CallbackFault{Calls: Nth(1), Kind: CallbackDrop})
	s.InjectCallback(CallbackFault{Calls: Nth(2), Kind: CallbackDuplicate})
	s.InjectCallback(CallbackFault{Calls: Nth(3), Kind: CallbackDelay, Delay: 100 * time.Millisecond})
	run := func() int64 {
		b := submitBody("echo", 101)
		b["callback"] = map[string]any{"url": cb.srv.URL}
		id, _ := c.submit(b)
		if _, err := s.WaitFinished(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	dropped := run()
	dup := run()
	if recs, err := s.WaitJobCallbacks(ctxT(t), dup, 2); err != nil || len(recs) != 2 {
		t.Fatalf("duplicate: %v %d", err, len(recs))
	}
	start := time.Now()
	delayed := run()
	if _, err := s.WaitJobCallbacks(ctxT(t), delayed, 1); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Fatalf("delayed callback arrived after %v", time.Since(start))
	}
	for _, r := range s.Callbacks() {
		if r.JobID == dropped {
			t.Fatal("dropped callback was sent")
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	body := map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": 1}
	raw, _ := json.Marshal(body)
	call := 0
	next := func(f Fault) (response, error) {
		call++
		f.Endpoint, f.Calls = EPStatus, Nth(call)
		s.Inject(f)
		return c.do(http.MethodPost, EPStatus.Path(), raw, nil)
	}
	gw := []struct {
		kind     FaultKind
		status   int
		code     int
		codeName string
	}{
		{FaultRateLimit, 429, GWRateLimitGlobal, "RATE_LIMIT_RESTRICTION"},
		{Fault502, 502, GWBadGateway, "BAD_GATEWAY"},
		{Fault503, 503, GWServiceUnavail, "SERVICE_UNAVAILABLE"},
		{Fault504, 504, GWBackendTimeout, "REQUEST_BACKEND_TIMEOUT"},
	}
	for _, g := range gw {
		r, err := next(Fault{Kind: g.kind, RetryAfter: 3})
		if err != nil || r.status != g.status || r.code() != g.code || r.body["code_name"] != g.codeName || r.header.Get("X-Bkapi-Error-Code") == "" {
			t.Fatalf("kind %d: %v HTTP %d %s", g.kind, err, r.status, r.raw)
		}
		if g.kind == FaultRateLimit && (r.header.Get("Retry-After") != "3" || r.header.Get("X-Bkapi-RateLimit-Remaining") != "0" || r.header.Get("X-Bkapi-RateLimit-Limit") == "") {
			t.Fatalf("rate limit headers %v", r.header)
		}
	}
	if _, err := next(Fault{Kind: FaultReset}); err == nil {
		t.Fatal("reset: no error")
	}
	r, err := next(Fault{Kind: FaultTruncated})
	if err != nil || json.Valid(r.raw) || len(r.raw) == 0 {
		t.Fatalf("truncated: %v %q", err, r.raw)
	}
	if _, err = next(Fault{Kind: FaultTruncatedEOF}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated EOF: %v", err)
	}
	r, err = next(Fault{Kind: FaultHTML})
	if err != nil || r.status != 502 || !strings.Contains(string(r.raw), "<html>") || r.header.Get("Content-Type") != "text/html" {
		t.Fatalf("html: %v %d %q", err, r.status, r.raw)
	}
	r, err = next(Fault{Kind: FaultResultFalse, Code: CodePermissionDenied, Message: "denied", Permission: map[string]any{"system_id": "bk_job"}})
	if err != nil || r.status != 200 || r.code() != CodePermissionDenied || r.body["message"] != "denied" || r.body["permission"] == nil {
		t.Fatalf("result false: %v %s", err, r.raw)
	}
	start := time.Now()
	r, err = next(Fault{Kind: FaultDelay, Delay: 80 * time.Millisecond})
	if err != nil || r.code() != CodeTaskNotExist || time.Since(start) < 80*time.Millisecond {
		t.Fatalf("delay: %v %s after %v", err, r.raw, time.Since(start))
	}
	// Every call from now on, then cleared.
	s.Inject(Fault{Endpoint: EPList, Calls: From(1), Kind: Fault503})
	for range 2 {
		if r, err := c.do(http.MethodGet, EPList.Path(), nil, nil); err != nil || r.status != 503 {
			t.Fatalf("every call: %v %d", err, r.status)
		}
	}
	s.ClearFaults()
	if r, err := c.do(http.MethodGet, EPList.Path(), nil, nil); err != nil || r.status != 200 {
		t.Fatalf("cleared: %v %d", err, r.status)
	}
}

func TestFaultJobCreatedResponseLost(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	s.Inject(Fault{Endpoint: EPSubmit, Calls: Nth(1), Kind: FaultCreatedLost})
	s.Inject(Fault{Endpoint: EPSubmit, Calls: Nth(2), Kind: FaultCreatedHang})
	raw, _ := json.Marshal(submitBody("echo", 101))
	if _, err := c.do(http.MethodPost, EPSubmit.Path(), raw, nil); err == nil {
		t.Fatal("lost response: no error")
	}
	short := &http.Client{Timeout: 200 * time.Millisecond}
	cc := *c
	cc.hc = short
	start := time.Now()
	if _, err := cc.do(http.MethodPost, EPSubmit.Path(), raw, nil); err == nil {
		t.Fatal("hang: no error")
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("hang returned after %v", time.Since(start))
	}
	if s.JobsCreated() != 2 || s.Count(EPSubmit) != 2 {
		t.Fatalf("jobs %d submits %d", s.JobsCreated(), s.Count(EPSubmit))
	}
	// The jobs exist and can be found by their name.
	for _, j := range s.Jobs() {
		if _, err := s.WaitFinished(ctxT(t), j.ID); err != nil {
			t.Fatal(err)
		}
	}
}
