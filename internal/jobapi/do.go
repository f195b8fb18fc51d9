package jobapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/avast/retry-go/v4"
	"github.com/tidwall/gjson"
)

// Operation names, used in errors and passed to Config.OnRetry.
const (
	opSubmit      = "submit job"
	opStatus      = "get job status"
	opLogs        = "get execution logs"
	opTerminate   = "terminate job"
	opOperateStep = "operate step"
	opList        = "list jobs"
)

// callSpec is what differs between operations on the one request path.
type callSpec struct {
	attempts  int
	timeout   time.Duration
	maxBody   int64
	retryable func(*Error) bool
}

// spec returns the policy of an operation. Only the submit is special: it is retried solely when
// the failed attempt provably never reached JOB: it never left the client, or the API gateway
// refused it under its rate limit (the gateway's limiter runs before it forwards anything).
func (c *Client) spec(op string) callSpec {
	s := callSpec{
		attempts:  c.retry.Attempts,
		timeout:   c.timeout,
		maxBody:   c.maxBody,
		retryable: (*Error).Transient,
	}
	switch op {
	case opSubmit:
		s.attempts = c.retry.SubmitAttempts
		s.retryable = func(e *Error) bool {
			return !e.stop && (e.Kind == KindNetwork && e.neverSent || e.gatewayRateLimited())
		}
	case opLogs:
		s.timeout = c.logTimeout
		s.maxBody = c.maxLogBody
	}
	return s
}

// parseFunc reads a successful answer (a JOB envelope with result true), given as its root object.
// A parse error turns the attempt into an unreadable answer.
type parseFunc func(root gjson.Result, h http.Header) error

// retryState is the per-call state shared by the retry-go hooks (they run sequentially).
type retryState struct {
	failures int
	wait     time.Duration
	last     *Error
}

// do is the single request path of the client: it sends method path?query with body (nil: no body),
// retries per the operation's policy, and hands the successful answer to parse (may be nil). Every failure is an *Error (argument and context errors excepted).
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body []byte, parse parseFunc) error {
	spec := c.spec(op)
	st := &retryState{}
	err := retry.Do(
		func() error { return c.attempt(ctx, op, method, path, query, body, spec, parse) },
		retry.Context(ctx),
		retry.Attempts(uint(max(spec.attempts, 1))),
		retry.LastErrorOnly(true),
		retry.DelayType(func(uint, error, *retry.Config) time.Duration { return st.wait }),
		retry.RetryIf(func(err error) bool { return retry.IsRecoverable(err) && c.shouldRetry(ctx, spec, st, err) }),
		retry.OnRetry(func(n uint, err error) {
			if c.onRetry != nil {
				c.onRetry(op, int(n)+1, err, st.wait)
			}
		}),
	)
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	// The context ended before an attempt or during a wait.
	if st.last != nil {
		last := *st.last
		last.stop = true
		return fmt.Errorf("%s: %w (last error: %w)", op, err, &last)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// shouldRetry decides on one failed attempt and plans the wait before the next one.
func (c *Client) shouldRetry(ctx context.Context, spec callSpec, st *retryState, err error) bool {
	st.failures++
	e, ok := As(err)
	if !ok {
		return false
	}
	st.last = e
	if st.failures >= spec.attempts || !spec.retryable(e) || ctx.Err() != nil {
		return false
	}
	if e.timedOut && ctx.Value(noTimeoutRetryKey{}) != nil {
		return false
	}
	wait := c.backoff(st.failures)
	if ra := e.retryAfter; ra > 0 {
		wait = max(wait, min(ra, c.retry.MaxRetryAfter))
	}
	if dl, ok := ctx.Deadline(); ok && !c.now().Add(wait).Before(dl) {
		return false
	}
	st.wait = wait
	return true
}

// backoff is full-jitter exponential backoff: random in [0, min(MaxDelay, BaseDelay·2^(n-1))].
func (c *Client) backoff(n int) time.Duration {
	ceiling := c.retry.MaxDelay
	if shift := n - 1; shift < 32 {
		if d := c.retry.BaseDelay << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// attempt sends one request and classifies its outcome.
func (c *Client) attempt(ctx context.Context, op, method, path string, query url.Values, body []byte, spec callSpec, parse parseFunc) error {
	actx, cancel := context.WithTimeout(ctx, spec.timeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteHeaderField: func(string, []string) { wrote.Store(true) },
		WroteRequest:     func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, c.endpointURL(path, query), rd)
	if err != nil {
		return retry.Unrecoverable(fmt.Errorf("%s: build request: %w", op, err))
	}
	req.Header.Set("X-Bkapi-Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Blueking-Language", c.language)
	if c.tenantID != "" {
		req.Header.Set("X-Bk-Tenant-Id", c.tenantID)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return c.finish(op, method, path, c.transportError(ctx, actx, spec, err, wrote.Load()))
	}
	defer resp.Body.Close()
	limit := spec.maxBody
	if n, ok := ctx.Value(maxBodyKey{}).(int64); ok && n > 0 && n < limit {
		limit = n
	}
	data, err := readBody(resp.Body, limit, resp.ContentLength)
	if err != nil {
		timedOut := ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		if timedOut {
			err = fmt.Errorf("no complete response within %s: %w", spec.timeout, err)
		}
		e := &Error{HTTPStatus: resp.StatusCode, Kind: KindUnreadable, Err: err,
			RequestID: resp.Header.Get(headerRequestID), Message: "reading response body: " + err.Error(),
			stop: ctx.Err() != nil || errors.Is(err, ErrBodyTooLarge), timedOut: timedOut}
		return c.finish(op, method, path, e)
	}
	root, e := classifyResponse(resp.StatusCode, resp.Header, data, c.now(), c.scrub.str)
	if e != nil {
		return c.finish(op, method, path, e)
	}
	if parse != nil {
		if err := parse(root, resp.Header); err != nil {
			e := &Error{HTTPStatus: resp.StatusCode, Kind: KindUnreadable, Err: err, Message: err.Error(),
				RequestID: resp.Header.Get(headerRequestID)}
			if id := str(root.Get("job_request_id")); id != "" {
				e.RequestID = id
			}
			return c.finish(op, method, path, e)
		}
	}
	return nil
}

// ErrBodyTooLarge is the read failure of a body above the limit. It is not retried: the same request
// would get the same answer. A log reader asks for fewer objects instead (IsBodyTooLarge).
var ErrBodyTooLarge = errors.New("response body too large")

type maxBodyKey struct{}

// WithMaxBody returns a context whose calls accept answers of at most n bytes (lower than the client's
// own limit only): a reader can probe with a request it can afford to lose.
func WithMaxBody(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, maxBodyKey{}, n)
}

type noTimeoutRetryKey struct{}

// WithoutTimeoutRetry returns a context whose calls are not repeated after a timeout (IsTimeout):
// a reader that can ask for less (fewer log objects) does that instead of waiting again as long.
func WithoutTimeoutRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noTimeoutRetryKey{}, true)
}

// IsBodyTooLarge reports whether err is an answer above the size limit.
func IsBodyTooLarge(err error) bool { return errors.Is(err, ErrBodyTooLarge) }

// readBody reads a body of at most limit bytes into a string, the one copy of it that is parsed
// (gjson reads strings without copying them again); a longer body is an error. size is the
// announced length (-1: unknown). A known length sizes the string once; an unknown one is read by
// io.ReadAll, which grows its buffer with few copies, and copied once into the string.
func readBody(r io.Reader, limit, size int64) (string, error) {
	if size > limit {
		return "", fmt.Errorf("%w: %d bytes announced, at most %d read", ErrBodyTooLarge, size, limit)
	}
	lr := io.LimitReader(r, limit+1)
	var body string
	if size >= 0 {
		var b strings.Builder
		b.Grow(int(size))
		if _, err := io.Copy(&b, lr); err != nil {
			return "", err
		}
		body = b.String()
	} else {
		data, err := io.ReadAll(lr)
		if err != nil {
			return "", err
		}
		body = string(data)
	}
	if int64(len(body)) > limit {
		return "", fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return body, nil
}

// transportError classifies a failed round trip. wrote tells whether any request byte was written.
func (c *Client) transportError(ctx, actx context.Context, spec callSpec, err error, wrote bool) *Error {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		inner = ue.Err // the URL is already in Path; drop it from the text
	}
	e := &Error{Kind: KindNetwork, Err: inner}
	switch {
	case isTLSError(err):
		e.Kind = KindTLS
		e.neverSent = !wrote
	case isDialError(err) && !wrote:
		e.neverSent = true
	}
	switch {
	case ctx.Err() != nil:
		e.stop = true
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		e.Err = fmt.Errorf("no response within %s: %w", spec.timeout, inner)
		e.timedOut = true
	}
	return e
}

// finish completes an *Error: operation, request, unknown-outcome flag, secret scrubbing.
func (c *Client) finish(op, method, path string, e *Error) *Error {
	e.Op, e.Method, e.Path = op, method, path
	switch e.Kind {
	case KindNetwork:
		e.unknown = !e.neverSent
	case KindUnavailable:
		e.unknown = true
	case KindUnreadable:
		// A redirect or a 4xx answer means the request was not processed.
		e.unknown = e.HTTPStatus < 300 || e.HTTPStatus > 499
	}
	return c.scrub.finish(e)
}

// isTLSError reports a TLS handshake or certificate failure.
func isTLSError(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
	)
	return errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &he) ||
		errors.As(err, &cie) || errors.As(err, &rhe) || errors.As(err, &ae)
}

// isDialError reports an error from connecting (dial, DNS), anywhere in the chain, proxy dials
// included: such a request never reached the server.
func isDialError(err error) bool {
	found := false
	walk(err, func(e error) bool {
		switch v := e.(type) {
		case *net.DNSError:
			found = true
		case *net.OpError:
			if v.Op == "dial" {
				found = true
			}
		}
		return !found
	})
	return found
}

// walk visits err and its wrapped errors depth-first until visit returns false.
func walk(err error, visit func(error) bool) bool {
	for depth := 0; err != nil && depth < 64; depth++ {
		if !visit(err) {
			return false
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if !walk(e, visit) {
					return false
				}
			}
			return true
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return true
		}
	}
	return true
}
