package plugin

import (
	"context"
	"fmt"
	"time"

	"jobfastexecutescript/internal/bkci"
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

// watcher follows one job to its end: polls, progress, rolling pauses and live logs.
type watcher struct {
	s    *step
	sub  jobapi.Submitted
	last *jobapi.JobStatus
	// blankSince is when the step first saw the job at status 1 in the current run of such answers.
	blankSince time.Time
	polls      int
	total      int // targets known from the last status with results (0 = unknown yet)
	waiting    bool
	pausedAt   int // targets started when the current rolling pause was announced (-1: not known)
	lastRate   float64
	stream     *streamer
}

func newWatcher(s *step, sub jobapi.Submitted) *watcher {
	return &watcher{s: s, sub: sub, lastRate: -1, pausedAt: -1}
}

// watch polls until JOB says the job finished. A wake-up (callback) triggers an immediate poll.
func (w *watcher) watch(ctx context.Context, sched wait.Schedule, wake <-chan struct{}) (*jobapi.JobStatus, error) {
	p := wait.Poller{Schedule: sched, Wake: wake}
	var final *jobapi.JobStatus
	err := p.Run(ctx, func(ctx context.Context) (bool, time.Duration, error) {
		st, err := w.poll(ctx)
		if err != nil {
			if jobapi.IsTransient(err) || isJobInternalError(err) {
				// The client already retried; keep waiting while the deadline allows.
				w.s.log.Warn(w.s.t("msg.poll_failed", w.s.apiErrorText(err)))
				return false, w.s.client.RetryAfter(err), nil
			}
			return false, 0, err
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

func (w *watcher) poll(ctx context.Context) (*jobapi.JobStatus, error) {
	w.polls++
	withResults := w.total == 0 || w.total <= resultsEveryPollUpTo || w.polls%resultsEveryNthPoll == 0
	st, err := w.s.client.GetJobInstanceStatus(ctx, w.s.scope(), w.sub.JobInstanceID, withResults)
	if err != nil {
		return nil, err
	}
	w.s.panicPoint("poll")
	// The end, and a new rolling pause, are judged with the results (to name the batch waiting).
	if !withResults && (st.Finished || (st.Job.Status == jobstatus.JobWaitingUser && !w.waiting)) {
		st, err = w.s.client.GetJobInstanceStatus(ctx, w.s.scope(), w.sub.JobInstanceID, true)
		if err != nil {
			return nil, err
		}
	}
	w.observe(ctx, st)
	return st, nil
}

// observe reports what changed: job status, rolling pause, progress, live logs.
func (w *watcher) observe(ctx context.Context, st *jobapi.JobStatus) {
	s := w.s
	prev := 0
	if w.last != nil {
		prev = w.last.Job.Status
	}
	w.last = st
	s.lastCode = st.Job.Status
	s.data["job_status_code"] = bkci.StringData(fmt.Sprint(st.Job.Status))
	if st.Job.Status != prev {
		s.log.Info(s.t("msg.job_status", s.statusName("job", st.Job.Status), st.Job.Status))
	}
	if st.Job.Status == jobstatus.JobWaitingUser {
		// One message per pause: JOB may run a confirmed batch and pause again between two polls, so a
		// pause is new when more targets have started since the last one.
		started := startedTargets(st)
		if !w.waiting || (started >= 0 && started != w.pausedAt) {
			w.waiting, w.pausedAt = true, started
			s.log.Warn(s.t("msg.waiting_confirm", w.waitingBatch(st), s.jobURL()))
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
	rate := float64(done) / float64(len(results))
	if rate != w.lastRate {
		w.lastRate = rate
		s.log.Progress(rate)
		if s.cfg.Rolling != nil {
			s.log.Info(s.t("msg.rolling_progress", done, len(results), failed, w.batchNumber(st), w.batchCount()))
		}
	}
	if w.stream == nil && s.streamLive(len(results)) {
		w.stream = newStreamer(s, w.sub)
	}
	if w.stream != nil && !st.Finished {
		w.stream.update(ctx, results)
	}
}

// batchNumber derives the current rolling batch from the expression and the number of targets that
// have started: JOB exposes no batch number.
func (w *watcher) batchNumber(st *jobapi.JobStatus) int {
	started := startedTargets(st)
	if w.s.cfg.Rolling == nil || started < 0 {
		return 1
	}
	sizes, err := w.s.cfg.Rolling.Expr.Batches(len(st.Steps[0].Results))
	if err != nil {
		return 1
	}
	return batchOf(sizes, started)
}

// waitingBatch is the rolling batch waiting for confirmation: the one after the last batch started.
func (w *watcher) waitingBatch(st *jobapi.JobStatus) int {
	n := w.batchNumber(st) + 1
	if w.s.cfg.Rolling != nil && len(st.Steps) > 0 && len(st.Steps[0].Results) > 0 {
		if sizes, err := w.s.cfg.Rolling.Expr.Batches(len(st.Steps[0].Results)); err == nil && n > len(sizes) {
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
	if w.s.cfg.Rolling == nil || w.total == 0 {
		return 1
	}
	sizes, err := w.s.cfg.Rolling.Expr.Batches(w.total)
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
