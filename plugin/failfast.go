package plugin

import (
	"context"
	"fmt"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
)

// Fail fast (failFast; docs/CONTRACT.md#fail-fast): while the job runs, as soon as more targets have
// failed than failureTolerance allows, the step terminates the job (operate_job_instance code 1,
// whatever onCancel says: that field is about cancels and deadlines) and fails. The count comes from
// the status answers the watcher already reads for progress (JOB lists every target, the later rolling
// batches as waiting): no extra request. Such a job ends stopped (11), so it is never retried.

// failFastStop is why the watcher stopped following the job: more targets failed than allowed.
type failFastStop struct {
	failed, total, allowed int
	batch, batches         int // the rolling batch it happened in (0 without rolling)
}

func (e *failFastStop) Error() string {
	return fmt.Sprintf("fail fast: %d of %d targets failed, over the tolerance of %d", e.failed, e.total, e.allowed)
}

// checkFailFast is called with each status answer with results while the job runs; it records the
// stop once failed finished targets exceed the tolerance.
func (w *watcher) checkFailFast(st *jobapi.JobStatus, failed, total int) {
	if !w.cfg.FailFast || st.Finished || w.stop != nil {
		return
	}
	allowed := w.cfg.FailureTolerance.Allowed(total)
	if failed <= allowed {
		return
	}
	w.stop = &failFastStop{failed: failed, total: total, allowed: allowed}
	if w.cfg.Rolling != nil {
		w.stop.batch, w.stop.batches = w.batchNumber(st), w.batchCount()
	}
}

// endFailFast terminates the job the watcher stopped following, reads how it ended and gives the
// step's results with the fail-fast verdict.
func (s *step) endFailFast(ctx, stepCtx context.Context, w *watcher, ff *failFastStop) *outcome {
	s.failFast = ff
	if ff.batches > 0 {
		s.log.Warn(s.t("msg.failfast_stop_rolling", ff.failed, ff.total, s.cfg.FailureTolerance.String(), s.jobID, ff.batch, ff.batches))
	} else {
		s.log.Warn(s.t("msg.failfast_stop", ff.failed, ff.total, s.cfg.FailureTolerance.String(), s.jobID))
	}
	if w.last != nil {
		s.lastCode = w.last.Job.Status
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), terminateGrace)
	s.term = s.terminate(tctx)
	cancel()
	final := s.readOnce(ctx, w, func(*jobapi.JobStatus) bool { return true })
	if final == nil {
		final = w.last
	}
	return s.results(stepCtx, w, final)
}

// failFastVerdict is the outcome of a job the step stopped early: failed, with the targets split into
// failed, terminated (killed while running) and not started; and what the terminate did when JOB did
// not confirm it.
func (s *step) failFastVerdict(n tally) *outcome {
	msg := s.t("msg.result_failfast", s.jobID, n.failed-n.terminated, n.total, s.cfg.FailureTolerance.String(), n.terminated, n.notStarted)
	if s.term.kind != termConfirmed && s.term.kind != termEnded {
		msg += " (" + s.termText(s.term) + ")"
	}
	return endFailFast.with(msg)
}

// terminatedTarget reports JOB's target status for a script killed by a terminate (403).
func terminatedTarget(status int) bool { return status == jobstatus.TargetTerminated }
