package plugin

import (
	"context"
	"fmt"
	"time"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/wait"
)

// Results are asked for with every poll while the job is small; for large jobs only every few polls
// (they only feed the progress line) and always at the end.
const (
	resultsEveryPollUpTo = 2000
	resultsEveryNthPoll  = 5
)

// neverStartedAfter bounds how long the step follows a job that stays at status 1 (created, not
// started). JOB starts a job in the same request that creates it: the submit saves the job, then
// publishes its start event before it answers (TaskExecuteServiceImpl), and the engine picks the event up
// within a second or two even under load. But JOB saves the job before it resolves the rolling batches
// (job-execute .../service/impl/TaskExecuteServiceImpl.java), so a submit it then refuses (1244026,
// 1244027, 1240002) leaves a job at status 1 that never starts; when that refusal's answer was lost, the
// look-up by task name adopts this job. One minute is thirty times JOB's normal start latency, so a
// congested queue is not mistaken for a dead job, and short enough not to hold the pipeline until its
// deadline (hours) for a job that will never run.
const neverStartedAfter = time.Minute

// neverStartedError: the job stayed at status 1 for neverStartedAfter.
type neverStartedError struct {
	jobID int64
	name  string
	after time.Duration
}

func (e *neverStartedError) Error() string {
	return fmt.Sprintf("job instance %d (%s) stayed at status 1 (not started) for %s", e.jobID, e.name, e.after)
}

// watcher follows one job to its end: polls, progress, rolling pauses and live logs. It reports what it
// saw (last) and writes nothing of the step's.
type watcher struct {
	printer
	client *jobapi.Client
	scope  jobapi.Scope
	cfg    *Config
	jobURL string
	sub    jobapi.Submitted
	last   *jobapi.JobStatus
	// blankSince is when the step first saw the job at status 1 in the current run of such answers.
	blankSince time.Time
	polls      int
	total      int // targets known from the last status with results (0 = unknown yet)
	waiting    bool
	pausedAt   int // targets started when the current rolling pause was announced (-1: not known)
	lastRate   float64
	stream     *streamer
	// After a retry (retry.go): the step's execute count the new run has, when it was asked for, and
	// whether the job was seen running since.
	minExec    int
	retriedAt  time.Time
	sawRunning bool
	// stop is set once more targets failed than failFast allows (failfast.go).
	stop *failFastStop
}

func newWatcher(s *step, sub jobapi.Submitted) *watcher {
	return &watcher{printer: s.printer, client: s.client, scope: s.scope(), cfg: s.cfg, jobURL: s.jobURL(),
		sub: sub, lastRate: -1, pausedAt: -1}
}

// afterCallbackFor is how long the polls after a callback keep the poll mode's quick pace (its first
// interval) before the safety net's slow schedule resumes. JOB sends the callback once it has written
// the job's end (bk-job JobListener finishJob); a status read served a moment behind that write still
// says "running". Such a lag is normally well under a second: 5 s covers it many times over, for at
// most ten more status reads per callback, where the next safety-net poll could be 15–30 s away.
const afterCallbackFor = 5 * time.Second

// watch polls until JOB says the job finished. A wake-up (callback) triggers an immediate poll, and
// quick polls for a while after it.
func (w *watcher) watch(ctx context.Context, sched wait.Schedule, wake <-chan struct{}) (*jobapi.JobStatus, error) {
	p := wait.Poller{Schedule: sched, Wake: wake}
	if wake != nil {
		p.AfterWake, p.AfterWakeFor = wait.PollSchedule().Initial, afterCallbackFor
	}
	var final *jobapi.JobStatus
	err := p.Run(ctx, func(ctx context.Context) (bool, time.Duration, error) {
		st, fresh, err := w.poll(ctx)
		if err != nil {
			if jobapi.IsTransient(err) || isJobInternalError(err) {
				// The client already retried; keep waiting while the deadline allows.
				w.log.Warn(w.t("msg.poll_failed", w.apiErrorText(err)))
				return false, w.client.RetryAfter(err), nil
			}
			return false, 0, err
		}
		if !fresh {
			return false, 0, nil
		}
		if w.stop != nil {
			return false, 0, w.stop
		}
		if st.Finished {
			final = st
			return true, 0, nil
		}
		if st.Job.Status != jobstatus.JobBlank {
			w.blankSince = time.Time{}
		} else if w.blankSince.IsZero() {
			w.blankSince = time.Now()
		} else if since := time.Since(w.blankSince); since >= neverStartedAfter {
			return false, 0, &neverStartedError{jobID: w.sub.JobInstanceID, name: w.sub.JobInstanceName, after: since.Round(time.Second)}
		}
		return false, 0, nil
	})
	if err != nil {
		return nil, err
	}
	return final, nil
}

// poll reads the job's status and reports what changed; fresh is false for an answer from before a
// retry (watcher.stale), which is ignored.
func (w *watcher) poll(ctx context.Context) (st *jobapi.JobStatus, fresh bool, err error) {
	w.polls++
	withResults := w.total == 0 || w.total <= resultsEveryPollUpTo || w.polls%resultsEveryNthPoll == 0
	st, err = w.client.GetJobInstanceStatus(ctx, w.scope, w.sub.JobInstanceID, withResults)
	if err != nil {
		return nil, false, err
	}
	if w.stale(st) {
		return st, false, nil
	}
	// The end, and a new rolling pause, are judged with the results (to name the batch waiting).
	if !withResults && (st.Finished || (st.Job.Status == jobstatus.JobWaitingUser && !w.waiting)) {
		st, err = w.client.GetJobInstanceStatus(ctx, w.scope, w.sub.JobInstanceID, true)
		if err != nil {
			return nil, false, err
		}
	}
	w.observe(ctx, st)
	return st, true, nil
}

// observe reports what changed: job status, rolling pause, progress, live logs.
func (w *watcher) observe(ctx context.Context, st *jobapi.JobStatus) {
	prev := 0
	if w.last != nil {
		prev = w.last.Job.Status
	}
	w.last = st
	if st.Job.Status != prev {
		w.log.Info(w.t("msg.job_status", w.statusName("job", st.Job.Status), st.Job.Status))
	}
	if st.Job.Status == jobstatus.JobWaitingUser {
		// One message per pause: JOB may run a confirmed batch and pause again between two polls, so a
		// pause is new when more targets have started since the last one.
		started := startedTargets(st)
		if !w.waiting || (started >= 0 && started != w.pausedAt) {
			w.waiting, w.pausedAt = true, started
			w.log.Warn(w.t("msg.waiting_confirm", w.waitingBatch(st), w.jobURL))
		}
	} else {
		w.waiting = false
	}
	if len(st.Steps) == 0 || len(st.Steps[0].Results) == 0 {
		return
	}
	results := st.Steps[0].Results
	w.total = len(results)
	done, failed := 0, 0
	for _, r := range results {
		if jobstatus.TargetFinished(r.Status) {
			done++
			if !jobstatus.TargetSuccess(r.Status) {
				failed++
			}
		}
	}
	w.checkFailFast(st, failed, len(results))
	rate := float64(done) / float64(len(results))
	if rate != w.lastRate {
		w.lastRate = rate
		w.log.Progress(rate)
		if w.cfg.Rolling != nil {
			w.log.Info(w.t("msg.rolling_progress", done, len(results), failed, w.batchNumber(st), w.batchCount()))
		}
	}
	if w.stream == nil && streamLive(w.cfg.LogMode, len(results)) {
		w.stream = newStreamer(w.printer, w.client, w.scope, w.sub)
		w.stream.keepID = w.cfg.Targets.KeepID
	}
	if w.stream != nil && !st.Finished {
		w.stream.update(ctx, results)
	}
}

// batchNumber derives the current rolling batch from the expression and the number of targets that
// have started: JOB exposes no batch number.
func (w *watcher) batchNumber(st *jobapi.JobStatus) int {
	started := startedTargets(st)
	if w.cfg.Rolling == nil || started < 0 {
		return 1
	}
	sizes, err := w.cfg.Rolling.Expr.Batches(len(st.Steps[0].Results))
	if err != nil {
		return 1
	}
	return batchOf(sizes, started)
}

// waitingBatch is the rolling batch waiting for confirmation: the one after the last batch started.
func (w *watcher) waitingBatch(st *jobapi.JobStatus) int {
	n := w.batchNumber(st) + 1
	if w.cfg.Rolling != nil && len(st.Steps) > 0 && len(st.Steps[0].Results) > 0 {
		if sizes, err := w.cfg.Rolling.Expr.Batches(len(st.Steps[0].Results)); err == nil && n > len(sizes) {
			n = len(sizes)
		}
	}
	return n
}

// startedTargets counts the targets that have left status 5 (waiting); -1 when the status has no results.
func startedTargets(st *jobapi.JobStatus) int {
	if len(st.Steps) == 0 || len(st.Steps[0].Results) == 0 {
		return -1
	}
	n := 0
	for _, r := range st.Steps[0].Results {
		if r.Status != jobstatus.TargetWaiting {
			n++
		}
	}
	return n
}

// batchOf is the 1-based batch containing the started-th target (the last one started).
func batchOf(sizes []int, started int) int {
	sum := 0
	for i, n := range sizes {
		sum += n
		if started <= sum {
			return i + 1
		}
	}
	if len(sizes) == 0 {
		return 1
	}
	return len(sizes)
}

func (w *watcher) batchCount() int {
	if w.cfg.Rolling == nil || w.total == 0 {
		return 1
	}
	sizes, err := w.cfg.Rolling.Expr.Batches(w.total)
	if err != nil || len(sizes) == 0 {
		return 1
	}
	return len(sizes)
}

// isJobInternalError reports JOB's result:false "Internal Server Error" (1240002): a fault of JOB's,
// not of the request, so a status read that meets it is tried again later like a 5xx.
func isJobInternalError(err error) bool {
	ae, ok := jobapi.As(err)
	return ok && !ae.Gateway && ae.Code == jobapi.CodeInternal
}
