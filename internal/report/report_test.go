package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jobfastexecutescript/internal/logvars"
)

// messages are the report's texts; the plugin's i18n files must hold the same.
var messages = map[string]map[string]string{
	"zh_CN": {
		"report.title":             "JOB 执行报告",
		"report.verdict_success":   "成功",
		"report.verdict_failure":   "失败",
		"report.total":             "目标总数",
		"report.success":           "成功",
		"report.failed":            "失败",
		"report.job":               "作业",
		"report.job_instance":      "作业实例",
		"report.open_in_job":       "在作业平台中查看",
		"report.step_instance_id":  "步骤实例 ID",
		"report.job_status":        "作业状态",
		"report.scope":             "业务范围",
		"report.task_name":         "任务名称",
		"report.operator":          "执行人",
		"report.started_at":        "开始时间",
		"report.finished_at":       "结束时间",
		"report.duration":          "耗时",
		"report.variables":         "输出变量",
		"report.var_name":          "变量名",
		"report.var_value":         "值",
		"report.no_variables":      "没有从日志中提取到变量",
		"report.conflicts":         "各目标取值不一致的变量",
		"report.conflict_winner":   "采用其值的目标",
		"report.conflict_others":   "取值不同的目标",
		"report.skipped":           "被跳过的变量",
		"report.skip_reason":       "原因",
		"report.skip_targets":      "目标",
		"report.skip_invalid_name": "变量名不合法（须匹配 [A-Za-z_][A-Za-z0-9_]*）",
		"report.skip_reserved":     "与插件自身的输出同名",
		"report.skip_bk_ci_prefix": "以 BK_CI_ 开头",
		"report.skip_too_long":     "值超过 4000 个字符，未输出（见 result.json）",
		"report.more":              "等另外 {0} 个",
		"report.targets":           "执行目标",
		"report.filter":            "按状态筛选",
		"report.filter_all":        "全部",
		"report.filter_success":    "成功",
		"report.filter_failed":     "失败",
		"report.not_started":       "未执行",
		"report.filter_count":      "{0} ({1})",
		"report.showing":           "显示 {0} / {1} 个目标",
		"report.col_label":         "目标",
		"report.col_kind":          "类型",
		"report.col_status":        "状态",
		"report.col_exit_code":     "退出码",
		"report.col_duration":      "耗时",
		"report.col_tag":           "标签",
		"report.col_log":           "日志末尾",
		"report.kind_host":         "主机",
		"report.kind_container":    "容器",
		"report.show_log":          "查看日志",
		"report.no_targets":        "没有执行目标",
		"report.footer":            "由 {0} {1} 生成",
		"report.batches_note":      "作业平台不提供目标所属的批次：插件按各目标的开始时间排序，按滚动策略的批次大小划分，并核对每一批都在上一批全部结束后才开始；核对不通过时不显示批次。",
		"report.clear_group":       "显示全部",
		"report.full_log":          "完整日志",
		"report.group_only":        "只显示输出相同的 {0} 个目标",
		"report.group_title":       "{0} 个目标：输出相同",
		"report.groups":            "相同的输出",
		"report.groups_note":       "日志末尾相同（各目标自己的地址、名称除外）的目标合为一组，失败目标最多的组在前。",
		"report.more_groups":       "另有 {0} 组输出相同的目标（见表格中的“输出相同”链接）",
		"report.no_match":          "没有匹配的目标",
		"report.noscript":          "目标列表需要 JavaScript；result.json 中有全部目标。",
		"report.picture":           "执行概况",
		"report.picture_attempt":   "第 {0} 次执行（{1} 个）",
		"report.picture_batch":     "第 {0} 批（{1} 个）",
		"report.picture_run":       "全部 {0} 个目标",
		"report.same_output_as":    "{0} 个目标输出相同",
		"report.search":            "搜索",
		"report.search_hint":       "按目标、状态、退出码、标签或日志搜索",
		"report.show_group":        "在表格中只显示这些目标",
		"report.show_more":         "再显示 {0} 个",
		"report.tag_note":          "标签：脚本通过作业平台的 job_success / job_fail 设置的文本。",
	},
	"en_US": {
		"report.title":             "JOB execution report",
		"report.verdict_success":   "Succeeded",
		"report.verdict_failure":   "Failed",
		"report.total":             "Targets",
		"report.success":           "Succeeded",
		"report.failed":            "Failed",
		"report.job":               "Job",
		"report.job_instance":      "Job instance",
		"report.open_in_job":       "Open in JOB",
		"report.step_instance_id":  "Step instance ID",
		"report.job_status":        "Job status",
		"report.scope":             "Scope",
		"report.task_name":         "Task name",
		"report.operator":          "Operator",
		"report.started_at":        "Started",
		"report.finished_at":       "Finished",
		"report.duration":          "Duration",
		"report.variables":         "Output variables",
		"report.var_name":          "Name",
		"report.var_value":         "Value",
		"report.no_variables":      "No variables were extracted from the logs",
		"report.conflicts":         "Variables whose values differ between targets",
		"report.conflict_winner":   "Value taken from",
		"report.conflict_others":   "Targets with other values",
		"report.skipped":           "Skipped variables",
		"report.skip_reason":       "Reason",
		"report.skip_targets":      "Targets",
		"report.skip_invalid_name": "Invalid name (must match [A-Za-z_][A-Za-z0-9_]*)",
		"report.skip_reserved":     "Same name as one of the plugin's own outputs",
		"report.skip_bk_ci_prefix": "Starts with BK_CI_",
		"report.skip_too_long":     "Value longer than 4000 characters, not output (see result.json)",
		"report.more":              "and {0} more",
		"report.targets":           "Targets",
		"report.filter":            "Filter by status",
		"report.filter_all":        "All",
		"report.filter_success":    "Succeeded",
		"report.filter_failed":     "Failed",
		"report.not_started":       "Not started",
		"report.filter_count":      "{0} ({1})",
		"report.showing":           "Showing {0} of {1} targets",
		"report.col_label":         "Target",
		"report.col_kind":          "Kind",
		"report.col_status":        "Status",
		"report.col_exit_code":     "Exit code",
		"report.col_duration":      "Duration",
		"report.col_tag":           "Tag",
		"report.col_log":           "Log tail",
		"report.kind_host":         "Host",
		"report.kind_container":    "Container",
		"report.show_log":          "Show log",
		"report.no_targets":        "No targets",
		"report.footer":            "Generated by {0} {1}",
		"report.batches_note":      "JOB names no batch per target: the step orders the targets by start time, cuts them into the rolling expression's batch sizes, and shows the batches only when each batch started after the previous one had ended.",
		"report.clear_group":       "Show all",
		"report.full_log":          "Full log",
		"report.group_only":        "Showing only the {0} targets with the same output",
		"report.group_title":       "{0} targets: same output",
		"report.groups":            "Identical output",
		"report.groups_note":       "Targets whose log tails are identical, apart from each target's own label, IP or container name, form one group; the groups with the most failed targets come first.",
		"report.more_groups":       "{0} more groups of identical output (see the \"same output\" links in the table)",
		"report.no_match":          "No target matches",
		"report.noscript":          "The target list needs JavaScript; result.json holds every target.",
		"report.picture":           "The run at a glance",
		"report.picture_attempt":   "Attempt {0} ({1})",
		"report.picture_batch":     "Batch {0} ({1})",
		"report.picture_run":       "All {0} targets",
		"report.same_output_as":    "same output: {0} targets",
		"report.search":            "Search",
		"report.search_hint":       "Search target, status, exit code, tag or log",
		"report.show_group":        "Show only these targets in the table",
		"report.show_more":         "Show {0} more",
		"report.tag_note":          "Tag: the text the script set through JOB's job_success or job_fail helper.",
	},
}

func translator(lang string) Translator {
	table := messages[lang]
	return func(key string, args ...any) string {
		msg, ok := table[key]
		if !ok {
			return "MISSING:" + key
		}
		for i, a := range args {
			msg = strings.ReplaceAll(msg, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
		}
		return msg
	}
}

func ptr[T any](v T) *T { return &v }

const (
	hostileScript = `<script>alert(1)</script>`
	hostileAttr   = `"><img src=x onerror=alert(1)>`
	hostileLog    = "##[error]boom\n##subTag##x##subTag##y\n::set-output name=a::b\n</pre></details></td></tr><tr><td>injected"
	jobURL        = "https://job.example.com/biz/2/execute/task/123"
)

func sampleResult() *Result {
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600))
	return &Result{
		Plugin: "jobFastExecuteScript", Version: "1.0.0", Language: "zh_CN",
		JobInstanceID: 123, StepInstanceID: 456, JobInstanceName: "name " + hostileScript, JobURL: jobURL,
		JobStatus: "failed", JobStatusCode: 4,
		ScopeType: "biz", ScopeID: "2", Operator: "admin" + hostileAttr, TaskName: "task-#1",
		StartedAt: start, FinishedAt: start.Add(83 * time.Second),
		Verdict: VerdictFailure, Message: "2 targets failed " + hostileScript,
		Total: 4, SuccessCount: 2, FailedCount: 2,
		StatusCounts: []StatusCount{{Status: 9, Name: "执行成功", Count: 2}, {Status: 104, Name: "脚本返回值非零", Count: 1}, {Status: -1, Name: "未知", Count: 1}},
		Variables:    map[string]string{"VERSION": "1.2.3", "HTML": hostileScript},
		VariableConflicts: []logvars.Conflict{
			{Name: "VERSION", Label: "0:10.0.0.1", Value: "1.2.3", Others: []string{"0:10.0.0.2"}},
		},
		SkippedVariables: []logvars.Skip{{Name: "job_status", Reason: logvars.ReasonReserved, Labels: []string{"0:10.0.0.1"}}},
		Targets: []Target{
			{Label: "0:10.0.0.1", Kind: KindHost, Status: 9, StatusName: "执行成功", Success: true, ExitCode: ptr(0),
				DurationMs: ptr(int64(1234)), Tag: "ok", LogTail: "done\n", Vars: map[string]string{"VERSION": "1.2.3"},
				HostID: 101, CloudID: 0, IP: "10.0.0.1"},
			{Label: "0:10.0.0.2" + hostileAttr, Kind: KindHost, Status: 9, StatusName: "执行成功", Success: true, ExitCode: ptr(0),
				DurationMs: ptr(int64(50)), Tag: hostileScript, LogTail: hostileLog, Vars: map[string]string{"VERSION": "9"},
				HostID: 102, CloudID: 3, IP: "10.0.0.2"},
			{Label: "container:web-0@7", Kind: KindContainer, Status: 104, StatusName: "脚本返回值非零" + hostileScript, Success: false,
				ExitCode: ptr(2), DurationMs: ptr(int64(3_700_000)), LogTail: hostileScript,
				HostID: 55, ContainerID: 7, ContainerName: "web-0"},
			{Label: "host:103", Kind: KindHost, Status: -1, StatusName: "未知", Success: false, HostID: 103},
		},
	}
}

func writeSample(t *testing.T, r *Result, lang string) (dir, page string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "ws", ".jobFastExecuteScript", "task-1", "report")
	if err := Write(dir, r, translator(lang)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, string(b)
}

// tag is one start or end tag found by scanTags.
type tag struct {
	name  string
	end   bool
	attrs map[string]string
}

var attrRe = regexp.MustCompile(`([a-zA-Z-]+)(?:="([^"]*)")?`)

// scanTags is a minimal HTML tag scanner for pages whose text and attribute values are escaped
// (no raw '<' or '>' inside them): it returns the tags, skipping the raw text of <script> and
// <style>, and fails on anything it cannot read.
func scanTags(t *testing.T, page string) []tag {
	t.Helper()
	var tags []tag
	for i := 0; i < len(page); {
		lt := strings.IndexByte(page[i:], '<')
		if lt < 0 {
			break
		}
		lt += i
		gt := strings.IndexByte(page[lt:], '>')
		if gt < 0 {
			t.Fatalf("unterminated tag at %d", lt)
		}
		gt += lt
		raw := page[lt+1 : gt]
		i = gt + 1
		if strings.HasPrefix(raw, "!") {
			continue
		}
		tg := tag{attrs: map[string]string{}}
		if strings.HasPrefix(raw, "/") {
			tg.end = true
			raw = raw[1:]
		}
		name, rest, _ := strings.Cut(raw, " ")
		tg.name = name
		for _, m := range attrRe.FindAllStringSubmatch(rest, -1) {
			tg.attrs[m[1]] = m[2]
		}
		tags = append(tags, tg)
		if !tg.end && (name == "script" || name == "style") {
			end := strings.Index(page[i:], "</"+name+">")
			if end < 0 {
				t.Fatalf("unterminated <%s>", name)
			}
			i += end
		}
	}
	return tags
}

var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true, "h1": true,
	"h2": true, "span": true, "p": true, "section": true, "div": true, "table": true, "thead": true, "tbody": true,
	"tr": true, "th": true, "td": true, "a": true, "pre": true, "button": true,
	"details": true, "summary": true, "footer": true, "script": true,
	"input": true, "svg": true, "g": true, "text": true, "rect": true, "noscript": true, "b": true,
}

var voidTags = map[string]bool{"meta": true, "input": true}

// checkStructure parses the page's tags and checks that only known elements appear, every
// element is closed in order, no attribute is an event handler and nothing loads a resource.
func checkStructure(t *testing.T, page string) []tag {
	t.Helper()
	tags := scanTags(t, page)
	var stack []string
	scripts := 0
	for _, tg := range tags {
		if !allowedTags[tg.name] {
			t.Errorf("unexpected element <%s>", tg.name)
		}
		for a, v := range tg.attrs {
			if strings.HasPrefix(a, "on") || a == "src" || a == "srcset" || a == "action" || a == "style" {
				t.Errorf("<%s> has attribute %s=%q", tg.name, a, v)
			}
		}
		if tg.end {
			if len(stack) == 0 || stack[len(stack)-1] != tg.name {
				t.Fatalf("</%s> closes %v", tg.name, stack)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if tg.name == "script" {
			scripts++
		}
		if !voidTags[tg.name] {
			stack = append(stack, tg.name)
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements %v", stack)
	}
	if scripts != 3 {
		t.Errorf("%d <script> elements, want 3 (the meta and rows data, the code)", scripts)
	}
	return tags
}

// pageRow is one target row of the page's data (page.js's rowJSON).
type pageRow struct {
	L string `json:"l"`
	K string `json:"k"`
	S int    `json:"s"`
	C int    `json:"c"`
	X *int   `json:"x"`
	D *int64 `json:"d"`
	T string `json:"t"`
	O string `json:"o"`
	G int    `json:"g"`
	F string `json:"f"`
}

var dataRe = regexp.MustCompile(`(?s)<script id="(meta|rows)" type="application/json">(.*?)</script>`)

// pageData reads the page's JSON data: its rows in page order and its meta object.
func pageData(t *testing.T, page string) (rows []pageRow, meta pageMeta) {
	t.Helper()
	found := 0
	for _, m := range dataRe.FindAllStringSubmatch(page, -1) {
		found++
		var err error
		if m[1] == "rows" {
			err = json.Unmarshal([]byte(m[2]), &rows)
		} else {
			err = json.Unmarshal([]byte(m[2]), &meta)
		}
		if err != nil {
			t.Fatalf("%s data: %v\n%.500s", m[1], err, m[2])
		}
		if strings.Contains(m[2], "<") {
			t.Errorf("%s data holds a raw '<'", m[1])
		}
	}
	if found != 2 {
		t.Fatalf("%d data blocks, want 2", found)
	}
	return rows, meta
}

func TestWrite_html(t *testing.T) {
	t.Parallel()
	r := sampleResult()
	_, page := writeSample(t, r, "zh_CN")
	tags := checkStructure(t, page)

	for _, bad := range []string{hostileScript, hostileAttr, "<img", "</pre></details></td></tr><tr><td>injected"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, want := range []string{
		"<title>JOB 执行报告</title>", `<html lang="zh-CN">`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		`<a href="` + jobURL + `"`,
		"2024-01-02 03:04:05 &#43;08:00", "1m23s",
		"显示 4 / 4 个目标",
		`<a href="result.json">`,
		"由 jobFastExecuteScript 1.0.0 生成",
		"与插件自身的输出同名",
		`<th data-k="tag" aria-sort="none"><button type="button">标签</button></th>`, "标签：脚本通过作业平台的 job_success / job_fail 设置的文本。",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "MISSING:") {
		t.Errorf("page uses a key without a text")
	}

	// Rows: one per target, not succeeded first, then labels in natural order; the texts as they were.
	rows, meta := pageData(t, page)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %d %d", r.L, r.C, r.S))
	}
	want := []string{"container:web-0@7 1 104", "host:103 1 -1", "0:10.0.0.1 0 9", "0:10.0.0.2" + hostileAttr + " 0 9"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	if rows[3].O != hostileLog || rows[3].T != hostileScript || rows[0].O != hostileScript || *rows[2].D != 1234 || rows[1].X != nil {
		t.Errorf("row texts changed: %+v", rows)
	}
	if meta.Names["104"] != "脚本返回值非零"+hostileScript || meta.Total != 4 || !meta.HasTag {
		t.Errorf("meta %+v", meta)
	}

	// Totals at the top.
	for _, want := range []string{`<span class="n">4</span>目标总数`, `<span class="n">2</span>成功`, `<span class="n">2</span>失败`} {
		if !strings.Contains(page, want) {
			t.Errorf("totals lack %q", want)
		}
	}

	// Filters: one set: all, failed (two failed statuses), then each status present, failed ones first.
	var keys []string
	for _, tg := range tags {
		if tg.name == "button" && !tg.end && tg.attrs["data-f"] != "" {
			keys = append(keys, tg.attrs["data-f"])
		}
	}
	if want := []string{"all", "failed", "-1", "104", "9"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("filters %v, want %v", keys, want)
	}
	if !strings.Contains(page, "脚本返回值非零&lt;script&gt;alert(1)&lt;/script&gt; (1)") {
		t.Errorf("status filter button text not escaped or missing")
	}
}

// TestWrite_noExternalResources checks that the only URL on the page is the job link.
func TestWrite_noExternalResources(t *testing.T) {
	t.Parallel()
	r := sampleResult()
	r.Language = "en_US"
	_, page := writeSample(t, r, "en_US")
	rest := strings.Replace(page, `<a href="`+jobURL+`"`, "", 1)
	for _, scheme := range []string{"http://", "https://", "//", "url(", "@import"} {
		// "//" occurs in the CSP-free page only as part of a URL; the JS has no comments.
		if strings.Contains(rest, scheme) {
			i := strings.Index(rest, scheme)
			t.Errorf("page references %q: …%s…", scheme, rest[max(0, i-60):min(len(rest), i+60)])
		}
	}
	for _, tg := range scanTags(t, page) {
		for _, a := range []string{"href", "src", "data", "poster", "srcset", "action", "formaction", "background"} {
			v, ok := tg.attrs[a]
			if !ok {
				continue
			}
			if tg.name != "a" || a != "href" || (v != jobURL && v != "result.json") {
				t.Errorf("<%s %s=%q> references a resource", tg.name, a, v)
			}
		}
	}
	if !strings.Contains(page, `<html lang="en">`) || !strings.Contains(page, "<title>JOB execution report</title>") {
		t.Errorf("English page lacks its language or title")
	}
}

func TestWrite_jobURLSanitised(t *testing.T) {
	t.Parallel()
	r := sampleResult()
	r.JobURL = "javascript:alert(1)"
	_, page := writeSample(t, r, "zh_CN")
	if strings.Contains(page, "javascript:alert") {
		t.Errorf("a javascript: job URL reached the page")
	}
	r = sampleResult()
	r.JobURL = ""
	_, page = writeSample(t, r, "zh_CN")
	if strings.Contains(page, "在作业平台中查看") {
		t.Errorf("a link without a job URL")
	}
}

func TestWrite_resultJSONRoundTrip(t *testing.T) {
	t.Parallel()
	r := sampleResult()
	dir, _ := writeSample(t, r, "zh_CN")
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("result.json is not valid JSON:\n%s", b)
	}
	var got Result
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.StartedAt.Equal(r.StartedAt) || !got.FinishedAt.Equal(r.FinishedAt) {
		t.Errorf("times %v %v, want %v %v", got.StartedAt, got.FinishedAt, r.StartedAt, r.FinishedAt)
	}
	got.StartedAt, got.FinishedAt = r.StartedAt, r.FinishedAt
	if !reflect.DeepEqual(&got, r) {
		t.Errorf("round trip\n got %#v\nwant %#v", got, *r)
	}

	// snake_case keys, cloud_id for hosts only, HTML not escaped.
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"plugin", "version", "language", "job_instance_id", "step_instance_id", "job_instance_name",
		"job_url", "job_status", "job_status_code", "scope_type", "scope_id", "operator", "task_name", "started_at",
		"finished_at", "verdict", "message", "total_count", "success_count", "failed_count", "status_counts",
		"variables", "variable_conflicts", "skipped_variables", "targets"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("result.json lacks %q", k)
		}
	}
	targets := raw["targets"].([]any)
	host := targets[0].(map[string]any)
	container := targets[2].(map[string]any)
	if _, ok := host["cloud_id"]; !ok {
		t.Errorf("host without cloud_id: %v", host)
	}
	if _, ok := container["cloud_id"]; ok {
		t.Errorf("container with cloud_id: %v", container)
	}
	if v := targets[3].(map[string]any)["exit_code"]; v != nil {
		t.Errorf("unknown exit code = %v, want null", v)
	}
	if !strings.Contains(string(b), hostileScript) {
		t.Errorf("result.json escapes HTML")
	}
}

func TestWrite_empty(t *testing.T) {
	t.Parallel()
	r := &Result{Plugin: "p", Version: "v", Language: "en_US", Verdict: VerdictFailure, JobStatus: "failed"}
	dir, page := writeSample(t, r, "en_US")
	checkStructure(t, page)
	for _, want := range []string{"No targets", "No variables were extracted from the logs", "Showing 0 of 0 targets"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	for k, want := range map[string]string{"targets": "[]", "variables": "{}", "status_counts": "[]", "variable_conflicts": "[]", "skipped_variables": "[]"} {
		got, _ := json.Marshal(raw[k])
		if string(got) != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	if _, ok := raw["started_at"]; ok {
		t.Errorf("zero start time written")
	}
}

func TestWrite_replacesAtomically(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := sampleResult()
	tr := translator("zh_CN")
	if err := Write(dir, r, tr); err != nil {
		t.Fatal(err)
	}
	r.Targets = r.Targets[:1]
	r.Total = 1
	if err := Write(dir, r, tr); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v", e.Name(), info.Mode().Perm())
		}
	}
	sort.Strings(names)
	if want := []string{HTMLFile, JSONFile}; !reflect.DeepEqual(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	if rows, _ := pageData(t, string(b)); len(rows) != 1 {
		t.Errorf("%d rows after rewrite, want 1", len(rows))
	}
}

func TestWrite_errors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tr := translator("zh_CN")
	tests := []struct {
		name string
		dir  string
		r    *Result
		t    Translator
	}{
		{"nil result", t.TempDir(), nil, tr},
		{"nil translator", t.TempDir(), sampleResult(), nil},
		{"dir is a file", filepath.Join(file, "report"), sampleResult(), tr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Write(tt.dir, tt.r, tt.t)
			if err == nil || !strings.HasPrefix(err.Error(), "write report: ") {
				t.Errorf("Write() = %v, want a write report error", err)
			}
		})
	}
}

// TestKeys checks that Keys is exactly the set of keys the page uses and that every key has a
// text in both languages.
func TestKeys(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	used := map[string]bool{}
	rec := func(key string, args ...any) string {
		mu.Lock()
		used[key] = true
		mu.Unlock()
		return key
	}
	r := sampleResult()
	r.SkippedVariables = []logvars.Skip{
		{Name: "a-b", Reason: logvars.ReasonInvalidName}, {Name: "x", Reason: logvars.ReasonReserved},
		{Name: "BK_CI_X", Reason: logvars.ReasonBKCIPrefix}, {Name: "L", Reason: logvars.ReasonTooLong},
	}
	many := make([]string, maxListedLabels+5)
	for i := range many {
		many[i] = fmt.Sprintf("0:10.0.0.%d", i)
	}
	r.VariableConflicts[0].Others = many
	r.Targets = append(r.Targets, Target{Label: "0:10.0.0.9", Kind: KindHost, Status: 5, NotStarted: true},
		Target{Label: "0:10.0.0.8", Kind: KindHost, Status: 3, Success: true})
	for i := range maxShownGroups + 1 { // more groups than the page lists
		for j := range 2 {
			r.Targets = append(r.Targets, Target{Label: fmt.Sprintf("0:10.1.%d.%d", i, j), Kind: KindHost, Status: 104, LogTail: fmt.Sprint("same ", i)})
		}
	}
	r.NotStarted = 1
	r.Batches = []Batch{{Number: 1, Total: 1, SuccessCount: 1}}
	r.Attempts = []Attempt{{Number: 1, Total: 2, FailedCount: 1}, {Number: 2, Total: 1, SuccessCount: 1}}
	if err := Write(t.TempDir(), r, rec); err != nil {
		t.Fatal(err)
	}
	if err := Write(t.TempDir(), &Result{Verdict: VerdictSuccess}, rec); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range used {
		got = append(got, k)
	}
	sort.Strings(got)
	want := append([]string(nil), Keys...)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("used keys\n%v\nKeys\n%v", got, want)
	}
	for lang, table := range messages {
		if len(table) != len(Keys) {
			t.Errorf("%s has %d texts for %d keys", lang, len(table), len(Keys))
		}
		for _, k := range Keys {
			if table[k] == "" {
				t.Errorf("%s lacks %s", lang, k)
			}
		}
	}
}

func TestListLabels(t *testing.T) {
	t.Parallel()
	tr := translator("en_US")
	if got := listLabels([]string{"a", "b"}, tr); got != "a, b" {
		t.Errorf("listLabels = %q", got)
	}
	many := make([]string, maxListedLabels+3)
	for i := range many {
		many[i] = "x"
	}
	if got := listLabels(many, tr); !strings.HasSuffix(got, "x and 3 more") {
		t.Errorf("listLabels = %q", got)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second: "–", 0: "0ms", 999 * time.Millisecond: "999ms", 1500 * time.Millisecond: "1.5s",
		59 * time.Second: "59.0s", 61*time.Second + 600*time.Millisecond: "1m2s", 2*time.Hour + 3*time.Minute: "2h3m0s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// manyTargets builds n targets: every seventh failed with status 104, every thirteenth
// (not failed already) never ran (status 5), the rest succeeded.
func manyTargets(n int) (targets []Target, failed, waiting int) {
	targets = make([]Target, n)
	tail := strings.Repeat("some log output line\n", 20)
	for i := range targets {
		tg := Target{
			Label: fmt.Sprintf("0:10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Kind: KindHost,
			Status: 9, StatusName: "执行成功", Success: true, ExitCode: ptr(0), DurationMs: ptr(int64(i % 5000)),
			LogTail: tail, HostID: int64(1000 + i), IP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
		}
		switch {
		case i%7 == 0:
			tg.Status, tg.StatusName, tg.Success, tg.ExitCode = 104, "脚本返回值非零", false, ptr(1)
			failed++
		case i%13 == 0:
			tg.Status, tg.StatusName, tg.Success, tg.ExitCode, tg.DurationMs, tg.LogTail = 5, "等待执行", false, nil, nil, ""
			tg.NotStarted = true
			waiting++
		}
		targets[i] = tg
	}
	return targets, failed, waiting
}

func TestWrite_manyTargets(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("30,000 targets")
	}
	const n = 30000
	targets, failed, waiting := manyTargets(n)
	r := &Result{Language: "zh_CN", Verdict: VerdictFailure, Total: n, SuccessCount: n - failed - waiting,
		FailedCount: failed + waiting, Targets: targets}
	dir, page := writeSample(t, r, "zh_CN")
	rows, _ := pageData(t, page)
	count := map[string]int{}
	for _, row := range rows {
		count[fmt.Sprint(row.C, row.S)]++
	}
	if count["0 9"] != n-failed-waiting || count["1 104"] != failed || count["2 5"] != waiting || len(rows) != n {
		t.Errorf("rows by class and status %v, want %d, %d, %d", count, n-failed-waiting, failed, waiting)
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var got Result
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Targets) != n || got.Targets[n-1].Label != targets[n-1].Label {
		t.Errorf("result.json has %d targets", len(got.Targets))
	}
}

// BenchmarkWrite30000 writes a 30,000-target report whose tails all differ (nothing grouped: the
// largest page, about 13 MB of HTML, and 30 MB of result.json); run with -benchmem to see that the
// bytes allocated per write stay below the files' size: rows are streamed, never one string.
func BenchmarkWrite30000(b *testing.B) {
	targets, failed, waiting := manyTargets(30000)
	for i := range targets {
		if targets[i].LogTail != "" {
			targets[i].LogTail = targets[i].Label + " " + targets[i].LogTail
		}
	}
	r := &Result{Language: "zh_CN", Verdict: VerdictFailure, Total: len(targets),
		SuccessCount: len(targets) - failed - waiting, FailedCount: failed + waiting, Targets: targets}
	tr := translator("zh_CN")
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(dir, r, tr); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for _, f := range []string{HTMLFile, JSONFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			b.ReportMetric(float64(fi.Size()), f+"-bytes")
		}
	}
}

func TestTarget_JSON(t *testing.T) {
	t.Parallel()
	for _, tg := range sampleResult().Targets {
		b, err := json.Marshal(tg)
		if err != nil {
			t.Fatal(err)
		}
		var back Target
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tg) {
			t.Errorf("round trip of %s\n got %#v\nwant %#v", b, back, tg)
		}
		if hasCloud := strings.Contains(string(b), `"cloud_id":`); hasCloud != (tg.Kind == KindHost) {
			t.Errorf("%s: cloud_id written = %v", b, hasCloud)
		}
	}
	var bad Target
	if err := json.Unmarshal([]byte(`{"label":1}`), &bad); err == nil {
		t.Errorf("a wrong type decoded without error")
	}
}

// FuzzWriteHTML feeds arbitrary target texts to the page and checks its structure: whatever a
// label, status name, tag or log holds, it stays text.
func FuzzWriteHTML(f *testing.F) {
	f.Add("0:10.0.0.1", "执行成功", "tag", "log\n")
	f.Add(hostileScript, hostileAttr, hostileLog, "</details></td></tr></tbody></table><script>")
	f.Add("<!--", "-->", "<![CDATA[", "\x00\xff<")
	f.Fuzz(func(t *testing.T, label, statusName, tag, logTail string) {
		r := sampleResult()
		r.Targets[0].Label, r.Targets[0].StatusName, r.Targets[0].Tag, r.Targets[0].LogTail = label, statusName, tag, logTail
		r.Message = logTail
		r.Variables = map[string]string{"V": logTail}
		var b strings.Builder
		if err := writeHTML(&b, r, translator("en_US")); err != nil {
			t.Fatal(err)
		}
		checkStructure(t, b.String())
	})
}

// TestWrite_NotStarted: targets that never ran are their own card, filter and row class, apart from
// the failed ones, and result.json marks them (docs/CONTRACT.md#report).
func TestWrite_NotStarted(t *testing.T) {
	t.Parallel()
	r := sampleResult()
	r.Targets = append(r.Targets, Target{Label: "0:10.0.0.9", Kind: KindHost, Status: 5, StatusName: "等待执行", NotStarted: true, HostID: 109, IP: "10.0.0.9"})
	r.Total, r.NotStarted = 5, 1
	dir, page := writeSample(t, r, "en_US")
	for _, want := range []string{`data-f="5"`, "等待执行 (1)", "Failed (2)", `<span class="n">1</span>Not started`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	rows, _ := pageData(t, page)
	if r := rows[2]; r.L != "0:10.0.0.9" || r.C != 2 {
		t.Errorf("the not started row is not right after the failed ones: %+v", rows)
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"not_started_count":1`) || !strings.Contains(string(b), `"not_started":true`) {
		t.Errorf("result.json lacks the not started target: %s", b)
	}
}

// TestWrite_picture: the run's SVG has a bar for the run, one per batch (with how batches were
// attributed) and one per attempt when there was more than one; result.json keeps both.
func TestWrite_picture(t *testing.T) {
	t.Parallel()
	r := sampleResult()
	r.Language = "en_US"
	_, page := writeSample(t, r, "en_US")
	for _, not := range []string{"Batch 1", "Attempt 1", "JOB names no batch"} {
		if strings.Contains(page, not) {
			t.Errorf("page without batches or retries shows %q", not)
		}
	}
	if !strings.Contains(page, `<div class="bar"><span>All 4 targets</span><svg role="img" aria-label="All 4 targets"`) {
		t.Errorf("no bar for the run")
	}
	r.Attempts = []Attempt{{Number: 1, Total: 4, SuccessCount: 2, FailedCount: 2}}
	if _, page = writeSample(t, r, "en_US"); strings.Contains(page, "Attempt 1") {
		t.Errorf("a single attempt is drawn")
	}
	r.Attempts = append(r.Attempts, Attempt{Number: 2, Total: 2, SuccessCount: 1, FailedCount: 1,
		StatusCounts: []StatusCount{{Status: 9, Name: "succeeded", Count: 1}, {Status: 104, Name: "failed", Count: 1}}})
	r.Batches = []Batch{{Number: 1, Total: 1, SuccessCount: 1}, {Number: 2, Total: 2, SuccessCount: 1, FailedCount: 1}, {Number: 3, Total: 1, NotStarted: 1}}
	dir, page := writeSample(t, r, "en_US")
	checkStructure(t, page)
	for _, want := range []string{"<span>Batch 1 (1)</span>", "<span>Batch 3 (1)</span>", "<span>Attempt 1 (4)</span>",
		"JOB names no batch per target",
		// Attempt 2: one failed, one succeeded, half the bar (800 units) each.
		`<span>Attempt 2 (2)</span><svg role="img" aria-label="Attempt 2 (2)" viewBox="0 0 800 18" preserveAspectRatio="none" width="100%" height="18">` +
			`<rect class="ng" x="0.0" y="0" width="400.0" height="18"><title>Failed (1)</title></rect><rect class="ok" x="400.0" y="0" width="400.0" height="18">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	var got Result
	if err := json.Unmarshal(b, &got); err != nil || len(got.Attempts) != 2 || got.Attempts[1].StatusCounts[1].Count != 1 || len(got.Batches) != 3 {
		t.Errorf("result.json attempts %+v batches %+v (%v)", got.Attempts, got.Batches, err)
	}
	if !strings.Contains(string(b), `"attempts":[{"number":1,"total_count":4,"success_count":2,"failed_count":2,"not_started_count":0}`) {
		t.Errorf("attempts in result.json: %s", b)
	}
}

// TestWrite_groups: identical tails form groups, the most failed first, each tail written once.
func TestWrite_groups(t *testing.T) {
	t.Parallel()
	r := &Result{Language: "en_US", Verdict: VerdictFailure}
	add := func(n int, status int, tail string) {
		for range n {
			tg := Target{Label: fmt.Sprintf("0:10.0.0.%d", len(r.Targets)+1), Kind: KindHost, Status: status, StatusName: "s" + strconv.Itoa(status),
				Success: status == 9, LogTail: tail}
			r.Targets = append(r.Targets, tg)
		}
	}
	add(5, 9, "ok")
	add(3, 104, "error A")
	add(1, 104, "error B")
	add(2871, 104, "error C"+hostileScript)
	add(2, 9, "")
	for i := range 3 { // the same but for the target's own address: one group, each row keeping its text
		ip := fmt.Sprintf("10.1.0.%d", i)
		r.Targets = append(r.Targets, Target{Label: "0:" + ip, IP: ip, Kind: KindHost, Status: 104, LogTail: "deploy on " + ip + " failed"})
		r.Targets[len(r.Targets)-1].LogTail = fmt.Sprintf("[2026-12-06 02:59:2%d][PID:3027%d] job_start\n", i, i) + r.Targets[len(r.Targets)-1].LogTail
	}
	_, page := writeSample(t, r, "en_US")
	checkStructure(t, page)
	rows, meta := pageData(t, page)
	if len(meta.Groups) != 4 || meta.Groups[0].N != 2871 || meta.Groups[1].N != 3 || meta.Groups[2].Tail != "[2026-12-06 02:59:20][PID:30270] job_start\ndeploy on 10.1.0.0 failed" ||
		meta.Groups[3].Tail != "ok" {
		t.Fatalf("groups %+v", meta.Groups)
	}
	tails := 0
	for _, row := range rows {
		if row.O != "" {
			tails++
			ownAddress := row.G == 3 && strings.HasSuffix(row.O, "] job_start\ndeploy on "+row.L[2:]+" failed")
			if row.O != "error B" && !ownAddress || row.O == "error B" && row.G != 0 {
				t.Errorf("row %+v", row)
			}
		}
	}
	if tails != 3 || strings.Count(page, "error C") != 2 { // the data and the group's <pre>
		t.Errorf("%d tails in rows; %d copies of the large group's tail", tails, strings.Count(page, "error C"))
	}
	// No target has a tag: no tag column and no line explaining it.
	if strings.Contains(page, `data-k="tag"`) || strings.Contains(page, "job_success") || meta.HasTag {
		t.Errorf("a tag column without tags")
	}
	for _, want := range []string{"<b>2,871 targets: same output</b> <span class=\"counts\">s104 (2871)</span>", `<a href="#group=1" data-g="1">`,
		"error C&lt;script&gt;", "and 2771 more"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
