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

// callSpec is what differs between calls on the one request path: the operation's policy, narrowed
// by the call's options.
type callSpec struct {
	op             string
	attempts       int
	timeout        time.Duration
	maxBody        int64
	retryable      func(*Error) bool
	noTimeoutRetry bool // a timeout is not retried (LogOptions.NoTimeoutRetry)
	// window bounds the retries of a failure by the time since the call's first attempt (0: none).
	window func(*Error) time.Duration
}

// spec returns the policy of an operation. Only the submit is special: it is retried solely when
// the failed attempt provably never reached JOB: it never left the client, or the API gateway
// refused it under its rate limit (the gateway's limiter runs before it forwards anything).
func (c *Client) spec(op string) callSpec {
	s := callSpec{
		op:        op,
		attempts:  c.retry.Attempts,
		timeout:   c.timeout,
		maxBody:   c.maxBody,
		retryable: (*Error).Transient,
	}
	switch op {
	case opSubmit:
		// Retried for a while (SubmitWindow): a gateway that refuses connections while it restarts, a
		// DNS blip. JOB's running-job quota refusal creates no job (docs/JOB.md): waited out for longer
		// (QuotaWindow), with longer waits (retryWait).
		s.attempts = c.retry.SubmitAttempts
		s.retryable = func(e *Error) bool {
			return !e.stop && (e.Kind == KindNetwork && e.neverSent || e.gatewayRateLimited() || e.QuotaRefused())
		}
		s.window = func(e *Error) time.Duration {
			if e.QuotaRefused() {
				return c.retry.QuotaWindow
			}
			return c.retry.SubmitWindow
		}
	case opLogs:
		s.timeout = c.logTimeout
		s.maxBody = c.maxLogBody
	}
	return s
}

// withLogOptions narrows the spec by a log read's options (nil: none).
func (s callSpec) withLogOptions(o *LogOptions) callSpec {
	if o == nil {
		return s
	}
	if o.MaxBody > 0 && o.MaxBody < s.maxBody {
		s.maxBody = o.MaxBody
	}
	s.noTimeoutRetry = o.NoTimeoutRetry
	return s
}

// parseFunc reads a successful answer (a JOB envelope with result true), given as its root object.
// A parse error turns the attempt into an unreadable answer.
type parseFunc func(root gjson.Result, h http.Header) error

// do is the single request path of the client: it sends method path?query with body (nil: no body),
// retries per spec, and hands the successful answer to parse (may be nil). Every failure is an *Error
// (argument and context errors excepted).
//
// Each failed attempt's *Error carries its number and a random draw (jitter): whether to retry
// (RetryIf) and how long to wait (DelayType, OnRetry) are functions of that error alone.
func (c *Client) do(ctx context.Context, spec callSpec, method, path string, query url.Values, body []byte, parse parseFunc) error {
	n := 0
	start := c.now()
	err := retry.Do(
		func() error {
			n++
			err := c.attempt(ctx, spec, method, path, query, body, parse)
			if e := (*Error)(nil); errors.As(err, &e) {
				e.attempt, e.jitter = n, rand.Float64()
			}
			return err
		},
		retry.Context(ctx),
		retry.Attempts(uint(max(spec.attempts, 1))),
		retry.DelayType(func(_ uint, err error, _ *retry.Config) time.Duration { return c.retryWait(err) }),
		retry.RetryIf(func(err error) bool { return c.shouldRetry(ctx, spec, start, err) }),
		retry.OnRetry(func(_ uint, err error) {
			if e, ok := As(err); ok && c.onRetry != nil {
				c.onRetry(spec.op, e.attempt, err, c.retryWait(err))
			}
		}),
	)
	if err == nil {
		return nil
	}
	return lastError(spec.op, err)
}

// lastError is the error of a call that failed: its last attempt's *Error; or, when the context ended
// before an attempt or during a wait, the context's error with the last attempt's (if any).
func lastError(op string, err error) error {
	var attempts retry.Error
	if !errors.As(err, &attempts) || len(attempts) == 0 {
		return fmt.Errorf("%s: %w", op, err) // the context ended before the first attempt
	}
	final := attempts[len(attempts)-1]
	if _, ok := As(final); ok {
		return final
	}
	if len(attempts) > 1 {
		if e, ok := As(attempts[len(attempts)-2]); ok {
			last := *e
			last.stop = true
			return fmt.Errorf("%s: %w (last error: %w)", op, final, &last)
		}
	}
	return fmt.Errorf("%s: %w", op, final)
}

// shouldRetry decides on one failed attempt: a retryable failure, attempts left, and a wait that ends
// before the context's deadline.
func (c *Client) shouldRetry(ctx context.Context, spec callSpec, start time.Time, err error) bool {
	e, ok := As(err)
	if !ok || !retry.IsRecoverable(err) {
		return false
	}
	if e.attempt >= spec.attempts || !spec.retryable(e) || ctx.Err() != nil {
		return false
	}
	if e.timedOut && spec.noTimeoutRetry {
		return false
	}
	if spec.window != nil && !c.now().Add(c.retryWait(err)).Before(start.Add(spec.window(e))) {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && !c.now().Add(c.retryWait(err)).Before(dl) {
		return false
	}
	return true
}

// retryWait is the wait after the failed attempt err: full-jitter backoff, at least the wait the
// server asked for (at most MaxRetryAfter).
func (c *Client) retryWait(err error) time.Duration {
	e, ok := As(err)
	if !ok {
		return 0
	}
	wait := c.backoff(e.attempt, e.jitter)
	if e.QuotaRefused() {
		// Running jobs end in seconds to minutes: back off up to MaxRetryAfter, at least half of it.
		ceiling := c.retry.MaxRetryAfter
		if shift := e.attempt - 1; shift >= 0 && shift < 32 {
			if d := (2 * c.retry.BaseDelay) << shift; d > 0 && d < ceiling {
				ceiling = d
			}
		}
		wait = ceiling/2 + time.Duration(e.jitter*float64(ceiling/2))
	}
	if ra := e.retryAfter; ra > 0 {
		wait = max(wait, min(ra, c.retry.MaxRetryAfter))
	}
	return wait
}

// backoff is full-jitter exponential backoff after attempt n: u (in [0, 1)) of the way into
// [0, min(MaxDelay, BaseDelay·2^(n-1))].
func (c *Client) backoff(n int, u float64) time.Duration {
	ceiling := c.retry.MaxDelay
	if shift := n - 1; shift >= 0 && shift < 32 {
		if d := c.retry.BaseDelay << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return min(time.Duration(u*float64(ceiling+1)), ceiling)
}

// attempt sends one request and classifies its outcome.
func (c *Client) attempt(ctx context.Context, spec callSpec, method, path string, query url.Values, body []byte, parse parseFunc) error {
	op := spec.op
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
	data, err := readBody(resp.Body, spec.maxBody, resp.ContentLength)
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
		switch v := e.(type) { //nolint:errorlint // walk already visits every error of the chain
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
		switch u := err.(type) { //nolint:errorlint // this is the unwrapping itself
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
