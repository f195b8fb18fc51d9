// Package callbackurl decides whether BlueKing JOB accepts a callback URL, as JOB's
// CallbackUrlValidateServiceImpl.isValid does with its allow-list off (the default): the URL must parse
// as a java.net.URI, have the scheme http or https (any case), a host, and no user info
// (job-execute/service-job-execute/.../service/validation/impl/CallbackUrlValidateServiceImpl.java).
//
// java.net.URI follows RFC 2396, not the WHATWG rules Go's net/url is closer to: a host name is labels
// of ASCII letters, digits and inner hyphens whose last label (when there are several) starts with a
// letter; an IPv4 address has four numbers up to 255; an IPv6 literal is in brackets. Anything else in
// the authority (an underscore, a leading hyphen, a numeric last label, a non-ASCII name) makes Java read
// the authority as a "registry" name and the URI has no host, so JOB refuses the submit (1240003).
// This file mirrors java.net.URI's parser (the JDK's java/net/URI.java, class Parser) for the parts
// that decide that.
package callbackurl

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Reasons why JOB refuses a callback URL.
var (
	// ErrSyntax: java.net.URI refuses the text (a space, a bad escape, a character not allowed where it is).
	ErrSyntax = errors.New("not a valid URI")
	// ErrScheme: the scheme is not http or https.
	ErrScheme = errors.New("scheme is not http or https")
	// ErrNoHost: the URI parses, but Java finds no host in it.
	ErrNoHost = errors.New("no host that java.net.URI accepts")
	// ErrUserInfo: the URL carries user info (user@ or user:password@).
	ErrUserInfo = errors.New("user info is not allowed")
)

// URI is what java.net.URI reads from a URL, as far as JOB's check looks at it.
type URI struct {
	Scheme string
	// Host is "" when Java finds none (registry-based or no authority); an IPv6 host keeps its brackets.
	Host string
	// HasUserInfo is true when the authority has an '@' part, even an empty one.
	HasUserInfo bool
	// Port is -1 when none is given.
	Port int
}

// Check returns nil when JOB accepts u as a callback URL, else the reason (one of the Err values).
func Check(u string) error {
	if u == "" {
		return nil // JOB treats a blank URL as "no callback"
	}
	p, err := Parse(u)
	if err != nil {
		return err
	}
	if !strings.EqualFold(p.Scheme, "http") && !strings.EqualFold(p.Scheme, "https") {
		return ErrScheme
	}
	if strings.TrimSpace(p.Host) == "" {
		return ErrNoHost
	}
	if p.HasUserInfo {
		return ErrUserInfo
	}
	return nil
}

// Character classes of RFC 2396 as java.net.URI uses them.
const (
	alpha    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	digit    = "0123456789"
	alphanum = alpha + digit
	mark     = "-_.!~*'()"
	unres    = alphanum + mark
	reserved = ";/?:@&=+$,[]"
	uric     = reserved + unres
	pchar    = unres + ":@&=+$,"
	pathCh   = pchar + ";/"
	userinfo = unres + ";:&=+$,"
	regName  = unres + "$,;:@&=+"
	server   = userinfo + alphanum + "-" + ".:@[]"
	scopeID  = alphanum + "_."
)

type parser struct{ s string }

// scan returns the index after the run starting at p (before end) of characters in set; escaped
// allows %XX escapes and "other" characters (non-ASCII, not space, not control) as Java's L_ESCAPED does.
func (x parser) scan(p, end int, set string, escaped bool) int {
	for p < end {
		r, size := rune(x.s[p]), 1
		if r >= 0x80 {
			r, size = decodeRune(x.s[p:end])
		}
		if r < 0x80 && strings.ContainsRune(set, r) {
			p++
			continue
		}
		if escaped {
			if r == '%' && p+2 < end+1 && p+2 < len(x.s) && isHex(x.s[p+1]) && isHex(x.s[p+2]) && p+3 <= end {
				p += 3
				continue
			}
			if r > 128 && !isSpaceChar(r) && !isISOControl(r) {
				p += size
				continue
			}
		}
		break
	}
	return p
}

// check fails unless every character of s[p:end] is in set (with escapes when escaped).
func (x parser) check(p, end int, set string, escaped bool) error {
	if x.scan(p, end, set, escaped) != end {
		return ErrSyntax
	}
	return nil
}

// Parse reads u as java.net.URI's single-argument constructor does (hierarchical URIs; an opaque one
// such as "mailto:x" has no host). It returns ErrSyntax where Java throws URISyntaxException.
func Parse(u string) (URI, error) {
	x := parser{s: u}
	out := URI{Port: -1}
	n := len(u)
	// scheme
	p := 0
	if i := strings.IndexAny(u, "/?#:"); i > 0 && u[i] == ':' {
		if !strings.ContainsRune(alpha, rune(u[0])) || x.check(1, i, alphanum+"+-.", false) != nil {
			return URI{}, ErrSyntax
		}
		out.Scheme = u[:i]
		p = i + 1
		if p == n {
			return URI{}, ErrSyntax // "Expected scheme-specific part"
		}
		if u[p] != '/' {
			// opaque: scheme-specific part of uric, then an optional fragment; no host
			q := x.scan(p, n, uric, true)
			if q < n && u[q] != '#' {
				return URI{}, ErrSyntax
			}
			return out, x.fragment(q)
		}
	} else if i == 0 && u[0] == ':' {
		return URI{}, ErrSyntax // "Expected scheme name"
	}
	// hierarchical: ["//" authority] path ["?" query] ["#" fragment]
	if strings.HasPrefix(u[p:], "//") {
		p += 2
		q := p
		for q < n && !strings.ContainsRune("/?#", rune(u[q])) {
			q++
		}
		switch {
		case q > p:
			if err := x.authority(&out, p, q); err != nil {
				return URI{}, err
			}
		case q >= n:
			return URI{}, ErrSyntax // "Expected authority"
		}
		p = q
	}
	q := p
	for q < n && u[q] != '?' && u[q] != '#' {
		q++
	}
	if err := x.check(p, q, pathCh, true); err != nil {
		return URI{}, err
	}
	p = q
	if p < n && u[p] == '?' {
		p++
		q = p
		for q < n && u[q] != '#' {
			q++
		}
		if err := x.check(p, q, uric, true); err != nil {
			return URI{}, err
		}
		p = q
	}
	return out, x.fragment(p)
}

func (x parser) fragment(p int) error {
	if p < len(x.s) && x.s[p] == '#' {
		return x.check(p+1, len(x.s), uric, true)
	}
	return nil
}

// authority mirrors Parser.parseAuthority: a server-based authority when it parses as one, else a
// registry-based one (no host), else a syntax error.
func (x parser) authority(out *URI, p, n int) error {
	serverChars := x.scan(p, n, server+"%", true) == n // L_SERVER_PERCENT: a '%' may start an IPv6 scope
	regChars := x.scan(p, n, regName, true) == n
	if regChars && !serverChars {
		return nil
	}
	if serverChars {
		var srv URI
		srv.Port = -1
		if q, err := x.server(&srv, p, n); err == nil && q == n {
			*out = URI{Scheme: out.Scheme, Host: srv.Host, HasUserInfo: srv.HasUserInfo, Port: srv.Port}
			return nil
		}
	}
	if regChars {
		return nil
	}
	return ErrSyntax
}

func (x parser) server(out *URI, p, n int) (int, error) {
	s := x.s
	// userinfo: up to an '@' before any of "/?#"
	if at := strings.IndexByte(s[p:n], '@'); at >= 0 {
		if err := x.check(p, p+at, userinfo, true); err != nil {
			return 0, err
		}
		out.HasUserInfo = true
		p += at + 1
	}
	if p < n && s[p] == '[' {
		end := strings.IndexByte(s[p+1:n], ']')
		if end <= 0 {
			return 0, ErrSyntax
		}
		q := p + 1 + end
		addr := s[p+1 : q]
		if pct := strings.IndexByte(addr, '%'); pct >= 0 {
			if x.check(p+1+pct+1, q, scopeID, false) != nil || pct+1 == len(addr) {
				return 0, ErrSyntax
			}
			addr = addr[:pct]
		}
		if !validIPv6(addr) {
			return 0, ErrSyntax
		}
		out.Host = s[p : q+1]
		p = q + 1
	} else {
		q := x.ipv4(p, n)
		if q <= p {
			var err error
			if q, err = x.hostname(p, n); err != nil {
				return 0, err
			}
		}
		out.Host = s[p:q]
		p = q
	}
	if p < n && s[p] == ':' {
		p++
		q := x.scan(p, n, digit, false)
		if q > p {
			port, err := strconv.ParseInt(s[p:q], 10, 32)
			if err != nil {
				return 0, ErrSyntax
			}
			out.Port = int(port)
		}
		p = q
	}
	if p < n {
		return 0, ErrSyntax
	}
	return p, nil
}

// ipv4 mirrors parseIPv4Address: four dot-separated numbers of any length up to 255, followed by the
// end or ':'. It returns the index after the address, or -1.
func (x parser) ipv4(p, n int) int {
	s := x.s
	m := x.scan(p, n, digit+".", false)
	if m <= p {
		return -1
	}
	q := p
	for i := 0; i < 4; i++ {
		if i > 0 {
			if q >= m || s[q] != '.' {
				return -1
			}
			q++
		}
		e := x.scan(q, m, digit, false)
		if e <= q {
			return -1
		}
		v, err := strconv.ParseInt(s[q:e], 10, 32)
		if err != nil || v > 255 {
			return -1
		}
		q = e
	}
	if q < m {
		return -1
	}
	if q < n && s[q] != ':' {
		return -1
	}
	return q
}

// hostname mirrors parseHostname.
func (x parser) hostname(start, n int) (int, error) {
	s := x.s
	p, last := start, -1
	for {
		q := x.scan(p, n, alphanum, false)
		if q <= p {
			break
		}
		last, p = p, q
		q = x.scan(p, n, alphanum+"-", false)
		if q > p {
			if s[q-1] == '-' {
				return 0, ErrSyntax
			}
			p = q
		}
		if p < n && s[p] == '.' {
			p++
		} else {
			break
		}
		if p >= n {
			break
		}
	}
	if p < n && s[p] != ':' {
		return 0, ErrSyntax
	}
	if last < 0 {
		return 0, ErrSyntax
	}
	if last > start && !strings.ContainsRune(alpha, rune(s[last])) {
		return 0, ErrSyntax
	}
	return p, nil
}

func validIPv6(a string) bool {
	if a == "" || strings.ContainsAny(a, "%") {
		return false
	}
	ip, err := netip.ParseAddr(a)
	return err == nil && (ip.Is6() || ip.Is4In6())
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
