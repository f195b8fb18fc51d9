package plugin

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobstatus"
)

// maxListWindow is the widest creation-time window get_job_instance_list accepts (30 days, bk-job
// EsbGetJobInstanceListV3ResourceImpl), less a minute.
const maxListWindow = 30*24*time.Hour - time.Minute

// runPost is the post action (postCondition canceledOrTimeOut()): BK-CI cancelled the step (SIGKILL) or
// its timer ran out. It acts only on the job of its own build's run of its parent step: the one its
// state file names (findStates), or, when no data dir of the parent is found at all, the one JOB lists
// under the run's task-name marker. Anything else is left alone.
func (s *step) runPost(ctx context.Context) *outcome {
	if err := s.loadInput(); err != nil {
		return s.fail(err)
	}
	parent := strings.TrimSpace(s.in.Get("parentTaskId"))
	if parent == "" {
		parent = s.env.Getenv("parentTaskId")
	}
	if parent == "" {
		s.log.Info(s.t("msg.post_no_parent"))
		return endDone.with(s.t("msg.post_nothing"))
	}
	cfg, err := s.loadConfig(ctx)
	formInvalid := false
	if err != nil {
		// The form matters only for the look-up in JOB: the private config and the state do.
		var ie *InputError
		if !errors.As(err, &ie) || !onlyFormProblems(ie.Problems) {
			return s.fail(err)
		}
		formInvalid = true
	}
	s.cfg = cfg
	run := Run{BuildID: cfg.Build.BuildID, TaskID: parent, Retry: cfg.Build.RetryCount}
	s.log.Info(s.t("msg.post_start", parent, run.BuildID))
	found := findStates(s.in.DataDir, run)
	for _, err := range found.errs {
		s.log.Warn(s.t("msg.state_failed", s.log.Redact(err.Error())))
	}
	switch {
	case len(found.states) > 0:
		var o *outcome
		for _, st := range found.states { // one, unless the step ran more than once in this build run
			o = firstFailure(o, s.postState(ctx, st))
		}
		return o
	case found.ran:
		s.log.Info(s.t("msg.post_no_job", parent))
		return endDone.with(s.t("msg.post_nothing"))
	case formInvalid:
		// The step refuses the same form before any request: it cannot have created a job.
		s.log.Info(s.t("msg.post_no_job", parent))
		return endDone.with(s.t("msg.post_nothing"))
	}
	return s.postLookup(ctx, run)
}

// firstFailure combines the outcomes of handling several jobs: the first failure, else the first.
func firstFailure(o, r *outcome) *outcome {
	if o == nil || (o.success && !r.success) {
		return r
	}
	return o
}

// postState handles the job one state file names.
func (s *step) postState(ctx context.Context, st *State) *outcome {
	cfg := s.cfg
	s.jobID = st.JobInstanceID
	cfg.ScopeType, cfg.ScopeID, cfg.Operator, cfg.TaskName = st.ScopeType, st.ScopeID, st.Operator, st.TaskName
	if st.OnCancel != "" {
		cfg.OnCancel = st.OnCancel
	}
	leave := cfg.OnCancel != CancelTerminate
	if st.JobInstanceID != 0 {
		s.log.Info(s.t("msg.post_state_job", st.JobInstanceID, st.TaskName))
	}
	if leave && st.JobInstanceID != 0 {
		s.log.Info(s.t("msg.left_running", st.JobInstanceID, st.JobURL))
		return endDone.with(s.t("msg.post_left", st.JobInstanceID))
	}
	client, err := s.newClient(cfg)
	if err != nil {
		if leave { // only a link was wanted: nothing is left undone
			return s.postLeftUnknown(st.TaskName, err)
		}
		return s.fail(err)
	}
	s.client = client
	if st.JobInstanceID == 0 {
		// Killed during the submit: the job, if JOB created it, carries the run's unique task name.
		found, err := client.FindJobByName(ctx, s.scope(), st.TaskName, st.Operator,
			st.SubmittedAt.Add(-clockSkew), time.Now().Add(lookupWindow))
		if err != nil {
			if leave {
				return s.postLeftUnknown(st.TaskName, err)
			}
			return s.postUnreachable(err)
		}
		if found == nil {
			s.log.Info(s.t("msg.post_no_job", st.TaskID))
			return endDone.with(s.t("msg.post_nothing"))
		}
		s.log.Info(s.t("msg.submit_adopted", found.ID, st.TaskName))
		s.jobID = found.ID
		if leave {
			s.log.Info(s.t("msg.left_running", found.ID, s.jobURL()))
			return endDone.with(s.t("msg.post_left", found.ID))
		}
	}
	return s.postTerminate(ctx)
}

// postLookup looks for the run's job in JOB by the marker its task name ends with: nothing of the
// parent step was found in this worker (BK-CI ran the post action elsewhere, or the step never ran).
func (s *step) postLookup(ctx context.Context, run Run) *outcome {
	key := run.Key()
	if key == "" {
		s.log.Info(s.t("msg.post_no_run"))
		return endDone.with(s.t("msg.post_nothing"))
	}
	s.log.Info(s.t("msg.post_lookup", "-"+key))
	leave := s.cfg.OnCancel != CancelTerminate
	client, err := s.newClient(s.cfg)
	if err != nil {
		if leave {
			return s.postLeftUnknown("-"+key, err)
		}
		return s.fail(err)
	}
	s.client = client
	// The parent started at most its timeout before now (the post action runs after it).
	to := time.Now().Add(clockSkew)
	from := to.Add(-min(stepTimeout(s.cfg.Build.AtomTimeout)+lookupWindow, maxListWindow))
	jobs, err := client.FindJobs(ctx, s.scope(), "-"+key, s.cfg.Operator, from, to,
		func(name string) bool { return hasRunKey(name, key) })
	if err != nil {
		// Nothing of the parent was found here, which most often means it never ran: a warning,
		// naming what to search JOB for, rather than a failure for a job that likely never existed.
		msg := s.t("msg.post_lookup_failed", "-"+key, s.apiErrorText(err))
		s.log.Warn(msg)
		return endDone.with(msg)
	}
	if len(jobs) == 0 {
		s.log.Info(s.t("msg.post_no_job", run.TaskID))
		return endDone.with(s.t("msg.post_nothing"))
	}
	var o *outcome
	for _, j := range jobs {
		s.log.Info(s.t("msg.submit_adopted", j.ID, j.Name))
		s.jobID = j.ID
		r := endDone.with(s.t("msg.post_left", j.ID))
		if leave {
			s.log.Info(s.t("msg.left_running", j.ID, s.jobURL()))
		} else {
			r = s.postTerminate(ctx)
		}
		o = firstFailure(o, r)
	}
	return o
}

// postTerminate terminates s.jobID unless it has ended.
func (s *step) postTerminate(ctx context.Context) *outcome {
	status, err := s.client.GetJobInstanceStatus(ctx, s.scope(), s.jobID, false)
	if err != nil {
		return s.postUnreachable(err)
	}
	if status.Finished {
		s.log.Info(s.t("msg.post_already_finished", s.jobID, s.statusName("job", status.Job.Status)))
		return endDone.with(s.t("msg.post_nothing"))
	}
	r := s.terminate(ctx)
	s.data = map[string]bkci.Data{}
	if r.code != 0 {
		s.data["job_status_code"] = bkci.StringData(strconv.Itoa(r.code))
	}
	id := s.jobID
	switch {
	case r.kind == termFailed:
		return s.postUnreachable(r.err)
	case r.kind == termNotTerminable:
		return endPostUnreachable.with(s.t("msg.post_unreachable", id, s.termText(r)))
	case r.kind == termEnded:
		return endDone.with(s.t("msg.post_already_finished", id, s.statusName("job", r.code)))
	case r.kind == termConfirmed:
		return endDone.with(s.t("msg.post_terminated", id, s.statusName("job", r.code)))
	case r.code == jobstatus.JobStopping:
		// JOB took the terminate and is carrying it out.
		return endDone.with(s.t("msg.post_unconfirmed", id, confirmTerminate, s.statusName("job", r.code)))
	}
	last := "-"
	if r.code != 0 {
		last = s.statusName("job", r.code)
	}
	return endPostUnreachable.with(s.t("msg.post_still_running", id, confirmTerminate, last))
}

// postLeftUnknown ends a post action with onCancel=leave that could not find out whether the step
// created a job: there was nothing to terminate either way, so it succeeds with a warning naming
// the task name to search for.
func (s *step) postLeftUnknown(taskName string, err error) *outcome {
	msg := s.t("msg.post_left_unknown", taskName, s.apiErrorText(err))
	s.log.Warn(msg)
	return endDone.with(msg)
}

func (s *step) postUnreachable(err error) *outcome {
	return endPostUnreachable.withPlatform(s.t("msg.post_unreachable", s.jobID, s.apiErrorText(err)), err)
}

// onlyFormProblems reports whether none of the problems concerns the private config or input.json.
func onlyFormProblems(ps []Problem) bool {
	for _, p := range ps {
		if p.Key == "val.private_missing" || p.Key == "val.input_file" {
			return false
		}
	}
	return true
}
