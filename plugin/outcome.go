package plugin

import (
	"cmp"
	"errors"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
)

// outcome is how the step ends: what output.json says.
type outcome struct {
	success           bool
	jobStatus         string // job_status output ("" = none)
	errorType         int
	errorCode         int
	platformErrorCode int
	message           string
}

// ending is one way the step can end. The table ends gives each its job_status, errorType and
// errorCode: every outcome is built from it (ending.with), nowhere else.
type ending int

const (
	endDone            ending = iota // success, no job_status (the post action, nothing left to do)
	endSuccess                       // the job succeeded
	endSubmitted                     // wait=none: submitted
	endDryRun                        // dry run
	endFailed                        // the job failed (beyond failureTolerance)
	endFailFast                      // the step stopped the job: too many targets failed (failFast)
	endNoTargets                     // the job had no target
	endTerminated                    // someone terminated the job in JOB
	endAbnormal                      // JOB ended the job abnormally
	endCanceled                      // the step was cancelled
	endTimeout                       // the step's own limit passed
	endInvalidInput                  // the form is invalid
	endMissingConfig                 // the private config lacks a required key
	endPermission                    // JOB refused for want of permission
	endNotFound                      // JOB knows no such resource
	endRejected                      // JOB refused the request
	endAuth                          // the gateway refused the app's credentials
	endUnavailable                   // JOB or the gateway unreachable or answering wrongly
	endSubmitUnknown                 // the submit's outcome could not be told
	endPostUnreachable               // the post action could not handle the job
	endNeverStarted                  // the job stayed created, never started
	endInternal                      // a bug
)

var ends = map[ending]struct {
	success   bool
	jobStatus string
	errorType int
	errorCode int
}{
	endDone:            {success: true},
	endSuccess:         {success: true, jobStatus: "success"},
	endSubmitted:       {success: true, jobStatus: "submitted"},
	endDryRun:          {success: true, jobStatus: "dry_run"},
	endFailed:          {jobStatus: "failed", errorType: bkci.ErrorTypeUser, errorCode: codeJobFailed},
	endFailFast:        {jobStatus: "failed", errorType: bkci.ErrorTypeUser, errorCode: codeFailFast},
	endNoTargets:       {jobStatus: "failed", errorType: bkci.ErrorTypeUser, errorCode: codeNoTargets},
	endTerminated:      {jobStatus: "terminated", errorType: bkci.ErrorTypeUser, errorCode: codeTerminated},
	endAbnormal:        {jobStatus: "abnormal", errorType: bkci.ErrorTypeThirdParty, errorCode: codeAbnormal},
	endCanceled:        {jobStatus: "canceled", errorType: bkci.ErrorTypeUser, errorCode: codeCanceled},
	endTimeout:         {jobStatus: "timeout", errorType: bkci.ErrorTypeUser, errorCode: codeTimeout},
	endInvalidInput:    {errorType: bkci.ErrorTypeUser, errorCode: codeInvalidInput},
	endMissingConfig:   {errorType: bkci.ErrorTypeUser, errorCode: codeMissingConfig},
	endPermission:      {errorType: bkci.ErrorTypeUser, errorCode: codePermission},
	endNotFound:        {errorType: bkci.ErrorTypeUser, errorCode: codeNotFound},
	endRejected:        {errorType: bkci.ErrorTypeUser, errorCode: codeRejected},
	endAuth:            {errorType: bkci.ErrorTypeUser, errorCode: codeAuth},
	endUnavailable:     {errorType: bkci.ErrorTypeThirdParty, errorCode: codeUnavailable},
	endSubmitUnknown:   {errorType: bkci.ErrorTypeThirdParty, errorCode: codeSubmitUnknown},
	endPostUnreachable: {errorType: bkci.ErrorTypeThirdParty, errorCode: codePostUnreachable},
	endNeverStarted:    {errorType: bkci.ErrorTypeThirdParty, errorCode: codeNeverStarted},
	endInternal:        {errorType: bkci.ErrorTypePlugin, errorCode: codeInternal},
}

// with is the outcome of this ending with msg.
func (e ending) with(msg string) *outcome {
	d := ends[e]
	return &outcome{success: d.success, jobStatus: d.jobStatus, errorType: d.errorType, errorCode: d.errorCode, message: msg}
}

// withPlatform is with, carrying JOB's error code (platformErrorCode) when err holds one.
func (e ending) withPlatform(msg string, err error) *outcome {
	o := e.with(msg)
	o.platformErrorCode = platformCode(err)
	return o
}

// apiEnds maps the kinds of JOB's errors to endings; a kind not listed is endUnavailable.
var apiEnds = map[jobapi.ErrorKind]ending{
	jobapi.KindPermission: endPermission,
	jobapi.KindNotFound:   endNotFound,
	jobapi.KindBusiness:   endRejected,
	jobapi.KindAuth:       endAuth,
}

// fail turns an error into the outcome: classified once, here.
func (s *step) fail(err error) *outcome {
	var ie *InputError
	if errors.As(err, &ie) {
		if onlyPrivateMissing(ie.Problems) {
			return endMissingConfig.with(ie.Error())
		}
		return endInvalidInput.with(ie.Error())
	}
	var ns *neverStartedError
	if errors.As(err, &ns) {
		return endNeverStarted.with(s.t("msg.never_started", ns.jobID, ns.name, int(ns.after.Seconds()), cmp.Or(s.jobURL(), "-")))
	}
	var ue *unknownSubmitError
	if errors.As(err, &ue) {
		return endSubmitUnknown.withPlatform(s.t("msg.submit_unknown", ue.taskName, s.apiErrorText(ue.err)), ue.err)
	}
	ae, ok := jobapi.As(err)
	if !ok {
		return endInternal.with(s.t("msg.internal_error_detail", s.log.Redact(err.Error())))
	}
	e, known := apiEnds[ae.Kind]
	if !known || isJobInternalError(err) { // JOB's own fault, not the request's
		e = endUnavailable
	}
	switch e {
	case endPermission:
		return e.withPlatform(s.permissionText(ae), err)
	case endAuth:
		return e.withPlatform(s.t("msg.auth_failed", s.apiErrorText(err)), err)
	case endUnavailable:
		return e.withPlatform(s.t("msg.unavailable", s.apiErrorText(err)), err)
	case endRejected:
		if ae.Code == jobapi.CodeBadRequest {
			// JOB's validation message names the field and the bound (e.g. a per-business timeout
			// maximum lower than JOB's 259200 s, which the form cannot know): show it, explained.
			return e.withPlatform(s.t("msg.job_bad_request", s.apiErrorText(err)), err)
		}
	}
	return e.withPlatform(s.apiErrorText(err), err)
}

func onlyPrivateMissing(ps []Problem) bool {
	for _, p := range ps {
		if p.Key != "val.private_missing" {
			return false
		}
	}
	return len(ps) > 0
}

func platformCode(err error) int {
	if ae, ok := jobapi.As(err); ok {
		return ae.Code
	}
	return 0
}
