package jobapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBatchGetObjectLogs_Options: LogOptions are per call. MaxBody lowers the client's log limit for
// that call only (never raises it) and a body above it is not retried; NoTimeoutRetry applies to
// timeouts only.
func TestBatchGetObjectLogs_Options(t *testing.T) {
	t.Parallel()
	big := ok(`{"job_instance_id":1,"step_instance_id":2,"script_execute_object_task_logs":[{"execute_object":{"type":1,"resource_id":"1"},"log_content":"` + strings.Repeat("x", 4000) + `"}]}`)
	tests := []struct {
		name      string
		first     step
		clientMax int64 // the client's own log limit (0: default)
		opts      *LogOptions
		wantHits  int
		tooLarge  bool
		timeout   bool
	}{
		{"nil options", answer(200, big), 0, nil, 1, false, false},
		{"zero options", answer(200, big), 0, &LogOptions{}, 1, false, false},
		{"MaxBody above the answer", answer(200, big), 0, &LogOptions{MaxBody: 8000}, 1, false, false},
		{"MaxBody below the answer", answer(200, big), 0, &LogOptions{MaxBody: 1000}, 1, true, false},
		{"MaxBody does not raise the client's limit", answer(200, big), 1000, &LogOptions{MaxBody: 1 << 20}, 1, true, false},
		{"NoTimeoutRetry on a 504", gw504, 0, &LogOptions{NoTimeoutRetry: true}, 1, false, true},
		{"NoTimeoutRetry leaves a 502 retried", gw502, 0, &LogOptions{NoTimeoutRetry: true}, 2, false, false},
		{"a 504 without NoTimeoutRetry is retried", gw504, 0, &LogOptions{MaxBody: 8000}, 2, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := scripted(t, tt.first, answer(200, big))
			c := newTestClient(t, g.URL(), nil)
			if tt.clientMax > 0 {
				c.maxLogBody = tt.clientMax
			}
			logs, err := c.BatchGetObjectLogs(context.Background(), testScope, 1, 2, []ObjectKey{{1, "1"}}, tt.opts)
			if n := g.hits(); n != tt.wantHits {
				t.Errorf("%d requests, want %d", n, tt.wantHits)
			}
			switch {
			case tt.tooLarge || tt.timeout:
				if IsBodyTooLarge(err) != tt.tooLarge || IsTimeout(err) != tt.timeout {
					t.Errorf("err %v: too large %v, timeout %v; want %v, %v", err, IsBodyTooLarge(err), IsTimeout(err), tt.tooLarge, tt.timeout)
				}
			case err != nil || len(logs) != 1 || len(logs[0].Content) != 4000:
				t.Errorf("err %v, logs %d", err, len(logs))
			}
		})
	}
}

// TestFastExecuteScript_SendsEncode: the submit's body is the request's Encode, byte for byte (HTML
// characters as they are, no trailing newline); a nil request sends nothing.
func TestFastExecuteScript_SendsEncode(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, 200, ok(`{"job_instance_id":7,"job_instance_name":"t","step_instance_id":8}`))
	})
	c := newTestClient(t, g.URL(), nil)
	cloud := int64(0)
	r := &SubmitRequest{ScopeType: "biz", ScopeID: "2", ScriptContent: "ZWNobw==", ScriptLanguage: 1, TaskName: "a<b>&c",
		ExecuteTarget: ExecuteTarget{Hosts: []HostRef{{HostID: 101}, {CloudID: &cloud, IP: "10.0.0.1"}}},
		Callback:      &Callback{URL: "http://x/cb?a=1&b=2"}}
	sub, err := c.FastExecuteScript(context.Background(), r)
	if err != nil || sub.JobInstanceID != 7 || sub.StepInstanceID != 8 {
		t.Fatalf("sub %+v, err %v", sub, err)
	}
	want := `{"bk_scope_type":"biz","bk_scope_id":"2","script_content":"ZWNobw==","script_language":1,` +
		`"is_param_sensitive":false,"timeout":0,"task_name":"a<b>&c","execute_target":{"host_list":` +
		`[{"bk_host_id":101},{"bk_cloud_id":0,"ip":"10.0.0.1"}]},"callback":{"url":"http://x/cb?a=1&b=2"}}`
	if got := string(g.requests()[0].Body); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if enc, _ := r.Encode(""); string(enc) != want {
		t.Errorf("Encode differs from the body sent: %s", enc)
	}
	if _, err := c.FastExecuteScript(context.Background(), nil); err == nil || g.hits() != 1 {
		t.Errorf("nil request: err %v after %d requests", err, g.hits())
	}
}

// TestRetryDecision: whether to retry and how long to wait are functions of the failed attempt's
// *Error alone (its number, its jitter, the server's Retry-After), whatever order the hooks run in.
func TestRetryDecision(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:1"+testPrefix, func(c *Config) {
		c.Retry.BaseDelay, c.Retry.MaxDelay, c.Retry.MaxRetryAfter = 100*time.Millisecond, time.Second, 3*time.Second
	})
	spec := c.spec(opStatus)
	unavailable := func(attempt int, jitter float64) *Error {
		return &Error{Kind: KindUnavailable, attempt: attempt, jitter: jitter}
	}
	waits := []struct {
		err  *Error
		want time.Duration
	}{
		{unavailable(1, 0), 0},
		{unavailable(1, 0.5), 50 * time.Millisecond},
		{unavailable(2, 0.5), 100 * time.Millisecond},
		{unavailable(3, 0.999999999), 400 * time.Millisecond},
		{unavailable(9, 0.5), 500 * time.Millisecond}, // MaxDelay caps the range
		{&Error{Kind: KindRateLimited, attempt: 1, retryAfter: 2 * time.Second}, 2 * time.Second},
		{&Error{Kind: KindRateLimited, attempt: 1, retryAfter: time.Hour}, 3 * time.Second}, // MaxRetryAfter
	}
	for _, w := range waits {
		// The same error gives the same wait every time it is asked.
		if got, again := c.retryWait(w.err), c.retryWait(w.err); got != again || got < w.want-time.Millisecond || got > w.want+time.Millisecond {
			t.Errorf("retryWait(attempt %d, jitter %v, after %v) = %v then %v, want %v", w.err.attempt, w.err.jitter, w.err.retryAfter, got, again, w.want)
		}
	}
	soon, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	decisions := []struct {
		name string
		ctx  context.Context
		spec callSpec
		err  error
		want bool
	}{
		{"transient", context.Background(), spec, unavailable(1, 0.5), true},
		{"last attempt", context.Background(), spec, unavailable(spec.attempts, 0.5), false},
		{"not transient", context.Background(), spec, &Error{Kind: KindBusiness, attempt: 1}, false},
		{"not an *Error", context.Background(), spec, fmt.Errorf("build request"), false},
		{"timeout", context.Background(), spec, &Error{Kind: KindNetwork, timedOut: true, attempt: 1}, true},
		{"timeout, NoTimeoutRetry", context.Background(), c.spec(opLogs).withLogOptions(&LogOptions{NoTimeoutRetry: true}),
			&Error{Kind: KindNetwork, timedOut: true, attempt: 1}, false},
		{"wait ends before the deadline", soon, spec, unavailable(1, 0.5), true},
		{"wait passes the deadline", soon, spec, &Error{Kind: KindRateLimited, attempt: 1, retryAfter: 2 * time.Second}, false},
		{"submit never sent", context.Background(), c.spec(opSubmit), &Error{Kind: KindNetwork, neverSent: true, attempt: 1}, true},
		{"submit quota refusal", context.Background(), c.spec(opSubmit), &Error{Kind: KindBusiness, Code: 1244033, attempt: 1}, true},
		{"submit other refusal", context.Background(), c.spec(opSubmit), &Error{Kind: KindBusiness, Code: 1244031, attempt: 1}, false},
		{"submit sent, no answer", context.Background(), c.spec(opSubmit), &Error{Kind: KindNetwork, unknown: true, attempt: 1}, false},
	}
	for _, d := range decisions {
		if got := c.shouldRetry(d.ctx, d.spec, time.Now(), d.err); got != d.want {
			t.Errorf("%s: shouldRetry = %v, want %v", d.name, got, d.want)
		}
	}
}

// TestWithLogOptions: the options only narrow the operation's policy.
func TestWithLogOptions(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:1"+testPrefix, nil)
	base := c.spec(opLogs)
	for _, tt := range []struct {
		opts    *LogOptions
		maxBody int64
		noRetry bool
	}{
		{nil, base.maxBody, false},
		{&LogOptions{MaxBody: 10}, 10, false},
		{&LogOptions{MaxBody: base.maxBody + 1}, base.maxBody, false},
		{&LogOptions{MaxBody: -1, NoTimeoutRetry: true}, base.maxBody, true},
	} {
		got := base.withLogOptions(tt.opts)
		if got.maxBody != tt.maxBody || got.noTimeoutRetry != tt.noRetry || got.attempts != base.attempts || got.timeout != base.timeout {
			t.Errorf("withLogOptions(%+v) = %+v", tt.opts, got)
		}
	}
}
