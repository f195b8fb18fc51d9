// Package jobapi is the client of the BlueKing JOB gateway (bk-apigateway, gateway "bk-job") used by
// the plugin: submit a script job, read its status and logs, terminate it, operate a step and find a
// job again by name. Every call goes through one request path with the same headers, a bounded body
// read, one typed error (*Error) and a retry policy suited to the call.
package jobapi

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults applied by New to zero Config values.
const (
	DefaultRequestTimeout    = 30 * time.Second
	DefaultLogRequestTimeout = 60 * time.Second
	DefaultLanguage          = "zh-cn"
	DefaultUserAgent         = "jobFastExecuteScript"
	DefaultAttempts          = 6
	DefaultSubmitAttempts    = 60
	DefaultSubmitWindow      = time.Minute
	DefaultQuotaWindow       = 10 * time.Minute
	DefaultBaseDelay         = 200 * time.Millisecond
	DefaultMaxDelay          = 5 * time.Second
	DefaultMaxRetryAfter     = 30 * time.Second

	// MaxBodyBytes bounds a response body; a larger body is an unreadable answer. A status answer
	// with the results of JOB's maximum of 50,000 targets takes about 20 MB.
	MaxBodyBytes = 64 << 20
	// MaxLogBodyBytes bounds a log response body.
	MaxLogBodyBytes = 64 << 20
)

// Resource paths, appended to Config.BaseURL.
const (
	PathFastExecuteScript   = "/api/v3/system/bkci_plugin_fast_execute_script"
	PathGetJobStatus        = "/api/v3/system/bkci_plugin_get_job_instance_status"
	PathBatchGetObjectLog   = "/api/v3/system/bkci_plugin_batch_get_job_instance_execute_object_log"
	PathOperateJobInstance  = "/api/v3/system/operate_job_instance"
	PathOperateStepInstance = "/api/v3/system/operate_step_instance"
	PathGetJobInstanceList  = "/api/v3/system/get_job_instance_list"
)

// RetryPolicy controls retries. Zero fields take the defaults; negative ones are rejected by New.
type RetryPolicy struct {
	Attempts       int           // total attempts of status, logs, list, terminate, operate-step calls (default 6; 1 = no retry)
	SubmitAttempts int           // total attempts of a submit whose failures provably never reached JOB (default 60; SubmitWindow bounds them first)
	SubmitWindow   time.Duration // a submit that never reached JOB is retried while less than this has passed since its first attempt (default 1 minute)
	QuotaWindow    time.Duration // a submit JOB refused under its running-job quota (1244032–1244034) is retried for this long (default 10 minutes)
	BaseDelay      time.Duration // backoff base (default 200ms); the n-th wait is random in [0, min(MaxDelay, BaseDelay·2^(n-1))]
	MaxDelay       time.Duration // backoff ceiling (default 5s)
	MaxRetryAfter  time.Duration // cap on a server-requested wait (Retry-After, rate-limit reset; default 30s)
}

// Config configures a Client. BaseURL, AppCode, AppSecret and Username are required.
type Config struct {
	BaseURL           string        // gateway base, e.g. https://bkapi.example.com/api/bk-job/prod; resource paths are appended
	AppCode           string        // bk_app_code
	AppSecret         string        // bk_app_secret; never logged nor put into errors
	Username          string        // bk_username, the operator of every call
	TenantID          string        // sent as X-Bk-Tenant-Id when set
	Language          string        // Blueking-Language: "zh-cn" (default) or "en"
	UserAgent         string        // e.g. "jobFastExecuteScript/1.0.0" (default "jobFastExecuteScript")
	CACertPEM         string        // PEM certificates trusted in addition to the system roots
	HTTPClient        *http.Client  // optional (tests); cannot be combined with CACertPEM
	RequestTimeout    time.Duration // per attempt (default 30s)
	LogRequestTimeout time.Duration // per attempt of a log read (default 60s)
	Retry             RetryPolicy   // retry policy
	// OnRetry, when set, is called after each failed attempt that will be retried, with the 1-based
	// attempt number, its error and the wait before the next attempt. Log it as "attempt n failed".
	OnRetry func(op string, attempt int, err error, wait time.Duration)
	// Redact, when set, masks the caller's secrets (the sensitive parameters) in every text from
	// outside that an *Error carries: JOB's message, the gateway's code name and headers, a body's
	// snippet. It runs on the raw text, before the client cuts it or puts it on one line. The app
	// secret is masked whether or not Redact is set.
	Redact func(string) string
}

// String describes the configuration without the app secret.
func (c Config) String() string {
	return fmt.Sprintf("jobapi.Config{BaseURL:%q AppCode:%q Username:%q TenantID:%q Language:%q AppSecret:***}",
		c.BaseURL, c.AppCode, c.Username, c.TenantID, c.Language)
}

// GoString is String, so that %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// Client calls the JOB gateway. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	hc         *http.Client
	auth       string // X-Bkapi-Authorization value (contains the secret)
	userAgent  string
	language   string
	tenantID   string
	timeout    time.Duration
	logTimeout time.Duration
	retry      RetryPolicy
	onRetry    func(op string, attempt int, err error, wait time.Duration)
	scrub      scrubber
	maxBody    int64
	maxLogBody int64
	now        func() time.Time
}

// String describes the client without credentials.
func (c *Client) String() string { return "jobapi.Client{" + c.base.String() + "}" }

// GoString is String, so that %#v does not print the credentials.
func (c *Client) GoString() string { return c.String() }

// New validates cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	var errs []error
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct{ name, v string }{
		{"app code", cfg.AppCode}, {"app secret", cfg.AppSecret}, {"username", cfg.Username},
	} {
		if strings.TrimSpace(f.v) == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	lang := strings.ToLower(strings.TrimSpace(cfg.Language))
	switch lang {
	case "":
		lang = DefaultLanguage
	case "zh-cn", "en":
	default:
		errs = append(errs, fmt.Errorf("language %q is not \"zh-cn\" or \"en\"", cfg.Language))
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	if !validHeaderValue(ua) {
		errs = append(errs, errors.New("user agent contains control characters"))
	}
	if !validHeaderValue(cfg.TenantID) {
		errs = append(errs, errors.New("tenant id contains control characters"))
	}
	timeout, err := durationOr("request timeout", cfg.RequestTimeout, DefaultRequestTimeout)
	errs = appendErr(errs, err)
	logTimeout, err := durationOr("log request timeout", cfg.LogRequestTimeout, DefaultLogRequestTimeout)
	errs = appendErr(errs, err)
	rp, err := normalizeRetry(cfg.Retry)
	errs = appendErr(errs, err)

	var hc *http.Client
	switch {
	case cfg.HTTPClient != nil && cfg.CACertPEM != "":
		errs = append(errs, errors.New("CA certificates cannot be combined with a custom HTTP client"))
	case cfg.HTTPClient != nil:
		cp := *cfg.HTTPClient
		hc = &cp
	default:
		pool, err := rootPool(cfg.CACertPEM)
		if err != nil {
			errs = append(errs, err)
		} else {
			hc = &http.Client{Transport: newTransport(pool)}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("jobapi config: %w", errors.Join(errs...))
	}
	// Never follow redirects: they would carry X-Bkapi-Authorization (secret) to wherever they point
	// and could replay a submit.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	return &Client{
		base:       base,
		hc:         hc,
		auth:       authHeader(cfg.AppCode, cfg.AppSecret, cfg.Username),
		userAgent:  ua,
		language:   lang,
		tenantID:   strings.TrimSpace(cfg.TenantID),
		timeout:    timeout,
		logTimeout: logTimeout,
		retry:      rp,
		onRetry:    cfg.OnRetry,
		scrub:      scrubber{secret: cfg.AppSecret, redact: cfg.Redact},
		maxBody:    MaxBodyBytes,
		maxLogBody: MaxLogBodyBytes,
		now:        time.Now,
	}, nil
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// parseBaseURL accepts an absolute http(s) URL without credentials, query or fragment.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("base URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("base URL is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("base URL must start with http:// or https://")
	case u.Host == "":
		return nil, errors.New("base URL has no host")
	case u.User != nil:
		return nil, errors.New("base URL must not contain credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("base URL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func durationOr(name string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("%s is negative", name)
	case d == 0:
		return def, nil
	}
	return d, nil
}

func normalizeRetry(p RetryPolicy) (RetryPolicy, error) {
	if p.Attempts < 0 || p.SubmitAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0 || p.SubmitWindow < 0 || p.QuotaWindow < 0 {
		return p, errors.New("retry policy has a negative value")
	}
	if p.Attempts == 0 {
		p.Attempts = DefaultAttempts
	}
	if p.SubmitAttempts == 0 {
		p.SubmitAttempts = DefaultSubmitAttempts
	}
	if p.SubmitWindow == 0 {
		p.SubmitWindow = DefaultSubmitWindow
	}
	if p.QuotaWindow == 0 {
		p.QuotaWindow = DefaultQuotaWindow
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	p.MaxDelay = max(p.MaxDelay, p.BaseDelay)
	return p, nil
}

// validHeaderValue rejects control characters (CR/LF injection included).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// authHeader builds the X-Bkapi-Authorization JSON. Non-ASCII characters are \u-escaped so that the
// header stays plain ASCII.
func authHeader(code, secret, user string) string {
	b, err := json.Marshal(struct {
		AppCode   string `json:"bk_app_code"`
		AppSecret string `json:"bk_app_secret"`
		Username  string `json:"bk_username"`
	}{code, secret, user})
	if err != nil {
		// Marshalling three strings cannot fail; keep the header well-formed anyway.
		return "{}"
	}
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			sb.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := surrogates(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

// rootPool returns nil (system roots) without extra PEM, else the system pool plus the given
// certificates. Any unparsable certificate block, or no certificate at all, is an error.
func rootPool(pemText string) (*x509.CertPool, error) {
	if strings.TrimSpace(pemText) == "" {
		return nil, nil
	}
	var certs []*x509.Certificate
	rest := []byte(pemText)
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("CA PEM block %d is a %q, not a CERTIFICATE", n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA PEM block %d: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("CA PEM contains no certificate")
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// newTransport is the production transport: proxy from the environment, bounded dial and TLS
// handshake, keep-alives and enough idle connections per host for concurrent log reads.
func newTransport(pool *x509.CertPool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool},
	}
}

// endpointURL joins the base URL, a resource path and a query.
func (c *Client) endpointURL(path string, query url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	return u.String()
}

// scopeFields is the scope part of every JSON request.
type scopeFields struct {
	ScopeType string `json:"bk_scope_type"`
	ScopeID   string `json:"bk_scope_id"`
}

func checkScope(op string, s Scope) error {
	if strings.TrimSpace(s.Type) == "" || strings.TrimSpace(s.ID) == "" {
		return argError(op, "scope type and id are required")
	}
	return nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
