package plugin

import (
	"context"
	"errors"
	"time"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/wait"
)

// termKind is what a terminate did to the job.
type termKind int

const (
	termNone          termKind = iota // nothing was tried (no job, onCancel=leave)
	termEnded                         // the job had ended before a terminate was sent
	termConfirmed                     // sent, and JOB confirmed the job ended
	termUnconfirmed                   // sent (or JOB said the job no longer runs), but no end seen in time
	termFailed                        // JOB refused the terminate or could not be reached (err)
	termNotTerminable                 // not sent: the job neither runs, waits nor ended (not started, say)
)

// termResult is what terminate did, for the message that says so: the kind, the last job status
// seen (0: none) and, when it failed, JOB's error.
type termResult struct {
	kind termKind
	code int
	err  error
}

// terminator stops one job.
type terminator struct {
	printer
	client *jobapi.Client
	scope  jobapi.Scope
	jobID  int64
}

// terminate asks JOB to stop the job when its status allows it (2 or 7), and waits briefly for JOB to
// confirm. A job JOB has created but not started yet (1) refuses the terminate; it starts a moment
// later, so terminate waits for that (at most confirmTerminate) first. It returns what happened, with
// the last job status seen (last when none could be read).
func (s terminator) terminate(ctx context.Context, last int) termResult {
	scope := s.scope
	// The status read is bounded so that a hanging read leaves time for the terminate itself; when it
	// fails, the terminate is sent anyway (JOB refuses it, 1241003, for a job that no longer runs).
	sctx, scancel := context.WithTimeout(ctx, terminateStatusRead)
	st, err := s.client.GetJobInstanceStatus(sctx, scope, s.jobID, false)
	scancel()
	if err == nil && st.Job.Status == jobstatus.JobBlank {
		if next := s.awaitStatus(ctx, func(st *jobapi.JobStatus) bool { return st.Job.Status != jobstatus.JobBlank }); next != nil {
			st = next
		}
	}
	send := true
	if err == nil {
		last = st.Job.Status
		switch code := st.Job.Status; {
		case code == jobstatus.JobRunning || code == jobstatus.JobWaitingUser:
		case code == jobstatus.JobStopping: // already being terminated: wait for the end only
			send = false
		case jobstatus.JobFinished(code):
			return termResult{kind: termEnded, code: code}
		default: // not started yet (1), or a status JOB does not terminate in
			return termResult{kind: termNotTerminable, code: code}
		}
	}
	if send {
		if err := s.client.TerminateJob(ctx, scope, s.jobID); err != nil {
			if ae, ok := jobapi.As(err); !ok || ae.Code != jobapi.CodeUnsupportedOperation {
				s.log.Warn(s.t("msg.terminate_failed", s.jobID, s.apiErrorText(err)))
				return termResult{kind: termFailed, code: last, err: err}
			}
			// The job no longer runs or waits: it ended, or an earlier attempt of this call (its
			// answer lost) stopped it. Read how it ends.
		} else {
			s.log.Info(s.t("msg.terminate_sent", s.jobID))
		}
	}
	if st := s.awaitStatus(ctx, func(st *jobapi.JobStatus) bool { return st.Finished }); st != nil {
		last = st.Job.Status
	}
	switch {
	case !jobstatus.JobFinished(last):
		return termResult{kind: termUnconfirmed, code: last}
	case last == jobstatus.JobStopFail: // JOB's own verdict on the terminate
		return termResult{kind: termFailed, code: last, err: errors.New(s.statusName("job", last))}
	case jobstatus.Verdict(last) != "terminated":
		// The job ended by itself before the terminate took effect (JOB refused it, or ran it too late).
		return termResult{kind: termEnded, code: last}
	}
	s.log.Info(s.t("msg.terminate_confirmed", s.jobID, s.statusName("job", last)))
	return termResult{kind: termConfirmed, code: last}
}

// awaitStatus reads the job's status until done accepts it, for at most confirmTerminate, and returns
// the last status read (nil when none could be read).
func (s terminator) awaitStatus(ctx context.Context, done func(*jobapi.JobStatus) bool) *jobapi.JobStatus {
	ctx, cancel := context.WithTimeout(ctx, confirmTerminate)
	defer cancel()
	var last *jobapi.JobStatus
	p := wait.Poller{Schedule: wait.PollSchedule()}
	_ = p.Run(ctx, func(ctx context.Context) (bool, time.Duration, error) {
		st, err := s.client.GetJobInstanceStatus(ctx, s.scope, s.jobID, false)
		if err != nil {
			return false, s.client.RetryAfter(err), nil
		}
		last = st
		return done(st), 0, nil
	})
	return last
}

// terminate stops the step's job with a terminator and records the last status it saw.
func (s *step) terminate(ctx context.Context) termResult {
	r := terminator{printer: s.printer, client: s.client, scope: s.scope(), jobID: s.jobID}.terminate(ctx, s.lastCode)
	if r.code != 0 {
		s.lastCode = r.code
	}
	return r
}
