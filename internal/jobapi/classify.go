package jobapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Response header names used by bk-apigateway.
const (
	headerRequestID          = "X-Bkapi-Request-Id"
	headerGatewayCode        = "X-Bkapi-Error-Code"
	headerGatewayMessage     = "X-Bkapi-Error-Message"
	headerRateLimitReset     = "X-Bkapi-RateLimit-Reset"
	headerRateLimitRemaining = "X-Bkapi-RateLimit-Remaining"
	headerRetryAfter         = "Retry-After"
)

// maxRetryAfterHeader bounds a server-suggested wait as parsed (the retry policy caps it further).
const maxRetryAfterHeader = 24 * time.Hour

// gwBackendTimeout is the gateway's REQUEST_BACKEND_TIMEOUT: JOB took longer than the gateway waits.
const gwBackendTimeout = 1650401

// epochThreshold separates "seconds until reset" from "epoch seconds" in X-Bkapi-RateLimit-Reset,
// epochMillisThreshold epoch seconds from epoch milliseconds.
const (
	epochThreshold       = 1_000_000_000
	epochMillisThreshold = 100_000_000_000
)

// envelope holds the top-level members of a JOB or gateway envelope that classifyResponse reads.
type envelope struct {
	requestID, code, message, codeName, permission, result gjson.Result
}

// readEnvelope collects the envelope's members in one pass over the object, keeping the first of a
// duplicated key as Get does. Six Gets would each scan past the whole data member for a key the
// body lacks (code_name and permission, on every success), which is most of a large log answer.
func readEnvelope(root gjson.Result) envelope {
	var env envelope
	root.ForEach(func(k, v gjson.Result) bool {
		var dst *gjson.Result
		switch k.String() {
		case "job_request_id":
			dst = &env.requestID
		case "code":
			dst = &env.code
		case "message":
			dst = &env.message
		case "code_name":
			dst = &env.codeName
		case "permission":
			dst = &env.permission
		case "result":
			dst = &env.result
		}
		if dst != nil && !dst.Exists() {
			*dst = v
		}
		return true
	})
	return env
}

// classifyResponse inspects one HTTP answer. When the answer is a JOB success envelope (2xx, JSON
// object, result true, no gateway error) it returns its root object, validated once, here, for the
// endpoint's parser; otherwise an *Error with Kind, HTTPStatus, Code, CodeName, Message, RequestID,
// Permission, Gateway and the Retry-After hint filled in. Op, Method and Path are left for the
// caller. mask (nil: none) masks secrets in the body before a snippet of it is cut into the message
// (the other fields are masked by scrubber.finish, before they are cut). It never panics, whatever
// the input.
func classifyResponse(status int, h http.Header, body string, now time.Time, mask func(string) string) (gjson.Result, *Error) {
	e := &Error{HTTPStatus: status, RequestID: strings.TrimSpace(h.Get(headerRequestID))}
	e.retryAfter = retryAfterFrom(status, h, now)
	a := readAnswer(e, h, body)
	// JOB's success envelope is JOB's answer: JOB ran the request, whatever a gateway header says.
	if status >= 200 && status <= 299 && a.isObj && !a.gatewayBody && a.resultTrue {
		return a.root, nil
	}
	e.Kind = a.kind(e, status, h)
	switch {
	case e.Message != "":
	case !a.isObj:
		if mask != nil {
			body = mask(body)
		}
		e.Message = describeNonJSON(h, body, a.valid)
	case a.resultFalse:
		e.Message = "JOB answered result false without a message"
	default:
		e.Message = http.StatusText(status)
	}
	return gjson.Result{}, e
}

// httpAnswer is what an HTTP answer's body and headers say, read once.
type httpAnswer struct {
	root                    gjson.Result
	valid, isObj            bool // JSON; a JSON object
	gatewayBody             bool // the gateway's own error envelope (code_name), not JOB's
	resultTrue, resultFalse bool
}

// readAnswer reads the envelope of body and the gateway's headers into e (request id, code, message,
// permission block) and returns what the body is.
func readAnswer(e *Error, h http.Header, body string) httpAnswer {
	var a httpAnswer
	a.valid = len(body) > 0 && !tooDeep(body) && gjson.Valid(body)
	if a.valid {
		a.root = gjson.Parse(body)
		a.isObj = a.root.IsObject()
	}
	var env envelope
	if a.isObj {
		env = readEnvelope(a.root)
		if id := str(env.requestID); id != "" {
			e.RequestID = id
		}
		if c, ok := intOf(env.code); ok {
			e.Code = clampInt(c)
		}
		e.Message = str(env.message)
		if cn := env.codeName; cn.Exists() && cn.Type != gjson.Null {
			e.Gateway, a.gatewayBody = true, true
			e.CodeName = str(cn)
		}
		e.Permission = parsePermission(env.permission)
	}
	readGatewayHeaders(e, h)
	rb, rok := boolOf(env.result) // true, false, "true" or "false"
	a.resultTrue, a.resultFalse = rok && rb, rok && !rb
	if a.isObj && !rok && env.code.Exists() {
		// An envelope without a readable "result" (absent or null): decide by the code alone.
		a.resultTrue, a.resultFalse = e.Code == 0, e.Code != 0
	}
	return a
}

// readGatewayHeaders takes the gateway's error code and message from its headers, where the body did
// not say them.
func readGatewayHeaders(e *Error, h http.Header) {
	gc := strings.TrimSpace(h.Get(headerGatewayCode))
	if gc == "" {
		return
	}
	e.Gateway = true
	if n, err := strconv.Atoi(gc); err == nil {
		if e.Code == 0 {
			e.Code = n
		}
	} else if e.CodeName == "" {
		e.CodeName = gc
	}
	if e.Message == "" {
		e.Message = h.Get(headerGatewayMessage)
	}
}

// kind classifies a failed answer; it may set e's timeout, stop and message.
func (a httpAnswer) kind(e *Error, status int, h http.Header) ErrorKind {
	switch {
	case status == http.StatusTooManyRequests || (e.Gateway && e.Code/100 == 16429):
		return KindRateLimited
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout || (e.Gateway && e.Code/1000 == 1650):
		e.timedOut = status == http.StatusGatewayTimeout || (e.Gateway && e.Code == gwBackendTimeout)
		return KindUnavailable
	case e.Gateway:
		return gatewayKind(e.Code, status)
	case a.isObj && a.resultFalse:
		if k := jobKind(e.Code); k != KindBusiness || status < 500 || status > 599 {
			return k
		}
		// JOB answers its business errors with HTTP 200: a 5xx is a server fault, worth another
		// try, whatever the envelope says.
		return KindUnavailable
	case status == http.StatusUnauthorized:
		if e.Message == "" {
			e.Message = "unauthorized (missing tenant id or gateway credentials)"
		}
		return KindAuth
	case status >= 300 && status <= 399:
		e.stop = true
		e.Message = "unexpected redirect to " + redactLocation(h.Get("Location"))
		return KindUnreadable
	case !a.isObj: // the message is described by the caller
		return statusKind(status, KindUnreadable)
	case status >= 200 && status <= 299:
		e.Message = "response is not a JOB envelope (no result field)"
		return KindUnreadable
	}
	return statusKind(status, KindBusiness)
}

// gatewayKind classifies a bk-apigateway error code.
func gatewayKind(code, status int) ErrorKind {
	switch {
	case code == 1640001 || code/100 == 16401:
		return KindAuth
	case code == 1640301 || code == 1640302:
		return KindPermission
	case code == 1640401:
		return KindNotFound
	}
	return statusKind(status, KindBusiness)
}

// jobKind classifies a JOB result:false code.
func jobKind(code int) ErrorKind {
	switch code {
	case 9900403, 1238001:
		return KindPermission
	case 1244006, 1244007, 1243001, 1243047, 1243049, 1243051:
		return KindNotFound
	case 1247002, 1247004:
		return KindAuth
	}
	return KindBusiness
}

// statusKind classifies by HTTP status alone, falling back to def.
func statusKind(status int, def ErrorKind) ErrorKind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindPermission
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500:
		return KindUnavailable
	}
	return def
}

// describeNonJSON summarises a body that is not a JSON object.
func describeNonJSON(h http.Header, body string, valid bool) string {
	if strings.TrimSpace(body) == "" {
		return "empty response body"
	}
	if valid {
		return "response is not a JSON object"
	}
	ct := h.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	desc := "response is not valid JSON"
	if ct != "" {
		desc += " (" + ct + ")"
	}
	if title := htmlTitle(body); title != "" {
		return desc + ": " + title
	}
	snippet := body
	if len(snippet) > 200 {
		snippet = snippet[:200]
	}
	return desc + ": " + strings.Join(strings.Fields(oneLine(strings.ToValidUTF8(snippet, ""))), " ")
}

// htmlTitle returns the text of an HTML <title>, if any, within the first 4 KiB.
func htmlTitle(body string) string {
	if len(body) > 4096 {
		body = body[:4096]
	}
	i := indexFoldASCII(body, "<title>")
	if i < 0 {
		return ""
	}
	rest := body[i+len("<title>"):]
	j := indexFoldASCII(rest, "</title>")
	if j < 0 {
		return ""
	}
	t := strings.Join(strings.Fields(strings.ToValidUTF8(rest[:j], "")), " ")
	return truncate(t, 200)
}

// indexFoldASCII is strings.Index ignoring the case of ASCII letters only, so that the index is
// one in s (Unicode lower-casing can change a text's length). sub must be lower-case ASCII.
func indexFoldASCII(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		k := 0
		for k < len(sub) {
			c := s[i+k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[k] {
				break
			}
			k++
		}
		if k == len(sub) {
			return i
		}
	}
	return -1
}

// redactLocation keeps scheme, host and path of a redirect target.
func redactLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || loc == "" {
		return "(invalid location)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// retryAfterFrom reads Retry-After (delta seconds or HTTP-date), else, for a rate-limited answer
// (429, or none remaining), X-Bkapi-RateLimit-Reset: seconds until the reset when small, epoch
// seconds when large, epoch milliseconds when larger still. Other answers may carry the rate-limit
// headers too; their reset says nothing about when to try again.
func retryAfterFrom(status int, h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get(headerRetryAfter)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return boundWait(secondsDuration(n))
		}
		if t, err := http.ParseTime(v); err == nil {
			return boundWait(t.Sub(now))
		}
	}
	if status != http.StatusTooManyRequests && strings.TrimSpace(h.Get(headerRateLimitRemaining)) != "0" {
		return 0
	}
	if v := strings.TrimSpace(h.Get(headerRateLimitReset)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			switch {
			case n > epochMillisThreshold:
				return boundWait(time.UnixMilli(n).Sub(now))
			case n > epochThreshold:
				return boundWait(time.Unix(n, 0).Sub(now))
			}
			return boundWait(secondsDuration(n))
		}
	}
	return 0
}

// maxJSONDepth bounds the nesting of an answer: gjson's validator recurses once per level, and a
// body of megabytes of "[" would overflow the stack, a crash no recover can catch. JOB's answers
// nest about ten levels.
const maxJSONDepth = 1000

// tooDeep reports whether the arrays and objects of s (strings skipped) nest deeper than
// maxJSONDepth. It looks at bytes only and does not validate.
func tooDeep(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '{':
			if depth++; depth > maxJSONDepth {
				return true
			}
		case ']', '}':
			depth--
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		}
	}
	return false
}

func secondsDuration(n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	if n > int64(maxRetryAfterHeader/time.Second) {
		return maxRetryAfterHeader
	}
	return time.Duration(n) * time.Second
}

func boundWait(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfterHeader)
}

func clampInt(v int64) int {
	const maxInt = int64(^uint(0) >> 1)
	switch {
	case v > maxInt:
		return int(maxInt)
	case v < -maxInt-1:
		return int(-maxInt - 1)
	}
	return int(v)
}

// parsePermission reads JOB's permission block; nil when absent or not an object.
func parsePermission(r gjson.Result) *Permission {
	if !r.IsObject() {
		return nil
	}
	p := &Permission{SystemID: str(r.Get("system_id")), SystemName: str(r.Get("system_name"))}
	for _, a := range arr(r.Get("actions")) {
		if !a.IsObject() {
			continue
		}
		act := PermissionAction{ID: str(a.Get("id")), Name: str(a.Get("name"))}
		for _, t := range arr(a.Get("related_resource_types")) {
			if !t.IsObject() {
				continue
			}
			rt := RelatedResourceType{
				SystemID:   str(t.Get("system_id")),
				SystemName: str(t.Get("system_name")),
				Type:       str(t.Get("type")),
				TypeName:   str(t.Get("type_name")),
			}
			for _, path := range arr(t.Get("instances")) {
				var nodes []PermissionInstance
				for _, n := range arr(path) {
					if !n.IsObject() {
						continue
					}
					nodes = append(nodes, PermissionInstance{
						ID:       str(n.Get("id")),
						Type:     str(n.Get("type")),
						TypeName: str(n.Get("type_name")),
						Name:     str(n.Get("name")),
					})
				}
				rt.Instances = append(rt.Instances, nodes)
			}
			act.RelatedResourceTypes = append(act.RelatedResourceTypes, rt)
		}
		p.Actions = append(p.Actions, act)
	}
	return p
}
