package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"iter"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"jobfastexecutescript/internal/logvars"
)

// The page is one html/template (page.html), which escapes every value for where it lands: text,
// attribute, URL, or the JSON data inside <script>. The targets are not markup: they are streamed as
// JSON rows into <script id="rows" type="application/json">, in the default order (not succeeded
// first, then labels in natural order), and page.js renders the rows that match the filter, the
// search and the sort, a page at a time. A 30,000-target page therefore holds 30,000 small JSON
// objects rather than 30,000 table rows, and a search or sort works on an array (BENCHMARKS.md).
// Identical log tails are written once, in their group.

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string
	//go:embed page.js
	pageJS string

	pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
		"css": func() template.CSS { return template.CSS(pageCSS) },
		"js":  func() template.JS { return template.JS(pageJS) },
	}).Parse(pageHTML))
)

// maxListedLabels is how many labels a variable conflict or skip lists on the page (result.json
// has them all).
const maxListedLabels = 20

// Limits of the groups section: the largest groups are listed, each with its first labels; the
// table shows all of a group's targets (#group=N).
const (
	maxShownGroups      = 20
	maxGroupLabelsShown = 100
)

// view is the data of the page.
type view struct {
	Lang, Title  string
	VerdictClass string // ok or ng
	Verdict      string
	Message      string
	Cards        []card
	Job          []kv
	JobName      string
	JobURL       string // empty unless http(s)
	T            map[string]string
	Picture      *picture
	Filters      []filterView
	Groups       []groupView
	GroupsNote   string
	MoreGroups   string
	HasTag       bool
	TagNote      string
	Columns      []column
	Variables    []kv
	Conflicts    []conflictView
	Skipped      []skipView
	Total        int
	Shown        string
	Meta         pageMeta
	Rows         iter.Seq2[int, *rowJSON]
	Footer       string
}

type kv struct{ Name, Value string }

type card struct {
	Class string
	N     int
	Label string
}

type conflictView struct {
	Name, Label, Value, Others string
}

type skipView struct {
	Name, Reason, Labels string
}

// filterView is one status filter button.
type filterView struct {
	Key     string // all, success, failed, notstarted or a status code
	Text    string // button text
	Pressed bool
}

// column is one column of the targets table: its sort key and header text.
type column struct{ Key, Text string }

// groupView is one group of targets whose log tails are identical.
type groupView struct {
	ID      int
	Summary string
	Counts  string
	Tail    string
	Labels  string
}

// pageMeta is the data page.js needs besides the rows.
type pageMeta struct {
	Total  int               `json:"total"`
	Names  map[string]string `json:"names"`  // status code → name
	Groups []groupMeta       `json:"groups"` // by group id - 1
	Text   map[string]string `json:"text"`   // texts the script writes
	HasTag bool              `json:"has_tag"`
}

type groupMeta struct {
	N    int    `json:"n"`
	Tail string `json:"o"`
}

// rowJSON is one target as page.js reads it.
type rowJSON struct {
	Label    string `json:"l"`
	Kind     string `json:"k"`           // the kind's name
	Status   int    `json:"s"`           // status code
	Class    int    `json:"c"`           // 0 succeeded, 1 failed, 2 not started
	ExitCode *int   `json:"x"`           // nil: none
	Duration *int64 `json:"d"`           // ms, nil: unknown
	Tag      string `json:"t,omitempty"` //
	Tail     string `json:"o,omitempty"` // its log tail, unless its group holds it
	Group    int    `json:"g,omitempty"` // its group's id (0: none)
	LogFile  string `json:"f,omitempty"` // its full log, relative to the page
}

func writeHTML(w io.Writer, r *Result, t Translator) error {
	v := newView(r, t)
	return pageTemplate.Execute(w, v)
}

// class is 0 for a succeeded target, 1 for a failed one and 2 for one that never ran.
func class(tg *Target) int {
	switch {
	case tg.Success:
		return 0
	case tg.NotStarted:
		return 2
	}
	return 1
}

func newView(r *Result, t Translator) *view {
	v := &view{Title: t("report.title"), Lang: "zh-CN", VerdictClass: "ng", Verdict: t("report.verdict_failure"),
		Message: r.Message, Total: len(r.Targets), T: map[string]string{}}
	for _, k := range plainKeys {
		v.T[k] = t(k)
	}
	if strings.HasPrefix(strings.ToLower(r.Language), "en") {
		v.Lang = "en"
	}
	if r.Verdict == VerdictSuccess {
		v.VerdictClass, v.Verdict = "ok", t("report.verdict_success")
	}
	v.Cards = []card{{"", r.Total, t("report.total")}, {"ok", r.SuccessCount, t("report.success")}, {"ng", r.FailedCount, t("report.failed")}}
	if r.NotStarted > 0 {
		v.Cards = append(v.Cards, card{"ns", r.NotStarted, t("report.not_started")})
	}
	v.job(r, t)
	v.variables(r, t)

	order := defaultOrder(r.Targets)
	groups, groupOf := groupTails(r.Targets, order)
	v.groups(r.Targets, groups, t)
	v.Filters = filters(r.Targets, t)
	v.Shown = t("report.showing", len(r.Targets), len(r.Targets))
	v.Picture = newPicture(r, t)

	for i := range r.Targets {
		if r.Targets[i].Tag != "" {
			v.HasTag = true
			break
		}
	}
	v.Columns = []column{{"label", t("report.col_label")}, {"kind", t("report.col_kind")}, {"status", t("report.col_status")},
		{"exit", t("report.col_exit_code")}, {"duration", t("report.col_duration")}}
	if v.HasTag {
		v.Columns = append(v.Columns, column{"tag", t("report.col_tag")})
		v.TagNote = t("report.tag_note")
	}
	v.Columns = append(v.Columns, column{"log", t("report.col_log")})

	v.Meta = pageMeta{Total: len(r.Targets), Names: map[string]string{}, HasTag: v.HasTag, Text: map[string]string{
		"showing":    t("report.showing", "{0}", "{1}"),
		"show_log":   t("report.show_log"),
		"full_log":   t("report.full_log"),
		"same_as":    t("report.same_output_as", "{0}"),
		"more":       t("report.show_more", "{0}"),
		"no_match":   t("report.no_match"),
		"group_only": t("report.group_only", "{0}"),
		"clear":      t("report.clear_group"),
	}}
	for i := range r.Targets {
		tg := &r.Targets[i]
		key := strconv.Itoa(tg.Status)
		if _, ok := v.Meta.Names[key]; !ok {
			v.Meta.Names[key] = statusName(tg)
		}
	}
	for _, g := range groups {
		v.Meta.Groups = append(v.Meta.Groups, groupMeta{N: len(g.members), Tail: r.Targets[g.members[0]].LogTail})
	}
	kinds := map[string]string{KindHost: t("report.kind_host"), KindContainer: t("report.kind_container")}
	v.Rows = func(yield func(int, *rowJSON) bool) {
		var row rowJSON
		for n, i := range order {
			tg := &r.Targets[i]
			kind := kinds[tg.Kind]
			if kind == "" {
				kind = tg.Kind
			}
			row = rowJSON{Label: tg.Label, Kind: kind, Status: tg.Status, Class: class(tg), ExitCode: tg.ExitCode,
				Duration: tg.DurationMs, Tag: tg.Tag, Tail: tg.LogTail, Group: groupOf[i], LogFile: tg.LogFile}
			if row.Group > 0 && tg.LogTail == v.Meta.Groups[row.Group-1].Tail {
				row.Tail = "" // the group's copy is the same text
			}
			if !yield(n, &row) {
				return
			}
		}
	}
	v.Footer = t("report.footer", r.Plugin, r.Version)
	return v
}

func statusName(tg *Target) string {
	if tg.StatusName != "" {
		return tg.StatusName
	}
	return strconv.Itoa(tg.Status)
}

// job fills the job's facts.
func (v *view) job(r *Result, t Translator) {
	v.JobName = r.JobInstanceName + " (" + strconv.FormatInt(r.JobInstanceID, 10) + ")"
	// Only an http(s) link is shown: anything else (javascript:, data:) could run in the page.
	lower := strings.ToLower(strings.TrimSpace(r.JobURL))
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		v.JobURL = r.JobURL
	}
	status := r.JobStatusName
	if status == "" {
		status = r.JobStatus
	}
	v.Job = []kv{
		{t("report.step_instance_id"), strconv.FormatInt(r.StepInstanceID, 10)},
		{t("report.job_status"), status + " (" + strconv.Itoa(r.JobStatusCode) + ")"},
		{t("report.scope"), r.ScopeType + ":" + r.ScopeID},
		{t("report.task_name"), r.TaskName},
		{t("report.operator"), r.Operator},
	}
	if !r.StartedAt.IsZero() {
		v.Job = append(v.Job, kv{t("report.started_at"), formatTime(r.StartedAt)})
	}
	if !r.FinishedAt.IsZero() {
		v.Job = append(v.Job, kv{t("report.finished_at"), formatTime(r.FinishedAt)})
	}
	if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() && !r.FinishedAt.Before(r.StartedAt) {
		v.Job = append(v.Job, kv{t("report.duration"), formatDuration(r.FinishedAt.Sub(r.StartedAt))})
	}
}

// variables fills the variables set, their conflicts and the names skipped.
func (v *view) variables(r *Result, t Translator) {
	names := make([]string, 0, len(r.Variables))
	for n := range r.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v.Variables = append(v.Variables, kv{Name: n, Value: r.Variables[n]})
	}
	for _, c := range r.VariableConflicts {
		v.Conflicts = append(v.Conflicts, conflictView{Name: c.Name, Label: c.Label, Value: c.Value, Others: listLabels(c.Others, t)})
	}
	for _, s := range r.SkippedVariables {
		v.Skipped = append(v.Skipped, skipView{Name: s.Name, Reason: skipReasonText(s.Reason, t), Labels: listLabels(s.Labels, t)})
	}
}

// filters returns the status filter buttons: all, then each status present, named as the summary
// names it, failed targets' statuses first. "failed" (any status of a failed target) and "success"
// are buttons of their own only when they span more than one status: otherwise the status's own
// button is the same set. The URL fragment accepts them either way.
func filters(targets []Target, t Translator) []filterView {
	type st struct {
		name  string
		count int
		class int
	}
	byStatus := map[int]*st{}
	perClass := [3]map[int]bool{{}, {}, {}}
	classCount := [3]int{}
	for i := range targets {
		tg := &targets[i]
		c := class(tg)
		classCount[c]++
		perClass[c][tg.Status] = true
		s := byStatus[tg.Status]
		if s == nil {
			s = &st{name: statusName(tg), class: c}
			byStatus[tg.Status] = s
		}
		s.count++
	}
	out := []filterView{{Key: "all", Text: t("report.filter_count", t("report.filter_all"), len(targets)), Pressed: true}}
	if len(perClass[1]) > 1 {
		out = append(out, filterView{Key: "failed", Text: t("report.filter_count", t("report.filter_failed"), classCount[1])})
	}
	codes := make([]int, 0, len(byStatus))
	for c := range byStatus {
		codes = append(codes, c)
	}
	rank := [3]int{2, 0, 1} // failed, not started, succeeded
	sort.Slice(codes, func(i, j int) bool {
		a, b := byStatus[codes[i]], byStatus[codes[j]]
		if rank[a.class] != rank[b.class] {
			return rank[a.class] < rank[b.class]
		}
		return codes[i] < codes[j]
	})
	for _, c := range codes {
		if byStatus[c].class == 0 && len(perClass[0]) > 1 && out[len(out)-1].Key != "success" {
			out = append(out, filterView{Key: "success", Text: t("report.filter_count", t("report.filter_success"), classCount[0])})
		}
		out = append(out, filterView{Key: strconv.Itoa(c), Text: t("report.filter_count", byStatus[c].name, byStatus[c].count)})
	}
	return out
}

// defaultOrder is the targets' indexes in the page's default order: failed, then not started, then
// succeeded; labels in natural order (10.0.0.9 before 10.0.0.10) within each.
func defaultOrder(targets []Target) []int {
	order := make([]int, len(targets))
	for i := range order {
		order[i] = i
	}
	rank := [3]int{2, 0, 1}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := &targets[order[a]], &targets[order[b]]
		if ra, rb := rank[class(ta)], rank[class(tb)]; ra != rb {
			return ra < rb
		}
		return naturalLess(ta.Label, tb.Label)
	})
	return order
}

// naturalLess compares strings with runs of digits compared as numbers.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// jobStartLine is the line JOB's agent writes before a script's output: "[2026-12-06 02:59:28][PID:30276] job_start".
var jobStartLine = regexp.MustCompile(`(?m)^\[[0-9: -]+\]\[PID:[0-9]+\] job_start$`)

// OutputKey is what makes two targets' log tails "the same output": the tail with the target's own
// label, IP and container name replaced by one marker, so that "deploying on 10.0.0.7" and "deploying
// on 10.0.0.8" group, and without the time and process id of JOB's job_start line. The step's
// failure summary groups by the same key.
func OutputKey(tail string, names ...string) string {
	if strings.Contains(tail, "] job_start") {
		tail = jobStartLine.ReplaceAllString(tail, "job_start")
	}
	for _, n := range names {
		if len(n) >= 3 && strings.Contains(tail, n) {
			tail = strings.ReplaceAll(tail, n, "\x00target\x00")
		}
	}
	return tail
}

func outputKey(tg *Target) string { return OutputKey(tg.LogTail, tg.Label, tg.IP, tg.ContainerName) }

// tailGroup is the targets (indexes, in the default order) whose log tails are identical.
type tailGroup struct {
	members []int
	failed  int
}

// groupTails finds the groups of two or more targets with the same non-empty log tail, sorted with
// the most failed targets first, then the largest. groupOf[i] is target i's group id (index + 1)
// or 0.
func groupTails(targets []Target, order []int) (groups []*tailGroup, groupOf []int) {
	byTail := map[string]*tailGroup{}
	var all []*tailGroup
	for _, i := range order {
		if strings.TrimSpace(targets[i].LogTail) == "" {
			continue
		}
		key := outputKey(&targets[i])
		g := byTail[key]
		if g == nil {
			g = &tailGroup{}
			byTail[key] = g
			all = append(all, g)
		}
		g.members = append(g.members, i)
		if class(&targets[i]) == 1 {
			g.failed++
		}
	}
	for _, g := range all {
		if len(g.members) > 1 {
			groups = append(groups, g)
		}
	}
	sort.SliceStable(groups, func(a, b int) bool {
		if groups[a].failed != groups[b].failed {
			return groups[a].failed > groups[b].failed
		}
		return len(groups[a].members) > len(groups[b].members)
	})
	groupOf = make([]int, len(targets))
	for id, g := range groups {
		for _, i := range g.members {
			groupOf[i] = id + 1
		}
	}
	return groups, groupOf
}

// groups fills the groups section: the largest groups, each with its status counts, tail and labels.
func (v *view) groups(targets []Target, groups []*tailGroup, t Translator) {
	for id, g := range groups {
		if id == maxShownGroups {
			v.MoreGroups = t("report.more_groups", len(groups)-id)
			break
		}
		counts := map[int]int{}
		var codes []int
		labels := make([]string, 0, min(len(g.members), maxGroupLabelsShown))
		for _, i := range g.members {
			tg := &targets[i]
			if counts[tg.Status] == 0 {
				codes = append(codes, tg.Status)
			}
			counts[tg.Status]++
			if len(labels) < maxGroupLabelsShown {
				labels = append(labels, tg.Label)
			}
		}
		var parts []string
		for _, c := range codes {
			parts = append(parts, t("report.filter_count", statusNameOf(targets, g.members, c), counts[c]))
		}
		gv := groupView{ID: id + 1, Summary: t("report.group_title", formatCount(len(g.members))),
			Counts: strings.Join(parts, " · "), Tail: targets[g.members[0]].LogTail, Labels: strings.Join(labels, ", ")}
		if len(g.members) > len(labels) {
			gv.Labels += " " + t("report.more", len(g.members)-len(labels))
		}
		v.Groups = append(v.Groups, gv)
	}
	if len(groups) > 0 {
		v.GroupsNote = t("report.groups_note")
	}
}

func statusNameOf(targets []Target, members []int, code int) string {
	for _, i := range members {
		if targets[i].Status == code {
			return statusName(&targets[i])
		}
	}
	return strconv.Itoa(code)
}

// formatCount writes n with thousands separators (2,871).
func formatCount(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func listLabels(labels []string, t Translator) string {
	if len(labels) <= maxListedLabels {
		return strings.Join(labels, ", ")
	}
	return strings.Join(labels[:maxListedLabels], ", ") + " " + t("report.more", len(labels)-maxListedLabels)
}

func skipReasonText(reason string, t Translator) string {
	switch reason {
	case logvars.ReasonInvalidName, logvars.ReasonReserved, logvars.ReasonBKCIPrefix, logvars.ReasonTooLong:
		return t("report.skip_" + reason)
	default:
		return reason
	}
}

func formatTime(tm time.Time) string { return tm.Format("2006-01-02 15:04:05 -07:00") }

// formatDuration writes a duration compactly: 850ms, 12.3s, 1m5s, 2h3m0s.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "–"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// plainKeys are the keys without arguments the template reads from .T.
var plainKeys = []string{
	"report.title", "report.total", "report.success", "report.failed", "report.not_started",
	"report.job", "report.job_instance", "report.open_in_job",
	"report.variables", "report.var_name", "report.var_value", "report.no_variables",
	"report.conflicts", "report.conflict_winner", "report.conflict_others",
	"report.skipped", "report.skip_reason", "report.skip_targets",
	"report.targets", "report.filter", "report.search", "report.search_hint", "report.no_targets",
	"report.groups", "report.show_group", "report.picture", "report.noscript",
}

// Keys lists every message key the page uses, for the translation consistency tests.
var Keys = []string{
	"report.title",
	"report.verdict_success", "report.verdict_failure",
	"report.total", "report.success", "report.failed",
	"report.job", "report.job_instance", "report.open_in_job", "report.step_instance_id", "report.job_status",
	"report.scope", "report.task_name", "report.operator", "report.started_at", "report.finished_at", "report.duration",
	"report.variables", "report.var_name", "report.var_value", "report.no_variables",
	"report.conflicts", "report.conflict_winner", "report.conflict_others",
	"report.skipped", "report.skip_reason", "report.skip_targets",
	"report.skip_invalid_name", "report.skip_reserved", "report.skip_bk_ci_prefix", "report.skip_too_long",
	"report.more",
	"report.targets", "report.filter", "report.filter_all", "report.filter_success", "report.filter_failed",
	"report.not_started", "report.filter_count", "report.showing",
	"report.col_label", "report.col_kind", "report.col_status", "report.col_exit_code", "report.col_duration",
	"report.col_tag", "report.col_log",
	"report.kind_host", "report.kind_container", "report.show_log", "report.no_targets", "report.footer",
	"report.search", "report.search_hint", "report.no_match", "report.show_more", "report.full_log",
	"report.same_output_as", "report.group_only", "report.clear_group", "report.tag_note",
	"report.groups", "report.groups_note", "report.group_title", "report.more_groups", "report.show_group",
	"report.picture", "report.picture_run", "report.picture_batch", "report.picture_attempt", "report.batches_note",
	"report.noscript",
}
