// Package jobsim is a BlueKing JOB simulator for tests and demos: the bk-apigateway in front of JOB's
// plugin endpoints, JOB's validation and error envelopes, its job/step/target state machine with rolling
// batches and callbacks, and targets that really run scripts on this machine (or produce scripted outcomes
// without processes). Everything follows JOB's source (TencentBlueKing/bk-job, job-execute and commons); where the
// plugin models JOB's rules, docs/CONFORMANCE.md lists the vectors recorded from JOB's own classes.
package jobsim

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Endpoint names a gateway resource under /api/v3/system/.
type Endpoint string

// The resources the simulator serves.
const (
	EPSubmit      Endpoint = "bkci_plugin_fast_execute_script"
	EPStatus      Endpoint = "bkci_plugin_get_job_instance_status"
	EPLogs        Endpoint = "bkci_plugin_batch_get_job_instance_execute_object_log"
	EPOperateJob  Endpoint = "operate_job_instance"
	EPOperateStep Endpoint = "operate_step_instance"
	EPList        Endpoint = "get_job_instance_list"
	// EPUnknown counts requests that matched no resource (answered 404 1640401).
	EPUnknown Endpoint = "unknown"
)

// Endpoints lists the served resources.
var Endpoints = []Endpoint{EPSubmit, EPStatus, EPLogs, EPOperateJob, EPOperateStep, EPList}

// Path is the resource path after the gateway prefix.
func (e Endpoint) Path() string { return "/api/v3/system/" + string(e) }

// Method is the resource's HTTP method.
func (e Endpoint) Method() string {
	if e == EPList {
		return http.MethodGet
	}
	return http.MethodPost
}

// DefaultPrefix is bk-apigateway's path for gateway bk-job, stage prod.
const DefaultPrefix = "/api/bk-job/prod"

// Options configure a simulator. Zero values are usable defaults unless noted.
type Options struct {
	// Prefix is the gateway prefix (default DefaultPrefix).
	Prefix string
	// Listen is the address Start listens on (default 127.0.0.1:0).
	Listen string
	// Apps maps bk_app_code to bk_app_secret; only these apps pass the gateway.
	Apps map[string]string
	// Grants lists, per app code, the endpoints it may call; nil grants every app every endpoint.
	Grants map[string][]Endpoint
	// MultiTenant requires a non-empty X-Bk-Tenant-Id header (else 401 with an empty body).
	MultiTenant bool
	// Inventory is the simulated CMDB/JOB data (default DemoInventory()).
	Inventory *Inventory
	// Exec runs targets: RealExec (default) or Synthetic.
	Exec Executor
	// StartDelay keeps a new job at status 1 for this long before it starts.
	StartDelay time.Duration
	// BatchGap keeps a rolling step at 15 (ROLLING_WAITING) this long between batches.
	BatchGap time.Duration
	// StopDelay keeps a terminated job at 10 (STOPPING) at least this long before 11.
	StopDelay time.Duration
	// StatusLag makes status reads show a finished job as running (job and step 2, no end time) for this
	// long after it ended, while its callback goes out at the end: a read served behind JOB's write.
	StatusLag time.Duration
	// RetryLag makes status reads show a retried step as it was before the retry (finished, with the
	// previous execute_count) for this long after the retry was accepted: a read served behind the
	// write JOB makes before it answers the retry request.
	RetryLag time.Duration
	// MaxTargets is JOB's script target limit (default 50000; more gives 1244022).
	MaxTargets int
	// MaxTimeout is the largest accepted timeout in seconds (default 259200).
	MaxTimeout int
	// ListMaxStart is the largest get_job_instance_list "start" accepted; above it the list answers
	// 1241010, as JOB does where its operator enabled job.execute.openapi v3GetJobInstanceList
	// startLimitEnabled (OpenApiProperties.java, maxStart 1000). Default 1000; negative: no limit.
	ListMaxStart int
	// LenientTypes applies Jackson's scalar coercions to request bodies ("123" for a number, 1 for true),
	// as real JOB does. By default JSON types must match JOB's field types, else 1240003.
	LenientTypes bool
	// EnforceViewPermission restricts status and logs to the job's operator and ViewHistoryUsers
	// (others get 9900403), as JOB's IAM does.
	EnforceViewPermission bool
	// ViewHistoryUsers may view every job when EnforceViewPermission is set.
	ViewHistoryUsers []string
	// DeniedUsers get 9900403 (with a permission block) when they submit.
	DeniedUsers []string
	// DangerousPatterns are regular expressions; a script matching one is refused with 1244019.
	DangerousPatterns []string
	// CallbackTimeout bounds each callback attempt (default 15s, JOB's).
	CallbackTimeout time.Duration
	// FirstJobID is the first job instance id (default 10001); step ids start at FirstJobID*10.
	FirstJobID int64
}

// Request is one recorded request.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	Query    url.Values
	Header   http.Header
	Body     []byte
	Endpoint Endpoint
	Call     int // per-endpoint call number, 1-based
	Status   int // HTTP status answered (0 when the connection was cut)
}

// Sim is a running JOB simulator. Its methods are safe for concurrent use.
type Sim struct {
	opts    Options
	idx     *index
	danger  []*dangerRule
	exec    runner
	closing chan struct{}

	mu         sync.Mutex
	jobs       map[int64]*job
	jobList    []*job
	nextJobID  int64
	nextStepID int64
	changed    chan struct{}
	counts     map[Endpoint]int
	requests   []Request
	faults     []Fault
	cbFaults   []CallbackFault
	cbCount    int
	callbacks  []CallbackRecord
	hold       func(Target) *Gate
	batchHold  func(jobID int64, batch int) *Gate
	grants     map[string]map[Endpoint]bool
	closed     bool
	bgMu       sync.Mutex
	bgClosed   bool
	bg         sync.WaitGroup
	srv        *http.Server
	ln         net.Listener
	baseURL    string
	httpClient *http.Client
}

// New builds a simulator; call Start to serve it. It fails on an invalid inventory or option.
func New(opts Options) (*Sim, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	opts.Prefix = "/" + strings.Trim(opts.Prefix, "/")
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Inventory == nil {
		opts.Inventory = DemoInventory()
	}
	if opts.Exec == nil {
		opts.Exec = RealExec{}
	}
	if opts.MaxTargets <= 0 {
		opts.MaxTargets = 50000
	}
	if opts.MaxTimeout <= 0 {
		opts.MaxTimeout = 259200
	}
	if opts.ListMaxStart == 0 {
		opts.ListMaxStart = 1000
	}
	if opts.CallbackTimeout <= 0 {
		opts.CallbackTimeout = 15 * time.Second
	}
	if opts.FirstJobID <= 0 {
		opts.FirstJobID = 10001
	}
	idx, err := newIndex(opts.Inventory)
	if err != nil {
		return nil, err
	}
	danger, err := compileDanger(opts.DangerousPatterns)
	if err != nil {
		return nil, err
	}
	s := &Sim{
		opts: opts, idx: idx, danger: danger, closing: make(chan struct{}),
		jobs: map[int64]*job{}, nextJobID: opts.FirstJobID, nextStepID: opts.FirstJobID * 10,
		changed: make(chan struct{}), counts: map[Endpoint]int{},
		httpClient: &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}, // JOB trusts self-signed callback certificates
	}
	if opts.Grants != nil {
		s.grants = map[string]map[Endpoint]bool{}
		for app, eps := range opts.Grants {
			s.setGrantsLocked(app, eps)
		}
	}
	s.exec = opts.Exec.newRunner(s)
	return s, nil
}

// Start listens on Options.Listen and serves; it returns the base URL including the gateway prefix,
// e.g. http://127.0.0.1:41234/api/bk-job/prod.
func (s *Sim) Start() (string, error) {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.baseURL = "http://" + ln.Addr().String() + s.opts.Prefix
	base := s.baseURL
	s.mu.Unlock()
	srv := s.srv
	s.goBG(func() { _ = srv.Serve(ln) })
	return base, nil
}

// URL returns the base URL (empty before Start).
func (s *Sim) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Close stops serving, kills running targets, stops callbacks and removes temporary directories.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	srv := s.srv
	for _, j := range s.jobList {
		if j.cancel != nil {
			j.cancel()
		}
	}
	s.mu.Unlock()
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if e := srv.Shutdown(ctx); e != nil {
			err = errors.Join(err, srv.Close())
		}
	}
	s.exec.close()
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	s.bg.Wait()
	return err
}

// SetGrants replaces the endpoints an app may call (turning on grant checks for all apps).
func (s *Sim) SetGrants(app string, eps ...Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants == nil {
		s.grants = map[string]map[Endpoint]bool{}
		for code := range s.opts.Apps {
			s.setGrantsLocked(code, Endpoints)
		}
	}
	s.setGrantsLocked(app, eps)
}

func (s *Sim) setGrantsLocked(app string, eps []Endpoint) {
	m := map[Endpoint]bool{}
	for _, e := range eps {
		m[e] = true
	}
	s.grants[app] = m
}

func (s *Sim) route(method, path string) (Endpoint, bool) {
	rest, ok := strings.CutPrefix(path, s.opts.Prefix)
	if !ok {
		return EPUnknown, false
	}
	for _, e := range Endpoints {
		if rest == e.Path() && method == e.Method() {
			return e, true
		}
	}
	return EPUnknown, false
}

// statusWriter records the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	return hj.Hijack()
}

// reqCtx is a request that passed the gateway.
type reqCtx struct {
	r         *http.Request
	body      []byte
	user      string
	app       string
	en        bool
	requestID string
}

// ServeHTTP implements http.Handler: gateway checks, faults, then JOB.
func (s *Sim) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	gwID := newRequestID()
	w.Header().Set("X-Bkapi-Request-Id", gwID)
	body, err := io.ReadAll(io.LimitReader(r.Body, gatewayMaxBodySize+1))
	if err != nil {
		body = nil
	}
	ep, known := s.route(r.Method, r.URL.Path)

	s.mu.Lock()
	s.counts[ep]++
	call := s.counts[ep]
	recIdx := len(s.requests)
	s.requests = append(s.requests, Request{
		Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body, Endpoint: ep, Call: call,
	})
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.requests[recIdx].Status = w.status
		s.mu.Unlock()
	}()

	if len(body) > gatewayMaxBodySize {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, GWBodyTooLarge, "BODY_SIZE_LIMIT_EXCEED", "Request body size too large.")
		return
	}
	if !known {
		writeGatewayError(w, http.StatusNotFound, GWAPINotFound, "API_NOT_FOUND",
			fmt.Sprintf("API not found [method=%q path=%q]", r.Method, r.URL.Path))
		return
	}
	delay, fault := s.pickFault(ep, call)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.closing:
			t.Stop()
		}
	}
	jobRequestID := newRequestID()
	if fault != nil && s.applyPreFault(w, fault, jobRequestID) {
		return
	}
	rc, ok := s.gateway(w, r, ep, body, jobRequestID)
	if !ok {
		return
	}
	if fault != nil {
		buf := newBufferedResponse()
		s.dispatch(buf, rc, ep)
		s.applyPostFault(w, fault, buf)
		return
	}
	s.dispatch(w, rc, ep)
}

// gateway applies bk-apigateway's app checks and job-gateway's tenant and user checks.
func (s *Sim) gateway(w http.ResponseWriter, r *http.Request, ep Endpoint, body []byte, jobRequestID string) (*reqCtx, bool) {
	var auth map[string]any
	if h := r.Header.Get("X-Bkapi-Authorization"); h != "" {
		if err := json.Unmarshal([]byte(h), &auth); err != nil {
			auth = nil
		}
	}
	str := func(k string) string {
		v, _ := auth[k].(string)
		return v
	}
	app, secret := str("bk_app_code"), str("bk_app_secret")
	switch {
	case app == "":
		gatewayInvalidArgs(w, "app code cannot be empty")
		return nil, false
	case len(app) > 32:
		gatewayInvalidArgs(w, "app code cannot be longer than 32 characters")
		return nil, false
	case secret == "":
		gatewayInvalidArgs(w, "please provide bk_app_secret or bk_signature to verify app")
		return nil, false
	}
	s.mu.Lock()
	want, known := s.opts.Apps[app]
	granted := s.grants == nil || s.grants[app][ep]
	s.mu.Unlock()
	if !known || want != secret {
		gatewayInvalidArgs(w, "bk_app_code or bk_app_secret is incorrect")
		return nil, false
	}
	if !granted {
		writeGatewayError(w, http.StatusForbidden, GWAppNoPermission, "APP_NO_PERMISSION", "App has no permission to the resource")
		return nil, false
	}
	if s.opts.MultiTenant && strings.TrimSpace(r.Header.Get("X-Bk-Tenant-Id")) == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false
	}
	user := str("bk_username")
	if h := r.Header.Get("X-Bk-Username"); h != "" {
		user = h
	}
	lang := strings.ToLower(r.Header.Get("Blueking-Language"))
	rc := &reqCtx{r: r, body: body, user: user, app: app, en: strings.HasPrefix(lang, "en"), requestID: jobRequestID}
	if user == "" {
		e := jobErr(CodeMissingUser)
		writeJSON(w, http.StatusUnauthorized, jobEnvelope{Code: e.code, RequestID: jobRequestID, Message: e.message(rc.en)})
		return nil, false
	}
	return rc, true
}

func (s *Sim) dispatch(w http.ResponseWriter, rc *reqCtx, ep Endpoint) {
	var data any
	var aerr *apiError
	if ep.Method() == http.MethodPost && !isJSONContentType(rc.r.Header.Get("Content-Type")) {
		aerr = badRequest()
	} else {
		switch ep {
		case EPSubmit:
			data, aerr = s.handleSubmit(rc)
		case EPStatus:
			data, aerr = s.handleStatus(rc)
		case EPLogs:
			data, aerr = s.handleLogs(rc)
		case EPOperateJob:
			data, aerr = s.handleOperateJob(rc)
		case EPOperateStep:
			data, aerr = s.handleOperateStep(rc)
		case EPList:
			data, aerr = s.handleList(rc)
		}
	}
	if aerr != nil {
		writeJSON(w, http.StatusOK, jobEnvelope{Code: aerr.code, RequestID: rc.requestID, Message: aerr.message(rc.en), Permission: aerr.permission})
		return
	}
	writeJSON(w, http.StatusOK, jobEnvelope{Code: CodeOK, Result: true, RequestID: rc.requestID, Data: data})
}

func isJSONContentType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// notify wakes waiters; s.mu must be held.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// goBG runs f in a goroutine that Close waits for; after Close it does nothing.
func (s *Sim) goBG(f func()) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f()
	}()
}

// after runs f after d (or at once) in a tracked goroutine, unless the simulator closes first.
func (s *Sim) after(d time.Duration, f func()) {
	s.goBG(func() {
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-s.closing:
				return
			}
		}
		f()
	})
}

func nowMillis() int64 { return time.Now().UnixMilli() }
