// Package bench measures what users of the plugin feel, end to end: the real binary (built and run
// the way BK-CI's agent runs it, tooling/agent) against the in-process JOB simulator
// (tooling/jobsim, on 127.0.0.1), side by side with today's baseline policy (ci-executeJobScript's
// fixed 2-second poll, see Baseline) run by the same harness against the same simulator.
//
// Times are taken from one clock: the simulator records when a job ended (JobSnapshot.Ended) and every
// request's arrival, and the harness records when the plugin process started and exited, all with
// time.Now in this process. Peak RSS is the exited process's ru_maxrss (wait4).
//
// The table of a full run is printed by `go run ./cmd/bench`; BENCHMARKS.md records one.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/jobsim"
)

const (
	appCode   = "bkci-bench"
	appSecret = "bench-app-secret-not-for-production"
	bizID     = 2
	// smallFirstID is the first host id of the pool that small jobs draw their hosts from; the large
	// fleet has ids 1..LargeTargets.
	smallFirstID = 1_000_001
	smallPool    = 4000
	smallHosts   = 3
)

// Options configure a Harness.
type Options struct {
	// Binary is a prebuilt plugin; empty means build one (stripped, as released) into a temporary dir.
	Binary string
	// LargeTargets is the size of the large fleet (default 30000).
	LargeTargets int
	// Log receives progress lines (nil discards them).
	Log io.Writer
	// ProfileDir, when set, makes every plugin run write a CPU profile and an allocation profile there
	// (<run>.cpu.pprof, <run>.allocs.pprof; see JOBFAST_CPUPROFILE in main.go).
	ProfileDir string
}

// Harness owns the simulator, the built binary and the per-target outcomes of the jobs it starts.
type Harness struct {
	// Binary is the plugin binary every run places in its data dir, as the agent does.
	Binary string
	// Sim is the JOB simulator every run (plugin and baseline) talks to.
	Sim *jobsim.Sim

	opts Options
	root string // the module root: the go.mod directory above the working directory
	// form is task.json's form: the runs' fields are the step's saved inputs, as BK-CI's worker puts
	// them into input.json (only the build variables become environment variables).
	form    *agent.Form
	tmp     string
	runs    atomic.Int64
	mu      sync.Mutex
	small   int                 // next free host of the small pool
	specs   map[int64]*Job      // small host id → the job it belongs to
	large   atomic.Pointer[Job] // the job the large fleet currently runs
	logMu   sync.Mutex
	logOut  io.Writer
	timeBin string // GNU time, when present: measures the plugin's peak RSS
}

// New builds the plugin (unless opts.Binary is set), starts the simulator and returns the harness.
func New(ctx context.Context, opts Options) (*Harness, error) {
	if opts.LargeTargets <= 0 {
		opts.LargeTargets = 30000
	}
	h := &Harness{opts: opts, specs: map[int64]*Job{}, logOut: opts.Log}
	if h.logOut == nil {
		h.logOut = io.Discard
	}
	tmp, err := os.MkdirTemp("", "jobfast-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	h.tmp = tmp
	wd, err := os.Getwd()
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("working dir: %w", err)
	}
	if h.root, err = agent.ModuleRoot(wd); err != nil {
		h.Close()
		return nil, err
	}
	if h.form, err = agent.LoadForm(h.root); err != nil {
		h.Close()
		return nil, err
	}
	h.Binary = opts.Binary
	if h.Binary == "" {
		h.logf("building the plugin (stripped, -trimpath -ldflags=-s -w)")
		if h.Binary, err = agent.Build(ctx, h.root, tmp, "-ldflags", "-s -w"); err != nil {
			h.Close()
			return nil, err
		}
	}
	h.timeBin = gnuTime(ctx)
	sim, err := jobsim.New(jobsim.Options{
		Apps:      map[string]string{appCode: appSecret},
		Inventory: h.inventory(),
		// Every target of a job runs at once, as GSE runs them (the fail-fast scenario's targets run
		// for minutes).
		Exec: jobsim.SyntheticExec{Outcome: h.outcome, MaxConcurrency: max(512, h.opts.LargeTargets)},
	})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("simulator: %w", err)
	}
	h.Sim = sim
	if _, err := sim.Start(); err != nil {
		h.Close()
		return nil, fmt.Errorf("simulator: %w", err)
	}
	return h, nil
}

// RSSMethod says how peak RSS is measured.
func (h *Harness) RSSMethod() string {
	if h.timeBin != "" {
		return "ru_maxrss of the plugin process, reported by GNU time (" + h.timeBin + ") which starts it"
	}
	return "VmHWM of /proc/<pid>/status, sampled every 2 ms until the plugin exits (GNU time not found)"
}

// gnuTime returns the path of GNU time, or "" when there is none.
func gnuTime(ctx context.Context) string {
	const p = "/usr/bin/time"
	out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "GNU") {
		return ""
	}
	return p
}

// sampleHWM reads VmHWM (KiB) of pid every 2 ms into hwm until stop closes or the process is gone.
func sampleHWM(pid int, hwm *atomic.Int64, stop <-chan struct{}) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				if kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil && kib<<10 > hwm.Load() {
					hwm.Store(kib << 10)
				}
			}
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// Close stops the simulator and removes the temporary files.
func (h *Harness) Close() error {
	var errs []error
	if h.Sim != nil {
		errs = append(errs, h.Sim.Close())
	}
	if h.tmp != "" {
		errs = append(errs, os.RemoveAll(h.tmp))
	}
	return errors.Join(errs...)
}

func (h *Harness) logf(format string, args ...any) {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	fmt.Fprintf(h.logOut, time.Now().Format("15:04:05")+" "+format+"\n", args...)
}

// inventory is business 2 with the large fleet (ids 1..LargeTargets, 10.0.0.1 up) and a pool of small
// hosts (10.250.x.y), and the account root.
func (h *Harness) inventory() *jobsim.Inventory {
	hosts := jobsim.FakeHosts(bizID, 1, h.opts.LargeTargets)
	for i := range smallPool {
		hosts = append(hosts, jobsim.Host{ID: smallFirstID + int64(i), BizID: bizID,
			IP: fmt.Sprintf("10.250.%d.%d", (i+1)>>8, (i+1)&255), AgentID: fmt.Sprintf("0:small%d", i)})
	}
	return &jobsim.Inventory{
		Bizs:     []jobsim.Biz{{ID: bizID, Name: "bench"}},
		Hosts:    hosts,
		Accounts: []jobsim.Account{{ID: 1, Alias: "root", Account: "root", BizID: bizID}},
	}
}

// Job describes one job to run: its targets and what they do in the simulator, and how the step waits.
type Job struct {
	// Large runs the job on the whole large fleet (Options.LargeTargets hosts) instead of 3 small hosts.
	Large bool
	// Duration is how long each target runs.
	Duration time.Duration
	// LogSize is each target's log size in bytes (large jobs); small jobs print one line per target.
	LogSize int
	// FailEvery makes one target in FailEvery fail with exit code 1 (0: none fail).
	FailEvery int
	// Wait is the wait mode: "poll" (default) or "callback".
	Wait string
	// ExtractVars turns the variable extraction on (every log is then read).
	ExtractVars bool
	// FailureTolerance is the form's failureTolerance (default "0").
	FailureTolerance string
	// FailFast is the form's failFast.
	FailFast bool
	// FailAt is when the failing targets (FailEvery) end, instead of Duration (0: Duration).
	FailAt time.Duration

	hosts []string // the hosts field entries, set by assign
}

// logPattern is a large job's log line; the repeated set-output line gives the extractor work without
// conflicts (every target sets the same value).
const logPattern = "{label} deploy step ok: the quick brown fox jumps over the lazy dog 0123456789\n" +
	"::set-output name=bench_version::1.2.3\n"

func (h *Harness) outcome(t jobsim.Target) jobsim.Outcome {
	var j *Job
	if t.HostID < smallFirstID {
		j = h.large.Load()
	} else {
		h.mu.Lock()
		j = h.specs[t.HostID]
		h.mu.Unlock()
	}
	if j == nil {
		return jobsim.Outcome{}
	}
	o := jobsim.Outcome{Duration: j.Duration}
	if j.FailEvery > 0 && t.HostID%int64(j.FailEvery) == 0 {
		o.ExitCode = 1
		if j.FailAt > 0 {
			o.Duration = j.FailAt
		}
	}
	if j.Large && j.LogSize > 0 {
		o.LogSize, o.LogPattern = j.LogSize, logPattern
	} else {
		o.Log = "hello from " + t.Label + "\n"
	}
	return o
}

// assign gives the job its hosts: the large fleet, or 3 fresh hosts of the small pool.
func (h *Harness) assign(j *Job) error {
	if j.Large {
		h.large.Store(j)
		j.hosts = make([]string, h.opts.LargeTargets)
		for i, host := range jobsim.FakeHosts(bizID, 1, h.opts.LargeTargets) {
			j.hosts[i] = "0:" + host.IP
		}
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.small+smallHosts > smallPool {
		return errors.New("small host pool exhausted")
	}
	j.hosts = nil
	for range smallHosts {
		i := h.small
		h.small++
		h.specs[smallFirstID+int64(i)] = j
		j.hosts = append(j.hosts, fmt.Sprintf("0:10.250.%d.%d", (i+1)>>8, (i+1)&255))
	}
	return nil
}

// Run is what one run (of the plugin or of the baseline) did, on the harness's clock.
type Run struct {
	Policy   string // "plugin" or "baseline"
	User     string // bk_username of its requests (unique per run)
	JobID    int64
	ExitCode int // plugin only
	Output   gjson.Result

	Start         time.Time // process start (plugin) or submit start (baseline)
	FirstRequest  time.Time // arrival of its first request at the simulator
	JobStarted    time.Time // JobSnapshot.Started (ms precision)
	JobEnded      time.Time // JobSnapshot.Ended (ms precision)
	Detected      time.Time // arrival of its first status request at or after JobEnded
	Exited        time.Time // plugin process exit as the agent saw it (cmd.Wait returned)
	OutputWritten time.Time // output.json modification time (plugin only)

	Requests   map[jobsim.Endpoint]int // requests per endpoint
	LogObjects int                     // execute objects asked for over all log requests
	MaxRSS     int64                   // peak resident set size in bytes (plugin only)
	Stdout     string                  // plugin only
	Stderr     string                  // plugin only
}

// EndToExit is job end → process exit.
func (r *Run) EndToExit() time.Duration { return r.Exited.Sub(r.JobEnded) }

// EndToDetect is job end → the status request that saw it.
func (r *Run) EndToDetect() time.Duration { return r.Detected.Sub(r.JobEnded) }

// EndToOutput is job end → output.json written.
func (r *Run) EndToOutput() time.Duration { return r.OutputWritten.Sub(r.JobEnded) }

// StartToFirstRequest is process start → the first request to JOB.
func (r *Run) StartToFirstRequest() time.Duration { return r.FirstRequest.Sub(r.Start) }

// RunPlugin runs the plugin binary for j as BK-CI's agent would and measures it.
func (h *Harness) RunPlugin(ctx context.Context, j Job) (*Run, error) {
	if err := h.assign(&j); err != nil {
		return nil, err
	}
	n := h.runs.Add(1)
	user := fmt.Sprintf("bench-p%05d", n)
	dir := filepath.Join(h.tmp, fmt.Sprintf("run-%05d", n))
	ws := filepath.Join(dir, "ws")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := map[string]any{
		"scopeType": "biz", "scopeId": fmt.Sprint(bizID), "scriptSource": "inline", "scriptLanguage": "1",
		"scriptContent": "#!/bin/bash\necho \"deploying on $(hostname)\"\n", "timeout": "3600",
		"accountAlias": "root", "hosts": strings.Join(j.hosts, "\n"), "wait": orDefault(j.Wait, "poll"),
		"onCancel": "terminate", "operator": "lastModifier", "failureTolerance": orDefault(j.FailureTolerance, "0"),
		"logMode": "auto", "extractVars": fmt.Sprint(j.ExtractVars), "dryRun": "false", "rollingEnabled": "false",
		"failFast":           fmt.Sprint(j.FailFast),
		"BK_CI_PROJECT_NAME": "bench", "BK_CI_PIPELINE_ID": "p-bench", "BK_CI_PIPELINE_NAME": "bench",
		"BK_CI_BUILD_ID": fmt.Sprintf("b-%05d", n), "BK_CI_BUILD_NUM": fmt.Sprint(n), "BK_CI_START_USER_ID": user,
		"BK_CI_PIPELINE_UPDATE_USER": user, "BK_CI_BUILD_TASK_ID": fmt.Sprintf("e-%05d", n), "BK_CI_ATOM_TIMEOUT": "60",
		"BK_CI_LOCALE_LANGUAGE": "en_US", "bkWorkspace": ws,
		"bkSensitiveConfInfo": map[string]any{"BK_JOB_API_URL": h.Sim.URL(), "BK_APP_CODE": appCode,
			"BK_APP_SECRET": appSecret, "BK_JOB_WEB_URL": "https://job.example.com"},
	}
	if j.Wait == "callback" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		in["callbackListen"] = fmt.Sprintf("127.0.0.1:%d", port)
		in["callbackBaseUrl"] = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	env := map[string]string{"BK_CI_LOCALE_LANGUAGE": "en_US"}
	if d := h.opts.ProfileDir; d != "" {
		env["JOBFAST_CPUPROFILE"] = filepath.Join(d, user+".cpu.pprof")
		env["JOBFAST_MEMPROFILE"] = filepath.Join(d, user+".allocs.pprof")
	}
	step := &agent.Step{Binary: h.Binary, DataDir: filepath.Join(dir, "data"), Workspace: ws, Form: h.form, Input: in, Env: env}
	cmd, stdout, stderr, err := step.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	rssFile := filepath.Join(dir, "maxrss")
	if h.timeBin != "" {
		// ru_maxrss of a child forked from this (large) process counts this process's RSS too (Linux
		// keeps the pre-exec high-water mark), so GNU time, a small process, starts the plugin and
		// reports the plugin's own ru_maxrss. Its own cost is one more exec (about 1 ms).
		cmd.Args = append([]string{h.timeBin, "-f", "%M", "-o", rssFile, cmd.Path}, cmd.Args[1:]...)
		cmd.Path = h.timeBin
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the plugin: %w", err)
	}
	var hwm atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if h.timeBin == "" {
			sampleHWM(cmd.Process.Pid, &hwm, stopSampling)
		}
	}()
	res, err := step.Wait(cmd, stdout, stderr, start)
	exited := time.Now()
	close(stopSampling)
	<-sampled
	if err != nil {
		return nil, fmt.Errorf("run the plugin: %w", err)
	}
	r := &Run{Policy: "plugin", User: user, ExitCode: res.ExitCode, Start: start, Exited: exited, Stdout: res.Stdout,
		Stderr: res.Stderr, MaxRSS: hwm.Load()}
	if h.timeBin != "" {
		b, err := os.ReadFile(rssFile)
		if err != nil {
			return r, fmt.Errorf("run %s: peak RSS: %w", user, err)
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(lastLines(string(b), 1)), 10, 64)
		if err != nil {
			return r, fmt.Errorf("run %s: peak RSS %q: %w", user, b, err)
		}
		r.MaxRSS = kib << 10
	}
	if fi, err := os.Stat(filepath.Join(step.DataDir, "output.json")); err == nil {
		r.OutputWritten = fi.ModTime()
	}
	if !gjson.ValidBytes(res.Output) {
		return r, fmt.Errorf("run %s: output.json missing or invalid (exit %d)\nstderr: %s\nstdout tail: %s", user,
			res.ExitCode, res.Stderr, lastLines(res.Stdout, 20))
	}
	r.Output = gjson.ParseBytes(res.Output)
	r.JobID = r.Output.Get("data.job_instance_id.value").Int()
	if err := h.collect(r); err != nil {
		return r, err
	}
	return r, nil
}

// collect fills the job's times and the run's requests from the simulator's records.
func (h *Harness) collect(r *Run) error {
	var snap *jobsim.JobSnapshot
	for _, s := range h.Sim.Jobs() {
		if s.ID == r.JobID {
			snap = &s
			break
		}
	}
	if snap == nil {
		return fmt.Errorf("run %s: job %d unknown to the simulator", r.User, r.JobID)
	}
	if !jobsim.IsFinished(snap.Status) {
		return fmt.Errorf("run %s: job %d not finished (status %d)", r.User, r.JobID, snap.Status)
	}
	r.JobStarted, r.JobEnded = snap.Started, snap.Ended
	r.Requests = map[jobsim.Endpoint]int{}
	for _, q := range h.Sim.Requests() {
		if requestUser(q) != r.User {
			continue
		}
		if r.FirstRequest.IsZero() {
			r.FirstRequest = q.Time
		}
		r.Requests[q.Endpoint]++
		switch q.Endpoint {
		case jobsim.EPStatus:
			if r.Detected.IsZero() && !q.Time.Before(r.JobEnded) {
				r.Detected = q.Time
			}
		case jobsim.EPLogs:
			r.LogObjects += int(gjson.GetBytes(q.Body, "execute_object_list.#").Int())
		}
	}
	if r.Detected.IsZero() {
		return fmt.Errorf("run %s: no status request after the job ended", r.User)
	}
	return nil
}

// requestUser reads bk_username from a recorded request's X-Bkapi-Authorization header.
func requestUser(q jobsim.Request) string {
	var auth struct {
		User string `json:"bk_username"`
	}
	if json.Unmarshal([]byte(q.Header.Get("X-Bkapi-Authorization")), &auth) != nil {
		return ""
	}
	return auth.User
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
