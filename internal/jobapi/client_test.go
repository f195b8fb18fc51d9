package jobapi

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNew_Validation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"empty base url", func(c *Config) { c.BaseURL = "" }, "base URL is empty"},
		{"bad scheme", func(c *Config) { c.BaseURL = "ftp://h/x" }, "http:// or https://"},
		{"no host", func(c *Config) { c.BaseURL = "https:///x" }, "no host"},
		{"credentials in url", func(c *Config) { c.BaseURL = "https://u:p@h/x" }, "credentials"},
		{"query in url", func(c *Config) { c.BaseURL = "https://h/x?a=1" }, "query"},
		{"no app code", func(c *Config) { c.AppCode = " " }, "app code is empty"},
		{"no app secret", func(c *Config) { c.AppSecret = "" }, "app secret is empty"},
		{"no username", func(c *Config) { c.Username = "" }, "username is empty"},
		{"bad language", func(c *Config) { c.Language = "fr" }, "language"},
		{"ua with newline", func(c *Config) { c.UserAgent = "a\r\nX-Evil: 1" }, "user agent"},
		{"tenant with newline", func(c *Config) { c.TenantID = "t\n" }, "tenant id"},
		{"negative timeout", func(c *Config) { c.RequestTimeout = -1 }, "request timeout is negative"},
		{"negative retry", func(c *Config) { c.Retry.Attempts = -1 }, "negative"},
		{"garbage pem", func(c *Config) { c.CACertPEM = "not a pem" }, "no certificate"},
		{"broken pem cert", func(c *Config) {
			c.CACertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))
		}, "CA PEM block 1"},
		{"pem key block", func(c *Config) {
			c.CACertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}))
		}, "not a CERTIFICATE"},
		{"ca with http client", func(c *Config) {
			c.HTTPClient = &http.Client{}
			c.CACertPEM = "x"
		}, "custom HTTP client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig("https://bkapi.example.com/api/bk-job/prod")
			tt.mod(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
			noSecret(t, err.Error())
		})
	}
}

func TestNew_Defaults(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "https://bkapi.example.com/api/bk-job/prod/", AppCode: "a", AppSecret: testSecret, Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if c.language != "zh-cn" || c.userAgent != DefaultUserAgent || c.timeout != DefaultRequestTimeout ||
		c.logTimeout != DefaultLogRequestTimeout {
		t.Errorf("defaults not applied: %q %q %v %v", c.language, c.userAgent, c.timeout, c.logTimeout)
	}
	want := RetryPolicy{Attempts: 6, SubmitAttempts: 60, SubmitWindow: time.Minute, QuotaWindow: 10 * time.Minute, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second, MaxRetryAfter: 30 * time.Second}
	if c.retry != want {
		t.Errorf("retry = %+v, want %+v", c.retry, want)
	}
	tr, isTr := c.hc.Transport.(*http.Transport)
	if !isTr || tr.MaxIdleConnsPerHost < 8 || tr.TLSHandshakeTimeout == 0 || tr.IdleConnTimeout == 0 {
		t.Errorf("transport not tuned: %+v", tr)
	}
	if got := c.endpointURL(PathGetJobStatus, nil); got != "https://bkapi.example.com/api/bk-job/prod/api/v3/system/bkci_plugin_get_job_instance_status" {
		t.Errorf("endpoint URL = %s", got)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c),
		fmt.Sprintf("%v %+v %#v", testConfig("x"), testConfig("x"), testConfig("x"))} {
		noSecret(t, s)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	for _, tenant := range []string{"", "tenant-a"} {
		t.Run("tenant="+tenant, func(t *testing.T) {
			t.Parallel()
			g := newFakeGateway(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				switch {
				case strings.HasSuffix(r.URL.Path, "get_job_instance_list"):
					writeJSON(w, 200, ok(`{"data":[],"total":0}`))
				case strings.HasSuffix(r.URL.Path, "fast_execute_script"):
					writeJSON(w, 200, ok(`{"job_instance_id":1,"job_instance_name":"n","step_instance_id":2}`))
				case strings.HasSuffix(r.URL.Path, "status"):
					writeJSON(w, 200, ok(statusExample))
				case strings.HasSuffix(r.URL.Path, "log"):
					writeJSON(w, 200, ok(logsExample))
				default:
					writeJSON(w, 200, ok(`{"job_instance_id":1}`))
				}
			})
			c := newTestClient(t, g.URL(), func(c *Config) { c.TenantID = tenant })
			ctx := context.Background()
			now := time.Now()
			calls := []func() error{
				func() error { _, err := c.FastExecuteScript(ctx, &SubmitRequest{}); return err },
				func() error { _, err := c.GetJobInstanceStatus(ctx, testScope, 1, true); return err },
				func() error {
					_, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, []ObjectKey{{1, "101"}}, nil)
					return err
				},
				func() error { return c.TerminateJob(ctx, testScope, 1) },
				func() error { return c.OperateStep(ctx, testScope, 1, 2, OpStepContinueRolling) },
				func() error {
					_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: now.Add(-time.Hour), CreateTimeEnd: now})
					return err
				},
			}
			for i, call := range calls {
				if err := call(); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			reqs := g.requests()
			if len(reqs) != len(calls) {
				t.Fatalf("got %d requests, want %d", len(reqs), len(calls))
			}
			wantPaths := []string{PathFastExecuteScript, PathGetJobStatus, PathBatchGetObjectLog,
				PathOperateJobInstance, PathOperateStepInstance, PathGetJobInstanceList}
			for i, r := range reqs {
				if r.Path != wantPaths[i] {
					t.Errorf("request %d path = %s, want %s", i, r.Path, wantPaths[i])
				}
				var auth map[string]string
				if err := json.Unmarshal([]byte(r.Header.Get("X-Bkapi-Authorization")), &auth); err != nil {
					t.Errorf("request %d: X-Bkapi-Authorization is not JSON: %v", i, err)
				}
				if want := map[string]string{"bk_app_code": "bkci", "bk_app_secret": testSecret, "bk_username": "alice"}; fmt.Sprint(auth) != fmt.Sprint(want) {
					t.Errorf("request %d: auth = %v", i, auth)
				}
				if got := r.Header.Get("Accept"); got != "application/json" {
					t.Errorf("request %d: Accept = %q", i, got)
				}
				wantCT, wantMethod := "application/json", http.MethodPost
				if r.Path == PathGetJobInstanceList {
					wantCT, wantMethod = "", http.MethodGet
				}
				if r.Method != wantMethod {
					t.Errorf("request %d: method %s, want %s", i, r.Method, wantMethod)
				}
				if got := r.Header.Get("Content-Type"); got != wantCT {
					t.Errorf("request %d: Content-Type = %q, want %q", i, got, wantCT)
				}
				if got := r.Header.Get("User-Agent"); got != "jobFastExecuteScript/1.2.3" {
					t.Errorf("request %d: User-Agent = %q", i, got)
				}
				if got := r.Header.Get("Blueking-Language"); got != "en" {
					t.Errorf("request %d: Blueking-Language = %q", i, got)
				}
				if got, present := r.Header["X-Bk-Tenant-Id"]; (tenant == "" && present) || (tenant != "" && (len(got) != 1 || got[0] != tenant)) {
					t.Errorf("request %d: X-Bk-Tenant-Id = %q, want %q", i, got, tenant)
				}
			}
		})
	}
}

func TestAuthHeader_NonASCII(t *testing.T) {
	t.Parallel()
	h := authHeader("bkci", `se"cr\et`, "张三🙂")
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			t.Fatalf("header is not ASCII: %q", h)
		}
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(h), &m); err != nil {
		t.Fatal(err)
	}
	if m["bk_username"] != "张三🙂" || m["bk_app_secret"] != `se"cr\et` {
		t.Errorf("round trip = %v", m)
	}
}

func TestRequestBodies(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "status"):
			writeJSON(w, 200, ok(statusExample))
		case strings.HasSuffix(r.URL.Path, "log"):
			writeJSON(w, 200, ok(logsExample))
		case strings.HasSuffix(r.URL.Path, "list"):
			writeJSON(w, 200, ok(`{"data":[],"total":0}`))
		default:
			writeJSON(w, 200, ok(`{"job_instance_id":7}`))
		}
	})
	c := newTestClient(t, g.URL(), nil)
	ctx := context.Background()
	start := time.UnixMilli(1700000000000)
	end := time.UnixMilli(1700000600000)
	if _, err := c.GetJobInstanceStatus(ctx, testScope, 7, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BatchGetObjectLogs(ctx, testScope, 7, 8, []ObjectKey{{1, "101"}, {2, "10002"}, {1, "101"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.TerminateJob(ctx, testScope, 7); err != nil {
		t.Fatal(err)
	}
	if err := c.OperateStep(ctx, testScope, 7, 8, 13); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: start, CreateTimeEnd: end,
		Name: "a b&c", Operator: "alice", Type: 1, Start: 5, Length: 50}); err != nil {
		t.Fatal(err)
	}
	reqs := g.requests()
	wantBodies := []string{
		`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":7,"include_execute_object_task_result":true}`,
		`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":7,"step_instance_id":8,"execute_object_list":[{"type":1,"resource_id":"101"},{"type":2,"resource_id":"10002"}]}`,
		`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":7,"operation_code":1}`,
		`{"bk_scope_type":"biz","bk_scope_id":"2","job_instance_id":7,"step_instance_id":8,"operation_code":13}`,
		``,
	}
	for i, want := range wantBodies {
		if got := string(reqs[i].Body); got != want {
			t.Errorf("request %d body\n got %s\nwant %s", i, got, want)
		}
	}
	wantQuery := "bk_scope_id=2&bk_scope_type=biz&create_time_end=1700000600000&create_time_start=1700000000000&length=50&name=a+b%26c&operator=alice&start=5&type=1"
	if reqs[4].Query != wantQuery {
		t.Errorf("list query\n got %s\nwant %s", reqs[4].Query, wantQuery)
	}
}

func TestArgumentChecks_NoRequest(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 200, ok(`{}`)) })
	c := newTestClient(t, g.URL(), nil)
	ctx := context.Background()
	many := make([]ObjectKey, MaxLogObjects+1)
	for i := range many {
		many[i] = ObjectKey{1, fmt.Sprint(i + 1)}
	}
	now := time.Now()
	calls := map[string]func() error{
		"submit empty":    func() error { _, err := c.FastExecuteScript(ctx, nil); return err },
		"status no scope": func() error { _, err := c.GetJobInstanceStatus(ctx, Scope{}, 1, false); return err },
		"status bad id":   func() error { _, err := c.GetJobInstanceStatus(ctx, testScope, 0, false); return err },
		"logs zero keys":  func() error { _, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, nil, nil); return err },
		"logs 501 keys":   func() error { _, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, many, nil); return err },
		"logs bad key": func() error {
			_, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, []ObjectKey{{3, "1"}}, nil)
			return err
		},
		"logs empty id": func() error {
			_, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, []ObjectKey{{1, ""}}, nil)
			return err
		},
		"terminate bad id": func() error { return c.TerminateJob(ctx, testScope, -1) },
		"operate bad op":   func() error { return c.OperateStep(ctx, testScope, 1, 2, 0) },
		"list no window":   func() error { _, err := c.ListJobInstances(ctx, testScope, ListQuery{}); return err },
		"list reversed": func() error {
			_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: now, CreateTimeEnd: now.Add(-time.Second)})
			return err
		},
		"list length": func() error {
			_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: now.Add(-time.Hour), CreateTimeEnd: now, Length: 1001})
			return err
		},
		// JOB's checkRequest (EsbGetJobInstanceListV3ResourceImpl): the end strictly after the start, in ms.
		"list empty window": func() error {
			_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: now, CreateTimeEnd: now.Add(time.Microsecond)})
			return err
		},
		"list window over 30 days": func() error {
			_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: now.Add(-MaxListWindow - time.Millisecond), CreateTimeEnd: now})
			return err
		},
		"list start over 1000": func() error {
			_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: now.Add(-time.Hour), CreateTimeEnd: now, Start: 1001})
			return err
		},
		"list before the epoch": func() error {
			_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: time.UnixMilli(0), CreateTimeEnd: now})
			return err
		},
		"find empty name": func() error { _, err := c.FindJobByName(ctx, testScope, "", "alice", now, now); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: error = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := g.hits(); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
	// Exactly 500 keys is allowed (the fake's empty data object means "no entries").
	logs, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, many[:MaxLogObjects], nil)
	if err != nil || len(logs) != MaxLogObjects || logs[0].Present {
		t.Errorf("500 keys: %d logs, err %v", len(logs), err)
	}
	if n := g.hits(); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
}

func TestTLS_CACertPEM(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, ok(`{"job_instance_id":1}`))
	}))
	t.Cleanup(srv.Close)
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	c := newTestClient(t, srv.URL+testPrefix, func(c *Config) { c.CACertPEM = "junk before\n" + caPEM })
	if err := c.TerminateJob(context.Background(), testScope, 1); err != nil {
		t.Fatalf("with CA: %v", err)
	}

	var retries int
	c = newTestClient(t, srv.URL+testPrefix, func(c *Config) {
		c.OnRetry = func(string, int, error, time.Duration) { retries++ }
	})
	err := c.TerminateJob(context.Background(), testScope, 1)
	e, isErr := As(err)
	if !isErr || e.Kind != KindTLS || !e.NeverSent() || e.Unknown() || IsTransient(err) {
		t.Fatalf("without CA: err = %v (%+v)", err, e)
	}
	if retries != 0 {
		t.Errorf("TLS failure retried %d times", retries)
	}
}

func TestExecuteObjectKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    ExecuteObject
		want ObjectKey
	}{
		{"resource id", ExecuteObject{Type: 1, ResourceID: "5", Host: &Host{HostID: 9}}, ObjectKey{1, "5"}},
		{"host fallback", ExecuteObject{Type: 1, Host: &Host{HostID: 9}}, ObjectKey{1, "9"}},
		{"container fallback", ExecuteObject{Type: 2, Container: &Container{ID: 10002}}, ObjectKey{2, "10002"}},
		{"nothing", ExecuteObject{Type: 2}, ObjectKey{2, ""}},
	}
	for _, tt := range tests {
		if got := tt.o.Key(); got != tt.want {
			t.Errorf("%s: Key() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
