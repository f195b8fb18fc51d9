package jobapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidArgument marks a call rejected by the client before any request was sent
// (bad scope, ids, key count, time window).
var ErrInvalidArgument = errors.New("invalid argument")

// ErrLookupIncomplete is returned by FindJobByName when it could not scan every candidate job
// within its page bound, so "not found" cannot be claimed.
var ErrLookupIncomplete = errors.New("job lookup incomplete")

// ErrAmbiguous is returned by FindJobByName when more than one job carries the exact name.
var ErrAmbiguous = errors.New("more than one job has this name")

// ErrorKind classifies an *Error for the caller (retry, error type, message).
type ErrorKind int

const (
	// KindNetwork means the request failed in transport (never sent, or sent with an unknown outcome).
	KindNetwork ErrorKind = iota + 1
	// KindTLS means the TLS handshake failed (untrusted or invalid certificate); nothing was sent.
	KindTLS
	// KindRateLimited means HTTP 429 / gateway 16429xx.
	KindRateLimited
	// KindUnavailable means HTTP 502/503/504 (or another 5xx) / gateway 1650xxx.
	KindUnavailable
	// KindUnreadable means the body could not be read, was too large, was not JSON, or lacked required data.
	KindUnreadable
	// KindBusiness means JOB answered result:false (validation, unsupported operation, ...), or the gateway
	// rejected the request for a reason not covered by another kind.
	KindBusiness
	// KindPermission means IAM denial (9900403, 1238001) or gateway 1640301/1640302.
	KindPermission
	// KindNotFound means job, step, script, scope not found, or gateway 1640401.
	KindNotFound
	// KindAuth means authentication (gateway 1640001/16401xx, 401 with 1247002/1247004 or an empty body).
	KindAuth
)

var kindNames = map[ErrorKind]string{
	KindNetwork:     "network",
	KindTLS:         "tls",
	KindRateLimited: "rate limited",
	KindUnavailable: "unavailable",
	KindUnreadable:  "unreadable response",
	KindBusiness:    "rejected",
	KindPermission:  "permission denied",
	KindNotFound:    "not found",
	KindAuth:        "authentication failed",
}

// String returns a short lowercase name of the kind.
func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// maxMessageBytes bounds Error.Message (and body snippets put into it).
const maxMessageBytes = 512

// Error is the one error type of this package for a failed gateway/JOB call. It never holds the app
// secret.
type Error struct {
	Op         string      // operation, e.g. "get job status"
	Method     string      // HTTP method
	Path       string      // resource path (without the gateway base URL and query)
	HTTPStatus int         // HTTP status; 0 when no response arrived
	Code       int         // JOB or gateway code (16xxxxx for the gateway); 0 when none
	CodeName   string      // gateway code_name, e.g. "APP_NO_PERMISSION"
	Message    string      // server message (or a description), at most ~512 bytes
	RequestID  string      // job_request_id, else X-Bkapi-Request-Id
	Permission *Permission // IAM permission block of a denial, when JOB sent one
	Gateway    bool        // the error came from bk-apigateway, not from JOB
	Kind       ErrorKind   // classification
	Err        error       // underlying cause (transport, read or parse error), may be nil

	neverSent  bool          // provably nothing of the request left this process
	unknown    bool          // the server may have acted on the request, but we cannot tell
	stop       bool          // not worth retrying although the kind usually is (caller cancelled, redirect)
	timedOut   bool          // no answer in time: the client's timeout, or the gateway's (504 / 1650401)
	retryAfter time.Duration // server-suggested wait (Retry-After / X-Bkapi-RateLimit-Reset)
	attempt    int           // the attempt's number (1: the first) within its call
	jitter     float64       // a draw in [0, 1): how far into its backoff range the wait after it is
}

// Error returns one line:
// "<op>: <METHOD> <path>: HTTP <status> code <code> [<code_name>]: <message> (request id <id>)",
// leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	var head []string
	if e.HTTPStatus != 0 {
		head = append(head, "HTTP "+strconv.Itoa(e.HTTPStatus))
	}
	if e.Code != 0 {
		head = append(head, "code "+strconv.Itoa(e.Code))
	}
	if e.CodeName != "" {
		head = append(head, "["+e.CodeName+"]")
	}
	if len(head) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(head, " "))
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = e.Kind.String()
	}
	b.WriteString(": ")
	b.WriteString(oneLine(msg))
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(oneLine(e.RequestID))
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Unknown reports whether the server may have acted on the request without the client knowing
// (sent, then timeout/reset/unreadable answer, or 5xx where the backend may have run it).
func (e *Error) Unknown() bool { return e.unknown }

// NeverSent reports whether the request provably never left this process (dial or DNS failure,
// TLS handshake failure).
func (e *Error) NeverSent() bool { return e.neverSent }

// Transient reports whether repeating the same request later may succeed: network failures (not
// caused by the caller's context), rate limits, 5xx / 1650xxx and unreadable answers.
func (e *Error) Transient() bool {
	if e.stop {
		return false
	}
	switch e.Kind {
	case KindNetwork, KindRateLimited, KindUnavailable, KindUnreadable:
		return true
	}
	return false
}

// gatewayRateLimited reports a refusal by bk-apigateway's rate or concurrency limit (HTTP 429 with
// gateway code 1642901–1642904): the gateway answered itself, so JOB never saw the request.
func (e *Error) gatewayRateLimited() bool {
	return e.Gateway && e.HTTPStatus == http.StatusTooManyRequests && e.Kind == KindRateLimited && e.Code/100 == 16429
}

// Running-job quota refusals (docs/JOB.md: checkRunningJobQuotaLimit), answered before the job exists.
const (
	CodeQuotaBusiness = 1244032
	CodeQuotaApp      = 1244033
	CodeQuotaSystem   = 1244034
)

// QuotaRefused reports JOB's refusal of a submit under its running-job quota (business, app or
// system): no job was created, so the submit can be sent again once running jobs end.
func (e *Error) QuotaRefused() bool {
	return !e.Gateway && e.Code >= CodeQuotaBusiness && e.Code <= CodeQuotaSystem
}

// IsQuotaRefused reports whether err is a running-job quota refusal (QuotaRefused).
func IsQuotaRefused(err error) bool {
	e, ok := As(err)
	return ok && e.QuotaRefused()
}

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// IsTransient reports whether err is an *Error worth retrying later (see Error.Transient).
func IsTransient(err error) bool {
	e, ok := As(err)
	return ok && e.Transient()
}

// IsTimeout reports whether err is a call that got no answer in time: the client's own timeout, or
// the gateway's 504 (1650401) while JOB was still building the answer.
func IsTimeout(err error) bool {
	e, ok := As(err)
	return ok && e.timedOut
}

// IsPermission reports whether err is a permission denial (IAM or gateway grant).
func IsPermission(err error) bool {
	e, ok := As(err)
	return ok && e.Kind == KindPermission
}

// IsNotFound reports whether err says the job, step, script or scope does not exist.
func IsNotFound(err error) bool {
	e, ok := As(err)
	return ok && e.Kind == KindNotFound
}

// IsUnknownOutcome reports whether err leaves open whether the server acted on the request.
func IsUnknownOutcome(err error) bool {
	e, ok := As(err)
	return ok && e.unknown
}

// NeverSent reports whether err proves the request never left this process.
func NeverSent(err error) bool {
	e, ok := As(err)
	return ok && e.neverSent
}

// RetryAfter returns how long the server asked the client to wait before the next request
// (Retry-After, or X-Bkapi-RateLimit-Reset), or 0.
func RetryAfter(err error) time.Duration {
	e, ok := As(err)
	if !ok {
		return 0
	}
	return e.retryAfter
}

// RetryAfter is the wait the server asked for after err, bounded as the client's own retries bound
// it (RetryPolicy.MaxRetryAfter): a caller that waits before its next call never waits longer than
// the client would (a "Retry-After: 3600" must not outlast the job it is watching).
func (c *Client) RetryAfter(err error) time.Duration {
	return min(RetryAfter(err), c.retry.MaxRetryAfter)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// oneLine replaces control characters (newlines included) with spaces and collapses runs of spaces,
// so that an error stays on one line and cannot carry terminal or CI log commands across lines.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
		return s
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// scrubbedError replaces an error's text with a version from which secrets were removed, while
// keeping the original reachable through errors.Is/As.
type scrubbedError struct {
	text string
	err  error
}

func (s *scrubbedError) Error() string { return s.text }
func (s *scrubbedError) Unwrap() error { return s.err }

// scrubber masks secrets in text from outside (JOB's and the gateway's answers, transport errors)
// before anything else touches it: the app secret always, and whatever the caller's redact masks
// (Config.Redact: the sensitive parameters). Every *Error passes through finish, the one place where
// such text is masked, and only then put on one line and cut: a cut or a collapsed run of white
// space inside a secret would leave text that no longer matches the secret, and leaks it.
type scrubber struct {
	secret string
	redact func(string) string
}

// str masks every secret in v. The caller's redact runs first: it may know secrets that contain
// the app secret.
func (s scrubber) str(v string) string {
	if s.redact != nil && v != "" {
		v = s.redact(v)
	}
	if s.secret == "" {
		return v
	}
	return strings.ReplaceAll(v, s.secret, "***")
}

func (s scrubber) err(err error) error {
	if err == nil || (s.secret == "" && s.redact == nil) {
		return err
	}
	text := err.Error()
	clean := s.str(text)
	if clean == text {
		return err
	}
	return &scrubbedError{text: clean, err: err}
}

// finish masks, then bounds, every text field of e (the permission block's too).
func (s scrubber) finish(e *Error) *Error {
	e.Message = truncate(oneLine(s.str(e.Message)), maxMessageBytes)
	e.CodeName = truncate(oneLine(s.str(e.CodeName)), 128)
	e.RequestID = truncate(oneLine(s.str(e.RequestID)), 128)
	e.Err = s.err(e.Err)
	if e.Err != nil {
		if t := e.Err.Error(); len(t) > maxMessageBytes {
			e.Err = &scrubbedError{text: truncate(t, maxMessageBytes), err: e.Err}
		}
	}
	if p := e.Permission; p != nil {
		p.SystemID, p.SystemName = s.str(p.SystemID), s.str(p.SystemName)
		for i := range p.Actions {
			a := &p.Actions[i]
			a.ID, a.Name = s.str(a.ID), s.str(a.Name)
			for j := range a.RelatedResourceTypes {
				rt := &a.RelatedResourceTypes[j]
				rt.SystemID, rt.SystemName, rt.Type, rt.TypeName = s.str(rt.SystemID), s.str(rt.SystemName), s.str(rt.Type), s.str(rt.TypeName)
				for _, path := range rt.Instances {
					for k := range path {
						in := &path[k]
						in.ID, in.Type, in.TypeName, in.Name = s.str(in.ID), s.str(in.Type), s.str(in.TypeName), s.str(in.Name)
					}
				}
			}
		}
	}
	return e
}

// argError builds the plain (non-*Error) error of a call rejected before sending; it wraps
// ErrInvalidArgument.
func argError(op, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", op, ErrInvalidArgument, fmt.Sprintf(format, args...))
}
