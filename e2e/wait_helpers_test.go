//go:build e2e

package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/jobsim"
)

// condTimeout bounds every wait for a condition; a condition that needs longer is a failure, not a flake.
const condTimeout = 90 * time.Second

// proc is a run of the binary in the background, for tests that act while it waits.
type proc struct {
	r      *stepRun
	cmd    *exec.Cmd
	stdout *agent.Buffer
	stderr *agent.Buffer
	start  time.Time
	done   chan struct{}
	res    *agent.Result
	err    error
}

// startRun starts the binary and returns at once. The process is killed when the test ends.
func (r *stepRun) startRun(args ...string) *proc {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	r.step.Args = args
	cmd, stdout, stderr, err := r.step.Prepare(ctx)
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	p := &proc{r: r, cmd: cmd, stdout: stdout, stderr: stderr, start: time.Now(), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		cancel()
		r.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		defer cancel()
		p.res, p.err = r.step.Wait(cmd, stdout, stderr, p.start)
	}()
	r.t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
		}
		<-p.done
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig syscall.Signal) {
	p.r.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.r.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the exit and checks the run like stepRun.run does.
func (p *proc) wait() *result {
	t := p.r.t
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(condTimeout):
		t.Fatalf("the step did not end\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return p.r.finish(p.res)
}

// waitKilled waits for the exit of a process that was killed (no output.json expected).
func (p *proc) waitKilled() {
	p.r.t.Helper()
	select {
	case <-p.done:
	case <-time.After(condTimeout):
		p.r.t.Fatal("the killed step did not end")
	}
}

// until waits for cond while the step runs; it fails when the step ends first or the wait is too long.
func (p *proc) until(what string, cond func() bool) {
	t := p.r.t
	t.Helper()
	deadline := time.Now().Add(condTimeout)
	for !cond() {
		if p.exited() {
			if cond() {
				return
			}
			t.Fatalf("the step ended before %s\nstdout:\n%s\nstderr:\n%s", what, p.stdout.String(), p.stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\nstdout:\n%s\nstderr:\n%s", what, p.stdout.String(), p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// untilCount waits until the step's stdout holds text at least n times.
func (p *proc) untilCount(text string, n int) {
	p.r.t.Helper()
	p.until("stdout to hold "+text, func() bool { return strings.Count(p.stdout.String(), text) >= n })
}

// untilPolled waits until the simulator saw at least n status requests: the step knows its job id.
func (p *proc) untilPolled(n int) {
	p.r.t.Helper()
	p.until("a status request", func() bool { return p.r.sim.Count(jobsim.EPStatus) >= n })
}

// holder holds the targets with the given labels (every target when none is given) until released.
type holder struct {
	gate *jobsim.Gate
	jobs chan int64
}

func holdTargets(t *testing.T, sim *jobsim.Sim, labels ...string) *holder {
	h := &holder{gate: jobsim.NewGate(), jobs: make(chan int64, 1)}
	sim.SetHold(func(tg jobsim.Target) *jobsim.Gate {
		if len(labels) > 0 && !contains(labels, tg.Label) {
			return nil
		}
		select {
		case h.jobs <- tg.JobID:
		default:
		}
		return h.gate
	})
	t.Cleanup(h.gate.Open)
	return h
}

// job waits until a target is held and returns its job id.
func (h *holder) job(t *testing.T) int64 {
	t.Helper()
	select {
	case id := <-h.jobs:
		h.jobs <- id // keep it for later calls
		return id
	case <-time.After(condTimeout):
		t.Fatal("no target was held")
		return 0
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// onlyJob returns the simulator's single job.
func onlyJob(t *testing.T, sim *jobsim.Sim) jobsim.JobSnapshot {
	t.Helper()
	jobs := sim.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs in the simulator, want 1", len(jobs))
	}
	return jobs[0]
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// postStep prepares the post action of r's step as BK-CI runs it on an agent: in the same worker (the
// same temporary dir, where the step's data dir is), the same workspace, its own task id, parentTaskId
// set, and the step's saved inputs.
func postStep(t *testing.T, sim *jobsim.Sim, r *stepRun, kv ...string) *stepRun {
	t.Helper()
	p := newStep(t, sim, append([]string{"BK_CI_BUILD_TASK_ID", "e-post1", "parentTaskId", "e-task1"}, kv...)...)
	p.step.TmpDir = r.step.TmpDir
	p.step.Workspace = r.step.Workspace
	p.step.Input["bkWorkspace"] = r.step.Workspace
	return p
}

// agentlessPost is postStep on an agentless job: the same worker, a fresh workspace of its own
// (bk-ci MarketAtomTask.kt gives each task of such a job a new temporary workspace).
func agentlessPost(t *testing.T, sim *jobsim.Sim, r *stepRun, kv ...string) *stepRun {
	t.Helper()
	p := newStep(t, sim, append([]string{"BK_CI_BUILD_TASK_ID", "e-post1", "parentTaskId", "e-task1"}, kv...)...)
	p.step.TmpDir = r.step.TmpDir
	return p
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
