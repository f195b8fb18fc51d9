// Package plugin is the jobFastExecuteScript step: BK-CI inputs to a JOB request, the wait for the job's
// true end, and every target's result written back to the pipeline.
package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/bkciapi"
	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/report"
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
	a := parseArgs(args)
	if a.help { // no output.json: nothing ran
		p := printer{lang: i18n.ParseLang(env.Getenv("BK_CI_LOCALE_LANGUAGE"))}
		fmt.Fprintln(env.Stdout, p.t("msg.help", AtomCode, Version))
		return 0
	}
	if a.version {
		fmt.Fprintf(env.Stdout, "%s %s (commit %s)\n", AtomCode, Version, Commit)
		return 0
	}
	post := a.postAction
	s := &step{env: env, printer: printer{log: bkci.NewLog(env.Stdout), lang: i18n.ParseLang(env.Getenv("BK_CI_LOCALE_LANGUAGE"))}}
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
	printer
	env    Env
	in     *bkci.Input
	cfg    *Config
	client *jobapi.Client
	state  *State
	// results and outputs gathered along the way, written by finish
	data     map[string]bkci.Data
	jobID    int64
	lastCode int
	term     termResult // what the terminate on the step's early end did
	// unknownTask is the task name of a job the submit may have created that the look-up did not find.
	unknownTask string
	w           *watcher // the watcher of the job, once it is followed
	// attempts are the runs of the job that ended failed and were retried (retry.go), oldest first.
	attempts []report.Attempt
	// failFast is set when the step stopped the job because too many targets failed (failfast.go).
	failFast *failFastStop
	// linkDone is closed when the report of the job's link to BK-CI is over (nil: none under way).
	linkDone chan struct{}
	sdk      *bkciapi.SDKEnv // the worker's .sdk.json, once read (buildAPI)
	logs     *report.Logs    // failed targets' full logs in the report folder, from the first one read
}

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
	s.waitLink()
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

// finishPanic handles a bug: it terminates the job per onCancel (a panic must not leave an orphan) and
// writes output.json with errorType 3. The stack goes to stderr, redacted.
func (s *step) finishPanic(r any) int {
	if s.w != nil && s.w.last != nil && s.lastCode == 0 {
		s.lastCode = s.w.last.Job.Status
		s.data["job_status_code"] = bkci.StringData(strconv.Itoa(s.lastCode))
	}
	fmt.Fprintln(s.env.Stderr, s.log.Redact(fmt.Sprintf("panic: %v\n%s", r, debug.Stack())))
	if s.client != nil && s.jobID != 0 && s.cfg != nil && s.cfg.OnCancel == CancelTerminate {
		ctx, cancel := context.WithTimeout(context.Background(), terminateGrace)
		s.term = s.terminate(ctx)
		cancel()
	}
	msg := s.t("msg.internal_error")
	if s.jobID != 0 && s.cfg != nil {
		msg = s.t("msg.job_outcome", msg, s.jobID, s.onCancelText())
	}
	return s.finish(endInternal.with(msg))
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
