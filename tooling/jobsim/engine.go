package jobsim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// JOB job/step statuses (RunStatusEnum).
const (
	StatusBlank          = 1
	StatusRunning        = 2
	StatusSuccess        = 3
	StatusFail           = 4
	StatusSkipped        = 5
	StatusIgnoreError    = 6
	StatusWaitingUser    = 7
	StatusTerminated     = 8
	StatusAbnormal       = 9
	StatusStopping       = 10
	StatusStopSuccess    = 11
	StatusConfirmTerm    = 13
	StatusAbandoned      = 14
	StatusRollingWaiting = 15
)

// Execute-object (target) statuses used by the simulator (ExecuteObjectTaskStatusEnum).
const (
	TargetUnknownError  = 0
	TargetAgentError    = 1
	TargetLastSuccess   = 3
	TargetWaiting       = 5
	TargetRunning       = 7
	TargetSuccess       = 9
	TargetSubmitFailed  = 12
	TargetScriptTimeout = 102
	TargetNonZeroExit   = 104
	TargetTerminateOK   = 403
)

// IsFinished reports whether a job status is final (RunStatusEnum.isFinishedStatus).
func IsFinished(status int) bool {
	switch status {
	case 3, 4, 5, 6, 8, 9, 11, 13, 14:
		return true
	}
	return false
}

func callbackStatus(status int) bool {
	switch status {
	case 3, 4, 9, 11, 14:
		return true
	}
	return false
}

func targetSuccess(status int) bool { return status == TargetSuccess || status == TargetLastSuccess }

// scriptSpec is what a target runs.
type scriptSpec struct {
	content   string
	language  int
	param     string
	sensitive bool
	account   string
}

type task struct {
	t         Target // t.Batch is 1-based; t.ExecuteCount is the run the task is on
	status    int
	exitCode  *int
	errorCode int
	tag       *string
	start     int64
	end       int64
	log       logContent
	// kept: the target succeeded in an earlier run of a retried step and is not run again; like JOB it
	// keeps its status, exit code and log (JOB serves that log from the run it ran in, its
	// actual_execute_count: job-execute .../service/impl/LogServiceImpl.java queryScriptLogsFromLogsvr).
	kept bool
}

// beforeRetry is a job's status answer as it was when a retry was accepted (Options.RetryLag).
type beforeRetry struct {
	at     int64 // ms since the epoch
	status statusJSON
}

// objKey identifies an execute object: type and resource id.
type objKey struct {
	typ int64
	id  string
}

type job struct {
	id, stepID   int64
	name         string
	scope        scope
	operator     string
	appCode      string
	created      int64
	started      int64
	ended        int64
	status       int
	stepStatus   int
	executeCount int
	callbackURL  string
	script       scriptSpec
	timeout      time.Duration
	tasks        []*task
	batches      [][]int
	cur          int
	pending      int
	rolling      bool
	mode         int
	expr         string
	orphan       bool
	// Staggered rolling (execution_mode 2): the waits in ms, each batch's planned start (ms since the
	// epoch, ScatterBatchTimeCalculator) and its targets still running.
	staggered                   bool
	waitFixed, waitMin, waitMax int64
	dispatch                    []int64
	batchPending                []int
	batchesDone                 int
	byKey                       map[objKey]*task
	stopFinal                   int
	lastRetry                   *beforeRetry
	ctx                         context.Context
	cancel                      context.CancelFunc
}

// Gate holds targets (or rolling batches) until opened.
type Gate struct {
	ch   chan struct{}
	once sync.Once
}

// NewGate returns a closed gate.
func NewGate() *Gate { return &Gate{ch: make(chan struct{})} }

// Open releases everything held by the gate; it is safe to call more than once.
func (g *Gate) Open() { g.once.Do(func() { close(g.ch) }) }

// C is closed when the gate opens.
func (g *Gate) C() <-chan struct{} { return g.ch }

// SetHold installs f: each target about to run asks f, and when f returns a gate the target stays
// running (status 7) until the gate opens (or the job is terminated). nil removes the hold.
func (s *Sim) SetHold(f func(Target) *Gate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = f
}

// SetBatchHold installs f: before rolling batch n (2, 3, …) of a job starts, the step shows 15 until the
// gate f returns opens (nil: no hold). It applies on top of Options.BatchGap.
func (s *Sim) SetBatchHold(f func(jobID int64, batch int) *Gate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batchHold = f
}

func (s *Sim) holdFunc() func(Target) *Gate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hold
}

// newJob registers a job at status 1; s.mu must be held.
func (s *Sim) newJob(j *job) {
	j.id = s.nextJobID
	s.nextJobID++
	j.stepID = s.nextStepID
	s.nextStepID++
	j.created = nowMillis()
	j.status = StatusBlank
	j.stepStatus = StatusBlank
	j.byKey = make(map[objKey]*task, len(j.tasks))
	for i, tk := range j.tasks {
		tk.t.JobID, tk.t.StepID, tk.t.Index = j.id, j.stepID, i
		tk.status = TargetWaiting
		j.byKey[objKey{int64(tk.t.Kind), tk.t.ResourceID}] = tk
	}
	for b, idxs := range j.batches {
		for _, i := range idxs {
			j.tasks[i].t.Batch = b + 1
		}
	}
	s.jobs[j.id] = j
	s.jobList = append(s.jobList, j)
	s.notify()
}

func (s *Sim) scheduleStart(j *job) {
	start := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.startJob(j)
	}
	if s.opts.StartDelay > 0 {
		s.after(s.opts.StartDelay, start)
		return
	}
	s.startJob(j)
}

// startJob moves a job from 1 to 2 and runs its first batch; s.mu must be held.
func (s *Sim) startJob(j *job) {
	if j.status != StatusBlank || s.closed {
		return
	}
	now := nowMillis()
	j.status, j.started = StatusRunning, now
	j.stepStatus = StatusRunning // the one step starts and ends with the job
	j.ctx, j.cancel = context.WithCancel(context.Background())
	if j.staggered {
		s.startStaggered(j, now)
		return
	}
	s.runBatch(j, 0)
}

// runBatch starts batch b; s.mu must be held.
func (s *Sim) runBatch(j *job, b int) {
	j.cur = b
	j.stepStatus = StatusRunning
	works := s.startTasks(j, b)
	j.pending = len(works)
	s.notify()
	if len(works) == 0 {
		s.batchDone(j)
		return
	}
	for _, w := range works {
		s.exec.enqueue(w)
	}
}

// startTasks marks batch b's targets started and returns the work to run; a target whose agent is down
// fails at once, and one that succeeded in an earlier run of a retried step is not run again. s.mu
// must be held.
func (s *Sim) startTasks(j *job, b int) []*work {
	now := nowMillis()
	var works []*work
	for _, i := range j.batches[b] {
		tk := j.tasks[i]
		if tk.kept {
			continue
		}
		tk.t.ExecuteCount = j.executeCount
		tk.start = now
		if tk.t.AgentDown {
			tk.status, tk.errorCode, tk.end = TargetAgentError, -1, now
			continue
		}
		tk.status, tk.errorCode = TargetRunning, 115
		works = append(works, &work{ctx: j.ctx, job: j, task: tk, target: tk.t, script: j.script, timeout: j.timeout, batch: b})
	}
	return works
}

func (s *Sim) setLiveLog(w *work, l logContent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.current() && w.task.status == TargetRunning {
		w.task.log = l
		s.notify()
	}
}

// finishTask records a target result.
func (s *Sim) finishTask(w *work, r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk, j := w.task, w.job
	if !w.current() || tk.status != TargetRunning {
		return
	}
	tk.end = nowMillis()
	if r.log != nil {
		tk.log = r.log
	}
	if r.terminated {
		tk.status, tk.errorCode, tk.exitCode, tk.tag = TargetTerminateOK, 126, nil, nil
	} else {
		tk.status, tk.errorCode, tk.exitCode, tk.tag = r.status, r.errorCode, r.exitCode, r.tag
	}
	if j.staggered {
		s.notify()
		s.staggeredTaskDone(j, w.batch)
		return
	}
	j.pending--
	s.notify()
	if j.pending == 0 {
		s.batchDone(j)
	}
}

// batchDone applies the outcome of the current batch; s.mu must be held.
func (s *Sim) batchDone(j *job) {
	if j.status == StatusStopping {
		s.finishStop(j)
		return
	}
	if j.status != StatusRunning {
		return
	}
	failed := false
	for _, i := range j.batches[j.cur] {
		if !targetSuccess(j.tasks[i].status) {
			failed = true
		}
	}
	last := j.cur == len(j.batches)-1
	if failed && (!j.rolling || j.mode != 2) {
		s.finishJob(j, StatusFail, StatusFail)
		return
	}
	if last {
		step := StatusSuccess
		if failed {
			step = StatusIgnoreError
		}
		s.finishJob(j, StatusSuccess, step)
		return
	}
	if j.mode == 3 {
		j.status, j.stepStatus = StatusWaitingUser, StatusWaitingUser
		s.notify()
		return
	}
	s.nextBatchAfterGap(j)
}

// nextBatchAfterGap shows 15 and starts the next batch after the gap and any batch hold; s.mu held.
func (s *Sim) nextBatchAfterGap(j *job) {
	j.stepStatus = StatusRollingWaiting
	s.notify()
	next := j.cur + 1
	execNo := j.executeCount
	hold := s.batchHold
	s.after(s.opts.BatchGap, func() {
		if hold != nil {
			if g := hold(j.id, next+1); g != nil {
				select {
				case <-g.C():
				case <-s.closing:
					return
				}
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if j.status == StatusRunning && j.stepStatus == StatusRollingWaiting && j.cur == next-1 && j.executeCount == execNo {
			s.runBatch(j, next)
		}
	})
}

// finishJob ends a job; s.mu must be held.
func (s *Sim) finishJob(j *job, status, stepStatus int) {
	now := nowMillis()
	j.status, j.stepStatus = status, stepStatus
	j.ended = now
	if j.cancel != nil {
		j.cancel()
	}
	s.notify()
	if callbackStatus(status) && j.callbackURL != "" {
		steps := []callbackStep{{StepInstanceID: j.stepID, Status: stepStatus}}
		s.sendCallback(callbackBody{JobInstanceID: j.id, Status: status, StepInstances: steps}, j.callbackURL)
	}
}

// terminate starts stopping a job: running targets are killed (403), the job goes 10 then final.
func (s *Sim) terminate(j *job, final int) {
	j.status, j.stepStatus = StatusStopping, StatusStopping
	j.stopFinal = final
	s.notify()
	if j.cancel != nil {
		j.cancel()
	}
	if j.pending == 0 {
		s.finishStop(j)
	}
}

func (s *Sim) finishStop(j *job) {
	final := j.stopFinal
	s.after(s.opts.StopDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if j.status == StatusStopping {
			s.finishJob(j, final, final)
		}
	})
}

// resetForRetry applies operate_step_instance 2 (retry the failed targets) or 8 (retry all) to a step
// that ended 4, 9 or 11; s.mu must be held. As JOB does (job-execute .../engine/listener/
// GseStepEventHandler.java retryStepFail, saveExecuteObjectTasksForRetryFail, retryParallelStep): the
// execute count goes up and the job runs again at once; a serial rolling step re-runs its current batch
// only (its failed targets, or all of them for 8) and then rolls on; a staggered step re-dispatches
// every batch with new stagger times. Targets that succeeded are kept as they are, with their logs.
func (s *Sim) resetForRetry(j *job, all bool) {
	if s.opts.RetryLag > 0 {
		j.lastRetry = &beforeRetry{at: nowMillis(), status: s.statusOf(j, true)}
	}
	j.executeCount++
	j.status, j.stepStatus = StatusRunning, StatusRunning
	j.ended = 0
	j.ctx, j.cancel = context.WithCancel(context.Background())
	for _, tk := range j.tasks {
		inScope := j.staggered || tk.t.Batch-1 >= j.cur
		switch {
		case !inScope || (targetSuccess(tk.status) && !all):
			tk.kept = targetSuccess(tk.status) || tk.kept
		default:
			tk.kept = false
			tk.status, tk.exitCode, tk.tag, tk.errorCode, tk.start, tk.end, tk.log = TargetWaiting, nil, nil, 0, 0, 0, nil
		}
	}
	if j.staggered {
		s.startStaggered(j, nowMillis())
		return
	}
	s.runBatch(j, j.cur)
}

// ErrNoJob is returned by test hooks for an unknown job id.
var ErrNoJob = errors.New("no such job")

// ErrJobState is returned by test hooks when the job's status does not allow the action.
var ErrJobState = errors.New("job status does not allow this")

func (s *Sim) jobForHook(id int64) (*job, error) {
	j := s.jobs[id]
	if j == nil {
		return nil, fmt.Errorf("job %d: %w", id, ErrNoJob)
	}
	return j, nil
}

// UITerminate terminates a job as a person would in JOB's UI: allowed while the job is 2 or 7; running
// targets are killed (403) and the job ends with final, 11 (STOP_SUCCESS, callback sent) or 8
// (TERMINATED, no callback).
func (s *Sim) UITerminate(id int64, final int) error {
	if final != StatusStopSuccess && final != StatusTerminated {
		return fmt.Errorf("final status %d: want 8 or 11", final)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.jobForHook(id)
	if err != nil {
		return err
	}
	if s.stop(j, final) != nil {
		return fmt.Errorf("terminate job %d in status %d: %w", id, j.status, ErrJobState)
	}
	return nil
}

// ForceStatus ends an unfinished job at once with a final status (e.g. 9 ABNORMAL_STATE or 14
// ABANDONED), as JOB does when its engine gives up; running targets end with status 0. A callback is
// sent for 3, 4, 9, 11 and 14.
func (s *Sim) ForceStatus(id int64, status int) error {
	if !IsFinished(status) {
		return fmt.Errorf("status %d is not a finished status", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.jobForHook(id)
	if err != nil {
		return err
	}
	if IsFinished(j.status) {
		return fmt.Errorf("job %d already finished (%d): %w", id, j.status, ErrJobState)
	}
	now := nowMillis()
	for _, tk := range j.tasks {
		if tk.status == TargetRunning {
			tk.status, tk.errorCode, tk.end = TargetUnknownError, -1, now
		}
	}
	j.pending = 0
	s.finishJob(j, status, status)
	return nil
}

// ForceAbnormal is ForceStatus(id, 9).
func (s *Sim) ForceAbnormal(id int64) error { return s.ForceStatus(id, StatusAbnormal) }

// ConfirmContinue confirms the next rolling batch of a job waiting at 7, as a person in JOB's UI would
// (the same as operate_step_instance code 13).
func (s *Sim) ConfirmContinue(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.jobForHook(id)
	if err != nil {
		return err
	}
	if aerr := s.continueRolling(j); aerr != nil {
		return fmt.Errorf("continue job %d in status %d: %w", id, j.status, ErrJobState)
	}
	return nil
}

// RetryFailed re-runs a failed job's failed targets as a person in JOB's UI would (code 2); the job
// runs again and sends another callback when it finishes.
func (s *Sim) RetryFailed(id int64) error { return s.retryHook(id, false) }

// RetryAll re-runs all targets of a failed job's current batch (code 8).
func (s *Sim) RetryAll(id int64) error { return s.retryHook(id, true) }

func (s *Sim) retryHook(id int64, all bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.jobForHook(id)
	if err != nil {
		return err
	}
	if aerr := s.retry(j, all); aerr != nil {
		return fmt.Errorf("retry job %d in status %d: %w", id, j.status, ErrJobState)
	}
	return nil
}

// continueRolling applies operate_step_instance 13; s.mu must be held.
// stop terminates a job, allowed only while it is 2 RUNNING or 7 WAITING_USER; s.mu must be held.
func (s *Sim) stop(j *job, final int) *apiError {
	if j.status != StatusRunning && j.status != StatusWaitingUser {
		return jobErr(CodeUnsupportedOp)
	}
	s.terminate(j, final)
	return nil
}

func (s *Sim) continueRolling(j *job) *apiError {
	if j.stepStatus != StatusWaitingUser || !j.rolling || j.cur+1 >= len(j.batches) {
		return jobErr(CodeUnsupportedOp)
	}
	j.status = StatusRunning
	s.runBatch(j, j.cur+1)
	return nil
}

func (s *Sim) retry(j *job, all bool) *apiError {
	switch j.stepStatus {
	case StatusFail, StatusAbnormal, StatusStopSuccess:
	default:
		return jobErr(CodeUnsupportedOp)
	}
	s.resetForRetry(j, all)
	return nil
}

func (s *Sim) ignoreError(j *job) *apiError {
	if j.stepStatus != StatusFail && j.stepStatus != StatusAbnormal {
		return jobErr(CodeUnsupportedOp)
	}
	if j.rolling && j.cur+1 < len(j.batches) {
		j.status, j.ended = StatusRunning, 0
		j.ctx, j.cancel = context.WithCancel(context.Background())
		s.nextBatchAfterGap(j)
		return nil
	}
	s.finishJob(j, StatusSuccess, StatusIgnoreError)
	return nil
}
