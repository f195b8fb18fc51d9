package jobsim

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Calls selects call numbers (1-based, counted per endpoint, or per callback for CallbackFault).
// The zero value selects every call.
type Calls struct {
	From int // first call selected (≤ 1 means from the first)
	To   int // last call selected; 0 means no end
}

// Nth selects call n only.
func Nth(n int) Calls { return Calls{From: n, To: n} }

// Every selects every call.
func Every() Calls { return Calls{} }

// Range selects calls n..m inclusive.
func Range(n, m int) Calls { return Calls{From: n, To: m} }

// From selects call n and all later calls.
func From(n int) Calls { return Calls{From: n} }

func (c Calls) match(n int) bool {
	if n < max(c.From, 1) {
		return false
	}
	return c.To == 0 || n <= c.To
}

// FaultKind is what an injected fault does to a request.
type FaultKind int

// Fault kinds.
const (
	// FaultDelay delays the request by Delay, then handles it normally (delays of matching faults add up).
	FaultDelay FaultKind = iota + 1
	// FaultRateLimit answers 429 with gateway code 1642901, X-Bkapi-RateLimit-* headers and Retry-After.
	FaultRateLimit
	// Fault502 answers 502 BAD_GATEWAY (1650200) as the gateway does when JOB is restarting.
	Fault502
	// Fault503 answers 503 SERVICE_UNAVAILABLE (1650300).
	Fault503
	// Fault504 answers 504 REQUEST_BACKEND_TIMEOUT (1650401).
	Fault504
	// FaultReset resets the connection without answering; nothing is processed.
	FaultReset
	// FaultTruncated processes the request, then sends only the first half of the body and closes the
	// connection cleanly (no Content-Length): the client reads an incomplete JSON document.
	FaultTruncated
	// FaultTruncatedEOF is FaultTruncated with the full Content-Length declared: the client sees an
	// unexpected EOF.
	FaultTruncatedEOF
	// FaultHTML answers an HTML error page (Status, default 502) instead of JSON.
	FaultHTML
	// FaultResultFalse answers HTTP 200 {"result":false} with Code, Message and Permission; nothing is
	// processed.
	FaultResultFalse
	// FaultCreatedLost processes the request (a submit creates its job), then resets the connection.
	FaultCreatedLost
	// FaultCreatedHang processes the request, then sends nothing until the client gives up (closes the
	// connection) or Delay passes (when set), then closes the connection.
	FaultCreatedHang
)

// Fault is an injected failure for one endpoint ("" for every endpoint) and a selection of its calls.
type Fault struct {
	Endpoint   Endpoint
	Calls      Calls
	Kind       FaultKind
	Delay      time.Duration
	Code       int    // FaultResultFalse: JOB error code (default 1240002)
	Message    string // FaultResultFalse: message (default JOB's text for Code, if known)
	Permission any    // FaultResultFalse: the "permission" block, e.g. for 9900403
	RetryAfter int    // FaultRateLimit: seconds (default 1)
	Status     int    // FaultHTML: HTTP status (default 502)
}

// CallbackFaultKind is what an injected callback fault does.
type CallbackFaultKind int

// Callback fault kinds.
const (
	// CallbackDrop sends nothing.
	CallbackDrop CallbackFaultKind = iota + 1
	// CallbackDuplicate delivers the callback (with its retry rule) twice.
	CallbackDuplicate
	// CallbackDelay sends the callback after Delay.
	CallbackDelay
)

// CallbackFault alters job callbacks; Calls counts callbacks the simulator emits (1-based).
type CallbackFault struct {
	Calls Calls
	Kind  CallbackFaultKind
	Delay time.Duration
}

// Inject adds a fault. Faults are checked in the order added; delays add up, and the first other matching
// fault applies.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// InjectCallback adds a callback fault; the first matching one applies.
func (s *Sim) InjectCallback(f CallbackFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cbFaults = append(s.cbFaults, f)
}

// ClearFaults removes all request and callback faults.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.cbFaults = nil, nil
}

// pickFault returns the summed delay and the first non-delay fault for call n of ep.
func (s *Sim) pickFault(ep Endpoint, n int) (time.Duration, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	var chosen *Fault
	for i := range s.faults {
		f := &s.faults[i]
		if (f.Endpoint != "" && f.Endpoint != ep) || !f.Calls.match(n) {
			continue
		}
		if f.Kind == FaultDelay {
			delay += f.Delay
			continue
		}
		if chosen == nil {
			c := *f
			chosen = &c
		}
	}
	return delay, chosen
}

const htmlErrorPage = "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// applyPreFault answers a fault that replaces processing. It reports whether the request is done.
func (s *Sim) applyPreFault(w http.ResponseWriter, f *Fault, requestID string) bool {
	switch f.Kind {
	case FaultRateLimit:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		w.Header().Set("X-Bkapi-RateLimit-Limit", "100")
		w.Header().Set("X-Bkapi-RateLimit-Remaining", "0")
		w.Header().Set("X-Bkapi-RateLimit-Reset", strconv.Itoa(ra))
		w.Header().Set("X-Bkapi-RateLimit-Plugin", "bk-global-rate-limit")
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		writeGatewayError(w, http.StatusTooManyRequests, GWRateLimitGlobal, "RATE_LIMIT_RESTRICTION", "API rate limit exceeded by stage global limit")
	case Fault502:
		writeGatewayError(w, http.StatusBadGateway, GWBadGateway, "BAD_GATEWAY", `Bad Gateway [upstream_error="cannot read header from upstream"]`)
	case Fault503:
		writeGatewayError(w, http.StatusServiceUnavailable, GWServiceUnavail, "SERVICE_UNAVAILABLE", "Service Unavailable")
	case Fault504:
		writeGatewayError(w, http.StatusGatewayTimeout, GWBackendTimeout, "REQUEST_BACKEND_TIMEOUT", `Request backend service timeout [upstream_error="cannot read header from upstream"]`)
	case FaultReset:
		resetConn(w)
	case FaultHTML:
		st := f.Status
		if st == 0 {
			st = http.StatusBadGateway
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(st)
		_, _ = fmt.Fprintf(w, htmlErrorPage, st, http.StatusText(st), st, http.StatusText(st))
	case FaultResultFalse:
		code := f.Code
		if code == 0 {
			code = CodeInternal
		}
		msg := f.Message
		if msg == "" {
			msg = jobErr(code).message(true)
		}
		writeJSON(w, http.StatusOK, jobEnvelope{Code: code, Result: false, RequestID: requestID, Message: msg, Permission: f.Permission})
	default:
		return false
	}
	return true
}

// bufferedResponse captures a handler's answer so that a post-fault can mangle it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse { return &bufferedResponse{header: http.Header{}} }

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeGatewayError(w, http.StatusBadGateway, GWBadGateway, "BAD_GATEWAY", "Bad Gateway")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// applyPostFault sends a processed answer through a fault.
func (s *Sim) applyPostFault(w http.ResponseWriter, f *Fault, resp *bufferedResponse) {
	if f.Kind == FaultCreatedLost {
		resetConn(w)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, bufrw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	switch f.Kind {
	case FaultCreatedHang:
		hangUntilClientGivesUp(conn, bufrw, f.Delay, s.closing)
	case FaultTruncated, FaultTruncatedEOF:
		body := resp.body.Bytes()
		half := body[:len(body)/2]
		var hdr bytes.Buffer
		fmt.Fprintf(&hdr, "HTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
		for k, vs := range resp.header {
			for _, v := range vs {
				fmt.Fprintf(&hdr, "%s: %s\r\n", k, v)
			}
		}
		if f.Kind == FaultTruncatedEOF {
			fmt.Fprintf(&hdr, "Content-Length: %d\r\n", len(body))
		}
		hdr.WriteString("Connection: close\r\n\r\n")
		_, _ = conn.Write(hdr.Bytes())
		_, _ = conn.Write(half)
	}
}

func hangUntilClientGivesUp(conn net.Conn, rw *bufio.ReadWriter, limit time.Duration, closing <-chan struct{}) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			if _, err := rw.Read(buf); err != nil {
				return
			}
		}
	}()
	var timeout <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-done:
	case <-timeout:
	case <-closing:
	}
	_ = conn.Close()
	<-done
}
