package jobapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// step is one scripted answer of the fake gateway.
type step func(t *testing.T, w http.ResponseWriter, r *http.Request)

func answer(status int, body string, headers ...string) step {
	return func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		writeJSON(w, status, body)
	}
}

func reset() step {
	return func(t *testing.T, w http.ResponseWriter, _ *http.Request) { resetConn(t, w) }
}

// hang blocks until the client gives up.
func hang() step {
	return func(_ *testing.T, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
}

// truncated declares a longer body than it sends.
func truncated() step {
	return func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "200")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"result":true,"code":0,"data":{`))
	}
}

// scripted serves the steps in order; the last one repeats.
func scripted(t *testing.T, steps ...step) *fakeGateway {
	return newFakeGateway(t, func(w http.ResponseWriter, r *http.Request, n int) {
		steps[min(n, len(steps))-1](t, w, r)
	})
}

var (
	statusOK   = answer(200, ok(statusExample))
	submitOK   = answer(200, ok(`{"job_instance_id":77,"job_instance_name":"n","step_instance_id":78}`))
	operateOK  = answer(200, ok(`{"job_instance_id":1}`))
	gw502      = answer(502, `{"code":1650200,"code_name":"BAD_GATEWAY","message":"bad gateway","result":false,"data":null}`)
	gw504      = answer(504, `{"code":1650401,"code_name":"REQUEST_BACKEND_TIMEOUT","message":"timeout","result":false,"data":null}`)
	html503    = answer(503, `<html><title>Service Unavailable</title></html>`)
	gw429      = answer(429, `{"code":1642901,"code_name":"RATE_LIMIT_RESTRICTION","message":"slow down","result":false,"data":null}`)
	badRequest = answer(200, `{"result":false,"code":1240003,"message":"bad request"}`)
)

func TestStatusRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		steps    []step
		wantHits int
		wantKind ErrorKind // 0: success
	}{
		{"502 then ok", []step{gw502, statusOK}, 2, 0},
		{"504 then ok", []step{gw504, statusOK}, 2, 0},
		{"503 html then ok", []step{html503, statusOK}, 2, 0},
		{"429 then ok", []step{gw429, statusOK}, 2, 0},
		{"reset then ok", []step{reset(), statusOK}, 2, 0},
		{"truncated then ok", []step{truncated(), statusOK}, 2, 0},
		{"html 200 then ok", []step{answer(200, `<html>`), statusOK}, 2, 0},
		{"data null then ok", []step{answer(200, ok(`null`)), statusOK}, 2, 0},
		{"1650xxx on 200 then ok", []step{answer(200, `{"code":1650201,"code_name":"ERROR_REQUESTING_RESOURCE","result":false}`), statusOK}, 2, 0},
		{"bad request never retried", []step{badRequest, statusOK}, 1, KindBusiness},
		{"not found never retried", []step{answer(200, `{"result":false,"code":1244006}`), statusOK}, 1, KindNotFound},
		{"401 never retried", []step{answer(401, ``), statusOK}, 1, KindAuth},
		{"gateway 403 never retried", []step{answer(403, `{"code":1640301,"code_name":"APP_NO_PERMISSION","result":false}`), statusOK}, 1, KindPermission},
		{"503 exhausts attempts", []step{html503}, 4, KindUnavailable},
		{"resets exhaust attempts", []step{reset()}, 4, KindNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := scripted(t, tt.steps...)
			var mu sync.Mutex
			var attempts []int
			c := newTestClient(t, g.URL(), func(c *Config) {
				c.OnRetry = func(op string, attempt int, err error, wait time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					if op != opStatus || err == nil || wait < 0 {
						t.Errorf("OnRetry(%q, %d, %v, %v)", op, attempt, err, wait)
					}
					noSecret(t, err.Error())
					attempts = append(attempts, attempt)
				}
			})
			st, err := c.GetJobInstanceStatus(context.Background(), testScope, 123, true)
			if tt.wantKind == 0 {
				if err != nil || st.Job.ID != 123 {
					t.Fatalf("err = %v", err)
				}
			} else if e, _ := As(err); e == nil || e.Kind != tt.wantKind {
				t.Fatalf("err = %v, want kind %v", err, tt.wantKind)
			}
			if n := g.hits(); n != tt.wantHits {
				t.Errorf("hits = %d, want %d", n, tt.wantHits)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(attempts) != tt.wantHits-1 {
				t.Errorf("OnRetry attempts %v, want %d calls", attempts, tt.wantHits-1)
			}
			for i, a := range attempts {
				if a != i+1 {
					t.Errorf("OnRetry attempt numbers %v", attempts)
					break
				}
			}
		})
	}
}

func TestPerAttemptTimeoutRetried(t *testing.T) {
	t.Parallel()
	g := scripted(t, hang(), statusOK)
	c := newTestClient(t, g.URL(), func(c *Config) { c.RequestTimeout = 100 * time.Millisecond })
	if _, err := c.GetJobInstanceStatus(context.Background(), testScope, 1, false); err != nil {
		t.Fatal(err)
	}
	if n := g.hits(); n != 2 {
		t.Errorf("hits = %d", n)
	}
}

func TestOtherCallsRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	tests := []struct {
		name string
		good step
		call func(c *Client) error
	}{
		{"terminate", operateOK, func(c *Client) error { return c.TerminateJob(ctx, testScope, 1) }},
		{"operate step", operateOK, func(c *Client) error { return c.OperateStep(ctx, testScope, 1, 2, OpStepContinueRolling) }},
		{"logs", answer(200, ok(logsExample)), func(c *Client) error {
			_, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, []ObjectKey{{1, "101"}}, nil)
			return err
		}},
		{"list", answer(200, ok(`{"data":[],"total":0}`)), func(c *Client) error {
			_, err := c.ListJobInstances(ctx, testScope, ListQuery{CreateTimeStart: now.Add(-time.Minute), CreateTimeEnd: now})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := scripted(t, gw502, gw429, html503, gw504, tt.good)
			c := newTestClient(t, g.URL(), func(c *Config) { c.Retry.Attempts = 5 })
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			if n := g.hits(); n != 5 {
				t.Errorf("hits = %d, want 5", n)
			}
		})
	}
}

func TestTerminate_UnsupportedOperationReturned(t *testing.T) {
	t.Parallel()
	g := scripted(t, answer(200, `{"result":false,"code":1241003,"message":"Unsupported operation","job_request_id":"r"}`))
	c := newTestClient(t, g.URL(), nil)
	err := c.TerminateJob(context.Background(), testScope, 1)
	e, _ := As(err)
	if e == nil || e.Kind != KindBusiness || e.Code != CodeUnsupportedOperation || IsTransient(err) {
		t.Fatalf("err = %v", err)
	}
	if n := g.hits(); n != 1 {
		t.Errorf("hits = %d", n)
	}
	// A terminate whose first answer got lost is retried; the retry's 1241003 is what the caller sees.
	g = scripted(t, reset(), answer(200, `{"result":false,"code":1241003,"message":"Unsupported operation"}`))
	c = newTestClient(t, g.URL(), nil)
	if e, _ := As(c.TerminateJob(context.Background(), testScope, 1)); e == nil || e.Code != CodeUnsupportedOperation {
		t.Errorf("after reset: %v", e)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   []string
		maxAfter time.Duration
		want     time.Duration
	}{
		{"retry-after seconds", []string{"Retry-After", "1"}, 2 * time.Second, time.Second},
		{"rate-limit reset", []string{"X-Bkapi-RateLimit-Reset", "1"}, 2 * time.Second, time.Second},
		{"capped", []string{"Retry-After", "120"}, 20 * time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := scripted(t, answer(429, `{"code":1642901,"code_name":"RATE_LIMIT_RESTRICTION","result":false}`, tt.header...), statusOK)
			var waits []time.Duration
			c := newTestClient(t, g.URL(), func(c *Config) {
				c.Retry.MaxRetryAfter = tt.maxAfter
				c.OnRetry = func(_ string, _ int, _ error, wait time.Duration) { waits = append(waits, wait) }
			})
			if _, err := c.GetJobInstanceStatus(context.Background(), testScope, 1, false); err != nil {
				t.Fatal(err)
			}
			if len(waits) != 1 || waits[0] != tt.want {
				t.Errorf("waits = %v, want [%v]", waits, tt.want)
			}
		})
	}
}

func TestRetryStopsBeforeDeadline(t *testing.T) {
	t.Parallel()
	g := scripted(t, answer(429, `{"code":1642901,"code_name":"RATE_LIMIT_RESTRICTION","result":false}`, "Retry-After", "5"), statusOK)
	c := newTestClient(t, g.URL(), func(c *Config) { c.Retry.MaxRetryAfter = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := c.GetJobInstanceStatus(ctx, testScope, 1, false)
	e, _ := As(err)
	if e == nil || e.Kind != KindRateLimited || RetryAfter(err) != 5*time.Second || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if ctx.Err() != nil {
		t.Error("the client waited into the deadline instead of returning")
	}
	if n := g.hits(); n != 1 {
		t.Errorf("hits = %d", n)
	}
}

func TestCancelDuringWait(t *testing.T) {
	t.Parallel()
	g := scripted(t, gw502, statusOK)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newTestClient(t, g.URL(), func(c *Config) {
		c.Retry.BaseDelay, c.Retry.MaxDelay = time.Minute, time.Minute
		c.OnRetry = func(string, int, error, time.Duration) { cancel() }
	})
	_, err := c.GetJobInstanceStatus(ctx, testScope, 1, false)
	if !errors.Is(err, context.Canceled) || IsTransient(err) {
		t.Fatalf("err = %v (transient %v)", err, IsTransient(err))
	}
	if e, _ := As(err); e == nil || e.Kind != KindUnavailable {
		t.Errorf("last error lost: %v", err)
	}
	if n := g.hits(); n != 1 {
		t.Errorf("hits = %d", n)
	}
}

func TestCanceledContext_NoRequest(t *testing.T) {
	t.Parallel()
	g := scripted(t, statusOK)
	c := newTestClient(t, g.URL(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.FastExecuteScript(ctx, &SubmitRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if n := g.hits(); n != 0 {
		t.Errorf("hits = %d", n)
	}
}

func TestSubmit_NotRetriedOnceSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first step
		kind  ErrorKind
	}{
		{"reset after request", reset(), KindNetwork},
		{"timeout after request", hang(), KindNetwork},
		{"truncated answer", truncated(), KindUnreadable},
		{"502", gw502, KindUnavailable},
		{"504", gw504, KindUnavailable},
		{"html 200", answer(200, `<html><title>oops</title>`), KindUnreadable},
		{"no job id", answer(200, ok(`{"job_instance_name":"n"}`)), KindUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := scripted(t, tt.first, submitOK)
			c := newTestClient(t, g.URL(), func(c *Config) { c.RequestTimeout = 200 * time.Millisecond })
			_, err := c.FastExecuteScript(context.Background(), &SubmitRequest{TaskName: "x"})
			e, _ := As(err)
			if e == nil || e.Kind != tt.kind || !e.Unknown() || !IsUnknownOutcome(err) || e.NeverSent() {
				t.Fatalf("err = %v (%+v)", err, e)
			}
			if n := g.hits(); n != 1 {
				t.Errorf("submit sent %d times, want 1", n)
			}
		})
	}
}

func TestSubmit_NotRetriedOnRejection(t *testing.T) {
	t.Parallel()
	// A 429 without the gateway's code may come from anything behind the gateway: not retried.
	plain429 := answer(429, `Too Many Requests`)
	for _, first := range []step{badRequest, plain429, answer(403, `{"code":1640301,"code_name":"APP_NO_PERMISSION","result":false}`)} {
		g := scripted(t, first, submitOK)
		c := newTestClient(t, g.URL(), nil)
		_, err := c.FastExecuteScript(context.Background(), &SubmitRequest{})
		if err == nil || IsUnknownOutcome(err) {
			t.Errorf("err = %v, unknown %v", err, IsUnknownOutcome(err))
		}
		if n := g.hits(); n != 1 {
			t.Errorf("hits = %d", n)
		}
	}
}

// The gateway's rate limit answers before anything reaches JOB, so the submit is sent again.
func TestSubmit_RetriedOnGatewayRateLimit(t *testing.T) {
	t.Parallel()
	concurrency := answer(429, `{"code":1642904,"code_name":"CONCURRENCY_LIMIT_RESTRICTION","message":"too many","result":false,"data":null}`)
	t.Run("then ok", func(t *testing.T) {
		t.Parallel()
		g := scripted(t, gw429, concurrency, submitOK)
		c := newTestClient(t, g.URL(), nil)
		got, err := c.FastExecuteScript(context.Background(), &SubmitRequest{TaskName: "x"})
		if err != nil || got.JobInstanceID != 77 {
			t.Fatalf("got %+v, err %v", got, err)
		}
		if n := g.hits(); n != 3 {
			t.Errorf("submit sent %d times, want 3", n)
		}
	})
	t.Run("limited every time", func(t *testing.T) {
		t.Parallel()
		g := scripted(t, gw429, gw429, gw429, submitOK)
		c := newTestClient(t, g.URL(), nil)
		_, err := c.FastExecuteScript(context.Background(), &SubmitRequest{TaskName: "x"})
		e, _ := As(err)
		if e == nil || e.Kind != KindRateLimited || IsUnknownOutcome(err) {
			t.Fatalf("err = %v (%+v)", err, e)
		}
		if n, want := g.hits(), testConfig("").Retry.SubmitAttempts; n != want {
			t.Errorf("submit sent %d times, want %d", n, want)
		}
	})
}

// refusedAddr returns an address on which connections are refused.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// flakyDialer fails the first n dials with fail, then dials normally.
func flakyDialer(n int32, fail func(ctx context.Context, network string) (net.Conn, error)) (*http.Client, *atomic.Int32) {
	var dials atomic.Int32
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= n {
			return fail(ctx, network)
		}
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr}, &dials
}

func TestSubmit_RetriedWhenNeverSent(t *testing.T) {
	t.Parallel()
	refused := refusedAddr(t)
	dialRefused := func(ctx context.Context, network string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, refused)
	}
	dialNoSuchHost := func(context.Context, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "bkapi.invalid", IsNotFound: true}}
	}
	bareDNS := func(context.Context, string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "server misbehaving", Name: "bkapi.invalid", IsTemporary: true}
	}
	tests := []struct {
		name      string
		failures  int32
		fail      func(context.Context, string) (net.Conn, error)
		wantErr   bool
		wantDials int32
	}{
		{"refused once", 1, dialRefused, false, 2},
		{"refused twice", 2, dialRefused, false, 3},
		{"refused always", 100, dialRefused, true, 3},
		{"dns once", 1, dialNoSuchHost, false, 2},
		{"bare dns always", 100, bareDNS, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := scripted(t, submitOK)
			hc, dials := flakyDialer(tt.failures, tt.fail)
			var retried []string
			c := newTestClient(t, g.URL(), func(c *Config) {
				c.HTTPClient = hc
				c.OnRetry = func(op string, attempt int, err error, _ time.Duration) {
					retried = append(retried, fmt.Sprintf("%s#%d", op, attempt))
				}
			})
			s, err := c.FastExecuteScript(context.Background(), &SubmitRequest{})
			if tt.wantErr {
				e, _ := As(err)
				if e == nil || e.Kind != KindNetwork || !e.NeverSent() || !NeverSent(err) || e.Unknown() || !IsTransient(err) {
					t.Fatalf("err = %v (%+v)", err, e)
				}
				if g.hits() != 0 {
					t.Errorf("hits = %d", g.hits())
				}
			} else {
				if err != nil || s.JobInstanceID != 77 || s.StepInstanceID != 78 || s.RequestID != "req-1" {
					t.Fatalf("got %+v, %v", s, err)
				}
				if g.hits() != 1 {
					t.Errorf("hits = %d", g.hits())
				}
			}
			if d := dials.Load(); d != tt.wantDials {
				t.Errorf("dials = %d, want %d", d, tt.wantDials)
			}
			if int32(len(retried)) != tt.wantDials-1 || (len(retried) > 0 && retried[0] != opSubmit+"#1") {
				t.Errorf("OnRetry calls %v", retried)
			}
		})
	}
}

func TestIsDialError(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dial", dial, true},
		{"proxyconnect wrapping dial", &net.OpError{Op: "proxyconnect", Net: "tcp", Err: dial}, true},
		{"dns", &net.DNSError{Err: "no such host"}, true},
		{"joined", errors.Join(errors.New("x"), fmt.Errorf("w: %w", dial)), true},
		{"read", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("reset")}, false},
		{"write", &net.OpError{Op: "write", Net: "tcp", Err: errors.New("broken pipe")}, false},
		{"plain", errors.New("EOF"), false},
	}
	for _, tt := range tests {
		if got := isDialError(tt.err); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}

func TestConcurrentLogReads(t *testing.T) {
	t.Parallel()
	g := scripted(t, answer(200, ok(logsExample)))
	c := newTestClient(t, g.URL(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			logs, err := c.BatchGetObjectLogs(context.Background(), testScope, 1, 2, []ObjectKey{{1, "101"}}, nil)
			if err == nil && !logs[0].Present {
				err = errors.New("log missing")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestTimeouts: the client's own timeout and the gateway's 504 are timeouts (IsTimeout), retried
// like other transient failures unless a log read chose LogOptions.NoTimeoutRetry (it asks for less).
func TestTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		first   step
		timeout bool
	}{
		{"client timeout", hang(), true},
		{"gateway 504", gw504, true},
		{"gateway 502", gw502, false},
		{"reset", reset(), false},
	}
	for _, tt := range tests {
		for _, noRetry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/without retry %v", tt.name, noRetry), func(t *testing.T) {
				t.Parallel()
				g := scripted(t, tt.first, answer(200, ok(logsExample)))
				c := newTestClient(t, g.URL(), func(c *Config) { c.LogRequestTimeout = timeoutFor(tt.name) })
				_, err := c.BatchGetObjectLogs(context.Background(), testScope, 1, 2, []ObjectKey{{1, "101"}}, &LogOptions{NoTimeoutRetry: noRetry})
				wantRetry := !noRetry || !tt.timeout
				switch {
				case wantRetry && (err != nil || g.hits() != 2):
					t.Errorf("err %v after %d requests; want success after 2", err, g.hits())
				case !wantRetry && (err == nil || !IsTimeout(err) || g.hits() != 1):
					t.Errorf("err %v (timeout %v) after %d requests; want a timeout after 1", err, IsTimeout(err), g.hits())
				}
			})
		}
		t.Run(tt.name+"/classified", func(t *testing.T) {
			t.Parallel()
			g := scripted(t, tt.first)
			c := newTestClient(t, g.URL(), func(c *Config) { c.RequestTimeout, c.Retry.Attempts = timeoutFor(tt.name), 1 })
			_, err := c.GetJobInstanceStatus(context.Background(), testScope, 1, false)
			if IsTimeout(err) != tt.timeout {
				t.Errorf("IsTimeout(%v) = %v, want %v", err, IsTimeout(err), tt.timeout)
			}
		})
	}
}

// TestClient_RetryAfter: the wait handed to a caller is bounded like the client's own.
func TestClient_RetryAfter(t *testing.T) {
	t.Parallel()
	g := scripted(t, answer(429, `{"code":1642901,"code_name":"RATE_LIMIT_RESTRICTION","result":false}`, "Retry-After", "3600"))
	c := newTestClient(t, g.URL(), func(c *Config) { c.Retry.Attempts = 1 })
	_, err := c.GetJobInstanceStatus(context.Background(), testScope, 1, false)
	if RetryAfter(err) != time.Hour || c.RetryAfter(err) != c.retry.MaxRetryAfter {
		t.Errorf("RetryAfter %v, client's %v (max %v)", RetryAfter(err), c.RetryAfter(err), c.retry.MaxRetryAfter)
	}
}

// timeoutFor is the request timeout of a TestTimeouts row: short where the server hangs (the row
// is about that timeout), generous elsewhere so that a slow machine is no timeout.
func timeoutFor(row string) time.Duration {
	if row == "client timeout" {
		return 200 * time.Millisecond
	}
	return 5 * time.Second
}

// TestSubmit_RetriedForTheWindow (issue 17, item 5): a submit that never reached JOB is retried with
// backoff until SubmitWindow has passed since its first attempt, not for a fixed few attempts.
func TestSubmit_RetriedForTheWindow(t *testing.T) {
	t.Parallel()
	refused := refusedAddr(t)
	dialRefused := func(ctx context.Context, network string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, refused)
	}
	t.Run("refused for 300ms, then up", func(t *testing.T) {
		t.Parallel()
		g := scripted(t, submitOK)
		up := time.Now().Add(300 * time.Millisecond)
		var dials atomic.Int32
		d := &net.Dialer{}
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			if time.Now().Before(up) {
				return dialRefused(ctx, network)
			}
			return d.DialContext(ctx, network, addr)
		}}}
		c := newTestClient(t, g.URL(), func(c *Config) {
			c.HTTPClient = hc
			c.Retry.SubmitAttempts, c.Retry.SubmitWindow, c.Retry.MaxDelay = 0, 2*time.Second, 20*time.Millisecond
		})
		got, err := c.FastExecuteScript(context.Background(), &SubmitRequest{TaskName: "x"})
		if err != nil || got.JobInstanceID != 77 || g.hits() != 1 {
			t.Fatalf("got %+v, err %v, %d submits", got, err, g.hits())
		}
		if dials.Load() < 4 {
			t.Errorf("%d dials: the refusals were not retried through the window", dials.Load())
		}
	})
	t.Run("refused longer than the window", func(t *testing.T) {
		t.Parallel()
		c := newTestClient(t, "http://"+refused, func(c *Config) {
			c.Retry.SubmitAttempts, c.Retry.SubmitWindow, c.Retry.MaxDelay = 0, 200*time.Millisecond, 20*time.Millisecond
		})
		start := time.Now()
		_, err := c.FastExecuteScript(context.Background(), &SubmitRequest{TaskName: "x"})
		if e, _ := As(err); e == nil || e.Kind != KindNetwork || IsUnknownOutcome(err) {
			t.Fatalf("err = %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("gave up after %v, the window is 200ms", took)
		}
	})
}

// TestSubmit_QuotaRefusalWaitedOut (issue 17, item 5): JOB's running-job quota refusals (1244032–1244034)
// create no job: the submit is sent again with backoff, and OnRetry names the refusal.
func TestSubmit_QuotaRefusalWaitedOut(t *testing.T) {
	t.Parallel()
	quota := func(code int) step {
		return answer(200, fmt.Sprintf(`{"code":%d,"result":false,"message":"running job quota exceeded","data":null}`, code))
	}
	g := scripted(t, quota(1244032), quota(1244034), submitOK)
	var reasons []bool
	c := newTestClient(t, g.URL(), func(c *Config) {
		c.OnRetry = func(_ string, _ int, err error, _ time.Duration) { reasons = append(reasons, IsQuotaRefused(err)) }
	})
	got, err := c.FastExecuteScript(context.Background(), &SubmitRequest{TaskName: "x"})
	if err != nil || got.JobInstanceID != 77 || g.hits() != 3 {
		t.Fatalf("got %+v, err %v, %d submits", got, err, g.hits())
	}
	if len(reasons) != 2 || !reasons[0] || !reasons[1] {
		t.Errorf("retries reported as quota refusals: %v", reasons)
	}
	other := scripted(t, quota(1244031), submitOK)
	c = newTestClient(t, other.URL(), nil)
	if _, err := c.FastExecuteScript(context.Background(), &SubmitRequest{TaskName: "x"}); err == nil || other.hits() != 1 {
		t.Errorf("another refusal was retried: %v, %d submits", err, other.hits())
	}
}
