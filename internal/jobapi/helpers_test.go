package jobapi

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

const (
	testPrefix = "/api/bk-job/prod"
	testSecret = "S3cr3t-app-SECRET-0123456789"
)

var testScope = Scope{Type: "biz", ID: "2"}

// recorded is one request the fake gateway received.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// fakeGateway is an httptest server under testPrefix that records requests and answers through a
// per-test handler. Requests outside the prefix fail the test (the go-github trap).
type fakeGateway struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	log []recorded
}

func newFakeGateway(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *fakeGateway {
	t.Helper()
	g := &fakeGateway{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc(testPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.log = append(g.log, recorded{r.Method, strings.TrimPrefix(r.URL.Path, testPrefix), r.URL.RawQuery, r.Header.Clone(), body})
		n := len(g.log)
		g.mu.Unlock()
		h(w, r, n)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the gateway prefix: %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGateway) URL() string { return g.srv.URL + testPrefix }

func (g *fakeGateway) requests() []recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]recorded(nil), g.log...)
}

func (g *fakeGateway) hits() int { return len(g.requests()) }

// testConfig is a config with tiny retry delays.
func testConfig(baseURL string) Config {
	return Config{
		BaseURL:   baseURL,
		AppCode:   "bkci",
		AppSecret: testSecret,
		Username:  "alice",
		Language:  "en",
		UserAgent: "jobFastExecuteScript/1.2.3",
		Retry: RetryPolicy{
			Attempts:       4,
			SubmitAttempts: 3,
			BaseDelay:      time.Millisecond,
			MaxDelay:       2 * time.Millisecond,
			MaxRetryAfter:  20 * time.Millisecond,
		},
		RequestTimeout:    30 * time.Second,
		LogRequestTimeout: 30 * time.Second,
	}
}

func newTestClient(t testing.TB, baseURL string, mod func(*Config)) *Client {
	t.Helper()
	cfg := testConfig(baseURL)
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// writeJSON writes status and a raw JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// ok wraps data into a JOB success envelope.
func ok(data string) string {
	return `{"result":true,"code":0,"job_request_id":"req-1","data":` + data + `}`
}

// resetConn drops the connection without an answer.
func resetConn(t *testing.T, w http.ResponseWriter) {
	hj, isHJ := w.(http.Hijacker)
	if !isHJ {
		t.Errorf("response writer cannot hijack")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_ = conn.Close()
}

func noSecret(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, testSecret) {
		t.Errorf("text contains the app secret: %s", s)
	}
}

const statusExample = `{
  "finished": false,
  "job_instance": {"job_instance_id": 123, "bk_scope_type": "biz", "bk_scope_id": "2", "name": "t",
                   "status": 2, "create_time": 1700000000000, "start_time": 1700000000100, "end_time": null, "total_time": null},
  "step_instance_list": [{
    "step_instance_id": 456, "name": "t", "type": 1, "status": 2, "execute_count": 0,
    "create_time": 0, "start_time": 0, "end_time": null, "total_time": null,
    "execute_object_result_list": [{
      "execute_object": {"type": 1, "resource_id": "101",
                         "host": {"bk_host_id": 101, "bk_cloud_id": 0, "ip": "10.0.0.1", "bk_cloud_name": null, "ipv6": null, "bk_agent_id": null, "alive": null}},
      "status": 7, "tag": null, "exit_code": null, "error_code": 115, "start_time": 0, "end_time": null, "total_time": null
    }, {
      "execute_object": {"type": 2, "resource_id": "10002",
                         "container": {"id": 10002, "container_id": "docker://0f65...", "node_host_id": 101, "name": "job-execute"}},
      "status": 9, "tag": "", "exit_code": 0, "error_code": 0, "start_time": 0, "end_time": 0, "total_time": 1000
    }]
  }]
}`

const logsExample = `{"job_instance_id": 123, "step_instance_id": 456, "log_type": 1,
 "script_execute_object_task_logs": [
   {"execute_object": {"type": 1, "resource_id": "101", "host": {"bk_host_id": 101, "bk_cloud_id": 0, "ip": "10.0.0.1"}},
    "log_content": "[2024-01-01 00:00:00][PID:1] job_start\nhello\n"},
   {"execute_object": {"type": 2, "resource_id": "10002", "container": {"id": 10002, "container_id": "docker://0f65", "node_host_id": 101, "name": "c"}},
    "log_content": null}],
 "file_execute_object_task_logs": null}`

func i64(v int64) *int64 { return &v }
func iptr(v int) *int    { return &v }

var fixedNow = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

func gjsonParse(raw string) gjson.Result { return gjson.Parse(raw) }

// errNotJSON is what the parse helpers below give for a body that is not a JSON object.
var errNotJSON = errors.New("response is not a JSON object")

// parseRoot turns a body into the root object the client hands an endpoint's parser (the client
// gets it from classifyResponse, which validated the body).
func parseRoot(body string) (gjson.Result, error) {
	if len(body) == 0 || tooDeep(body) || !gjson.Valid(body) {
		return gjson.Result{}, errNotJSON
	}
	root := gjson.Parse(body)
	if !root.IsObject() {
		return gjson.Result{}, errNotJSON
	}
	return root, nil
}

func statusOf(body string) (*JobStatus, error) {
	root, err := parseRoot(body)
	if err != nil {
		return nil, err
	}
	return parseStatus(root)
}

func logsOf(body string, keys []ObjectKey) ([]ObjectLog, error) {
	root, err := parseRoot(body)
	if err != nil {
		return nil, err
	}
	return parseLogs(root, keys)
}

func submittedOf(body string, h http.Header) (Submitted, error) {
	root, err := parseRoot(body)
	if err != nil {
		return Submitted{}, err
	}
	return parseSubmitted(root, h)
}

func listOf(body string) ([]JobSummary, int, error) {
	root, err := parseRoot(body)
	if err != nil {
		return nil, 0, err
	}
	return parseList(root)
}
