package plugin

import (
	"context"
	"strconv"
	"strings"
	"time"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/report"
)

// Retries of the failed targets, in the same job (retryFailed, retryInterval; docs/CONTRACT.md#retries).
// When JOB ends the job failed (4) or abnormal (9), the step waits retryInterval and asks JOB to run the
// step's failed targets again: operate_step_instance code 2. What JOB then does (bk-job job-execute
// .../service/impl/TaskExecuteServiceImpl.java retryStepFail and .../engine/listener/GseStepEventHandler.java
// retryStepFail, saveExecuteObjectTasksForRetryFail, retryParallelStep; docs/JOB.md#retrying-failed-targets):
//   - it accepts the request only while the step is 4, 9 or 11, sets the job running (2) before it
//     answers and raises the step's execute_count by one;
//   - targets that succeeded keep their status and their log (served from the run they ran in);
//   - a serial rolling step re-runs the failed targets of the batch it stopped at, then rolls on to the
//     next batches (and pauses again in rolling mode 3); a staggered step re-runs the failed targets of
//     every batch, with new stagger times;
//   - the status answer lists every target for the current execute_count; the job ends, and calls back,
//     once more.
//
// Never retried: a job stopped in JOB (11), a job the step terminated (a cancel, the deadline, a
// fail-fast stop), a job ended successful (rolling mode 2 ignores failures: the job ends 3).
const (
	maxRetryFailed    = 5
	maxRetryInterval  = 3600 // seconds
	retryStatusRead   = 5 * time.Second
	maxAttemptTails   = 20               // failed targets whose last lines an attempt's group shows
	attemptTailLines  = 5                //
	attemptTailBytes  = 1 << 10          //
	attemptLogsRead   = 10 * time.Second // bounds the read of those logs
	staleFinishedSpan = 30 * time.Second // see watcher.stale
)

// parseRetry reads retryFailed and retryInterval; it warns where a retry can never run.
func parseRetry(ps *Problems, c *Config, f Form) {
	c.RetryFailed = parseIntRange(ps, "retryFailed", f.RetryFailed, 0, maxRetryFailed)
	c.RetryInterval = time.Duration(parseIntRange(ps, "retryInterval", f.RetryInterval, 0, maxRetryInterval)) * time.Second
	if c.RetryFailed == 0 {
		return
	}
	switch {
	case c.Wait == WaitNone:
		ps.warn("retryFailed", "warn.retry_no_wait")
	case c.Rolling != nil && c.Rolling.Mode == 2 && !c.Rolling.Staggered:
		ps.warn("retryFailed", "warn.retry_rolling_mode2")
	}
}

// retrySpan is how long one retry may run: the script timeout plus a batch's margin (a serial rolling
// step re-runs one batch, then the batches it had not reached, which the first attempt's limit already
// counts); for a staggered step every batch again.
func (c *Config) retrySpan() time.Duration {
	if c.Rolling != nil && c.Rolling.Staggered {
		return c.staggeredSpan()
	}
	return time.Duration(c.Timeout)*time.Second + waitMarginPerBatch
}

// retryAllowance is what the derived wait limit adds for n retries: each waits retryInterval, then runs.
func (c *Config) retryAllowance(n int) time.Duration {
	return time.Duration(n) * (c.RetryInterval + c.retrySpan())
}

// RetriesThatFit is how many of the retries fit within the wait limit after a first run that takes
// its longest: all of them when the limit is derived (it allows for them), fewer when waitTimeout or
// the step's timeout is shorter. known is false when the first run alone may outlast the limit (the
// targets are resolved by JOB, or a person confirms each batch): then retries run while time is left.
func (c *Config) RetriesThatFit() (n int, known bool) {
	limit, base := c.EffectiveWait(), c.firstAttemptWait()
	if base > limit || (c.Rolling != nil && c.Rolling.Mode == 3 && !c.Rolling.Staggered) {
		return 0, false
	}
	for n = c.RetryFailed; n > 0; n-- {
		if base+c.retryAllowance(n) <= limit {
			break
		}
	}
	return n, true
}

// planRetry is the plan's line on retries.
func (s *step) planRetry() {
	c := s.cfg
	if c.RetryFailed == 0 {
		return
	}
	interval := int(c.RetryInterval / time.Second)
	switch fit, known := c.RetriesThatFit(); {
	case !known:
		s.log.Info(s.t("plan.retry_while", c.RetryFailed, interval, c.EffectiveWait().Round(time.Second)))
	case fit < c.RetryFailed:
		s.log.Info(s.t("plan.retry_fit", c.RetryFailed, interval, fit, c.EffectiveWait().Round(time.Second)))
	default:
		s.log.Info(s.t("plan.retry", c.RetryFailed, interval))
	}
}

// retryable reports whether the job's end calls for another attempt: JOB ended it failed or abnormal,
// and retries are left.
func (s *step) retryable(final *jobapi.JobStatus) bool {
	if len(s.attempts) >= s.cfg.RetryFailed || len(final.Steps) == 0 {
		return false
	}
	switch final.Job.Status {
	case jobstatus.JobFail, jobstatus.JobAbnormal:
		return true
	}
	return false
}

// attemptTitle opens an attempt's folded group when retries are on: "attempt 2 of 3: 12 targets".
func (s *step) beginAttempt(targets int) {
	if s.cfg.RetryFailed == 0 {
		return
	}
	n, of := len(s.attempts)+1, s.cfg.RetryFailed+1
	if targets > 0 {
		s.log.Group(s.tn(targets, "msg.attempt_title_one", "msg.attempt_title", n, of, targets))
		return
	}
	s.log.Group(s.t("msg.attempt_title_unknown", n, of))
}

func (s *step) endAttempt() {
	if s.cfg.RetryFailed > 0 {
		s.log.EndGroup()
	}
}

// How a retry went.
type retryEnd int

const (
	retryUnderWay retryEnd = iota // JOB runs the failed targets again
	retryNotRun                   // no retry: the wait limit came first, or JOB refused it
	retryCanceled                 // the step was cancelled meanwhile
)

// retry runs the failed targets of the job that ended (final) again, after retryInterval. It returns
// how many targets the next attempt runs (the failed ones, and a rolling stop's batches not reached),
// and how it went: without a retry the job's end stands.
func (s *step) retry(ctx, runCtx context.Context, w *watcher, final *jobapi.JobStatus) (int, retryEnd) {
	targets := targetsOf(final, s.log.Redact, s.cfg.Targets.KeepID)
	att, failed, keys := s.attemptOf(targets)
	n := att.Number
	s.log.Warn(s.t("msg.attempt_failed", n, s.statusName("job", final.Job.Status), len(failed), len(targets), s.labelList(failed)))
	s.printAttemptTails(runCtx, w.sub, targets)
	if s.cfg.RetryInterval > 0 {
		s.log.Info(s.tn(len(failed), "msg.retry_wait_one", "msg.retry_wait", n, s.cfg.RetryFailed, len(failed), int(s.cfg.RetryInterval/time.Second)))
	}
	timer := time.NewTimer(s.cfg.RetryInterval)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-runCtx.Done():
		if ctx.Err() != nil {
			return 0, retryCanceled
		}
		s.log.Warn(s.t("msg.retry_no_time", n+1, s.cfg.EffectiveWait().Round(time.Second)))
		return 0, retryNotRun
	}
	stepID, prev := final.Steps[0].ID, final.Steps[0].ExecuteCount
	if err := s.client.OperateStep(runCtx, s.scope(), s.jobID, stepID, jobapi.OpStepRetryFailed); err != nil && !s.retryStarted(runCtx, prev) {
		if ctx.Err() != nil {
			return 0, retryCanceled
		}
		s.log.Warn(s.t("msg.retry_refused", s.apiErrorText(err)))
		return 0, retryNotRun
	}
	s.attempts = append(s.attempts, att)
	s.data["retry_count"] = bkci.StringData(strconv.Itoa(n))
	s.log.Info(s.tn(len(failed), "msg.retry_sent_one", "msg.retry_sent", n, s.cfg.RetryFailed, len(failed)))
	w.nextAttempt(prev+1, keys)
	return len(keys), retryUnderWay
}

// printAttemptTails shows the last lines of the first maxAttemptTails failed targets' logs: a retry
// replaces them in JOB (the log endpoint answers for the step's current run), so the attempt's group is
// where the user reads why it failed.
func (s *step) printAttemptTails(ctx context.Context, sub jobapi.Submitted, targets []*target) {
	var keys []jobapi.ObjectKey
	var failed []*target // failed[i] has keys[i]
	for _, t := range targets {
		k := t.res.Object.Key()
		if t.ok || t.notStarted() || !k.Valid() {
			continue
		}
		if len(keys) == maxAttemptTails {
			break
		}
		keys = append(keys, k)
		failed = append(failed, t)
	}
	if len(keys) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, attemptLogsRead)
	defer cancel()
	r := s.logReader(sub)
	warned := false
	r.OnError = func(err error) {
		if !warned {
			warned = true
			s.log.Warn(s.t("msg.log_failed", s.apiErrorText(err)))
		}
	}
	read := make([]*target, 0, len(keys))
	r.Read(rctx, keys, func(i int, content string, ok bool) {
		if ok {
			t := failed[i]
			t.tail, t.logged = tail(s.log.Redact(content), attemptTailLines, attemptTailBytes), true
			read = append(read, t)
		}
	})
	// Targets that failed alike show one block (sameTails, as the failure summary does).
	for _, g := range sameTails(read) {
		if len(g) == 1 {
			s.log.Info(s.t("msg.attempt_tail", g[0].label, s.statusName("target", g[0].res.Status), exitText(g[0].res.ExitCode)))
		} else {
			labels := make([]string, len(g))
			for i, t := range g {
				labels[i] = t.label
			}
			s.log.Info(s.t("msg.attempt_tail_group", len(g), s.groupStatuses(g), s.labelList(labels)))
		}
		for _, line := range strings.Split(g[0].tail, "\n") {
			if line != "" {
				s.log.Info("    " + line)
			}
		}
	}
}

// retryStarted reads the job once after a retry request that failed: its outcome may be unknown (the
// answer was lost) and JOB may have started the retry all the same. It has when the step's execute
// count went up or the job runs again.
func (s *step) retryStarted(ctx context.Context, prev int) bool {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), retryStatusRead)
	defer cancel()
	st, err := s.client.GetJobInstanceStatus(rctx, s.scope(), s.jobID, false)
	if err != nil || len(st.Steps) == 0 {
		return false
	}
	return st.Steps[0].ExecuteCount > prev || !st.Finished
}

// attemptOf counts an attempt's end: the report's row, the labels of its failed targets (not the ones
// that never started: a rolling stop's later batches are not retried, they run when rolling goes on)
// and the keys of every target JOB will run again.
func (s *step) attemptOf(targets []*target) (report.Attempt, []string, map[jobapi.ObjectKey]bool) {
	att := report.Attempt{Number: len(s.attempts) + 1, Total: len(targets)}
	counts := map[int]int{}
	var failed []string
	keys := map[jobapi.ObjectKey]bool{}
	for _, t := range targets {
		counts[t.res.Status]++
		switch {
		case t.ok:
			att.SuccessCount++
		case t.notStarted():
			att.NotStarted++
			keys[t.res.Object.Key()] = true
		default:
			att.FailedCount++
			failed = append(failed, t.label)
			keys[t.res.Object.Key()] = true
		}
	}
	for _, c := range sortedKeys(counts) {
		att.StatusCounts = append(att.StatusCounts, report.StatusCount{Status: c, Name: s.statusName("target", c), Count: counts[c]})
	}
	return att, failed, keys
}

// nextAttempt prepares the watcher for the job's next run: execute count minExec, the targets in
// retried running again (their live logs start over).
func (w *watcher) nextAttempt(minExec int, retried map[jobapi.ObjectKey]bool) {
	w.minExec, w.retriedAt = minExec, time.Now()
	w.sawRunning, w.shown = false, 0
	w.lastRate, w.pausedAt, w.waiting = -1, -1, false
	w.blankSince = time.Time{}
	if w.stream != nil {
		w.stream.restart(retried)
	}
}

// stale reports a status answer from before the retry: the job still finished with the previous
// execute count. JOB sets the job running and raises the count before it answers the retry request,
// but a status read may be served a moment behind that write. An answer without the count (an older
// JOB) is trusted once the job was seen running again, or staleFinishedSpan after the retry.
func (w *watcher) stale(st *jobapi.JobStatus) bool {
	if !st.Finished {
		w.sawRunning = true
		return false
	}
	if w.minExec == 0 {
		return false
	}
	if len(st.Steps) > 0 && st.Steps[0].ExecuteCount >= w.minExec {
		return false
	}
	return !w.sawRunning && time.Since(w.retriedAt) < staleFinishedSpan
}

// restart forgets what was printed of the targets run again: their logs start over.
func (st *streamer) restart(keys map[jobapi.ObjectKey]bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k := range keys {
		delete(st.offset, k)
		delete(st.finished, k)
	}
}

// knownTargets is the number of targets the first attempt runs, for its title: 0 when JOB resolves them.
func knownTargets(c *Config) int {
	if n, known := c.Targets.KnownCount(); known {
		return n
	}
	return 0
}
