package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/avast/retry-go/v4"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/wait"
)

const (
	terminateGrace   = 15 * time.Second
	confirmTerminate = 8 * time.Second
	// terminateStatusRead bounds the status read before a terminate.
	terminateStatusRead = 5 * time.Second
	// lookupWindow is how far after the submit a look-up by name searches for the job.
	lookupWindow = 10 * time.Minute
	// clockSkew is how much earlier than the agent's clock JOB may date a job this run created: the
	// look-up by name starts there, so an older job of the same (user-given) name is never adopted.
	clockSkew = time.Minute
	// lookupGrace bounds the look-up of a job whose submit's outcome is unknown.
	lookupGrace = 10 * time.Second
)

// run is the step's main path.
func (s *step) run(ctx context.Context) *outcome {
	cfg, err := s.load(ctx)
	if err != nil {
		return s.fail(err)
	}
	s.cfg = cfg
	s.printPlan()
	if cfg.DryRun {
		return s.dryRun()
	}
	client, err := s.newClient(cfg)
	if err != nil {
		return s.fail(err)
	}
	s.client = client

	// The plugin's own deadline: the wait limit counts from now; cancel (ctx) is the signal. Reading
	// the logs of a job that ended may take until the step's own deadline (stepCtx).
	runCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), cfg.EffectiveWait())
	defer stop()
	stepCtx, stopStep := context.WithTimeout(ctx, cfg.StepDeadline)
	defer stopStep()
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-runCtx.Done():
		}
	}()

	listener, callbackURL, err := s.listen()
	if err != nil {
		return s.fail(err)
	}
	if listener != nil {
		defer closeListener(listener)
	}

	req := newSubmitRequest(cfg, callbackURL)
	// The state file exists before the submit: a SIGKILL between JOB creating the job and its answer
	// still leaves the post action the unique task name to find the job by.
	s.saveState(jobapi.Submitted{})
	sub, err := s.submit(runCtx, req)
	if err != nil {
		return s.submitFailed(ctx, runCtx, err)
	}
	sub = s.submitted(sub, listener)
	if runCtx.Err() != nil { // the job was found after a signal or the deadline cut its submit
		return s.endCut(ctx, nil)
	}
	if cfg.Wait == WaitNone {
		return endSubmitted.with(s.t("msg.submitted_nowait", sub.JobInstanceID))
	}
	return s.follow(ctx, runCtx, stepCtx, sub, listener)
}

// listen starts the callback listener in callback mode and returns it with the callback URL to give
// JOB; in the other modes, no listener and the user's own callbackUrl.
func (s *step) listen() (*wait.Listener, string, error) {
	cfg := s.cfg
	if cfg.Wait != WaitCallback {
		return nil, cfg.CallbackURL, nil
	}
	listener, err := wait.Listen(wait.ListenerConfig{Addr: cfg.CallbackListen, BaseURL: cfg.CallbackBaseURL, RelayURL: cfg.CallbackURL,
		Logf: func(format string, args ...any) { s.log.Warn(fmt.Sprintf(format, args...)) }})
	if err != nil {
		return nil, "", &InputError{Lang: s.lang, Problems: []Problem{{Field: "callbackListen", Key: "val.listen_failed", Args: []any{cfg.CallbackListen, err.Error()}}}}
	}
	s.log.Info(s.t("msg.callback_listening", listener.Addr().String(), wait.MaskedURL(cfg.CallbackBaseURL)))
	return listener, listener.URL(cfg.CallbackBaseURL), nil
}

func closeListener(l *wait.Listener) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = l.Close(ctx)
}

// submitted records the job JOB created: the outputs known so far, the state file, the log's link. It
// returns sub with JOB's text masked.
func (s *step) submitted(sub jobapi.Submitted, listener *wait.Listener) jobapi.Submitted {
	s.jobID = sub.JobInstanceID
	// The name is JOB's text (it echoes the task name): masked before it reaches an output or a file.
	sub.JobInstanceName = s.log.Redact(sub.JobInstanceName)
	if listener != nil {
		listener.Expect(sub.JobInstanceID)
	}
	s.data = map[string]bkci.Data{
		"job_instance_id":   bkci.StringData(fmt.Sprint(sub.JobInstanceID)),
		"job_instance_name": bkci.StringData(sub.JobInstanceName),
		"step_instance_id":  bkci.StringData(fmt.Sprint(sub.StepInstanceID)),
		"job_url":           bkci.StringData(s.jobURL()),
		"retry_count":       bkci.StringData("0"),
	}
	s.saveState(sub)
	s.log.Info(s.t("msg.submitted", sub.JobInstanceID, sub.JobInstanceName))
	if u := s.jobURL(); u != "" {
		s.log.Info(s.t("msg.job_link", u))
		s.reportLink(u)
	}
	return sub
}

// follow watches the job to its end (runCtx: until the wait limit or the signal in ctx) and ends the
// step: with the job's results, or early per what ended the wait. A job JOB ends failed runs its failed
// targets again while retries are left (retry.go), each run an attempt of its own in the log.
func (s *step) follow(ctx, runCtx, stepCtx context.Context, sub jobapi.Submitted, listener *wait.Listener) *outcome {
	w := newWatcher(s, sub)
	s.w = w
	var wake <-chan struct{}
	sched := wait.PollSchedule()
	if listener != nil {
		wake = listener.Wake()
		if !s.cfg.FailFast { // the safety net's slow polls would see failures too late to stop early
			sched = wait.SafetySchedule()
		}
	}
	count := knownTargets(s.cfg)
	for {
		s.beginAttempt(count)
		final, werr := w.watch(runCtx, sched, wake)
		if werr == nil && s.retryable(final) {
			retried, how := s.retry(ctx, runCtx, w, final)
			s.endAttempt()
			switch how {
			case retryUnderWay:
				count = retried
				continue
			case retryCanceled:
				return s.endCanceled(w)
			}
			return s.results(stepCtx, w, final)
		}
		s.endAttempt()
		var ff *failFastStop
		switch {
		case errors.As(werr, &ff):
			return s.endFailFast(ctx, stepCtx, w, ff)
		case werr == nil:
			return s.results(stepCtx, w, final)
		case ctx.Err() == nil && runCtx.Err() != nil:
			return s.endAtLimit(ctx, stepCtx, w)
		case ctx.Err() != nil:
			return s.endCut(ctx, w)
		}
		// The step fails without knowing how the job ends: handle the job per onCancel rather than leave
		// it running unwatched.
		o := s.fail(werr)
		s.endAbort(w)
		o.message = s.t("msg.job_outcome", o.message, s.jobID, s.onCancelText())
		return o
	}
}

// submitFailed ends a run whose submit failed. Only the run's own end (runCtx: the deadline, or the
// signal in ctx) makes it a timeout or a cancel: an attempt that timed out inside the client wraps
// context.DeadlineExceeded too, and is an unknown outcome, not the plugin's deadline.
func (s *step) submitFailed(ctx, runCtx context.Context, err error) *outcome {
	if runCtx.Err() != nil {
		if ue := (*unknownSubmitError)(nil); errors.As(err, &ue) {
			s.unknownTask = ue.taskName
		}
		return s.endCut(ctx, nil)
	}
	return s.fail(err)
}

// endAtLimit ends a run whose wait limit passed while the job was followed. What the step reads at the
// limit decides: a job that has ended (between two polls, or with its callback still to come) gets
// its real verdict, counts and logs, within what the step's own deadline leaves (stepCtx); only a job
// still running is a timeout, terminated per onCancel. A job that ends by itself while the terminate
// is on its way is read once more for the same reason.
func (s *step) endAtLimit(ctx, stepCtx context.Context, w *watcher) *outcome {
	if final := s.readAtLimit(ctx, w); final != nil {
		return s.results(stepCtx, w, final)
	}
	o := s.endTimeout(w)
	if s.term.kind == termEnded {
		if final := s.readAtLimit(ctx, w); final != nil {
			return s.results(stepCtx, w, final)
		}
	}
	return o
}

// readAtLimit reads the job's status with its targets once, bounded; it returns it when the job has
// finished, else nil.
func (s *step) readAtLimit(ctx context.Context, w *watcher) *jobapi.JobStatus {
	return s.readOnce(ctx, w, func(st *jobapi.JobStatus) bool {
		if !st.Finished || w.stale(st) {
			return false
		}
		s.log.Info(s.t("msg.ended_at_limit", s.statusName("job", st.Job.Status)))
		return true
	})
}

// readOnce reads the job's status with its targets once, on a short clock of its own (the step's own
// end may have come), and hands it to the watcher when keep accepts it. It returns the status kept;
// nil when it could not be read or keep refused it.
func (s *step) readOnce(ctx context.Context, w *watcher, keep func(*jobapi.JobStatus) bool) *jobapi.JobStatus {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), terminateStatusRead)
	defer cancel()
	st, err := s.client.GetJobInstanceStatus(rctx, s.scope(), s.jobID, true)
	if err != nil || !keep(st) {
		return nil
	}
	w.observe(rctx, st)
	return st
}

// endCut ends a run its own end cut short (runCtx done): cancelled when the signal (ctx) did it, else
// timed out. w is nil before the job is watched.
func (s *step) endCut(ctx context.Context, w *watcher) *outcome {
	if ctx.Err() != nil {
		return s.endCanceled(w)
	}
	return s.endTimeout(w)
}

// submit sends the request once. It is retried inside the client only when it provably never
// reached JOB (it never left, or the gateway's rate limit refused it). When the outcome is unknown, JOB
// may have created the job: it is looked up by the run's unique task name and adopted when found.
// The look-up runs on a short clock of its own: a cancel or the deadline arriving meanwhile must not
// cut it short, or the job would run on with nobody knowing it (the caller then ends the step
// cancelled or timed out, terminating the job per onCancel).
func (s *step) submit(ctx context.Context, req *jobapi.SubmitRequest) (jobapi.Submitted, error) {
	started := time.Now()
	sub, err := s.client.FastExecuteScript(ctx, req)
	if err == nil {
		return sub, nil
	}
	if jobapi.NeverSent(err) || (ctx.Err() == nil && !jobapi.IsUnknownOutcome(err)) {
		return sub, err
	}
	s.log.Warn(s.t("msg.submit_lookup", s.cfg.TaskName, s.apiErrorText(err)))
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupGrace)
	defer cancel()
	if found, ok := s.lookupSubmitted(lctx, started); ok {
		return found, nil
	}
	return sub, &unknownSubmitError{taskName: s.cfg.TaskName, err: err}
}

// Look-up pacing: JOB may need a moment to list a job it just created.
const (
	lookupAttempts = 4                      // look-ups of a submitted job by its task name
	lookupPace     = 500 * time.Millisecond // the n-th look-up waits n·lookupPace after the one before
)

// errNotListed: JOB does not list the run's job (yet).
var errNotListed = errors.New("job not listed")

// lookupSubmitted looks for the job of this run by its unique task name, a few times, briefly
// (lookupAttempts, 0.5 s, 1 s and 1.5 s apart, within ctx).
func (s *step) lookupSubmitted(ctx context.Context, started time.Time) (jobapi.Submitted, bool) {
	scope := s.scope()
	found, err := retry.DoWithData(
		func() (*jobapi.JobSummary, error) {
			found, err := s.client.FindJobByName(ctx, scope, s.cfg.TaskName, s.cfg.Operator,
				started.Add(-clockSkew), time.Now().Add(lookupWindow))
			switch {
			case err != nil:
				s.log.Warn(s.t("msg.lookup_failed", s.apiErrorText(err)))
				return nil, fmt.Errorf("look up task %s: %w", s.cfg.TaskName, err)
			case found == nil:
				return nil, errNotListed
			}
			return found, nil
		},
		retry.Context(ctx),
		retry.Attempts(lookupAttempts),
		retry.LastErrorOnly(true),
		retry.DelayType(func(n uint, _ error, _ *retry.Config) time.Duration { return time.Duration(n) * lookupPace }),
	)
	if err != nil {
		return jobapi.Submitted{}, false
	}
	s.log.Info(s.t("msg.submit_adopted", found.ID, s.cfg.TaskName))
	st, serr := s.client.GetJobInstanceStatus(ctx, scope, found.ID, false)
	var stepID int64
	if serr == nil && len(st.Steps) > 0 {
		stepID = st.Steps[0].ID
	}
	return jobapi.Submitted{JobInstanceID: found.ID, JobInstanceName: found.Name, StepInstanceID: stepID}, true
}

// unknownSubmitError: the submit's outcome could not be told, even after looking the job up.
type unknownSubmitError struct {
	taskName string
	err      error
}

func (e *unknownSubmitError) Error() string {
	return "submit outcome unknown for task " + e.taskName + ": " + e.err.Error()
}
func (e *unknownSubmitError) Unwrap() error { return e.err }

func (s *step) scope() jobapi.Scope {
	return jobapi.Scope{Type: s.cfg.ScopeType, ID: s.cfg.ScopeID}
}

func (s *step) jobURL() string {
	if s.cfg == nil || s.cfg.Private.JobWebURL == "" || s.jobID == 0 {
		return ""
	}
	return strings.TrimRight(s.cfg.Private.JobWebURL, "/") + fmt.Sprintf("/api_execute/%d", s.jobID)
}

// endCanceled: SIGTERM/SIGINT. Terminate per onCancel, write the outputs known so far.
func (s *step) endCanceled(w *watcher) *outcome {
	s.log.Warn(s.t("msg.canceled"))
	s.endAbort(w)
	return endCanceled.with(s.t("msg.canceled_result", s.jobID, s.onCancelText()))
}

// endTimeout: the plugin's own deadline passed.
func (s *step) endTimeout(w *watcher) *outcome {
	s.log.Warn(s.t("msg.timeout", s.cfg.EffectiveWait().Round(time.Second)))
	s.endAbort(w)
	return endTimeout.with(s.t("msg.timeout_result", s.cfg.EffectiveWait().Round(time.Second), s.jobID, s.onCancelText()))
}

func (s *step) endAbort(w *watcher) {
	if s.jobID == 0 {
		return
	}
	// The watcher's last status first: terminate's own status reads are later, so they win.
	if w != nil && w.last != nil {
		s.lastCode = w.last.Job.Status
	}
	if s.cfg.OnCancel == CancelTerminate {
		ctx, cancel := context.WithTimeout(context.Background(), terminateGrace)
		s.term = s.terminate(ctx)
		cancel()
	} else if u := s.jobURL(); u != "" {
		s.log.Info(s.t("msg.left_running", s.jobID, u))
	}
	if s.data == nil {
		s.data = map[string]bkci.Data{}
	}
	if s.lastCode != 0 {
		s.data["job_status_code"] = bkci.StringData(fmt.Sprint(s.lastCode))
	}
}

// onCancelText says what happened to the job when the step ended early: left running per onCancel,
// or what the terminate did (s.term), never more than that.
func (s *step) onCancelText() string {
	if s.jobID == 0 && s.unknownTask != "" {
		return s.t("msg.job_unknown", s.unknownTask)
	}
	if s.jobID == 0 {
		return s.t("msg.no_job")
	}
	if s.cfg.OnCancel != CancelTerminate {
		return s.t("msg.job_left_running")
	}
	return s.termText(s.term)
}

// termText describes a terminate's result.
func (s *step) termText(r termResult) string {
	status := "-"
	if r.code != 0 {
		status = s.statusName("job", r.code)
	}
	switch r.kind {
	case termEnded:
		return s.t("msg.term_ended", status)
	case termConfirmed:
		return s.t("msg.term_confirmed", status)
	case termUnconfirmed:
		return s.t("msg.term_unconfirmed", confirmTerminate, status)
	case termFailed:
		return s.t("msg.term_failed", s.apiErrorText(r.err))
	case termNotTerminable:
		return s.t("msg.term_not_terminable", status)
	}
	return s.t("msg.term_not_tried")
}

func (s *step) dryRun() *outcome {
	cb := s.cfg.CallbackURL
	if s.cfg.Wait == WaitCallback {
		cb = wait.MaskedURL(s.cfg.CallbackBaseURL)
	}
	body, err := maskedRequest(s.cfg, cb)
	if err != nil {
		return s.fail(err)
	}
	s.log.Group(s.t("msg.dry_run_body"))
	for _, line := range strings.Split(body, "\n") {
		s.log.Info(line)
	}
	s.log.EndGroup()
	// The script as JOB will run it: only here, where the user asked for it (task.json marks the editor
	// isSensitive, so BK-CI's worker does not print it either).
	// The file source's script is shown too, and for both the SHA-256 of the bytes sent (strict mode
	// applied), to compare with the file in the workspace or in JOB's job details.
	if s.cfg.ScriptSource == SourceInline || s.cfg.ScriptSource == SourceFile {
		s.log.Group(s.t("msg.dry_run_script"))
		for _, line := range strings.Split(strings.TrimSuffix(s.cfg.ScriptContent, "\n"), "\n") {
			s.log.Info(line)
		}
		s.log.EndGroup()
		sum := sha256.Sum256([]byte(s.cfg.ScriptContent))
		s.log.Info(s.t("msg.dry_run_sha256", hex.EncodeToString(sum[:])))
	}
	s.log.Info(s.t("msg.dry_run_done"))
	return endDryRun.with(s.t("msg.dry_run_done"))
}
