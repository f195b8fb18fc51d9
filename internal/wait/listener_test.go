package wait

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

func cbBody(id int64) string {
	return fmt.Sprintf(`{"job_instance_id": %d, "status": 3, "step_instances": [{"step_instance_id": 9, "status": 3}]}`, id)
}

// newTestListener starts a listener on 127.0.0.1 and closes it after the
// test.
func newTestListener(t *testing.T, cfg ListenerConfig) *Listener {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	l, err := Listen(cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

func base(l *Listener) string { return "http://" + l.Addr().String() }

var testClient = &http.Client{Timeout: 20 * time.Second}

// do sends one request and returns the status, the body and the headers.
func do(t *testing.T, method, url, contentType string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// noLength hides a reader's length, so the request is sent chunked.
type noLength struct{ r io.Reader }

func (n noLength) Read(p []byte) (int, error) { return n.r.Read(p) }

func TestListener_Path(t *testing.T) {
	t.Parallel()
	a := newTestListener(t, ListenerConfig{})
	b := newTestListener(t, ListenerConfig{})
	re := regexp.MustCompile(`^/jobcb/[0-9a-f]{32}$`)
	if !re.MatchString(a.Path()) {
		t.Errorf("Path() = %q, want /jobcb/ + 32 hex digits", a.Path())
	}
	if a.Path() == b.Path() {
		t.Error("two listeners share a path")
	}
	if got, want := a.URL("http://10.0.0.5:19091/"), "http://10.0.0.5:19091"+a.Path(); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

func TestListener_Refusals(t *testing.T) {
	t.Parallel()
	const maxBody = 1024
	l := newTestListener(t, ListenerConfig{MaxBody: maxBody})
	l.Expect(100)
	good := cbBody(100)
	big := `{"job_instance_id":100,"pad":"` + strings.Repeat("a", maxBody) + `"}`
	tests := []struct {
		name        string
		method      string
		path        string // "" means the listener's path
		contentType string
		body        func() io.Reader
		want        int
		stat        func(Stats) int64
	}{
		{name: "wrong path", method: "POST", path: "/jobcb/00000000000000000000000000000000", contentType: ctJSON, want: 404, stat: func(s Stats) int64 { return s.RefusedPath }},
		{name: "root", method: "GET", path: "/", want: 404, stat: func(s Stats) int64 { return s.RefusedPath }},
		{name: "prefix only", method: "POST", path: "/jobcb/", contentType: ctJSON, want: 404, stat: func(s Stats) int64 { return s.RefusedPath }},
		{name: "trailing slash", method: "POST", path: "+/", contentType: ctJSON, want: 404, stat: func(s Stats) int64 { return s.RefusedPath }},
		{name: "another path in front", method: "POST", path: "</anything", contentType: ctJSON, want: 404, stat: func(s Stats) int64 { return s.RefusedPath }},
		{name: "get", method: "GET", want: 405, stat: func(s Stats) int64 { return s.RefusedMethod }},
		{name: "put", method: "PUT", contentType: ctJSON, want: 405, stat: func(s Stats) int64 { return s.RefusedMethod }},
		{name: "head", method: "HEAD", want: 405, stat: func(s Stats) int64 { return s.RefusedMethod }},
		{name: "text content type", method: "POST", contentType: "text/plain", want: 415, stat: func(s Stats) int64 { return s.RefusedMediaType }},
		{name: "no content type", method: "POST", want: 415, stat: func(s Stats) int64 { return s.RefusedMediaType }},
		{name: "broken content type", method: "POST", contentType: "application/json; =", want: 415, stat: func(s Stats) int64 { return s.RefusedMediaType }},
		{name: "oversized", method: "POST", contentType: ctJSON, body: func() io.Reader { return strings.NewReader(big) }, want: 400, stat: func(s Stats) int64 { return s.RefusedBody }},
		{name: "oversized chunked", method: "POST", contentType: ctJSON, body: func() io.Reader { return noLength{strings.NewReader(big)} }, want: 400, stat: func(s Stats) int64 { return s.RefusedBody }},
		{name: "not json", method: "POST", contentType: ctJSON, body: func() io.Reader { return strings.NewReader("hello") }, want: 400, stat: func(s Stats) int64 { return s.RefusedBody }},
		{name: "empty", method: "POST", contentType: ctJSON, want: 400, stat: func(s Stats) int64 { return s.RefusedBody }},
		{name: "real form body", method: "POST", contentType: ctForm, body: func() io.Reader { return strings.NewReader("job_instance_id=100&status=3") }, want: 400, stat: func(s Stats) int64 { return s.RefusedBody }},
		{name: "missing job id", method: "POST", contentType: ctJSON, body: func() io.Reader { return strings.NewReader(`{"status":3,"step_instances":[]}`) }, want: 400, stat: func(s Stats) int64 { return s.RefusedBody }},
		{name: "another job", method: "POST", contentType: ctJSON, body: func() io.Reader { return strings.NewReader(cbBody(200)) }, want: 409, stat: func(s Stats) int64 { return s.RefusedJob }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each case checks its own counter.
			path := l.Path()
			switch {
			case strings.HasPrefix(tt.path, "+"):
				path += tt.path[1:]
			case strings.HasPrefix(tt.path, "<"):
				path = tt.path[1:] + path
			case tt.path != "":
				path = tt.path
			}
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			before := tt.stat(l.Stats())
			code, text, h := do(t, tt.method, base(l)+path, tt.contentType, body)
			if code != tt.want {
				t.Fatalf("status %d (%q), want %d", code, text, tt.want)
			}
			if code == 405 && h.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", h.Get("Allow"))
			}
			if got := tt.stat(l.Stats()); got != before+1 {
				t.Errorf("counter went from %d to %d, want +1", before, got)
			}
			if strings.Contains(text, l.Path()) || strings.Contains(text, "job_instance_id") {
				t.Errorf("reply echoes the request: %q", text)
			}
		})
	}
	select {
	case <-l.Wake():
		t.Error("a refused request woke the poller")
	default:
	}
	// The good body still works after all that.
	if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(good)); code != 200 {
		t.Errorf("good callback: status %d", code)
	}
}

func TestListener_UnreadableBody(t *testing.T) {
	t.Parallel()
	l := newTestListener(t, ListenerConfig{})
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"job_", l.Path())
	_ = conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if s := l.Stats(); s.RefusedBody != 1 {
		t.Errorf("RefusedBody = %d, want 1", s.RefusedBody)
	}
}

func TestListener_Accepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
	}{
		{"json, step_instances", ctJSON, cbBody(42)},
		{"json, step_instance_list", ctJSON, `{"job_instance_id":42,"status":4,"step_instance_list":[{"step_instance_id":1,"status":4}]}`},
		{"form retry, step_instances", ctForm, cbBody(42)},
		{"form retry, step_instance_list", ctForm, `{"job_instance_id":42,"status":4,"step_instance_list":[]}`},
		{"charset parameter", "application/json;charset=UTF-8", cbBody(42)},
		{"form charset parameter", "application/x-www-form-urlencoded; charset=UTF-8", cbBody(42)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newTestListener(t, ListenerConfig{})
			l.Expect(42)
			code, text, _ := do(t, "POST", l.URL(base(l)), tt.contentType, strings.NewReader(tt.body))
			if code != 200 || len(text) > 16 {
				t.Fatalf("status %d body %q, want 200 with a tiny body", code, text)
			}
			recv(t, l.Wake(), "wake")
			if s := l.Stats(); s.Accepted != 1 || s.Early != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestListener_ProxyPrefix: a reverse proxy may forward the callback with callbackBaseUrl's path in
// front, or without it; any other path in front is refused.
func TestListener_ProxyPrefix(t *testing.T) {
	t.Parallel()
	l := newTestListener(t, ListenerConfig{BaseURL: "https://ci.example.com/ci/hooks/"})
	l.Expect(1)
	for _, tc := range []struct {
		front string
		want  int
	}{{"/ci/hooks", 200}, {"", 200}, {"/ci", 404}, {"/ci/hooks/x", 404}, {"/other/ci/hooks", 404}, {"/ci/hooks/", 404}} {
		code, _, _ := do(t, "POST", base(l)+tc.front+l.Path(), ctJSON, strings.NewReader(cbBody(1)))
		if code != tc.want {
			t.Errorf("%q in front: status %d, want %d", tc.front, code, tc.want)
		}
		if code == 200 {
			recv(t, l.Wake(), "wake")
		}
	}
}

func TestListener_EarlyCallback(t *testing.T) {
	t.Parallel()
	t.Run("matched", func(t *testing.T) {
		t.Parallel()
		l := newTestListener(t, ListenerConfig{})
		if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(100))); code != 200 {
			t.Fatalf("early callback: status %d, want 200", code)
		}
		none(t, l.Wake(), "wake before Expect")
		l.Expect(100)
		recv(t, l.Wake(), "wake at Expect")
		if s := l.Stats(); s.Accepted != 1 || s.Early != 1 {
			t.Errorf("stats %+v", s)
		}
	})
	t.Run("another job", func(t *testing.T) {
		t.Parallel()
		l := newTestListener(t, ListenerConfig{})
		if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(200))); code != 200 {
			t.Fatalf("early callback: status %d, want 200", code)
		}
		l.Expect(100)
		none(t, l.Wake(), "wake for another job")
		if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(200))); code != 409 {
			t.Errorf("late callback of another job: status %d, want 409", code)
		}
	})
	t.Run("ignored expect", func(t *testing.T) {
		t.Parallel()
		l := newTestListener(t, ListenerConfig{})
		l.Expect(0)
		l.Expect(-3)
		if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(5))); code != 200 {
			t.Errorf("status %d, want 200 (no job expected yet)", code)
		}
	})
}

func TestListener_Duplicates(t *testing.T) {
	t.Parallel()
	l := newTestListener(t, ListenerConfig{})
	l.Expect(7)
	for i := range 10 {
		ct := ctJSON
		if i%2 == 1 {
			ct = ctForm
		}
		if code, _, _ := do(t, "POST", l.URL(base(l)), ct, strings.NewReader(cbBody(7))); code != 200 {
			t.Fatalf("callback %d: status %d", i, code)
		}
	}
	recv(t, l.Wake(), "wake")
	none(t, l.Wake(), "second buffered wake") // coalesced
	if s := l.Stats(); s.Accepted != 10 || s.Wakes != 10 {
		t.Errorf("stats %+v, want 10 accepted and 10 wakes", s)
	}
}

// relayTarget records what the relay sends.
type relayed struct {
	body, contentType string
}

func relayServer(t *testing.T, status int) (*httptest.Server, <-chan relayed) {
	t.Helper()
	got := make(chan relayed, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- relayed{string(b), r.Header.Get("Content-Type")}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestListener_Relay(t *testing.T) {
	t.Parallel()
	srv, got := relayServer(t, 200)
	l := newTestListener(t, ListenerConfig{RelayURL: srv.URL + "/hook?token=abc"})
	l.Expect(5)
	for _, ct := range []string{ctJSON, ctForm} {
		body := cbBody(5)
		if code, _, _ := do(t, "POST", l.URL(base(l)), ct, strings.NewReader(body)); code != 200 {
			t.Fatalf("status %d", code)
		}
		r := recv(t, got, "relay")
		if r.body != body || r.contentType != ct {
			t.Errorf("relayed %+v, want body %q with %q", r, body, ct)
		}
	}
	// A refused callback is not relayed.
	if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(6))); code != 409 {
		t.Fatalf("status %d, want 409", code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	none(t, got, "relay of a refused callback")
	if s := l.Stats(); s.Relayed != 2 || s.RelayFailed != 0 {
		t.Errorf("stats %+v, want 2 relayed", s)
	}
}

func TestListener_RelayEarly(t *testing.T) {
	t.Parallel()
	srv, got := relayServer(t, 200)
	l := newTestListener(t, ListenerConfig{RelayURL: srv.URL})
	if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(8))); code != 200 {
		t.Fatalf("status %d", code)
	}
	if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(9))); code != 200 {
		t.Fatalf("status %d", code)
	}
	l.Expect(8)
	if r := recv(t, got, "relay"); r.body != cbBody(8) {
		t.Errorf("relayed %q, want the early callback of job 8", r.body)
	}
	recv(t, l.Wake(), "wake")
}

func TestListener_RelayFailures(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	failing, _ := relayServer(t, 500)
	tests := []struct{ name, url string }{
		{"server error", failing.URL},
		{"connection refused", downURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var logs []string
			relayURL := strings.Replace(tt.url, "http://", "http://user:pa55word@", 1) + "/hook?token=s3cret#frag"
			l := newTestListener(t, ListenerConfig{RelayURL: relayURL, Logf: func(f string, a ...any) {
				mu.Lock()
				defer mu.Unlock()
				logs = append(logs, fmt.Sprintf(f, a...))
			}})
			l.Expect(3)
			if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(3))); code != 200 {
				t.Fatalf("status %d, want 200 whatever the relay does", code)
			}
			recv(t, l.Wake(), "wake")
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if s := l.Stats(); s.RelayFailed != 1 || s.Relayed != 0 {
				t.Errorf("stats %+v, want 1 failed relay", s)
			}
			mu.Lock()
			defer mu.Unlock()
			all := strings.Join(logs, "\n")
			if !strings.Contains(all, "relay") {
				t.Errorf("failure not logged: %q", all)
			}
			for _, secret := range []string{"pa55word", "s3cret", "user", "frag", l.Path(), "job_instance_id"} {
				if strings.Contains(all, secret) {
					t.Errorf("log leaks %q: %q", secret, all)
				}
			}
		})
	}
}

func TestListen_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  ListenerConfig
	}{
		{"empty addr", ListenerConfig{}},
		{"bad addr", ListenerConfig{Addr: "127.0.0.1:notaport"}},
		{"relay not http", ListenerConfig{Addr: "127.0.0.1:0", RelayURL: "ftp://h/x"}},
		{"relay relative", ListenerConfig{Addr: "127.0.0.1:0", RelayURL: "/hook"}},
		{"relay unparsable", ListenerConfig{Addr: "127.0.0.1:0", RelayURL: "http://u:secret@h/%zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := Listen(tt.cfg)
			if err == nil {
				_ = l.Close(context.Background())
				t.Fatal("Listen succeeded, want an error")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the relay url: %v", err)
			}
		})
	}
}

func TestListener_SlowHeaders(t *testing.T) {
	t.Parallel()
	l := newTestListener(t, ListenerConfig{ReadHeaderTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // trickle a header that never ends
		if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\n", l.Path()); err != nil {
			return
		}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("X-Slow: y\r\n")); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a slow-header connection open for 10s")
	}
}

func TestListener_Busy(t *testing.T) {
	t.Parallel()
	l := newTestListener(t, ListenerConfig{MaxConcurrent: 1})
	// Hold the only slot: headers sent, body never finished.
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{", l.Path())
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, h := do(t, "GET", base(l)+"/", "", nil)
		if code == 503 {
			if h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			break
		}
		if code != 404 || time.Now().After(deadline) {
			t.Fatalf("status %d, want 503 once the slot is held", code)
		}
		runtime.Gosched()
	}
	if l.Stats().RefusedBusy == 0 {
		t.Error("RefusedBusy not counted")
	}
}

func TestListener_Close(t *testing.T) {
	t.Parallel()
	t.Run("stops serving", func(t *testing.T) {
		t.Parallel()
		l, err := Listen(ListenerConfig{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		if err := l.Close(t.Context()); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if err := l.Close(t.Context()); err != nil {
			t.Errorf("second Close = %v", err)
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Error("still accepting connections after Close")
		}
		l.Expect(1) // harmless after Close
	})
	t.Run("waits for relays", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		defer srv.Close()
		l, err := Listen(ListenerConfig{Addr: "127.0.0.1:0", RelayURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		l.Expect(1)
		if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(1))); code != 200 {
			t.Fatalf("status %d", code)
		}
		closed := make(chan error, 1)
		go func() { closed <- l.Close(context.Background()) }()
		none(t, closed, "Close before the relay finished")
		close(release)
		if err := recv(t, closed, "Close"); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if s := l.Stats(); s.Relayed != 1 {
			t.Errorf("Relayed = %d, want 1 (Close waited)", s.Relayed)
		}
	})
	t.Run("bounded by ctx", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		l, err := Listen(ListenerConfig{Addr: "127.0.0.1:0", RelayURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		l.Expect(1)
		if code, _, _ := do(t, "POST", l.URL(base(l)), ctJSON, strings.NewReader(cbBody(1))); code != 200 {
			t.Fatalf("status %d", code)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestListener_Abuse sends 1,000 concurrent requests of mixed abuse: all are
// answered, and the heap does not keep what they sent.
func TestListener_Abuse(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	l := newTestListener(t, ListenerConfig{})
	l.Expect(1)
	tr := &http.Transport{MaxIdleConnsPerHost: 50, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	u := l.URL(base(l))
	huge := strings.Repeat("x", DefaultMaxBody+1)
	kinds := []struct {
		method, url, ct, body string
		want                  int
	}{
		{"POST", u, ctJSON, cbBody(1), 200},
		{"POST", u, ctForm, cbBody(1), 200},
		{"POST", base(l) + "/jobcb/guess", ctJSON, cbBody(1), 404},
		{"DELETE", u, ctJSON, "", 405},
		{"POST", u, ctJSON, huge, 400},
		{"POST", u, ctJSON, "{{{{", 400},
		{"POST", u, ctJSON, cbBody(2), 409},
		{"POST", u, "text/xml", "<a/>", 415},
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		k := kinds[i%len(kinds)]
		wg.Go(func() {
			<-start
			req, err := http.NewRequestWithContext(t.Context(), k.method, k.url, strings.NewReader(k.body))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", k.ct)
			resp, err := client.Do(req)
			if err != nil {
				errs <- fmt.Errorf("%s %s: %w", k.method, k.ct, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != k.want && resp.StatusCode != 503 {
				errs <- fmt.Errorf("%s %s: status %d, want %d or 503", k.method, k.ct, resp.StatusCode, k.want)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tr.CloseIdleConnections()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	delta := int64(after.HeapInuse) - int64(before.HeapInuse)
	s := l.Stats()
	t.Logf("heap in use grew by %d KiB; stats %+v", delta>>10, s)
	if delta > 64<<20 {
		t.Errorf("heap in use grew by %d MiB after 1,000 requests", delta>>20)
	}
	total := s.Accepted + s.RefusedPath + s.RefusedMethod + s.RefusedMediaType + s.RefusedBody + s.RefusedJob + s.RefusedBusy
	if total != n {
		t.Errorf("listener counted %d requests, want %d", total, n)
	}
}

// FuzzCallbackHandler drives the handler with arbitrary bodies and content
// types: it answers with one of the documented codes and never panics.
func FuzzCallbackHandler(f *testing.F) {
	l, err := Listen(ListenerConfig{Addr: "127.0.0.1:0", MaxBody: 4096})
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close(context.Background())
	l.Expect(1)
	f.Add(ctJSON, []byte(cbBody(1)))
	f.Add(ctForm, []byte(cbBody(2)))
	f.Add("text/plain", []byte("x"))
	f.Add("application/json; charset=\"", []byte("{}"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest("POST", l.Path(), strings.NewReader(string(body)))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		l.serveHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 409, 415:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
