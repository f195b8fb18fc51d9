package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"jobfastexecutescript/internal/logvars"
)

// maxListedLabels is how many labels a variable conflict or skip lists on the page (result.json
// has them all).
const maxListedLabels = 20

// The targets table is laid out as one CSS grid per row with content-visibility:auto, so the
// browser lays out and paints only the rows on screen: a 30,000-row page stays responsive, and
// filtering toggles one class on the table (a stylesheet rule per status hides the other rows)
// instead of touching every row.
//
// The page is parsed once. Everything interpolated goes through html/template's contextual
// escaping; the CSS and JS are constants of this file.
var page = template.Must(template.New("page").Parse(pageTemplate))

var (
	headTmpl = page.Lookup("head")
	rowTmpl  = page.Lookup("row")
	footTmpl = page.Lookup("foot")
)

// view is the data of the page's head and foot.
type view struct {
	r *Result
	t Translator

	Lang         string
	Title        string
	VerdictClass string // ok or ng
	HasJobURL    bool
	JobURL       string
	StartedAt    string
	FinishedAt   string
	Duration     string
	Variables    []kv
	Conflicts    []conflictView
	Skipped      []skipView
	Filters      []filterView
	Total        int
}

// T translates key.
func (v *view) T(key string, args ...any) string { return v.t(key, args...) }

// R is the result.
func (v *view) R() *Result { return v.r }

type kv struct{ Name, Value string }

type conflictView struct {
	Name, Label, Value, Others string
}

type skipView struct {
	Name, Reason, Labels string
}

// filterView is one status filter button.
type filterView struct {
	Key    string // all, success, failed or a status code
	Status bool   // Key is a status code
	Text   string // button text
	Shown  string // "showing n of total" for this filter
}

// rowView is the data of one target row; one value is reused for every row.
type rowView struct {
	Target   *Target
	Class    string // ok|ng and s<status>
	Kind     string
	ExitCode string
	Duration string
	ShowLog  string
}

func writeHTML(w io.Writer, r *Result, t Translator) error {
	v := newView(r, t)
	if err := headTmpl.Execute(w, v); err != nil {
		return err
	}
	kindText := map[string]string{
		KindHost:      t("report.kind_host"),
		KindContainer: t("report.kind_container"),
	}
	row := rowView{ShowLog: t("report.show_log")}
	for i := range r.Targets {
		tg := &r.Targets[i]
		row.Target = tg
		if tg.Success {
			row.Class = "ok s" + strconv.Itoa(tg.Status)
		} else {
			row.Class = "ng s" + strconv.Itoa(tg.Status)
		}
		row.Kind = kindText[tg.Kind]
		if row.Kind == "" {
			row.Kind = tg.Kind
		}
		row.ExitCode = "–"
		if tg.ExitCode != nil {
			row.ExitCode = strconv.Itoa(*tg.ExitCode)
		}
		row.Duration = "–"
		if tg.DurationMs != nil {
			row.Duration = formatDuration(time.Duration(*tg.DurationMs) * time.Millisecond)
		}
		if err := rowTmpl.Execute(w, &row); err != nil {
			return err
		}
	}
	return footTmpl.Execute(w, v)
}

func newView(r *Result, t Translator) *view {
	v := &view{r: r, t: t, Title: t("report.title"), Lang: "zh-CN", VerdictClass: "ng", Total: len(r.Targets)}
	if strings.HasPrefix(strings.ToLower(r.Language), "en") {
		v.Lang = "en"
	}
	if r.Verdict == VerdictSuccess {
		v.VerdictClass = "ok"
	}
	v.HasJobURL = r.JobURL != ""
	v.JobURL = r.JobURL
	if !r.StartedAt.IsZero() {
		v.StartedAt = formatTime(r.StartedAt)
	}
	if !r.FinishedAt.IsZero() {
		v.FinishedAt = formatTime(r.FinishedAt)
	}
	if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() && !r.FinishedAt.Before(r.StartedAt) {
		v.Duration = formatDuration(r.FinishedAt.Sub(r.StartedAt))
	}

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
	v.Filters = filters(r.Targets, t)
	return v
}

// filters returns the filter buttons: all, success, failed, then each status present by code.
func filters(targets []Target, t Translator) []filterView {
	type st struct {
		name  string
		count int
	}
	byStatus := map[int]*st{}
	ok := 0
	for i := range targets {
		tg := &targets[i]
		if tg.Success {
			ok++
		}
		s := byStatus[tg.Status]
		if s == nil {
			s = &st{name: tg.StatusName}
			if s.name == "" {
				s.name = strconv.Itoa(tg.Status)
			}
			byStatus[tg.Status] = s
		}
		s.count++
	}
	total := len(targets)
	mk := func(key, label string, n int, status bool) filterView {
		return filterView{
			Key: key, Status: status,
			Text:  t("report.filter_count", label, n),
			Shown: t("report.showing", n, total),
		}
	}
	out := []filterView{
		mk("all", t("report.filter_all"), total, false),
		mk("success", t("report.filter_success"), ok, false),
		mk("failed", t("report.filter_failed"), total-ok, false),
	}
	codes := make([]int, 0, len(byStatus))
	for c := range byStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		out = append(out, mk(strconv.Itoa(c), byStatus[c].name, byStatus[c].count, true))
	}
	return out
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

const pageTemplate = `{{define "head"}}<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root{--ok:#1a7f37;--ng:#cf222e;--bd:#d0d7de;--mut:#57606a;--bg2:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;padding:16px 24px;font:14px/1.5 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:24px 0 8px}
a{color:#0969da}
.verdict{display:inline-block;font-weight:600;padding:2px 10px;border-radius:12px;color:#fff;margin:4px 0}
.verdict.ok{background:var(--ok)}.verdict.ng{background:var(--ng)}
.msg{white-space:pre-wrap;margin:4px 0}
.totals{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid var(--bd);border-radius:6px;padding:8px 16px;min-width:120px}
.card .n{display:block;font-size:24px;font-weight:600}
.card.ok .n{color:var(--ok)}.card.ng .n{color:var(--ng)}
table{border-collapse:collapse}
th,td{border:1px solid var(--bd);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg2)}
table.kv th{width:180px;font-weight:600}
pre{margin:0;font:12px/1.45 ui-monospace,SFMono-Regular,Consolas,"Liberation Mono",monospace;white-space:pre-wrap;word-break:break-all}
.val pre{max-height:12em;overflow:auto}
#filters{display:flex;gap:6px;flex-wrap:wrap;margin:8px 0}
#filters button{font:inherit;padding:2px 10px;border:1px solid var(--bd);border-radius:14px;background:#fff;cursor:pointer}
#filters button[aria-pressed="true"]{background:#0969da;border-color:#0969da;color:#fff}
#shown{color:var(--mut);margin:4px 0}
#targets{display:block;width:100%;border:1px solid var(--bd);border-bottom:0}
#targets thead,#targets tbody{display:block}
#targets thead{position:sticky;top:0;z-index:1}
#targets tr{display:grid;grid-template-columns:18% 6% 12% 6% 7% 11% minmax(0,1fr);border-bottom:1px solid var(--bd)}
#targets tbody tr{content-visibility:auto;contain-intrinsic-size:auto 30px}
#targets th,#targets td{display:block;min-width:0;border:0;border-right:1px solid var(--bd);overflow-wrap:anywhere}
#targets th:last-child,#targets td:last-child{border-right:0}
#targets tr.ng td.st{color:var(--ng);font-weight:600}
#targets tr.ok td.st{color:var(--ok)}
#targets td.num{text-align:right;font-variant-numeric:tabular-nums}
#targets details pre{max-height:24em;overflow:auto;background:var(--bg2);padding:6px;margin-top:4px}
#targets summary{cursor:pointer;color:#0969da}
.none{color:var(--mut)}
#targets.f-success tbody tr.ng,#targets.f-failed tbody tr.ok{display:none}
{{range .Filters}}{{if .Status}}#targets.f-{{.Key}} tbody tr:not(.s{{.Key}}){display:none}
{{end}}{{end}}footer{margin-top:24px;color:var(--mut);font-size:12px}
</style>
</head>
<body data-filter="all">
<header>
<h1>{{.Title}}</h1>
<span class="verdict {{.VerdictClass}}">{{if eq .VerdictClass "ok"}}{{.T "report.verdict_success"}}{{else}}{{.T "report.verdict_failure"}}{{end}}</span>
{{with .R.Message}}<p class="msg">{{.}}</p>{{end}}
</header>
<section class="totals">
<div class="card"><span class="n">{{.R.Total}}</span>{{.T "report.total"}}</div>
<div class="card ok"><span class="n">{{.R.SuccessCount}}</span>{{.T "report.success"}}</div>
<div class="card ng"><span class="n">{{.R.FailedCount}}</span>{{.T "report.failed"}}</div>
</section>
<section>
<h2>{{.T "report.job"}}</h2>
<table class="kv">
<tr><th>{{.T "report.job_instance"}}</th><td>{{.R.JobInstanceName}} ({{.R.JobInstanceID}}){{if .HasJobURL}} <a href="{{.JobURL}}" target="_blank" rel="noopener noreferrer">{{.T "report.open_in_job"}}</a>{{end}}</td></tr>
<tr><th>{{.T "report.step_instance_id"}}</th><td>{{.R.StepInstanceID}}</td></tr>
<tr><th>{{.T "report.job_status"}}</th><td>{{.R.JobStatus}} ({{.R.JobStatusCode}})</td></tr>
<tr><th>{{.T "report.scope"}}</th><td>{{.R.ScopeType}}:{{.R.ScopeID}}</td></tr>
<tr><th>{{.T "report.task_name"}}</th><td>{{.R.TaskName}}</td></tr>
<tr><th>{{.T "report.operator"}}</th><td>{{.R.Operator}}</td></tr>
{{with .StartedAt}}<tr><th>{{$.T "report.started_at"}}</th><td>{{.}}</td></tr>
{{end}}{{with .FinishedAt}}<tr><th>{{$.T "report.finished_at"}}</th><td>{{.}}</td></tr>
{{end}}{{with .Duration}}<tr><th>{{$.T "report.duration"}}</th><td>{{.}}</td></tr>
{{end}}</table>
</section>
<section>
<h2>{{.T "report.variables"}}</h2>
{{if .Variables}}<table class="kv vars">
<thead><tr><th>{{.T "report.var_name"}}</th><th>{{.T "report.var_value"}}</th></tr></thead>
<tbody>
{{range .Variables}}<tr><td>{{.Name}}</td><td class="val"><pre>{{.Value}}</pre></td></tr>
{{end}}</tbody>
</table>
{{else}}<p class="none">{{.T "report.no_variables"}}</p>
{{end}}{{if .Conflicts}}<h2>{{.T "report.conflicts"}}</h2>
<table class="kv conflicts">
<thead><tr><th>{{.T "report.var_name"}}</th><th>{{.T "report.conflict_winner"}}</th><th>{{.T "report.var_value"}}</th><th>{{.T "report.conflict_others"}}</th></tr></thead>
<tbody>
{{range .Conflicts}}<tr><td>{{.Name}}</td><td>{{.Label}}</td><td class="val"><pre>{{.Value}}</pre></td><td>{{.Others}}</td></tr>
{{end}}</tbody>
</table>
{{end}}{{if .Skipped}}<h2>{{.T "report.skipped"}}</h2>
<table class="kv skipped">
<thead><tr><th>{{.T "report.var_name"}}</th><th>{{.T "report.skip_reason"}}</th><th>{{.T "report.skip_targets"}}</th></tr></thead>
<tbody>
{{range .Skipped}}<tr><td><pre>{{.Name}}</pre></td><td>{{.Reason}}</td><td>{{.Labels}}</td></tr>
{{end}}</tbody>
</table>
{{end}}</section>
<section>
<h2>{{.T "report.targets"}}</h2>
<div id="filters" role="toolbar" aria-label="{{.T "report.filter"}}">
{{range .Filters}}<button type="button" data-f="{{.Key}}" data-shown="{{.Shown}}" aria-pressed="{{if eq .Key "all"}}true{{else}}false{{end}}">{{.Text}}</button>
{{end}}</div>
<p id="shown">{{with index .Filters 0}}{{.Shown}}{{end}}</p>
<table id="targets" class="f-all" data-total="{{.Total}}">
<thead><tr><th>{{.T "report.col_label"}}</th><th>{{.T "report.col_kind"}}</th><th>{{.T "report.col_status"}}</th><th>{{.T "report.col_exit_code"}}</th><th>{{.T "report.col_duration"}}</th><th>{{.T "report.col_tag"}}</th><th>{{.T "report.col_log"}}</th></tr></thead>
<tbody>
{{end}}

{{define "row"}}<tr class="{{.Class}}"><td>{{.Target.Label}}</td><td>{{.Kind}}</td><td class="st">{{.Target.StatusName}}</td><td class="num">{{.ExitCode}}</td><td class="num">{{.Duration}}</td><td>{{.Target.Tag}}</td><td>{{if .Target.LogTail}}<details><summary>{{.ShowLog}}</summary><pre>{{.Target.LogTail}}</pre></details>{{else}}<span class="none">–</span>{{end}}</td></tr>
{{end}}

{{define "foot"}}</tbody>
</table>
{{if not .Total}}<p class="none">{{.T "report.no_targets"}}</p>
{{end}}</section>
<footer>{{.T "report.footer" .R.Plugin .R.Version}} · <a href="result.json">result.json</a></footer>
<script>
(function () {
  var table = document.getElementById('targets');
  var bar = document.getElementById('filters');
  var shown = document.getElementById('shown');
  if (!table || !bar) { return; }
  var buttons = bar.getElementsByTagName('button');
  function find(f) {
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute('data-f') === f) { return buttons[i]; }
    }
    return null;
  }
  function apply(f) {
    var b = find(f);
    if (!b) { f = 'all'; b = find(f); }
    table.className = 'f-' + f;
    document.body.setAttribute('data-filter', f);
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', buttons[i] === b ? 'true' : 'false');
    }
    if (b && shown) { shown.textContent = b.getAttribute('data-shown'); }
  }
  function fromHash() {
    var m = /(?:^#|&)status=([^&]*)/.exec(location.hash);
    if (!m) { return 'all'; }
    try { return decodeURIComponent(m[1]); } catch (e) { return 'all'; }
  }
  bar.addEventListener('click', function (e) {
    var b = e.target;
    while (b && b !== bar && b.tagName !== 'BUTTON') { b = b.parentNode; }
    if (!b || b === bar) { return; }
    var f = b.getAttribute('data-f');
    apply(f);
    try { history.replaceState(null, '', '#status=' + encodeURIComponent(f)); } catch (err) { location.hash = 'status=' + encodeURIComponent(f); }
  });
  window.addEventListener('hashchange', function () { apply(fromHash()); });
  apply(fromHash());
})();
</script>
</body>
</html>
{{end}}`

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
	"report.filter_count", "report.showing",
	"report.col_label", "report.col_kind", "report.col_status", "report.col_exit_code", "report.col_duration",
	"report.col_tag", "report.col_log",
	"report.kind_host", "report.kind_container", "report.show_log", "report.no_targets", "report.footer",
}
