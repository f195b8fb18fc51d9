package wait

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// PathPrefix starts the path of every callback listener; a random secret
// follows it.
const PathPrefix = "/jobcb/"

// maskedSecret stands for the secret part of a callback path in MaskedURL.
const maskedSecret = "********"

// callback is what the listener reads from a callback body. It only matters
// which job it is about: a callback wakes the poll loop, nothing more.
type callback struct {
	jobInstanceID int64
}

// errBadCallback marks a body that is not a JOB callback.
var errBadCallback = errors.New("not a job callback")

// parseCallback checks that body is JOB's callback JSON, whatever content
// type it came with: an object with a positive integer "job_instance_id", an
// integer "status" when present, and "step_instances" or
// "step_instance_list" (both spellings occur) as an array or null when
// present. Other keys are ignored.
func parseCallback(body []byte) (callback, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return callback{}, fmt.Errorf("%w: invalid json object", errBadCallback)
	}
	if fields == nil { // the body was "null"
		return callback{}, fmt.Errorf("%w: not an object", errBadCallback)
	}
	raw, ok := fields["job_instance_id"]
	if !ok {
		return callback{}, fmt.Errorf("%w: no job_instance_id", errBadCallback)
	}
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || id <= 0 {
		return callback{}, fmt.Errorf("%w: job_instance_id is not a positive integer", errBadCallback)
	}
	if raw, ok := fields["status"]; ok {
		if _, err := strconv.ParseInt(string(raw), 10, 32); err != nil {
			return callback{}, fmt.Errorf("%w: status is not an integer", errBadCallback)
		}
	}
	for _, key := range []string{"step_instances", "step_instance_list"} {
		raw, ok := fields[key]
		if !ok {
			continue
		}
		if !bytes.Equal(raw, []byte("null")) && (len(raw) == 0 || raw[0] != '[') {
			return callback{}, fmt.Errorf("%w: %s is not an array", errBadCallback, key)
		}
	}
	return callback{jobInstanceID: id}, nil
}

// joinURL appends path to base's path. A base that does not parse as an
// absolute URL is joined as a string.
func joinURL(base, path string) string {
	base = strings.TrimSpace(base)
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return strings.TrimRight(base, "/") + path
	}
	rawBase := strings.TrimRight(u.EscapedPath(), "/")
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = rawBase + path // kept by String when it encodes Path
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// MaskedURL returns the callback URL a listener would give for base, with
// its secret part masked; for dry runs and logs.
func MaskedURL(base string) string {
	return joinURL(base, PathPrefix+maskedSecret)
}

// DefaultListenAddr returns the listen address used when callbackListen is
// not set: all interfaces, on the port of baseURL (callbackBaseUrl), or the
// default port of its scheme (80 for http, 443 for https).
func DefaultListenAddr(baseURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return "", errors.New("callback base url does not parse")
	}
	var port string
	switch strings.ToLower(u.Scheme) {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return "", errors.New("callback base url: scheme must be http or https")
	}
	if u.Hostname() == "" {
		return "", errors.New("callback base url: no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", errors.New("callback base url: invalid port")
		}
		port = strconv.Itoa(n)
	}
	return net.JoinHostPort("0.0.0.0", port), nil
}

// redactURL returns u without userinfo, query and fragment, for logs.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}
