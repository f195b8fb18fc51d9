package jobapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// errorCase is one scripted failure answer and what the client must make of it.
type errorCase struct {
	name      string
	status    int
	header    map[string]string
	body      string
	kind      ErrorKind
	code      int
	codeName  string
	gateway   bool
	transient bool
	unknown   bool // for a submit
	inMsg     string
	requestID string
}

var errorCases = []errorCase{
	{name: "gateway 400 invalid args", status: 400, header: map[string]string{"X-Bkapi-Request-Id": "gw-1"},
		body: `{"code":1640001,"code_name":"INVALID_ARGS","message":"bk_app_code or bk_app_secret is incorrect","result":false,"data":null}`,
		kind: KindAuth, code: 1640001, codeName: "INVALID_ARGS", gateway: true, inMsg: "incorrect", requestID: "gw-1"},
	{name: "gateway 403 app no permission", status: 403,
		body: `{"code":1640301,"code_name":"APP_NO_PERMISSION","message":"App has no permission to the resource","result":false,"data":null}`,
		kind: KindPermission, code: 1640301, codeName: "APP_NO_PERMISSION", gateway: true, inMsg: "no permission"},
	{name: "gateway 403 ip not allowed, header only", status: 403,
		header: map[string]string{"X-Bkapi-Error-Code": "1640302", "X-Bkapi-Error-Message": "ip not allowed"},
		body:   `{"message":"ip not allowed"}`, kind: KindPermission, code: 1640302, gateway: true, inMsg: "ip not allowed"},
	{name: "gateway 404", status: 404,
		body: `{"code":1640401,"code_name":"API_NOT_FOUND","message":"API not found","result":false,"data":null}`,
		kind: KindNotFound, code: 1640401, codeName: "API_NOT_FOUND", gateway: true},
	{name: "gateway 413", status: 413,
		body: `{"code":1641301,"code_name":"BODY_SIZE_LIMIT_EXCEEDED","message":"too large","result":false,"data":null}`,
		kind: KindBusiness, code: 1641301, codeName: "BODY_SIZE_LIMIT_EXCEEDED", gateway: true},
	{name: "gateway 429", status: 429, header: map[string]string{"X-Bkapi-RateLimit-Reset": "1"},
		body: `{"code":1642903,"code_name":"RATE_LIMIT_RESTRICTION","message":"rate limit","result":false,"data":null}`,
		kind: KindRateLimited, code: 1642903, codeName: "RATE_LIMIT_RESTRICTION", gateway: true, transient: true},
	{name: "gateway 502", status: 502,
		body: `{"code":1650200,"code_name":"BAD_GATEWAY","message":"bad gateway","result":false,"data":null}`,
		kind: KindUnavailable, code: 1650200, codeName: "BAD_GATEWAY", gateway: true, transient: true, unknown: true},
	{name: "gateway 504", status: 504,
		body: `{"code":1650401,"code_name":"REQUEST_BACKEND_TIMEOUT","message":"timeout","result":false,"data":null}`,
		kind: KindUnavailable, code: 1650401, codeName: "REQUEST_BACKEND_TIMEOUT", gateway: true, transient: true, unknown: true},
	{name: "job permission denied", status: 200,
		body: `{"result":false,"code":9900403,"message":"user (alice) permission denied","job_request_id":"jr-9","permission":{"system_id":"bk_job","system_name":"作业平台","actions":[{"id":"quick_execute_script","name":"快速执行脚本","related_resource_types":[{"system_id":"bk_cmdb","system_name":"配置平台","type":"host","type_name":"主机","instances":[[{"id":"101","type":"host","type_name":"主机","name":"10.0.0.1"}]]}]}]}}`,
		kind: KindPermission, code: 9900403, inMsg: "permission denied", requestID: "jr-9"},
	{name: "job old permission code", status: 200, body: `{"result":false,"code":1238001,"message":"no"}`, kind: KindPermission, code: 1238001},
	{name: "job not found", status: 200, body: `{"result":false,"code":1244006,"message":"task instance does not exist"}`,
		kind: KindNotFound, code: 1244006},
	{name: "job bad request", status: 200, body: `{"result":false,"code":1240003,"message":"timeout out of range","job_request_id":"jr"}`,
		kind: KindBusiness, code: 1240003, inMsg: "timeout out of range"},
	{name: "job unsupported operation", status: 200, body: `{"result":false,"code":1241003,"message":"unsupported operation"}`,
		kind: KindBusiness, code: 1241003},
	{name: "job missing parameter http 400", status: 400, body: `{"result":false,"code":1241001,"message":"missing"}`,
		kind: KindBusiness, code: 1241001},
	{name: "401 empty body", status: 401, body: ``, kind: KindAuth, inMsg: "unauthorized"},
	{name: "401 missing user", status: 401, body: `{"result":false,"code":1247002,"message":"user is empty"}`, kind: KindAuth, code: 1247002},
	{name: "401 missing app code", status: 401, body: `{"result":false,"code":1247004,"message":"app code is empty"}`, kind: KindAuth, code: 1247004},
	{name: "html 200", status: 200, header: map[string]string{"Content-Type": "text/html; charset=utf-8"},
		body: "<html><head><title>Login\n required</title></head><body>x</body></html>",
		kind: KindUnreadable, transient: true, unknown: true, inMsg: "not valid JSON (text/html): Login required"},
	{name: "html 502", status: 502, body: `<html><title>502 Bad Gateway</title></html>`, kind: KindUnavailable, transient: true, unknown: true,
		inMsg: "HTTP 502: response is not valid JSON (application/json): 502 Bad Gateway"},
	{name: "empty 503", status: 503, body: ``, kind: KindUnavailable, transient: true, unknown: true, inMsg: "HTTP 503: empty response body"},
	{name: "result false no message", status: 200, body: `{"result":false,"code":0,"message":null}`, kind: KindBusiness, inMsg: "without a message"},
	{name: "log command in message", status: 200, body: `{"result":false,"code":1240003,"message":"bad\n##[error]x\r::set-output name=a::b"}`,
		kind: KindBusiness, code: 1240003, inMsg: "bad ##[error]x ::set-output"},
	{name: "html 404", status: 404, body: `<html>nope</html>`, kind: KindNotFound},
	{name: "plain 400", status: 400, body: `bad`, kind: KindUnreadable, transient: true, inMsg: "bad"},
	{name: "truncated json", status: 200, body: `{"result":true,"code":0,"data":{"job_instance":{"status":2`,
		kind: KindUnreadable, transient: true, unknown: true, inMsg: "not valid JSON"},
	{name: "empty 200", status: 200, body: ``, kind: KindUnreadable, transient: true, unknown: true, inMsg: "empty response body"},
	{name: "no result field", status: 200, body: `{"data":{}}`, kind: KindUnreadable, transient: true, unknown: true, inMsg: "no result"},
	{name: "data null", status: 200, body: `{"result":true,"code":0,"data":null}`, kind: KindUnreadable, transient: true, unknown: true, inMsg: "data"},
	{name: "redirect", status: 302, header: map[string]string{"Location": "https://login.example.com/?c_url=" + testSecret},
		body: ``, kind: KindUnreadable, inMsg: "redirect to https://login.example.com/"},
	{name: "secret echoed", status: 200, body: `{"result":false,"code":1640001,"message":"bad secret ` + testSecret + `"}`,
		kind: KindBusiness, code: 1640001, inMsg: "bad secret ***"},
	{name: "job envelope 500", status: 500, body: `{"result":false,"code":1240099,"message":"server error"}`,
		kind: KindUnavailable, code: 1240099, transient: true, unknown: true, inMsg: "server error"},
	{name: "job permission 500", status: 500, body: `{"result":false,"code":9900403,"message":"denied"}`,
		kind: KindPermission, code: 9900403},
	{name: "json 500 without envelope", status: 500, body: `{"error":"boom"}`, kind: KindUnavailable, transient: true, unknown: true},
}

func serveCase(tc errorCase) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		for k, v := range tc.header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(tc.status)
		_, _ = w.Write([]byte(tc.body))
	}
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newFakeGateway(t, serveCase(tc))
			c := newTestClient(t, g.URL(), func(c *Config) { c.Retry.Attempts, c.Retry.SubmitAttempts = 1, 1 })
			ctx := context.Background()

			_, err := c.GetJobInstanceStatus(ctx, testScope, 1, true)
			e, isErr := As(err)
			if !isErr {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Kind != tc.kind || e.Code != tc.code || e.CodeName != tc.codeName || e.Gateway != tc.gateway ||
				e.HTTPStatus != tc.status || e.Transient() != tc.transient || IsTransient(err) != tc.transient {
				t.Errorf("got kind=%v code=%d name=%q gateway=%v status=%d transient=%v\n%v",
					e.Kind, e.Code, e.CodeName, e.Gateway, e.HTTPStatus, e.Transient(), err)
			}
			if e.Op != opStatus || e.Method != http.MethodPost || e.Path != PathGetJobStatus {
				t.Errorf("op/method/path = %q %q %q", e.Op, e.Method, e.Path)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.inMsg) {
				t.Errorf("message %q does not contain %q", msg, tc.inMsg)
			}
			if tc.requestID != "" && (e.RequestID != tc.requestID || !strings.Contains(msg, "(request id "+tc.requestID+")")) {
				t.Errorf("request id = %q in %q", e.RequestID, msg)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("multi-line error: %q", msg)
			}
			noSecret(t, msg)
			if IsPermission(err) != (tc.kind == KindPermission) || IsNotFound(err) != (tc.kind == KindNotFound) {
				t.Errorf("IsPermission/IsNotFound disagree with kind %v", tc.kind)
			}

			_, err = c.FastExecuteScript(ctx, &SubmitRequest{ScopeType: "biz"})
			if IsUnknownOutcome(err) != tc.unknown || NeverSent(err) {
				t.Errorf("submit: unknown=%v neverSent=%v, want unknown=%v: %v", IsUnknownOutcome(err), NeverSent(err), tc.unknown, err)
			}
			noSecret(t, err.Error())
			if n := g.hits(); n != 2 {
				t.Errorf("%d requests, want 2 (no retries)", n)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	e := &Error{Op: "get job status", Method: "POST", Path: "/api/v3/system/x", HTTPStatus: 403, Code: 1640301,
		CodeName: "APP_NO_PERMISSION", Message: "App has no permission", RequestID: "abc", Kind: KindPermission}
	want := "get job status: POST /api/v3/system/x: HTTP 403 code 1640301 [APP_NO_PERMISSION]: App has no permission (request id abc)"
	if got := e.Error(); got != want {
		t.Errorf("Error()\n got %s\nwant %s", got, want)
	}
	e = &Error{Op: "submit job", Method: "POST", Path: "/p", Kind: KindNetwork, Err: errors.New("connection refused")}
	if got := e.Error(); got != "submit job: POST /p: connection refused" {
		t.Errorf("network Error() = %s", got)
	}
	e = &Error{Op: "o", Method: "GET", Path: "/p", HTTPStatus: 200, Kind: KindUnreadable}
	if got := e.Error(); got != "o: GET /p: HTTP 200: unreadable response" {
		t.Errorf("bare Error() = %s", got)
	}
}

func TestErrorMessageTruncated(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("错误", 600) // 3600 bytes
	g := newFakeGateway(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, 200, `{"result":false,"code":1240003,"message":"`+long+`"}`)
	})
	c := newTestClient(t, g.URL(), nil)
	_, err := c.GetJobInstanceStatus(context.Background(), testScope, 1, false)
	e, _ := As(err)
	if e == nil || len(e.Message) > maxMessageBytes || !strings.HasSuffix(e.Message, "…") || !strings.HasPrefix(e.Message, "错误") {
		t.Fatalf("message not cut: %d bytes", len(e.Message))
	}
	if !strings.Contains(err.Error(), "…") || len(err.Error()) > maxMessageBytes+200 {
		t.Errorf("Error() = %d bytes", len(err.Error()))
	}
}

func TestPermissionParsed(t *testing.T) {
	t.Parallel()
	tc := errorCases[8]
	g := newFakeGateway(t, serveCase(tc))
	c := newTestClient(t, g.URL(), nil)
	_, err := c.GetJobInstanceStatus(context.Background(), testScope, 1, false)
	e, _ := As(err)
	if e == nil || e.Permission == nil {
		t.Fatalf("no permission block: %v", err)
	}
	p := e.Permission
	if p.SystemID != "bk_job" || len(p.Actions) != 1 || p.Actions[0].ID != "quick_execute_script" ||
		len(p.Actions[0].RelatedResourceTypes) != 1 {
		t.Fatalf("permission = %+v", p)
	}
	rt := p.Actions[0].RelatedResourceTypes[0]
	if rt.SystemID != "bk_cmdb" || rt.Type != "host" || rt.TypeName != "主机" || len(rt.Instances) != 1 ||
		rt.Instances[0][0] != (PermissionInstance{ID: "101", Type: "host", TypeName: "主机", Name: "10.0.0.1"}) {
		t.Errorf("resource type = %+v", rt)
	}
	if n := g.hits(); n != 1 {
		t.Errorf("permission denial retried: %d hits", n)
	}
}

func TestOversizeBody(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	big := `{"result":true,"code":0,"data":{"pad":"` + strings.Repeat("x", limit) + `"}}`
	g := newFakeGateway(t, func(w http.ResponseWriter, r *http.Request, _ int) { writeJSON(w, 200, big) })
	c := newTestClient(t, g.URL(), func(c *Config) { c.Retry.Attempts = 2 })
	if c.maxBody != MaxBodyBytes || c.maxLogBody != MaxLogBodyBytes {
		t.Fatalf("limits %d/%d, want %d/%d", c.maxBody, c.maxLogBody, MaxBodyBytes, MaxLogBodyBytes)
	}
	c.maxBody, c.maxLogBody = limit, 4*limit
	_, err := c.GetJobInstanceStatus(context.Background(), testScope, 1, false)
	e, _ := As(err)
	if e == nil || e.Kind != KindUnreadable || !IsBodyTooLarge(err) || e.Transient() {
		t.Fatalf("err = %v", err)
	}
	if n := g.hits(); n != 1 {
		t.Errorf("hits = %d, want 1: the same request gets the same answer, it is not retried", n)
	}
	// The same body fits the log limit.
	if _, err := c.BatchGetObjectLogs(context.Background(), testScope, 1, 2, []ObjectKey{{1, "1"}}, nil); err != nil {
		t.Errorf("log read of %d bytes: %v", len(big), err)
	}
	c.maxLogBody = limit
	if _, err := c.BatchGetObjectLogs(context.Background(), testScope, 1, 2, []ObjectKey{{1, "1"}}, nil); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("log read over the log limit: %v", err)
	}
	// A call can lower the limit for itself.
	c.maxLogBody = 4 * limit
	if _, err := c.BatchGetObjectLogs(context.Background(), testScope, 1, 2, []ObjectKey{{1, "1"}}, &LogOptions{MaxBody: limit}); !IsBodyTooLarge(err) {
		t.Errorf("log read over the call's own limit: %v", err)
	}
	// A submit whose answer is too large has an unknown outcome and is not retried.
	before := g.hits()
	if _, err := c.FastExecuteScript(context.Background(), &SubmitRequest{}); !IsUnknownOutcome(err) {
		t.Errorf("submit with oversize answer: %v", err)
	}
	if n := g.hits() - before; n != 1 {
		t.Errorf("submit sent %d times", n)
	}
}

func TestRetryAfterHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    map[string]string
		want time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"http date", map[string]string{"Retry-After": fixedNow.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"past date", map[string]string{"Retry-After": fixedNow.Add(-time.Hour).Format(http.TimeFormat)}, 0},
		{"garbage falls back to reset", map[string]string{"Retry-After": "soon", "X-Bkapi-RateLimit-Reset": "2"}, 2 * time.Second},
		{"reset seconds", map[string]string{"X-Bkapi-RateLimit-Reset": "45"}, 45 * time.Second},
		{"reset epoch", map[string]string{"X-Bkapi-RateLimit-Reset": itoa(fixedNow.Add(7 * time.Second).Unix())}, 7 * time.Second},
		{"reset epoch past", map[string]string{"X-Bkapi-RateLimit-Reset": itoa(fixedNow.Add(-7 * time.Second).Unix())}, 0},
		{"reset epoch milliseconds", map[string]string{"X-Bkapi-RateLimit-Reset": itoa(fixedNow.Add(7 * time.Second).UnixMilli())}, 7 * time.Second},
		{"huge", map[string]string{"Retry-After": "999999999999"}, 24 * time.Hour},
		{"negative", map[string]string{"Retry-After": "-5"}, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		if got := retryAfterFrom(429, h, fixedNow); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		_, e := classifyResponse(429, h, "", fixedNow, nil)
		if got := RetryAfter(e); got != tt.want {
			t.Errorf("%s: RetryAfter = %v, want %v", tt.name, got, tt.want)
		}
	}
	if RetryAfter(errors.New("x")) != 0 || RetryAfter(nil) != 0 {
		t.Error("RetryAfter of a foreign error is not 0")
	}
}

// TestRetryAfter_ResetOnlyWhenLimited: other answers may carry the rate-limit headers too; their
// reset is a wait only for a 429 or when nothing remains. Retry-After counts on any answer.
func TestRetryAfter_ResetOnlyWhenLimited(t *testing.T) {
	t.Parallel()
	reset := http.Header{"X-Bkapi-Ratelimit-Reset": {"3600"}}
	for _, tc := range []struct {
		status int
		h      http.Header
		want   time.Duration
	}{
		{502, reset, 0},
		{200, reset, 0},
		{429, reset, time.Hour},
		{502, http.Header{"X-Bkapi-Ratelimit-Reset": {"30"}, "X-Bkapi-Ratelimit-Remaining": {"0"}}, 30 * time.Second},
		{503, http.Header{"Retry-After": {"4"}, "X-Bkapi-Ratelimit-Reset": {"3600"}}, 4 * time.Second},
	} {
		if got := retryAfterFrom(tc.status, tc.h, fixedNow); got != tc.want {
			t.Errorf("HTTP %d %v: %v, want %v", tc.status, tc.h, got, tc.want)
		}
	}
}

// TestClassify_Envelopes: result as JOB may spell it, JOB's success envelope under a gateway header,
// and a body nested too deep to validate safely.
func TestClassify_Envelopes(t *testing.T) {
	t.Parallel()
	gwHeader := http.Header{"X-Bkapi-Error-Code": {"1642901"}}
	for _, tc := range []struct {
		name   string
		status int
		h      http.Header
		body   string
		ok     bool
		kind   ErrorKind
	}{
		{"result string false", 200, nil, `{"result":"false","code":1244006,"message":"no such job"}`, false, KindNotFound},
		{"result string true", 200, nil, `{"result":"true","code":0,"data":{}}`, true, 0},
		{"result null, code 0", 200, nil, `{"result":null,"code":0,"data":{}}`, true, 0},
		{"result null, code set", 200, nil, `{"result":null,"code":1244006}`, false, KindNotFound},
		{"JOB's success under a gateway header", 200, gwHeader, `{"result":true,"code":0,"job_request_id":"r","data":{"job_instance_id":1}}`, true, 0},
		{"gateway error under 200", 200, nil, `{"result":false,"code":1642901,"code_name":"RATE_LIMIT_RESTRICTION"}`, false, KindRateLimited},
		{"too deep", 200, nil, strings.Repeat("[", 5_000_000), false, KindUnreadable},
		{"deep but fine", 200, nil, `{"result":true,"code":0,"data":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`, true, 0},
	} {
		h := tc.h
		if h == nil {
			h = http.Header{}
		}
		_, e := classifyResponse(tc.status, h, tc.body, fixedNow, nil)
		if (e == nil) != tc.ok || (e != nil && e.Kind != tc.kind) {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
	if _, e := classifyResponse(200, http.Header{}, strings.Repeat("{\"a\":", 5_000_000), fixedNow, nil); e == nil {
		t.Error("a body nested too deep was accepted")
	}
}

func TestHelpersOnForeignErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("x"), context.Canceled} {
		if IsTransient(err) || IsPermission(err) || IsUnknownOutcome(err) || NeverSent(err) || IsNotFound(err) {
			t.Errorf("helper true for %v", err)
		}
		if _, ok := As(err); ok {
			t.Errorf("As true for %v", err)
		}
	}
}

func TestScrubber(t *testing.T) {
	t.Parallel()
	sc := scrubber{secret: testSecret}
	inner := errors.New("dial " + testSecret + " failed")
	e := sc.finish(&Error{Op: "o", Method: "GET", Path: "/p", Kind: KindNetwork, Err: inner,
		Message: "", CodeName: testSecret, RequestID: "id\n" + testSecret})
	noSecret(t, e.Error())
	if !errors.Is(e, inner) {
		t.Error("scrubbed error lost its cause")
	}
	if got := e.Err.Error(); got != "dial *** failed" {
		t.Errorf("scrubbed cause = %q", got)
	}
	if e.RequestID != "id ***" {
		t.Errorf("request id = %q", e.RequestID)
	}
	long := errors.New(strings.Repeat("x", 3*maxMessageBytes))
	e = sc.finish(&Error{Op: "o", Kind: KindNetwork, Err: long})
	if len(e.Err.Error()) > maxMessageBytes || !errors.Is(e, long) {
		t.Errorf("long cause not cut: %d bytes", len(e.Err.Error()))
	}
	if got := oneLine("a\r\n\tb\x7fc"); got != "a b c" {
		t.Errorf("oneLine = %q", got)
	}
	if got := truncate("日本語", 5); got != "…" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("日本語テキスト", 7); got != "日…" {
		t.Errorf("truncate = %q", got)
	}
}

// TestScrubber_MasksBeforeCut (issue 12): the caller's secrets are masked in the raw text, before
// the message is cut to 512 bytes or put on one line: a secret cut in two, or with its white space
// collapsed, would no longer match and would leak.
func TestScrubber_MasksBeforeCut(t *testing.T) {
	t.Parallel()
	const token = "TOKpart1-TOKpart2-TOKpart3-TOKpart4"
	const password = "Hunter2  Sekr1t"
	redact := func(s string) string {
		return strings.NewReplacer(token, "******", password, "******").Replace(s)
	}
	sc := scrubber{secret: testSecret, redact: redact}
	cut := strings.Repeat("x", 490) + " " + token + " rejected"
	for _, msg := range []string{cut, "bad\n--password '" + password + "'"} {
		e := sc.finish(&Error{Op: "o", Kind: KindBusiness, Message: msg, CodeName: msg, RequestID: msg,
			Err: errors.New(msg), Permission: &Permission{Actions: []PermissionAction{{Name: msg}}}})
		for _, text := range []string{e.Error(), e.Message, e.CodeName, e.RequestID, e.Err.Error(), e.Permission.Actions[0].Name} {
			for _, part := range []string{"TOKp", "Hunter2", "Sekr1t"} {
				if strings.Contains(text, part) {
					t.Errorf("%q holds %q", text, part)
				}
			}
		}
	}
	// A body that is not JSON: its snippet (200 bytes) is cut from the masked body.
	body := strings.Repeat("y", 190) + token
	_, e := classifyResponse(502, http.Header{}, body, fixedNow, sc.str)
	if e == nil || strings.Contains(e.Message, "TOKp") || !strings.Contains(e.Message, "******") {
		t.Errorf("non-JSON body snippet: %+v", e)
	}
}
