package plugin

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobstatus"
)

// runPost is the post action (postCondition canceledOrTimeOut()): BK-CI killed the step, maybe with
// SIGKILL; terminate the job its state file names, when onCancel says so.
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
		return &outcome{success: true, message: s.t("msg.post_nothing")}
	}
	cfg, err := s.loadConfig(ctx)
	if err != nil {
		// The form no longer matters here: only the private config and the state file do.
		var ie *InputError
		if !errors.As(err, &ie) || !onlyFormProblems(ie.Problems) {
			return s.fail(err)
		}
	}
	s.cfg = cfg
	st, err := readState(statePath(cfg.Build, parent))
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Info(s.t("msg.post_no_job", parent))
		return &outcome{success: true, message: s.t("msg.post_nothing")}
	}
	if err != nil {
		s.log.Warn(s.t("msg.state_failed", s.log.Redact(err.Error())))
		return &outcome{success: true, message: s.t("msg.post_nothing")}
	}
	s.jobID = st.JobInstanceID
	cfg.ScopeType, cfg.ScopeID, cfg.Operator, cfg.TaskName = st.ScopeType, st.ScopeID, st.Operator, st.TaskName
	if st.OnCancel != "" {
		cfg.OnCancel = st.OnCancel
	}
	if cfg.OnCancel != "terminate" && st.JobInstanceID != 0 {
		s.log.Info(s.t("msg.left_running", st.JobInstanceID, st.JobURL))
		return &outcome{success: true, message: s.t("msg.post_left", st.JobInstanceID)}
	}
	leave := cfg.OnCancel != "terminate"
	if st.JobInstanceID == 0 && st.TaskNameGiven {
		// Killed during the submit, and the form's name is not unique per run: a job found by it may
		// be another run's, which must not be terminated.
		msg := s.t("msg.post_name_given", st.TaskName)
		s.log.Warn(msg)
		if leave {
			return &outcome{success: true, message: msg}
		}
		return &outcome{errorType: bkci.ErrorTypeUser, errorCode: codePostUnreachable, message: msg}
	}
	client, err := s.newClient(cfg)
	if err != nil {
		if leave { // only a link was wanted: nothing is left undone
			return s.postLeftUnknown(st.TaskName, err)
		}
		return s.fail(err)
	}
	s.client = client
	scope := s.scope()
	if st.JobInstanceID == 0 {
		// Killed during the submit: the job, if JOB created it, carries the unique task name.
		found, err := client.FindJobByName(ctx, scope, st.TaskName, st.Operator,
			st.SubmittedAt.Add(-clockSkew), time.Now().Add(lookupWindow))
		if err != nil {
			if leave {
				return s.postLeftUnknown(st.TaskName, err)
			}
			return s.postUnreachable(err)
		}
		if found == nil {
			s.log.Info(s.t("msg.post_no_job", parent))
			return &outcome{success: true, message: s.t("msg.post_nothing")}
		}
		s.log.Info(s.t("msg.submit_adopted", found.ID, st.TaskName))
		s.jobID, st.JobInstanceID = found.ID, found.ID
		if leave {
			s.log.Info(s.t("msg.left_running", found.ID, s.jobURL()))
			return &outcome{success: true, message: s.t("msg.post_left", found.ID)}
		}
	}
	status, err := client.GetJobInstanceStatus(ctx, scope, st.JobInstanceID, false)
	if err != nil {
		return s.postUnreachable(err)
	}
	if status.Finished {
		s.log.Info(s.t("msg.post_already_finished", st.JobInstanceID, s.statusName("job", status.Job.Status)))
		return &outcome{success: true, message: s.t("msg.post_nothing")}
	}
	r := s.terminate(ctx)
	s.data = map[string]bkci.Data{}
	if r.code != 0 {
		s.data["job_status_code"] = bkci.StringData(strconv.Itoa(r.code))
	}
	id := st.JobInstanceID
	switch {
	case r.kind == termFailed:
		return s.postUnreachable(r.err)
	case r.kind == termNotTerminable:
		return &outcome{errorType: bkci.ErrorTypeThirdParty, errorCode: codePostUnreachable,
			message: s.t("msg.post_unreachable", id, s.termText(r))}
	case r.kind == termEnded:
		return &outcome{success: true, message: s.t("msg.post_already_finished", id, s.statusName("job", r.code))}
	case r.kind == termConfirmed:
		return &outcome{success: true, message: s.t("msg.post_terminated", id, s.statusName("job", r.code))}
	case r.code == jobstatus.JobStopping:
		// JOB took the terminate and is carrying it out.
		return &outcome{success: true, message: s.t("msg.post_unconfirmed", id, confirmTerminate, s.statusName("job", r.code))}
	}
	last := "-"
	if r.code != 0 {
		last = s.statusName("job", r.code)
	}
	return &outcome{errorType: bkci.ErrorTypeThirdParty, errorCode: codePostUnreachable,
		message: s.t("msg.post_still_running", id, confirmTerminate, last)}
}

// postLeftUnknown ends a post action with onCancel=leave that could not find out whether the step
// created a job: there was nothing to terminate either way, so it succeeds with a warning naming
// the task name to search for.
func (s *step) postLeftUnknown(taskName string, err error) *outcome {
	msg := s.t("msg.post_left_unknown", taskName, s.apiErrorText(err))
	s.log.Warn(msg)
	return &outcome{success: true, message: msg}
}

func (s *step) postUnreachable(err error) *outcome {
	return &outcome{errorType: bkci.ErrorTypeThirdParty, errorCode: codePostUnreachable, platformErrorCode: platformCode(err),
		message: s.t("msg.post_unreachable", s.jobID, s.apiErrorText(err))}
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
