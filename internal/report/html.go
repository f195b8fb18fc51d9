package report

import (
	"fmt"
	"html"
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
	h := &htmlWriter{w: w}
	h.head(v)
	kindText := map[string]string{
		KindHost:      t("report.kind_host"),
		KindContainer: t("report.kind_container"),
	}
	row := rowView{ShowLog: t("report.show_log")}
	for i := range r.Targets {
		tg := &r.Targets[i]
		row.Target = tg
		switch {
		case tg.Success:
			row.Class = "ok s" + strconv.Itoa(tg.Status)
		case tg.NotStarted:
			row.Class = "ng ns s" + strconv.Itoa(tg.Status)
		default:
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
		h.row(&row)
		if h.err != nil {
			return h.err
		}
	}
	h.foot(v)
	return h.err
}

func newView(r *Result, t Translator) *view {
	v := &view{r: r, t: t, Title: t("report.title"), Lang: "zh-CN", VerdictClass: "ng", Total: len(r.Targets)}
	if strings.HasPrefix(strings.ToLower(r.Language), "en") {
		v.Lang = "en"
	}
	if r.Verdict == VerdictSuccess {
		v.VerdictClass = "ok"
	}
	// Only an http(s) link is shown: anything else (javascript:, data:) could run in the page.
	lower := strings.ToLower(strings.TrimSpace(r.JobURL))
	v.HasJobURL = strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
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
	ok, notStarted := 0, 0
	for i := range targets {
		tg := &targets[i]
		if tg.Success {
			ok++
		} else if tg.NotStarted {
			notStarted++
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
		mk("failed", t("report.filter_failed"), total-ok-notStarted, false),
	}
	if notStarted > 0 {
		out = append(out, mk("notstarted", t("report.filter_not_started"), notStarted, false))
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

// The page is written by hand rather than with html/template: text/template's reflection keeps every
// exported method of every reachable type in the binary (about 2 MB of a 10 MB binary). Every value
// from outside goes through esc (text and attribute values alike); the CSS and JS are constants.

// htmlWriter writes the page, remembering the first write error.
type htmlWriter struct {
	w   io.Writer
	err error
}

func (h *htmlWriter) raw(parts ...string) {
	for _, p := range parts {
		if h.err != nil {
			return
		}
		_, h.err = io.WriteString(h.w, p)
	}
}

// text writes s escaped for HTML text and quoted attribute values.
func (h *htmlWriter) text(s string) { h.raw(html.EscapeString(s)) }

// head writes the page up to the targets' rows: the document head, the header with the verdict, the
// job, the variables, and the targets' filters and table head.
func (h *htmlWriter) head(v *view) {
	h.document(v)
	h.header(v)
	h.job(v)
	h.variables(v)
	h.targetsHead(v)
}

// document writes the document's head: the security policy, the title and the style.
func (h *htmlWriter) document(v *view) {
	h.raw("<!DOCTYPE html>\n<html lang=\"")
	h.text(v.Lang)
	h.raw("\">\n<head>\n<meta charset=\"utf-8\">\n",
		`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">`, "\n",
		`<meta name="referrer" content="no-referrer">`, "\n",
		`<meta name="viewport" content="width=device-width, initial-scale=1">`, "\n<title>")
	h.text(v.Title)
	h.raw("</title>\n<style>\n", pageCSS)
	for _, f := range v.Filters {
		if f.Status {
			key := html.EscapeString(f.Key)
			h.raw("#targets.f-", key, " tbody tr:not(.s", key, "){display:none}\n")
		}
	}
}

// header writes the page's header: the title, the verdict and the message.
func (h *htmlWriter) header(v *view) {
	r := v.r
	h.raw("footer{margin-top:24px;color:var(--mut);font-size:12px}\n</style>\n</head>\n<body data-filter=\"all\">\n<header>\n<h1>")
	h.text(v.Title)
	h.raw("</h1>\n<span class=\"verdict ", v.VerdictClass, "\">")
	if v.VerdictClass == "ok" {
		h.text(v.t("report.verdict_success"))
	} else {
		h.text(v.t("report.verdict_failure"))
	}
	h.raw("</span>\n")
	if r.Message != "" {
		h.raw("<p class=\"msg\">")
		h.text(r.Message)
		h.raw("</p>\n")
	}
}

// job writes the totals and the job's facts.
func (h *htmlWriter) job(v *view) {
	r := v.r
	h.raw("</header>\n<section class=\"totals\">\n")
	h.card("", r.Total, v.t("report.total"))
	h.card(" ok", r.SuccessCount, v.t("report.success"))
	h.card(" ng", r.FailedCount, v.t("report.failed"))
	if r.NotStarted > 0 {
		h.card(" ng", r.NotStarted, v.t("report.not_started"))
	}
	h.raw("</section>\n<section>\n<h2>")
	h.text(v.t("report.job"))
	h.raw("</h2>\n<table class=\"kv\">\n<tr><th>")
	h.text(v.t("report.job_instance"))
	h.raw("</th><td>")
	h.text(r.JobInstanceName + " (" + strconv.FormatInt(r.JobInstanceID, 10) + ")")
	if v.HasJobURL {
		h.raw(` <a href="`)
		h.text(v.JobURL)
		h.raw(`" target="_blank" rel="noopener noreferrer">`)
		h.text(v.t("report.open_in_job"))
		h.raw("</a>")
	}
	h.raw("</td></tr>\n")
	h.kvRow(v.t("report.step_instance_id"), strconv.FormatInt(r.StepInstanceID, 10))
	h.kvRow(v.t("report.job_status"), r.JobStatus+" ("+strconv.Itoa(r.JobStatusCode)+")")
	h.kvRow(v.t("report.scope"), r.ScopeType+":"+r.ScopeID)
	h.kvRow(v.t("report.task_name"), r.TaskName)
	h.kvRow(v.t("report.operator"), r.Operator)
	for _, row := range [][2]string{{"report.started_at", v.StartedAt}, {"report.finished_at", v.FinishedAt}, {"report.duration", v.Duration}} {
		if row[1] != "" {
			h.kvRow(v.t(row[0]), row[1])
		}
	}
}

// variables writes the variables set, their conflicts and the names skipped.
func (h *htmlWriter) variables(v *view) {
	h.raw("</table>\n</section>\n<section>\n<h2>")
	h.text(v.t("report.variables"))
	h.raw("</h2>\n")
	if len(v.Variables) > 0 {
		rows := make([][]cell, 0, len(v.Variables))
		for _, x := range v.Variables {
			rows = append(rows, []cell{{text: x.Name}, {text: x.Value, class: "val", pre: true}})
		}
		h.table("kv vars", []string{v.t("report.var_name"), v.t("report.var_value")}, rows)
	} else {
		h.raw("<p class=\"none\">")
		h.text(v.t("report.no_variables"))
		h.raw("</p>\n")
	}
	if len(v.Conflicts) > 0 {
		h.raw("<h2>")
		h.text(v.t("report.conflicts"))
		h.raw("</h2>\n")
		rows := make([][]cell, 0, len(v.Conflicts))
		for _, c := range v.Conflicts {
			rows = append(rows, []cell{{text: c.Name}, {text: c.Label}, {text: c.Value, class: "val", pre: true}, {text: c.Others}})
		}
		h.table("kv conflicts", []string{v.t("report.var_name"), v.t("report.conflict_winner"), v.t("report.var_value"), v.t("report.conflict_others")}, rows)
	}
	if len(v.Skipped) > 0 {
		h.raw("<h2>")
		h.text(v.t("report.skipped"))
		h.raw("</h2>\n")
		rows := make([][]cell, 0, len(v.Skipped))
		for _, sk := range v.Skipped {
			rows = append(rows, []cell{{text: sk.Name, pre: true}, {text: sk.Reason}, {text: sk.Labels}})
		}
		h.table("kv skipped", []string{v.t("report.var_name"), v.t("report.skip_reason"), v.t("report.skip_targets")}, rows)
	}
}

// targetsHead writes the targets' status filters and the head of their table.
func (h *htmlWriter) targetsHead(v *view) {
	h.raw("</section>\n<section>\n<h2>")
	h.text(v.t("report.targets"))
	h.raw("</h2>\n<div id=\"filters\" role=\"toolbar\" aria-label=\"")
	h.text(v.t("report.filter"))
	h.raw("\">\n")
	for _, f := range v.Filters {
		pressed := "false"
		if f.Key == "all" {
			pressed = "true"
		}
		h.raw(`<button type="button" data-f="`)
		h.text(f.Key)
		h.raw(`" data-shown="`)
		h.text(f.Shown)
		h.raw(`" aria-pressed="`, pressed, `">`)
		h.text(f.Text)
		h.raw("</button>\n")
	}
	h.raw("</div>\n<p id=\"shown\">")
	if len(v.Filters) > 0 {
		h.text(v.Filters[0].Shown)
	}
	h.raw("</p>\n<table id=\"targets\" class=\"f-all\" data-total=\"", strconv.Itoa(v.Total), "\">\n<thead><tr>")
	h.th(v.t("report.col_label"), v.t("report.col_kind"), v.t("report.col_status"), v.t("report.col_exit_code"),
		v.t("report.col_duration"), v.t("report.col_tag"), v.t("report.col_log"))
	h.raw("</tr></thead>\n<tbody>\n")
}

func (h *htmlWriter) card(class string, n int, label string) {
	h.raw("<div class=\"card", class, "\"><span class=\"n\">", strconv.Itoa(n), "</span>")
	h.text(label)
	h.raw("</div>\n")
}

func (h *htmlWriter) kvRow(k, v string) {
	h.raw("<tr><th>")
	h.text(k)
	h.raw("</th><td>")
	h.text(v)
	h.raw("</td></tr>\n")
}

// cell is one cell of a small table: its text, a class for the <td>, and whether it is preformatted.
type cell struct {
	text, class string
	pre         bool
}

// table writes a small table with a header row and escaped cells.
func (h *htmlWriter) table(class string, head []string, rows [][]cell) {
	h.raw("<table class=\"", class, "\">\n<thead><tr>")
	h.th(head...)
	h.raw("</tr></thead>\n<tbody>\n")
	for _, row := range rows {
		h.raw("<tr>")
		for _, c := range row {
			if c.class != "" {
				h.raw("<td class=\"", c.class, "\">")
			} else {
				h.raw("<td>")
			}
			if c.pre {
				h.raw("<pre>")
				h.text(c.text)
				h.raw("</pre>")
			} else {
				h.text(c.text)
			}
			h.raw("</td>")
		}
		h.raw("</tr>\n")
	}
	h.raw("</tbody>\n</table>\n")
}

func (h *htmlWriter) th(cells ...string) {
	for _, c := range cells {
		h.raw("<th>")
		h.text(c)
		h.raw("</th>")
	}
}

func (h *htmlWriter) row(r *rowView) {
	tg := r.Target
	h.raw("<tr class=\"", r.Class, "\"><td>")
	h.text(tg.Label)
	h.raw("</td><td>")
	h.text(r.Kind)
	h.raw("</td><td class=\"st\">")
	h.text(tg.StatusName)
	h.raw("</td><td class=\"num\">")
	h.text(r.ExitCode)
	h.raw("</td><td class=\"num\">")
	h.text(r.Duration)
	h.raw("</td><td>")
	h.text(tg.Tag)
	h.raw("</td><td>")
	if tg.LogTail != "" {
		h.raw("<details><summary>")
		h.text(r.ShowLog)
		h.raw("</summary><pre>")
		h.text(tg.LogTail)
		h.raw("</pre></details>")
	} else {
		h.raw("<span class=\"none\">–</span>")
	}
	h.raw("</td></tr>\n")
}

func (h *htmlWriter) foot(v *view) {
	h.raw("</tbody>\n</table>\n")
	if v.Total == 0 {
		h.raw("<p class=\"none\">")
		h.text(v.t("report.no_targets"))
		h.raw("</p>\n")
	}
	h.raw("</section>\n<footer>")
	h.text(v.t("report.footer", v.r.Plugin, v.r.Version))
	h.raw(" · <a href=\"result.json\">result.json</a></footer>\n<script>\n", pageScript, "</script>\n</body>\n</html>\n")
}

// pageCSS is the page's stylesheet, without the per-status filter rules written after it.
const pageCSS = `:root{--ok:#1a7f37;--ng:#cf222e;--bd:#d0d7de;--mut:#57606a;--bg2:#f6f8fa}
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
#targets.f-success tbody tr.ng,#targets.f-failed tbody tr.ok,#targets.f-failed tbody tr.ns{display:none}
#targets.f-notstarted tbody tr.ok,#targets.f-notstarted tbody tr.ng:not(.ns){display:none}
`

// pageScript is the status filter: it toggles one class on the targets table, from the buttons and
// from the URL fragment #status=<all|success|failed|notstarted|code>.
const pageScript = `(function () {
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
`

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
	"report.filter_not_started", "report.not_started", "report.filter_count", "report.showing",
	"report.col_label", "report.col_kind", "report.col_status", "report.col_exit_code", "report.col_duration",
	"report.col_tag", "report.col_log",
	"report.kind_host", "report.kind_container", "report.show_log", "report.no_targets", "report.footer",
}
