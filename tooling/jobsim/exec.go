package jobsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MaxLogBytes is GSE's cap on one target's script output (5 MB); output beyond it is dropped.
const MaxLogBytes = 5 << 20

// Target is one execute object of a job, as given to executors, hold functions and snapshots.
type Target struct {
	JobID        int64
	StepID       int64
	Index        int // position among the job's targets (rolling order)
	Batch        int // 1-based rolling batch (1 without rolling)
	ExecuteCount int
	Kind         TargetKind
	ResourceID   string // bk_host_id or the CMDB container id
	Label        string // "0:10.0.0.1", "0:[fd00::1]", "host:101" or "container:main@10001"
	HostID       int64  // host, or the container's node host
	CloudID      int64
	IP           string
	IPv6         string
	ContainerID  int64  // CMDB container id
	ContainerUID string // runtime container id (container_id)
	Container    string // container name
	Pod          string
	Namespace    string
	ClusterUID   string
	AgentDown    bool
}

// TargetKind is JOB's execute object type.
type TargetKind int

// Execute object types.
const (
	TargetHost      TargetKind = 1
	TargetContainer TargetKind = 2
)

// Outcome is a synthetic target result. Status 0 means "derive": 9 when ExitCode is 0, else 104.
// The log is Log, or (when Log is empty and LogSize > 0) LogPattern repeated to LogSize bytes, generated
// when read; "{label}" in LogPattern becomes the target label. Duration beyond the job timeout gives 102.
type Outcome struct {
	Status     int
	ExitCode   int
	ErrorCode  int
	Duration   time.Duration
	Tag        string
	Log        string
	LogSize    int
	LogPattern string
}

// Executor runs targets: RealExec or SyntheticExec.
type Executor interface {
	newRunner(s *Sim) runner
}

// RealExec runs each target's script as a local process in its own temporary directory, with the
// decoded parameters, environment variables naming the target (JOBSIM_*), killed at the job timeout.
// Shell (1) runs with bash (sh when bash is missing), perl (3) with perl, python (4) with python3; bat,
// powershell, sql or a missing interpreter fail the target with status 12 and an explanatory log line.
type RealExec struct {
	// MaxConcurrency bounds concurrently running targets (default 8).
	MaxConcurrency int
	// Interpreters overrides the interpreter per script language (1 shell, 3 perl, 4 python, ...).
	Interpreters map[int]string
	// TempDir is where target directories are created (default os.TempDir()).
	TempDir string
	// KeepDirs keeps target directories after the run.
	KeepDirs bool
}

// SyntheticExec produces outcomes without processes, for large tests.
type SyntheticExec struct {
	// Outcome decides each target's result; nil means success with an empty log.
	Outcome func(Target) Outcome
	// MaxConcurrency bounds targets waiting out their Duration at once (default 256).
	MaxConcurrency int
}

// Synthetic returns a SyntheticExec using f.
func Synthetic(f func(Target) Outcome) SyntheticExec { return SyntheticExec{Outcome: f} }

// result is what a run produced.
type result struct {
	status     int
	exitCode   *int
	errorCode  int
	tag        *string
	log        logContent
	terminated bool
}

// work is one target run handed to the pool.
type work struct {
	ctx      context.Context
	job      *job
	task     *task
	target   Target // a copy of task.t when the work was made: read without the lock
	script   scriptSpec
	timeout  time.Duration
	released bool
	batch    int // the batch (0-based) the work belongs to
}

// current reports whether the task is still on the run this work was made for (a retry starts a new
// one); s.mu must be held.
func (w *work) current() bool { return w.task.t.ExecuteCount == w.target.ExecuteCount }

type runner interface {
	enqueue(w *work)
	close()
}

type pool struct {
	s       *Sim
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*work
	closed  bool
	wg      sync.WaitGroup
	runFunc func(w *work) result
}

func newPool(s *Sim, n int, run func(w *work) result) *pool {
	p := &pool{s: s, runFunc: run}
	p.cond = sync.NewCond(&p.mu)
	for range n {
		p.wg.Add(1)
		go p.worker()
	}
	return p
}

func (p *pool) enqueue(w *work) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.queue = append(p.queue, w)
	p.cond.Signal()
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.queue = nil
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *pool) worker() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		w := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
		p.handle(w)
	}
}

func (p *pool) handle(w *work) {
	if !w.released {
		if h := p.s.holdFunc(); h != nil {
			if g := h(w.target); g != nil {
				p.s.goBG(func() {
					select {
					case <-g.C():
					case <-w.ctx.Done():
					case <-p.s.closing:
						return
					}
					w.released = true
					p.enqueue(w)
				})
				return
			}
		}
	}
	if w.ctx.Err() != nil {
		p.s.finishTask(w, result{terminated: true})
		return
	}
	p.s.finishTask(w, p.runFunc(w))
}

func (e SyntheticExec) newRunner(s *Sim) runner {
	n := e.MaxConcurrency
	if n <= 0 {
		n = 256
	}
	f := e.Outcome
	return newPool(s, n, func(w *work) result {
		var o Outcome
		if f != nil {
			o = f(w.target)
		}
		wait := o.Duration
		timedOut := w.timeout > 0 && wait > w.timeout
		if timedOut {
			wait = w.timeout
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
			case <-w.ctx.Done():
				return result{terminated: true}
			}
		}
		r := result{status: o.Status, errorCode: o.ErrorCode}
		switch {
		case o.Log != "":
			r.log = textLog(capString(o.Log))
		case o.LogSize > 0:
			r.log = patternLog{pattern: strings.ReplaceAll(o.LogPattern, "{label}", w.target.Label), size: min(o.LogSize, MaxLogBytes)}
		}
		if timedOut {
			r.status = 102
			return r
		}
		if r.status == 0 {
			r.status = 9
			if o.ExitCode != 0 {
				r.status = 104
			}
		}
		if r.status == 9 || r.status == 104 || o.ExitCode != 0 {
			code := o.ExitCode
			r.exitCode = &code
			tag := o.Tag
			r.tag = &tag
		}
		return r
	})
}

func (e RealExec) newRunner(s *Sim) runner {
	n := e.MaxConcurrency
	if n <= 0 {
		n = 8
	}
	return newPool(s, n, func(w *work) result { return e.run(s, w) })
}

// interpreter returns the program for a script language, or a reason it cannot run here.
func (e RealExec) interpreter(lang int) (string, string) {
	if p, ok := e.Interpreters[lang]; ok {
		if path, err := exec.LookPath(p); err == nil {
			return path, ""
		}
		return "", fmt.Sprintf("interpreter %q not found", p)
	}
	var candidates []string
	switch lang {
	case 1:
		candidates = []string{"bash", "sh"}
	case 3:
		candidates = []string{"perl"}
	case 4:
		candidates = []string{"python3", "python"}
	case 2:
		return "", "bat scripts need a Windows agent"
	case 5:
		return "", "powershell scripts need a Windows agent"
	default:
		return "", fmt.Sprintf("script type %d is not supported on this agent", lang)
	}
	for _, c := range candidates {
		if path, err := exec.LookPath(c); err == nil {
			return path, ""
		}
	}
	return "", fmt.Sprintf("interpreter %s not found", candidates[0])
}

var scriptExt = map[int]string{1: ".sh", 2: ".bat", 3: ".pl", 4: ".py", 5: ".ps1", 6: ".sql"}

const tagHelpers = `job_success() { printf '%s\n' "$*"; printf '%s' "$*" > "$JOBSIM_TAG_FILE"; exit 0; }
job_fail() { printf '%s\n' "$*"; printf '%s' "$*" > "$JOBSIM_TAG_FILE"; exit 1; }
`

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func failedToStart(reason string) result {
	return result{status: 12, errorCode: -1, log: textLog("[jobsim] " + reason + "\n")}
}

func (e RealExec) run(s *Sim, w *work) result {
	interp, why := e.interpreter(w.script.language)
	if interp == "" {
		return failedToStart(why)
	}
	dir, err := os.MkdirTemp(e.TempDir, "jobsim-target-")
	if err != nil {
		return failedToStart("cannot create a work directory: " + err.Error())
	}
	if !e.KeepDirs {
		defer os.RemoveAll(dir)
	}
	script := filepath.Join(dir, "script"+scriptExt[w.script.language])
	helpers := filepath.Join(dir, ".jobsim_helpers.sh")
	tagFile := filepath.Join(dir, ".jobsim_tag")
	if err := os.WriteFile(script, []byte(w.script.content), 0o700); err != nil {
		return failedToStart("cannot write the script: " + err.Error())
	}
	if err := os.WriteFile(helpers, []byte(tagHelpers), 0o600); err != nil {
		return failedToStart("cannot write helpers: " + err.Error())
	}
	line := "exec " + shellQuote(interp) + " " + shellQuote(script)
	if w.script.param != "" {
		line += " " + w.script.param
	}
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t := w.target
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8",
		"BASH_ENV=" + helpers, "JOBSIM_TAG_FILE=" + tagFile,
		"JOBSIM_TARGET_LABEL=" + t.Label, "JOBSIM_TARGET_KIND=" + map[TargetKind]string{TargetHost: "host", TargetContainer: "container"}[t.Kind],
		"JOBSIM_RESOURCE_ID=" + t.ResourceID,
		fmt.Sprintf("JOBSIM_HOST_ID=%d", t.HostID), fmt.Sprintf("JOBSIM_CLOUD_ID=%d", t.CloudID),
		"JOBSIM_HOST_IP=" + t.IP, "JOBSIM_HOST_IPV6=" + t.IPv6,
		fmt.Sprintf("JOBSIM_CONTAINER_ID=%d", t.ContainerID), "JOBSIM_CONTAINER_UID=" + t.ContainerUID,
		"JOBSIM_CONTAINER_NAME=" + t.Container, "JOBSIM_POD_NAME=" + t.Pod, "JOBSIM_NAMESPACE=" + t.Namespace,
		fmt.Sprintf("JOBSIM_JOB_INSTANCE_ID=%d", t.JobID), fmt.Sprintf("JOBSIM_STEP_INSTANCE_ID=%d", t.StepID),
		fmt.Sprintf("JOBSIM_BATCH=%d", t.Batch), fmt.Sprintf("JOBSIM_EXECUTE_COUNT=%d", t.ExecuteCount),
		"JOBSIM_ACCOUNT=" + w.script.account,
	}
	out := &capBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return failedToStart("cannot start the interpreter: " + err.Error())
	}
	out.setPrefix(fmt.Sprintf("[%s][PID:%d] job_start\n", time.Now().Format("2006-01-02 15:04:05"), cmd.Process.Pid))
	s.setLiveLog(w, out)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var timeout <-chan time.Time
	if w.timeout > 0 {
		timer := time.NewTimer(w.timeout)
		defer timer.Stop()
		timeout = timer.C
	}
	kill := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waited
	}
	var werr error
	select {
	case werr = <-waited:
	case <-timeout:
		kill()
		return result{status: 102, log: out}
	case <-w.ctx.Done():
		kill()
		return result{terminated: true, log: out}
	}
	r := result{log: out}
	code := 0
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code = ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			code = 128 + int(st.Signal())
		}
	} else if werr != nil {
		return failedToStart("wait: " + werr.Error())
	}
	r.exitCode = &code
	tag := ""
	if b, err := os.ReadFile(tagFile); err == nil {
		tag = string(b)
	}
	r.tag = &tag
	r.status = 9
	if code != 0 {
		r.status = 104
	}
	return r
}

// logContent is a target's log, read when the log endpoint asks.
type logContent interface {
	content() string
}

type textLog string

func (t textLog) content() string { return string(t) }

func capString(s string) string {
	if len(s) > MaxLogBytes {
		return s[:MaxLogBytes]
	}
	return s
}

type patternLog struct {
	pattern string
	size    int
}

func (p patternLog) content() string {
	if p.pattern == "" || p.size <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(p.size)
	for b.Len() < p.size {
		b.WriteString(p.pattern)
	}
	return b.String()[:p.size]
}

// capBuffer is a concurrency-safe output buffer capped at MaxLogBytes.
type capBuffer struct {
	mu     sync.Mutex
	prefix string
	buf    []byte
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := MaxLogBytes - len(c.prefix) - len(c.buf)
	if room > 0 {
		c.buf = append(c.buf, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (c *capBuffer) setPrefix(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prefix = p
}

func (c *capBuffer) content() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prefix + string(c.buf)
}
