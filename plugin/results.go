package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/logvars"
	"jobfastexecutescript/internal/report"
)

// maxOutputRunes is BK-CI's limit for one output value.
const maxOutputRunes = 4000

// reservedOutputs are the step's own outputs (docs/CONTRACT.md#outputs): extracted variables never take them.
var reservedOutputs = map[string]bool{
	"job_instance_id": true, "job_instance_name": true, "step_instance_id": true, "job_url": true,
	"job_status": true, "job_status_code": true, "total_count": true, "success_count": true,
	"failed_count": true, "success_targets": true, "failed_targets": true, "job_report": true,
	"not_started_count": true, "not_started_targets": true, "retry_count": true,
}

// results turns the finished job into the verdict, the outputs, the logs, the summary and the report.
func (s *step) results(ctx context.Context, w *watcher, final *jobapi.JobStatus) *outcome {
	sub := w.sub
	if sub.StepInstanceID == 0 && len(final.Steps) > 0 {
		sub.StepInstanceID = final.Steps[0].ID
		s.data["step_instance_id"] = bkci.StringData(fmt.Sprint(sub.StepInstanceID))
	}
	s.lastCode = final.Job.Status
	targets := targetsOf(final, s.log.Redact, s.cfg.Targets.KeepID)
	var vars *logvars.Collector
	if s.cfg.ExtractVars {
		vars = logvars.NewCollector(func(name string) bool { return reservedOutputs[name] })
		vars.Redact = s.log.Redact
		vars.Allowed = s.cfg.AllowedVariables
		vars.Compare = compareLabels
	}
	s.readLogs(ctx, sub, targets, w.stream, vars)
	cut := ctx.Err() // cancelled, or out of the step's time, while the logs were read

	var okLabels, failedLabels, notStartedLabels []string
	terminated := 0
	counts := map[int]int{}
	for _, t := range targets {
		counts[t.res.Status]++
		switch {
		case t.ok:
			okLabels = append(okLabels, t.label)
		case t.notStarted():
			notStartedLabels = append(notStartedLabels, t.label)
		default:
			failedLabels = append(failedLabels, t.label)
			if terminatedTarget(t.res.Status) {
				terminated++
			}
		}
	}
	n := tally{total: len(targets), failed: len(failedLabels), notStarted: len(notStartedLabels), terminated: terminated, failedLabels: failedLabels}
	s.data["job_status_code"] = bkci.StringData(fmt.Sprint(final.Job.Status))
	s.data["total_count"] = bkci.StringData(strconv.Itoa(n.total))
	s.data["success_count"] = bkci.StringData(strconv.Itoa(len(okLabels)))
	s.data["failed_count"] = bkci.StringData(strconv.Itoa(n.failed))
	s.data["not_started_count"] = bkci.StringData(strconv.Itoa(n.notStarted))
	s.data["success_targets"] = bkci.StringData(joinLimited(okLabels, maxOutputRunes))
	s.data["failed_targets"] = bkci.StringData(joinLimited(failedLabels, maxOutputRunes))
	s.data["not_started_targets"] = bkci.StringData(joinLimited(notStartedLabels, maxOutputRunes))

	var vres logvars.Result
	if vars != nil && cut == nil { // variables from some logs only would mislead later steps
		vres = vars.Result()
		s.applyVars(vres)
	}
	o := s.verdict(final.Job.Status, n)
	if r := len(s.attempts); r > 0 {
		o.message += s.tn(r, "msg.after_retries_one", "msg.after_retries", r)
	}
	if cut != nil {
		o = s.logsCut(cut, final.Job.Status)
	}
	s.printSummary(targets, counts, n, final.Job.Status, o)
	s.writeReport(final, targets, counts, vres, o)
	return o
}

// logsCut is the outcome of a job that ended while the step was cancelled, or ran out of its time,
// before every log was read: the logs are incomplete and no variable is set.
func (s *step) logsCut(err error, code int) *outcome {
	if errors.Is(err, context.DeadlineExceeded) {
		return endTimeout.with(s.t("msg.logs_timeout", s.jobID, s.statusName("job", code)))
	}
	return endCanceled.with(s.t("msg.logs_canceled", s.jobID, s.statusName("job", code)))
}

// tally is how the targets of a finished job ended: the not started ones (JOB's status 5: a rolling
// stop, a terminate before their batch) are not failed (docs/CONTRACT.md#labels).
type tally struct {
	total, failed, notStarted int
	terminated                int // of the failed: scripts killed by a terminate (status 403)
	failedLabels              []string
}

// verdict applies the table of docs/CONTRACT.md#verdict.
func (s *step) verdict(code int, n tally) *outcome {
	if s.failFast != nil {
		return s.failFastVerdict(n)
	}
	v := jobstatus.Verdict(code)
	allowed := s.cfg.FailureTolerance.Allowed(n.total)
	bad := n.failed + n.notStarted
	switch {
	case v == "terminated":
		return endTerminated.with(s.t("msg.result_terminated", s.jobID, s.statusName("job", code), bad, n.total))
	case v == "abnormal":
		return endAbnormal.with(s.t("msg.result_abnormal", s.jobID, s.statusName("job", code), bad, n.total))
	case n.total == 0: // what JOB says of the job itself comes first: terminated or abnormal above
		return endNoTargets.with(s.t("msg.no_targets", s.jobID))
	case n.notStarted > 0: // targets that never ran always fail the step
		return endFailed.with(s.t("msg.result_not_started", s.jobID, n.failed, n.notStarted, n.total, s.notStartedWhy(code, n)))
	case v == "success" && n.failed <= allowed:
		msg := s.t("msg.result_success", s.jobID, n.total, n.total-n.failed)
		if n.failed > 0 {
			msg = s.t("msg.result_success_tolerated", s.jobID, n.total, n.failed, s.cfg.FailureTolerance.String())
		}
		return endSuccess.with(msg)
	case code == jobstatus.JobFail && n.failed > 0 && n.failed <= allowed:
		// JOB ends a job 4 when any target fails (outside rolling mode 2); every target ran, and the
		// failed ones are within the tolerance: the step passes, job_status_code keeps JOB's 4.
		s.log.Warn(s.t("msg.tolerated_failed_job", s.jobID, n.failed, n.total, s.cfg.FailureTolerance.String(),
			joinLimited(n.failedLabels, maxOutputRunes)))
		return endSuccess.with(s.t("msg.result_success_tolerated", s.jobID, n.total, n.failed, s.cfg.FailureTolerance.String()))
	case v == "success":
		return endFailed.with(s.t("msg.result_beyond_tolerance", s.jobID, n.failed, n.total, s.cfg.FailureTolerance.String()))
	}
	if code == jobstatus.JobFail { // "job 10002 failed (failed)" would say it twice
		return endFailed.with(s.t("msg.result_failed_targets", s.jobID, n.failed, n.total))
	}
	return endFailed.with(s.t("msg.result_failed", s.jobID, s.statusName("job", code), n.failed, n.total))
}

// notStartedWhy says why targets never ran: a rolling stop (at which batch of the plan's), the job
// terminated, or JOB did not start them.
func (s *step) notStartedWhy(code int, n tally) string {
	if v := jobstatus.Verdict(code); v == "terminated" {
		return s.t("msg.not_started_terminated")
	}
	if s.cfg.Rolling != nil {
		sizes, err := s.cfg.Rolling.Expr.Batches(n.total)
		if err == nil && len(sizes) > 0 {
			started, batch := n.total-n.notStarted, 0
			for sum := 0; batch < len(sizes) && sum < started; batch++ {
				sum += sizes[batch]
			}
			return s.t("msg.not_started_rolling", max(batch, 1), len(sizes))
		}
	}
	return s.t("msg.not_started_other")
}

// applyVars adds the extracted variables to the outputs, with the warnings docs/CONTRACT.md#variables asks for.
func (s *step) applyVars(r logvars.Result) {
	for _, sk := range r.Skipped {
		s.log.Warn(s.t("msg.var_skipped_"+sk.Reason, sk.Name, strings.Join(sk.Labels, ", ")))
	}
	for _, c := range r.Conflicts {
		s.log.Warn(s.t("msg.var_conflict", c.Name, c.Label, s.labelList(c.Others)))
	}
	names := make([]string, 0, len(r.Values))
	for name := range r.Values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s.data[name] = bkci.StringData(r.Values[name])
	}
	if len(names) > 0 {
		s.log.Info(s.t("msg.vars_set", strings.Join(names, ", ")))
	}
}

// maxWarnedLabels is how many labels a warning names before "…(+N more)"; the report has them all.
const maxWarnedLabels = 10

// labelList names at most maxWarnedLabels labels, then how many more (in the report).
func (s *step) labelList(labels []string) string {
	if len(labels) <= maxWarnedLabels {
		return strings.Join(labels, ", ")
	}
	return strings.Join(labels[:maxWarnedLabels], ", ") + s.t("msg.more_labels", len(labels)-maxWarnedLabels)
}

// joinLimited joins labels with "," so that the result has at most limit code points including the
// marker "…(+N more)".
func joinLimited(labels []string, limit int) string {
	full := strings.Join(labels, ",")
	if utf8.RuneCountInString(full) <= limit {
		return full
	}
	var b strings.Builder
	used := 0
	for i, l := range labels {
		marker := fmt.Sprintf("…(+%d more)", len(labels)-i)
		sep := 0
		if i > 0 {
			sep = 1
		}
		n := utf8.RuneCountInString(l)
		// Room for this label and, unless it is the last, the marker for the rest.
		restMarker := fmt.Sprintf("…(+%d more)", len(labels)-i-1)
		if used+sep+n+utf8.RuneCountInString(restMarker) > limit {
			b.WriteString(marker)
			return b.String()
		}
		if sep == 1 {
			b.WriteByte(',')
		}
		b.WriteString(l)
		used += sep + n
	}
	return b.String()
}

// printSummary writes the end of the main log: counts by status, the failed targets, and each failed
// target's log tail folded.
func (s *step) printSummary(targets []*target, counts map[int]int, n tally, code int, o *outcome) {
	s.log.Group(s.tn(len(targets), "msg.summary_title_one", "msg.summary_title", len(targets)))
	for _, c := range sortedKeys(counts) {
		s.log.Info(s.t("msg.summary_count", s.statusName("target", c), c, counts[c]))
	}
	s.log.EndGroup()
	if n.notStarted > 0 {
		s.log.Info(s.t("msg.not_started_line", n.notStarted, s.notStartedWhy(code, n)))
	}
	rows := 0
	var failed []*target
	for _, t := range targets {
		if !t.ok && !t.notStarted() {
			failed = append(failed, t)
		}
	}
	if len(failed) > 0 {
		s.log.Info(s.t("msg.failed_header", len(failed)))
		for _, t := range failed {
			if rows == maxSummaryRows {
				s.log.Info(s.t("msg.more_in_report", len(failed)-rows))
				break
			}
			rows++
			row := s.t("msg.failed_row", t.label, s.statusName("target", t.res.Status), exitText(t.res.ExitCode))
			if t.res.Tag != "" {
				row += s.t("msg.failed_row_tag", t.res.Tag)
			}
			if agentTrouble(t.res.Status) {
				row += s.t("msg.failed_row_agent")
			}
			s.log.Info(row)
		}
		s.foldTails(failed)
	}
	if o.success {
		s.log.Info(o.message)
	}
}

// foldTails folds the failed targets' log tails into the main log, one folded group per distinct
// tail (sameTails), the largest first, at most maxFoldedTails; the rest are pointed to the report.
func (s *step) foldTails(failed []*target) {
	folded := 0
	for i, g := range sameTails(failed) {
		if i == maxFoldedTails {
			s.log.Info(s.t("msg.more_tails_in_report", len(failed)-folded))
			break
		}
		folded += len(g)
		t := g[0]
		if len(g) == 1 {
			s.log.Group(s.t("msg.tail_title", t.label, s.statusName("target", t.res.Status), exitText(t.res.ExitCode)))
		} else {
			labels := make([]string, len(g))
			for j, u := range g {
				labels[j] = u.label
			}
			s.log.Group(s.t("msg.tail_group_title", len(g), s.groupStatuses(g), s.labelList(labels)))
		}
		for _, line := range strings.Split(t.tail, "\n") {
			s.log.Info(line)
		}
		s.log.EndGroup()
	}
}

// sameTails groups the failed targets whose logs were read by identical tail (apart from the
// target's own label, IP or container name: report.OutputKey): the largest groups
// first, in label order within a size; targets without a tail are left out. 300 failed targets with
// three distinct errors become three groups.
func sameTails(failed []*target) [][]*target {
	var groups [][]*target
	index := map[string]int{}
	for _, t := range failed {
		if !t.logged || strings.TrimSpace(t.tail) == "" {
			continue
		}
		names := []string{t.label}
		if h := t.res.Object.Host; h != nil {
			names = append(names, h.IP)
		} else if c := t.res.Object.Container; c != nil {
			names = append(names, c.Name)
		}
		key := report.OutputKey(t.tail, names...)
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], t)
	}
	sort.SliceStable(groups, func(a, b int) bool { return len(groups[a]) > len(groups[b]) })
	return groups
}

// groupStatuses names the statuses and exit codes of a group's targets, most frequent first:
// "non-zero exit code, exit code 1: 2800; …".
func (s *step) groupStatuses(g []*target) string {
	type key struct {
		status int
		exit   string
	}
	counts := map[key]int{}
	var keys []key
	for _, t := range g {
		k := key{t.res.Status, exitText(t.res.ExitCode)}
		if counts[k] == 0 {
			keys = append(keys, k)
		}
		counts[k]++
	}
	sort.SliceStable(keys, func(a, b int) bool { return counts[keys[a]] > counts[keys[b]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = s.t("msg.tail_group_status", s.statusName("target", k.status), k.exit, counts[k])
	}
	return strings.Join(parts, "; ")
}

// agentTrouble reports target statuses that mean JOB could not reach the host's GSE agent: agent
// error (1), agent not installed (18), agent error reported by GSE (310) (docs/JOB.md#target-status).
func agentTrouble(code int) bool { return code == 1 || code == 18 || code == 310 }

func exitText(code *int) string {
	if code == nil {
		return "-"
	}
	return strconv.Itoa(*code)
}

// reportDir is <workspace>/.jobFastExecuteScript/<taskId>/report (the workspace: bkWorkspace, else
// WORKSPACE, else the working directory).
func (s *step) reportDir() string {
	ws := s.cfg.Build.Workspace
	if ws == "" {
		ws = s.cfg.Build.WorkspaceEnv
	}
	if ws == "" {
		ws, _ = os.Getwd()
	}
	return filepath.Join(ws, "."+AtomCode, safeName(s.cfg.Build.TaskID), "report")
}

func (s *step) writeReport(final *jobapi.JobStatus, targets []*target, counts map[int]int, vres logvars.Result, o *outcome) {
	r := &report.Result{
		Plugin: AtomCode, Version: Version, Language: string(s.lang),
		JobInstanceID: s.jobID, JobInstanceName: s.log.Redact(final.Job.Name), JobURL: s.jobURL(),
		JobStatus: o.jobStatus, JobStatusCode: final.Job.Status, JobStatusName: s.statusName("job", final.Job.Status),
		ScopeType: s.cfg.ScopeType, ScopeID: s.cfg.ScopeID, Operator: s.cfg.Operator, TaskName: s.log.Redact(s.cfg.TaskName),
		FinishedAt: time.Now(), Message: o.message, Variables: vres.Values,
		Total: len(targets),
	}
	if o.success {
		r.Verdict = "success"
	} else {
		r.Verdict = "failure"
	}
	if s.state != nil {
		r.StartedAt = s.state.SubmittedAt
	}
	if len(final.Steps) > 0 {
		r.StepInstanceID = final.Steps[0].ID
	}
	for _, c := range sortedKeys(counts) {
		r.StatusCounts = append(r.StatusCounts, report.StatusCount{Status: c, Name: s.statusName("target", c), Count: counts[c]})
	}
	r.VariableConflicts, r.SkippedVariables = vres.Conflicts, vres.Skipped
	r.Batches = s.rollingBatches(targets)
	r.Targets = make([]report.Target, 0, len(targets))
	for _, t := range targets {
		rt := report.Target{Label: t.label, Status: t.res.Status, StatusName: s.statusName("target", t.res.Status),
			Success: t.ok, ExitCode: t.res.ExitCode, DurationMs: t.res.TotalTime, Tag: t.res.Tag, LogTail: t.tail, // masked by targetsOf and handleLog
			Vars: vres.PerTarget[t.label], LogFile: t.logFile}
		if o := t.res.Object; o.Container != nil {
			rt.Kind, rt.ContainerID, rt.ContainerName = "container", o.Container.ID, o.Container.Name
		} else if o.Host != nil {
			rt.Kind, rt.HostID, rt.CloudID, rt.IP = "host", o.Host.HostID, o.Host.CloudID, o.Host.IP
		}
		switch {
		case t.ok:
			r.SuccessCount++
		case t.notStarted():
			r.NotStarted++
			rt.NotStarted = true
		default:
			r.FailedCount++
		}
		r.Targets = append(r.Targets, rt)
	}
	if len(s.attempts) > 0 { // the attempts retried, then the one that ended the job: the counts above
		r.Attempts = append(slices.Clone(s.attempts), report.Attempt{Number: len(s.attempts) + 1, Total: r.Total,
			SuccessCount: r.SuccessCount, FailedCount: r.FailedCount, NotStarted: r.NotStarted, StatusCounts: r.StatusCounts})
	}
	dir := s.reportDir()
	if s.logs != nil && s.logs.Err() != nil {
		s.log.Warn(s.t("msg.report_failed", s.log.Redact(s.logs.Err().Error())))
	}
	if err := report.Write(dir, r, s.lang.Translator()); err != nil {
		s.log.Warn(s.t("msg.report_failed", s.log.Redact(err.Error())))
		return
	}
	s.data["job_report"] = bkci.InternalReport(s.t("report.title"), dir, "index.html")
	s.log.Info(s.t("msg.report_written", filepath.Join(dir, "index.html")))
}

func sortedKeys(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func safeName(s string) string {
	if s == "" {
		return "local"
	}
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, strings.ReplaceAll(s, "..", "_"))
}
