package jobsim

import (
	"context"
	"fmt"
	"time"
)

// TargetState is a target's current state in a JobSnapshot.
type TargetState struct {
	Target
	Status    int
	ExitCode  *int
	ErrorCode int
	Tag       *string
	Start     time.Time // zero until the target started
	End       time.Time // zero until it finished
	Log       string    // the log as the log endpoint would return it ("" when none)
	HasLog    bool
}

// JobSnapshot is a copy of a job's state.
type JobSnapshot struct {
	ID           int64
	StepID       int64
	Name         string
	ScopeType    string
	ScopeID      string
	Operator     string // bk_username that created the job
	AppCode      string
	Status       int
	StepStatus   int
	ExecuteCount int
	Created      time.Time
	Started      time.Time
	Ended        time.Time
	CallbackURL  string
	Script       string // decoded script content
	Language     int
	Param        string // decoded parameter as run (newlines replaced by spaces)
	Sensitive    bool
	Account      string
	Timeout      time.Duration
	Rolling      bool
	RollingMode  int
	RollingExpr  string
	Batches      []int // batch sizes
	CurrentBatch int   // 1-based batch being run or last run
	// Orphan marks a job JOB saved but never started because its rolling batches could not be resolved.
	Orphan  bool
	Targets []TargetState
}

func millisTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func (s *Sim) snapshot(j *job, withLogs bool) JobSnapshot {
	snap := JobSnapshot{
		ID: j.id, StepID: j.stepID, Name: j.name, ScopeType: j.scope.Type, ScopeID: j.scope.ID, Operator: j.operator,
		AppCode: j.appCode, Status: j.status, StepStatus: j.stepStatus, ExecuteCount: j.executeCount,
		Created: millisTime(j.created), Started: millisTime(j.started), Ended: millisTime(j.ended),
		CallbackURL: j.callbackURL, Script: j.script.content, Language: j.script.language, Param: j.script.param,
		Sensitive: j.script.sensitive, Account: j.script.account, Timeout: j.timeout, Rolling: j.rolling,
		RollingMode: j.mode, RollingExpr: j.expr, CurrentBatch: j.cur + 1, Orphan: j.orphan,
	}
	for _, b := range j.batches {
		snap.Batches = append(snap.Batches, len(b))
	}
	snap.Targets = make([]TargetState, len(j.tasks))
	for i, tk := range j.tasks {
		ts := TargetState{Target: tk.t, Status: tk.status, ExitCode: tk.exitCode, ErrorCode: tk.errorCode, Tag: tk.tag,
			Start: millisTime(tk.start), End: millisTime(tk.end), HasLog: tk.log != nil}
		if withLogs && tk.log != nil {
			ts.Log = tk.log.content()
		}
		snap.Targets[i] = ts
	}
	return snap
}

// Job returns a snapshot of a job, with target logs.
func (s *Sim) Job(id int64) (JobSnapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return JobSnapshot{}, false
	}
	return s.snapshot(j, true), true
}

// Jobs returns snapshots (without logs) of every job in creation order.
func (s *Sim) Jobs() []JobSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobSnapshot, 0, len(s.jobList))
	for _, j := range s.jobList {
		out = append(out, s.snapshot(j, false))
	}
	return out
}

// JobsCreated is the number of job instances created, including orphans left by rolling errors.
func (s *Sim) JobsCreated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobList) // jobs are never removed
}

// Count is the number of requests routed to an endpoint (EPUnknown for unmatched ones).
func (s *Sim) Count(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[ep]
}

// Requests returns every request received so far, in arrival order.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// waitFor blocks until cond (evaluated with s.mu held) is true or ctx ends.
func (s *Sim) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitJobStatus waits until a job has one of the given statuses and returns its snapshot.
func (s *Sim) WaitJobStatus(ctx context.Context, id int64, statuses ...int) (JobSnapshot, error) {
	err := s.waitFor(ctx, func() bool {
		j := s.jobs[id]
		if j == nil {
			return false
		}
		for _, st := range statuses {
			if j.status == st {
				return true
			}
		}
		return false
	})
	if err != nil {
		snap, _ := s.Job(id)
		return snap, fmt.Errorf("wait for job %d status %v (now %d): %w", id, statuses, snap.Status, err)
	}
	snap, _ := s.Job(id)
	return snap, nil
}

// WaitStepStatus waits until a job's step has the given status.
func (s *Sim) WaitStepStatus(ctx context.Context, id int64, status int) (JobSnapshot, error) {
	err := s.waitFor(ctx, func() bool {
		j := s.jobs[id]
		return j != nil && j.stepStatus == status
	})
	snap, _ := s.Job(id)
	if err != nil {
		return snap, fmt.Errorf("wait for job %d step status %d (now %d): %w", id, status, snap.StepStatus, err)
	}
	return snap, nil
}

// WaitFinished waits until a job reaches a finished status.
func (s *Sim) WaitFinished(ctx context.Context, id int64) (JobSnapshot, error) {
	err := s.waitFor(ctx, func() bool {
		j := s.jobs[id]
		return j != nil && IsFinished(j.status)
	})
	snap, _ := s.Job(id)
	if err != nil {
		return snap, fmt.Errorf("wait for job %d to finish (now %d): %w", id, snap.Status, err)
	}
	return snap, nil
}

// WaitCallbacks waits until at least n callback attempts were made and returns them.
func (s *Sim) WaitCallbacks(ctx context.Context, n int) ([]CallbackRecord, error) {
	err := s.waitFor(ctx, func() bool { return len(s.callbacks) >= n })
	return s.Callbacks(), err
}

// WaitJobCallbacks waits until at least n callback attempts were made for a job and returns them.
func (s *Sim) WaitJobCallbacks(ctx context.Context, id int64, n int) ([]CallbackRecord, error) {
	count := func() []CallbackRecord {
		var out []CallbackRecord
		for _, c := range s.callbacks {
			if c.JobID == id {
				out = append(out, c)
			}
		}
		return out
	}
	err := s.waitFor(ctx, func() bool { return len(count()) >= n })
	s.mu.Lock()
	defer s.mu.Unlock()
	return count(), err
}

// WaitRunning waits until n targets of a job are running (status 7).
func (s *Sim) WaitRunning(ctx context.Context, id int64, n int) error {
	return s.waitFor(ctx, func() bool {
		j := s.jobs[id]
		if j == nil {
			return false
		}
		c := 0
		for _, tk := range j.tasks {
			if tk.status == TargetRunning {
				c++
			}
		}
		return c >= n
	})
}
