// Package plugin is the jobFastExecuteScript step: BK-CI inputs to a JOB request, the wait for the job's
// true end, and every target's result written back to the pipeline.
package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
)

// AtomCode is the plugin's code in BK-CI's store.
const AtomCode = "jobFastExecuteScript"

// Version and Commit are stamped at build time (-ldflags -X).
var (
	Version = "dev"
	Commit  = "unknown"
)

// Env is what the step reads from the process: its environment, its output streams and the signals
// that cancel it (ctx).
type Env struct {
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
}

// Main runs the step (or its post action) and returns the process exit code: 0 exactly when output.json
// says success. It never panics: a panic becomes output.json with errorType 3.
func Main(ctx context.Context, args []string, env Env) (code int) {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	post := ""
	for _, a := range args {
		switch {
		case a == "--version" || a == "-version":
			fmt.Fprintf(env.Stdout, "%s %s (commit %s)\n", AtomCode, Version, Commit)
			return 0
		case strings.HasPrefix(a, "--postAction="):
			post = strings.TrimPrefix(a, "--postAction=")
			if post == "" {
				post = "terminate"
			}
		case a == "--postAction":
			post = "terminate"
		}
	}
	s := &step{env: env, lang: i18n.ParseLang(env.Getenv("BK_CI_LOCALE_LANGUAGE"))}
	s.log = bkci.NewLog(env.Stdout)
	defer func() {
		if r := recover(); r != nil {
			code = s.finishPanic(r)
		}
	}()
	var o *outcome
	if post != "" {
		o = s.runPost(ctx)
	} else {
		o = s.run(ctx)
	}
	return s.finish(o)
}

// step is one run of the plugin.
type step struct {
	env     Env
	lang    i18n.Lang
	log     *bkci.Log
	in      *bkci.Input
	cfg     *Config
	client  *jobapi.Client
	outPath string
	state   *State
	// results and outputs gathered along the way, written by finish
	data     map[string]bkci.Data
	jobID    int64
	lastCode int
	// unknownTask is the task name of a job the submit may have created that the look-up did not find.
	unknownTask string
}

// outcome is how the step ends.
type outcome struct {
	success           bool
	jobStatus         string // job_status output ("" = none)
	errorType         int
	errorCode         int
	platformErrorCode int
	message           string
}

func (s *step) t(key string, args ...any) string { return s.lang.T(key, args...) }

func (s *step) outputPath() string {
	if s.in != nil && s.in.OutputPath != "" {
		return s.in.OutputPath
	}
	dir := s.env.Getenv("bk_data_dir")
	if dir == "" {
		dir, _ = os.Getwd()
	}
	name := s.env.Getenv("bk_data_output")
	if name == "" {
		name = "output.json"
	}
	return filepath.Join(dir, name)
}

// finish writes output.json from o and returns the exit code.
func (s *step) finish(o *outcome) int {
	out := &bkci.Output{Data: s.data}
	if out.Data == nil {
		out.Data = map[string]bkci.Data{}
	}
	if o.jobStatus != "" {
		out.Data["job_status"] = bkci.StringData(o.jobStatus)
	}
	if o.success {
		out.Status = bkci.StatusSuccess
		out.Message = o.message
	} else {
		out.Status = bkci.StatusFailure
		out.Message = o.message
		out.ErrorType = o.errorType
		out.ErrorCode = o.errorCode
		if o.platformErrorCode != 0 {
			out.PlatformCode = "bk_job"
			out.PlatformErrorCode = o.platformErrorCode
		}
		s.log.Error(o.message)
	}
	if err := bkci.WriteOutput(s.outputPath(), out); err != nil {
		fmt.Fprintln(s.env.Stderr, s.t("msg.output_write_failed", s.log.Redact(err.Error())))
		return 1
	}
	return bkci.ExitCode(out.Status)
}

// testPanicEnv names a stage at which the step panics on purpose: load, submitted, poll, logs or
// results. It exists for the end-to-end tests (docs/FAULTS.md), which prove that a panic anywhere still
// ends with output.json (errorType 3) and the job handled per onCancel. It only ever panics.
const testPanicEnv = "JOBFAST_TEST_PANIC"

// panicPoint panics when testPanicEnv names stage.
func (s *step) panicPoint(stage string) {
	if s.env.Getenv != nil && s.env.Getenv(testPanicEnv) == stage {
		panic("forced panic at stage " + stage + " (" + testPanicEnv + ")")
	}
}

// finishPanic handles a bug: it terminates the job per onCancel (a panic must not leave an orphan) and
// writes output.json with errorType 3. The stack goes to stderr, redacted.
func (s *step) finishPanic(r any) int {
	fmt.Fprintln(s.env.Stderr, s.log.Redact(fmt.Sprintf("panic: %v\n%s", r, debug.Stack())))
	if s.client != nil && s.jobID != 0 && s.cfg != nil && s.cfg.OnCancel == "terminate" {
		ctx, cancel := context.WithTimeout(context.Background(), terminateGrace)
		s.terminate(ctx)
		cancel()
	}
	return s.finish(&outcome{errorType: bkci.ErrorTypePlugin, errorCode: codeInternal, message: s.t("msg.internal_error")})
}

// fail turns an error into the outcome: classified once, here.
func (s *step) fail(err error) *outcome {
	var ie *InputError
	if errors.As(err, &ie) {
		code := codeInvalidInput
		if onlyPrivateMissing(ie.Problems) {
			code = codeMissingConfig
		}
		return &outcome{errorType: bkci.ErrorTypeUser, errorCode: code, message: ie.Error()}
	}
	var ns *neverStartedError
	if errors.As(err, &ns) {
		return &outcome{errorType: bkci.ErrorTypeThirdParty, errorCode: codeNeverStarted,
			message: s.t("msg.never_started", ns.jobID, ns.name, int(ns.after.Seconds()), cmp.Or(s.jobURL(), "-"))}
	}
	var ue *unknownSubmitError
	if errors.As(err, &ue) {
		return &outcome{errorType: bkci.ErrorTypeThirdParty, errorCode: codeSubmitUnknown,
			message: s.t("msg.submit_unknown", ue.taskName, s.apiErrorText(ue.err)), platformErrorCode: platformCode(ue.err)}
	}
	if ae, ok := jobapi.As(err); ok {
		o := &outcome{platformErrorCode: ae.Code, message: s.apiErrorText(err)}
		switch ae.Kind {
		case jobapi.KindPermission:
			o.errorType, o.errorCode = bkci.ErrorTypeUser, codePermission
			o.message = s.permissionText(ae)
		case jobapi.KindNotFound:
			o.errorType, o.errorCode = bkci.ErrorTypeUser, codeNotFound
		case jobapi.KindBusiness:
			o.errorType, o.errorCode = bkci.ErrorTypeUser, codeRejected
			if isJobInternalError(err) { // JOB's own fault, not the request's
				o.errorType, o.errorCode = bkci.ErrorTypeThirdParty, codeUnavailable
				o.message = s.t("msg.unavailable", s.apiErrorText(err))
			}
			if ae.Code == jobapi.CodeBadRequest {
				// JOB's validation message names the field and the bound (e.g. a per-business timeout
				// maximum lower than JOB's 259200 s, which the form cannot know): show it, explained.
				o.message = s.t("msg.job_bad_request", s.apiErrorText(err))
			}
		case jobapi.KindAuth:
			o.errorType, o.errorCode = bkci.ErrorTypeUser, codeAuth
			o.message = s.t("msg.auth_failed", s.apiErrorText(err))
		default:
			o.errorType, o.errorCode = bkci.ErrorTypeThirdParty, codeUnavailable
			o.message = s.t("msg.unavailable", s.apiErrorText(err))
		}
		return o
	}
	return &outcome{errorType: bkci.ErrorTypePlugin, errorCode: codeInternal, message: s.t("msg.internal_error_detail", s.log.Redact(err.Error()))}
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

// apiErrorText is a JOB error as the user sees it: JOB's code, message and request id.
func (s *step) apiErrorText(err error) string {
	ae, ok := jobapi.As(err)
	if !ok {
		return s.log.Redact(err.Error())
	}
	rid := ae.RequestID
	if rid == "" {
		rid = "-"
	}
	msg := ae.Message
	if msg == "" && ae.Err != nil {
		msg = ae.Err.Error()
	}
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", ae.HTTPStatus)
	}
	if ae.Code == 0 {
		return s.log.Redact(s.t("msg.api_error_nocode", ae.Op, msg, rid))
	}
	return s.log.Redact(s.t("msg.api_error", ae.Op, ae.Code, msg, rid))
}

// permissionText names the operator, the missing actions and how to get them.
func (s *step) permissionText(ae *jobapi.Error) string {
	op := "-"
	if s.cfg != nil {
		op = s.cfg.Operator
	}
	if ae.Gateway {
		return s.log.Redact(s.t("msg.gateway_no_permission", s.apiErrorText(ae)))
	}
	var actions []string
	if ae.Permission != nil {
		for _, a := range ae.Permission.Actions {
			name := a.Name
			if name == "" {
				name = a.ID
			} else if a.ID != "" {
				name += " (" + a.ID + ")"
			}
			actions = append(actions, name)
		}
	}
	list := strings.Join(actions, ", ")
	if list == "" {
		list = "-"
	}
	return s.log.Redact(s.t("msg.permission_denied", op, list, s.apiErrorText(ae)))
}
