package jobsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testApp    = "bkci"
	testSecret = "s3cret-value"
	testUser   = "alice"
)

// newSim starts a simulator for a test and closes it at the end.
func newSim(t *testing.T, opts Options) (*Sim, *client) {
	t.Helper()
	if opts.Apps == nil {
		opts.Apps = map[string]string{testApp: testSecret}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	base, err := s.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, &client{t: t, base: base, app: testApp, secret: testSecret, user: testUser, hc: &http.Client{Timeout: 30 * time.Second}}
}

type client struct {
	t                 *testing.T
	base              string
	app, secret, user string
	hc                *http.Client
	header            http.Header
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) code() int {
	n, _ := r.body["code"].(json.Number).Int64()
	return int(n)
}

func (r response) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (c *client) authHeader() string {
	b, _ := json.Marshal(map[string]string{"bk_app_code": c.app, "bk_app_secret": c.secret, "bk_username": c.user})
	return string(b)
}

func (c *client) do(method, path string, body []byte, mutate func(*http.Request)) (response, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("X-Bkapi-Authorization", c.authHeader())
	req.Header.Set("Blueking-Language", "en")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if err != nil {
		return r, err
	}
	if len(raw) > 0 && raw[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		_ = dec.Decode(&r.body)
	}
	return r, nil
}

func (c *client) post(ep Endpoint, body any) response {
	c.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	r, err := c.do(http.MethodPost, ep.Path(), b, nil)
	if err != nil {
		c.t.Fatalf("POST %s: %v", ep, err)
	}
	return r
}

func (c *client) postRaw(ep Endpoint, body string) response {
	c.t.Helper()
	r, err := c.do(http.MethodPost, ep.Path(), []byte(body), nil)
	if err != nil {
		c.t.Fatalf("POST %s: %v", ep, err)
	}
	return r
}

func (c *client) list(q url.Values) response {
	c.t.Helper()
	r, err := c.do(http.MethodGet, EPList.Path()+"?"+q.Encode(), nil, nil)
	if err != nil {
		c.t.Fatalf("GET list: %v", err)
	}
	return r
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// submitBody is a valid demo submit request; mutate it per test.
func submitBody(script string, hosts ...int64) map[string]any {
	hl := []map[string]any{}
	for _, h := range hosts {
		hl = append(hl, map[string]any{"bk_host_id": h})
	}
	return map[string]any{
		"bk_scope_type": "biz", "bk_scope_id": "2",
		"script_content": b64(script), "script_language": 1,
		"account_alias": "root", "task_name": "test-task",
		"execute_target": map[string]any{"host_list": hl},
	}
}

func (c *client) submit(body map[string]any) (int64, response) {
	c.t.Helper()
	r := c.post(EPSubmit, body)
	if r.code() != 0 {
		c.t.Fatalf("submit: %s", r.raw)
	}
	id, _ := r.data()["job_instance_id"].(json.Number).Int64()
	return id, r
}

func (c *client) status(id int64) response {
	c.t.Helper()
	return c.post(EPStatus, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": id, "include_execute_object_task_result": true})
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, r response, code int, msgPart string) {
	t.Helper()
	if r.status != http.StatusOK || r.code() != code {
		t.Fatalf("HTTP %d code %d, want 200 code %d: %s", r.status, r.code(), code, r.raw)
	}
	if r.body["result"] != false {
		t.Fatalf("result is not false: %s", r.raw)
	}
	if id, _ := r.body["job_request_id"].(string); id == "" {
		t.Fatalf("no job_request_id: %s", r.raw)
	}
	if msg, _ := r.body["message"].(string); !strings.Contains(msg, msgPart) {
		t.Fatalf("message %q does not contain %q", msg, msgPart)
	}
}

func statuses(snap JobSnapshot) []int {
	out := make([]int, len(snap.Targets))
	for i, tg := range snap.Targets {
		out[i] = tg.Status
	}
	return out
}

func okOutcome(Target) Outcome { return Outcome{} }
