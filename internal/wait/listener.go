package wait

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults and fixed limits of the callback listener.
const (
	// DefaultMaxBody is the default bound on a callback body (64 KiB).
	DefaultMaxBody = 64 << 10
	// DefaultReadHeaderTimeout is the default time allowed to read a
	// request's headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultMaxConcurrent is the default number of requests handled at
	// once; more are answered 503 at once.
	DefaultMaxConcurrent = 32

	readTimeout     = 10 * time.Second // whole request, body included
	writeTimeout    = 10 * time.Second
	idleTimeout     = 30 * time.Second
	maxHeaderBytes  = 16 << 10
	relayTimeout    = 10 * time.Second
	relayParallel   = 4  // relays sent at once
	relayMaxPending = 32 // relays in flight or queued; more are dropped
	maxEarly        = 16 // callbacks remembered before Expect
)

// ListenerConfig configures Listen.
type ListenerConfig struct {
	// Addr is the address to listen on (callbackListen), e.g.
	// "0.0.0.0:19091" or "127.0.0.1:0".
	Addr string
	// BaseURL, optional, is the callbackBaseUrl JOB is given: a reverse proxy
	// may forward a callback with the base URL's path still in front of the
	// listener's path, so that path is accepted too.
	BaseURL string
	// RelayURL, optional, is the user's own callback URL (callbackUrl):
	// every accepted callback for the expected job is POSTed there as it
	// came, in the background.
	RelayURL string
	// MaxBody bounds a callback body; zero or negative means DefaultMaxBody.
	MaxBody int64
	// RelayClient sends the relays; nil means a client with a 10 s timeout.
	RelayClient *http.Client
	// Logf, optional, receives relay failures and server errors. It never
	// receives bodies, secret paths or URL credentials.
	Logf func(format string, args ...any)
	// ReadHeaderTimeout bounds reading a request's headers; zero or negative
	// means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// MaxConcurrent bounds the requests handled at once; zero or negative
	// means DefaultMaxConcurrent.
	MaxConcurrent int
}

// Stats counts what a Listener did with the requests it received.
type Stats struct {
	// Accepted counts callbacks answered 200, including duplicates and those
	// received before Expect.
	Accepted int64
	// Early counts accepted callbacks received before Expect.
	Early int64
	// Wakes counts wake-ups sent (before coalescing).
	Wakes int64
	// RefusedPath counts requests to another path (404).
	RefusedPath int64
	// RefusedMethod counts requests with a method other than POST (405).
	RefusedMethod int64
	// RefusedMediaType counts bodies of another content type (415).
	RefusedMediaType int64
	// RefusedBody counts unreadable, oversized or malformed bodies (400).
	RefusedBody int64
	// RefusedJob counts callbacks for another job (409).
	RefusedJob int64
	// RefusedBusy counts requests refused for lack of capacity (503).
	RefusedBusy int64
	// Relayed counts relays the user's URL answered with a 2xx status.
	Relayed int64
	// RelayFailed counts relays that failed or got another status.
	RelayFailed int64
	// RelayDropped counts relays not attempted: too many pending, or the
	// listener was closing.
	RelayDropped int64
}

// stats is the atomic counterpart of Stats.
type stats struct {
	accepted, early, wakes                                    atomic.Int64
	refusedPath, refusedMethod, refusedMediaType, refusedBody atomic.Int64
	refusedJob, refusedBusy                                   atomic.Int64
	relayed, relayFailed, relayDropped                        atomic.Int64
}

// earlyCallback is a callback accepted before Expect, kept for its relay.
type earlyCallback struct {
	jobID       int64
	body        []byte
	contentType string
}

// Listener receives JOB's completion callbacks on a secret path and turns
// those of the expected job into wake-ups. See Listen.
type Listener struct {
	path     string
	basePath string // the path of BaseURL without its trailing "/" ("": none)
	maxBody  int64
	logf     func(format string, args ...any)
	srv      *http.Server
	ln       net.Listener
	sem      chan struct{}
	wake     chan struct{}
	served   chan struct{}
	st       stats
	relayURL *url.URL // nil: no relay
	relayLog string   // relayURL without secrets
	client   *http.Client
	relaySem chan struct{}
	pending  atomic.Int64
	relayCtx context.Context
	cancel   context.CancelFunc

	mu       sync.Mutex
	expected int64 // 0 until Expect
	early    []earlyCallback
	closing  bool // Close was called
	closed   bool // the server is shut down: no relay starts
	relayWG  sync.WaitGroup
}

// Listen binds cfg.Addr now, so that the port is known, and serves callbacks
// in the background until Close.
//
// Only a POST to the listener's path (or to the path of cfg.BaseURL followed
// by it, as a reverse proxy may forward it) is accepted, with
// content type application/json or application/x-www-form-urlencoded (JOB's
// retry sends the same JSON body with the latter) and a JOB callback JSON
// body of at most MaxBody bytes. An accepted callback is answered with exactly
// HTTP 200. Refusals: another path 404, another method 405, another content
// type 415, an unreadable, oversized or malformed body 400, another job 409,
// no capacity 503. Before Expect is called, well-formed callbacks of any job
// are accepted and remembered; Expect matches them.
func Listen(cfg ListenerConfig) (*Listener, error) {
	if cfg.Addr == "" {
		return nil, errors.New("callback listener: empty listen address")
	}
	l := &Listener{
		path:     PathPrefix + randomHex(16),
		basePath: basePath(cfg.BaseURL),
		maxBody:  cfg.MaxBody,
		logf:     cfg.Logf,
		wake:     make(chan struct{}, 1),
		served:   make(chan struct{}),
		client:   cfg.RelayClient,
	}
	if l.maxBody <= 0 {
		l.maxBody = DefaultMaxBody
	}
	if l.logf == nil {
		l.logf = func(string, ...any) {}
	}
	maxConc := cfg.MaxConcurrent
	if maxConc <= 0 {
		maxConc = DefaultMaxConcurrent
	}
	l.sem = make(chan struct{}, maxConc)
	if cfg.RelayURL != "" {
		u, err := url.Parse(cfg.RelayURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("callback listener: relay url must be an absolute http or https url")
		}
		l.relayURL = u
		l.relayLog = redactURL(u)
		l.relaySem = make(chan struct{}, relayParallel)
		if l.client == nil {
			l.client = &http.Client{Timeout: relayTimeout}
		}
	}
	l.relayCtx, l.cancel = context.WithCancel(context.Background())
	rht := cfg.ReadHeaderTimeout
	if rht <= 0 {
		rht = DefaultReadHeaderTimeout
	}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(l.serveHTTP),
		ReadHeaderTimeout: rht,
		ReadTimeout:       max(readTimeout, rht),
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(logWriter{l.logf}, "", 0),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		l.cancel()
		return nil, fmt.Errorf("callback listener: %w", err)
	}
	l.ln = ln
	go func() {
		defer close(l.served)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.logf("callback listener stopped: %v", err)
		}
	}()
	return l, nil
}

// randomHex returns n random bytes from crypto/rand as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b)
}

// logWriter feeds the server's error log into Logf.
type logWriter struct {
	logf func(format string, args ...any)
}

func (w logWriter) Write(p []byte) (int, error) {
	w.logf("callback listener: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Path returns the listener's secret path: PathPrefix followed by 32 random
// hex digits.
func (l *Listener) Path() string { return l.path }

// URL returns the callback URL to give JOB: base (callbackBaseUrl, e.g.
// "http://10.0.0.5:19091", possibly with a path) followed by Path().
func (l *Listener) URL(base string) string { return joinURL(base, l.path) }

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Wake returns the channel that receives when an accepted callback for the
// expected job arrives. It is buffered (1), so wake-ups coalesce; it is never
// closed.
func (l *Listener) Wake() <-chan struct{} { return l.wake }

// Expect sets the job this run launched. Callbacks of other jobs are refused
// from then on (409). If a callback for jobID was accepted earlier, Expect
// wakes at once and relays it. A jobID that is not positive is ignored.
func (l *Listener) Expect(jobID int64) {
	if jobID <= 0 {
		return
	}
	l.mu.Lock()
	l.expected = jobID
	matched := false
	var relays []earlyCallback
	for _, e := range l.early {
		if e.jobID == jobID {
			matched = true
			relays = append(relays, e)
		}
	}
	l.early = nil
	for _, e := range relays {
		l.relayLocked(e.body, e.contentType)
	}
	l.mu.Unlock()
	if matched {
		l.signal()
	}
}

// Stats returns the counters so far.
func (l *Listener) Stats() Stats {
	return Stats{
		Accepted:         l.st.accepted.Load(),
		Early:            l.st.early.Load(),
		Wakes:            l.st.wakes.Load(),
		RefusedPath:      l.st.refusedPath.Load(),
		RefusedMethod:    l.st.refusedMethod.Load(),
		RefusedMediaType: l.st.refusedMediaType.Load(),
		RefusedBody:      l.st.refusedBody.Load(),
		RefusedJob:       l.st.refusedJob.Load(),
		RefusedBusy:      l.st.refusedBusy.Load(),
		Relayed:          l.st.relayed.Load(),
		RelayFailed:      l.st.relayFailed.Load(),
		RelayDropped:     l.st.relayDropped.Load(),
	}
}

// Close stops accepting callbacks, waits for requests and relays in flight,
// and returns ctx.Err() if ctx ends first (relays still running are then
// cancelled). Calls after the first return nil.
func (l *Listener) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	l.mu.Unlock()
	err := l.srv.Shutdown(ctx)
	l.mu.Lock()
	l.closed = true // no relay starts from now on
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		l.relayWG.Wait()
		<-l.served
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	l.cancel()
	if err != nil {
		_ = l.srv.Close()
		return fmt.Errorf("callback listener: close: %w", err)
	}
	return nil
}

// signal sends a coalesced wake-up.
func (l *Listener) signal() {
	l.st.wakes.Add(1)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// reply writes a short plain-text answer.
func reply(w http.ResponseWriter, code int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, text+"\n")
}

// pathMatches reports whether p is the secret path, alone or after the base
// URL's path; the secret is compared in constant time.
func (l *Listener) pathMatches(p string) bool {
	if len(p) < len(l.path) {
		return false
	}
	if front := p[:len(p)-len(l.path)]; front != "" && (l.basePath == "" || front != l.basePath) {
		return false
	}
	tail := p[len(p)-len(l.path):]
	return subtle.ConstantTimeCompare([]byte(tail), []byte(l.path)) == 1
}

// basePath returns the decoded path of a base URL without its trailing "/".
func basePath(base string) string {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

func (l *Listener) serveHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case l.sem <- struct{}{}:
		defer func() { <-l.sem }()
	default:
		l.st.refusedBusy.Add(1)
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
		reply(w, http.StatusServiceUnavailable, "busy")
		return
	}
	if !l.pathMatches(r.URL.Path) {
		l.st.refusedPath.Add(1)
		reply(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodPost {
		l.st.refusedMethod.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	contentType := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/json" && mt != "application/x-www-form-urlencoded") {
		l.st.refusedMediaType.Add(1)
		reply(w, http.StatusUnsupportedMediaType, "unsupported content type")
		return
	}
	if r.ContentLength > l.maxBody {
		l.st.refusedBody.Add(1)
		drain(r.Body)
		w.Header().Set("Connection", "close")
		reply(w, http.StatusBadRequest, "body too large")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, l.maxBody+1))
	if err != nil || int64(len(body)) > l.maxBody {
		l.st.refusedBody.Add(1)
		drain(r.Body)
		w.Header().Set("Connection", "close")
		reply(w, http.StatusBadRequest, "unreadable body")
		return
	}
	cb, err := parseCallback(body)
	if err != nil {
		l.st.refusedBody.Add(1)
		reply(w, http.StatusBadRequest, "not a job callback")
		return
	}
	l.mu.Lock()
	switch l.expected {
	case 0:
		l.st.accepted.Add(1)
		l.st.early.Add(1)
		if len(l.early) < maxEarly {
			e := earlyCallback{jobID: cb.jobInstanceID}
			if l.relayURL != nil { // the body is only kept for its relay
				e.body, e.contentType = body, contentType
			}
			l.early = append(l.early, e)
		}
		l.mu.Unlock()
	case cb.jobInstanceID:
		l.st.accepted.Add(1)
		l.relayLocked(body, contentType)
		l.mu.Unlock()
		l.signal()
	default:
		l.mu.Unlock()
		l.st.refusedJob.Add(1)
		reply(w, http.StatusConflict, "another job")
		return
	}
	reply(w, http.StatusOK, "ok")
}

// relayLocked starts relaying body to the user's URL in the background. The
// caller holds l.mu.
func (l *Listener) relayLocked(body []byte, contentType string) {
	if l.relayURL == nil {
		return
	}
	if l.closed || l.pending.Load() >= relayMaxPending {
		l.st.relayDropped.Add(1)
		l.logf("callback relay to %s dropped: too many pending or closing", l.relayLog)
		return
	}
	l.pending.Add(1)
	l.relayWG.Add(1)
	go func() {
		defer l.relayWG.Done()
		defer l.pending.Add(-1)
		if err := l.sendRelay(body, contentType); err != nil {
			l.st.relayFailed.Add(1)
			l.logf("callback relay to %s failed: %v", l.relayLog, err)
			return
		}
		l.st.relayed.Add(1)
	}()
}

// sendRelay POSTs one body to the relay URL, at most relayParallel at once.
func (l *Listener) sendRelay(body []byte, contentType string) error {
	select {
	case l.relaySem <- struct{}{}:
		defer func() { <-l.relaySem }()
	case <-l.relayCtx.Done():
		return errors.New("listener closed")
	}
	ctx, cancel := context.WithTimeout(l.relayCtx, relayTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.relayURL.String(), bytes.NewReader(body))
	if err != nil {
		return errors.New("cannot build request")
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := l.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL, query included
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errors.New("HTTP " + strconv.Itoa(resp.StatusCode))
	}
	return nil
}

// drainLimit bounds what a refused request's body is read for: reading a moderately oversized body
// before answering lets the sender see the 400 instead of a connection reset; beyond this, the
// connection is simply closed. ReadTimeout bounds a slow sender.
const drainLimit = 1 << 20

func drain(body io.Reader) {
	_, _ = io.CopyN(io.Discard, body, drainLimit)
}
