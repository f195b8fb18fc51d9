package plugin

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/logvars"
	"jobfastexecutescript/internal/report"
	"jobfastexecutescript/internal/rolling"
	"jobfastexecutescript/tooling/taskjson"
)

func readTaskJSON(t *testing.T) gjson.Result {
	t.Helper()
	b, err := os.ReadFile("../task.json")
	if err != nil {
		t.Fatal(err)
	}
	if !gjson.ValidBytes(b) {
		t.Fatal("task.json is not valid JSON")
	}
	return gjson.ParseBytes(b)
}

// TestTaskJSON_UploadRules checks the store's upload rules (docs/CONTRACT.md#package): the execution block
// the agent depends on and the form's limits (tooling/taskjson, shared with the package command).
func TestTaskJSON_UploadRules(t *testing.T) {
	b, err := os.ReadFile("../task.json")
	if err != nil {
		t.Fatal(err)
	}
	plats, err := taskjson.Execution(b, AtomCode)
	if err != nil {
		t.Error(err)
	}
	if len(plats) != 5 {
		t.Errorf("%d platforms, want linux, darwin (amd64, arm64) and windows 386 (BK-CI looks Windows up as 386 only)", len(plats))
	}
	for _, err := range taskjson.Form(b) {
		t.Error(err)
	}
}

// TestTaskJSON_MatchesForm: every form field is read by the code, every field read is in the form, and
// the defaults agree.
func TestTaskJSON_MatchesForm(t *testing.T) {
	task := readTaskJSON(t)
	inputs := task.Get("input").Map()
	typ := reflect.TypeOf(Form{})
	read := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		tag := typ.Field(i).Tag.Get("env")
		parts := strings.Split(tag, ",")
		key := strings.TrimSpace(parts[0])
		def, hasDef := "", false
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "default="); ok {
				def, hasDef = v, true
			}
		}
		read[key] = true
		in, ok := inputs[key]
		if !ok {
			t.Errorf("Form reads %q, which task.json does not declare", key)
			continue
		}
		want := in.Get("default")
		switch {
		case !want.Exists() && hasDef:
			t.Errorf("%s: code default %q, task.json has none", key, def)
		case want.Exists() && !hasDef && want.String() != "" && !isScriptEditor(key) && key != "formVersion":
			// A script editor's default is the form's multi-line template in its language: BK-CI always
			// sends the field's text, and an emptied editor must stay an error, so the code has no default.
			// formVersion's missing key is version 1, whatever the current version (formversion.go).
			t.Errorf("%s: task.json default %q, code has none", key, want.String())
		case want.Exists() && hasDef && want.String() != def:
			t.Errorf("%s: task.json default %q, code default %q", key, want.String(), def)
		}
	}
	for name, in := range inputs {
		if in.Get("type").String() == "tips" {
			continue // display only: a tip holds no value
		}
		if !read[name] {
			t.Errorf("task.json input %q is never read by the code", name)
		}
	}
}

// isScriptEditor reports whether key is one of the per-language script editors.
func isScriptEditor(key string) bool {
	for _, k := range scriptEditors {
		if k == key {
			return true
		}
	}
	return false
}

// formTexts lists every translatable string leaf of task.json as BK-CI keys it.
func formTexts(task gjson.Result) map[string]string {
	out := map[string]string{}
	for i, g := range task.Get("inputGroups").Array() {
		out[fmt.Sprintf("inputGroups[%d].label", i)] = g.Get("label").String()
	}
	for name, in := range task.Get("input").Map() {
		keys := []string{"label", "desc", "placeholder", "text", "tipStr"}
		if isScriptEditor(name) {
			keys = append(keys, "default") // the template, in each language
		}
		for _, k := range keys {
			if v := in.Get(k); v.Type == gjson.String && v.String() != "" {
				out["input."+name+"."+k] = v.String()
			}
		}
		for i, l := range in.Get("list").Array() {
			out[fmt.Sprintf("input.%s.list[%d].label", name, i)] = l.Get("label").String()
		}
		for i, o := range in.Get("options").Array() {
			out[fmt.Sprintf("input.%s.options[%d].name", name, i)] = o.Get("name").String()
		}
	}
	for name, o := range task.Get("output").Map() {
		out["output."+name+".description"] = o.Get("description").String()
	}
	return out
}

var (
	keyLiteralRe = regexp.MustCompile(`"((?:val|warn|msg|plan|report|status|lang|rolling|field)\.[A-Za-z0-9_.]+)"`)
	formKeyRe    = regexp.MustCompile(`^(input\.|output\.|inputGroups\[)`)
)

// dynamicKeys are keys the code builds at run time (status names, field labels, enumerations).
func dynamicKeys(task gjson.Result) map[string]bool {
	k := map[string]bool{"status.unknown": true}
	for _, c := range jobstatus.JobCodes {
		k[fmt.Sprintf("status.job.%d", c)] = true
	}
	for _, c := range jobstatus.TargetCodes {
		k[fmt.Sprintf("status.target.%d", c)] = true
	}
	for name := range task.Get("input").Map() {
		k["field."+name] = true
	}
	for i := 1; i <= 5; i++ {
		k[fmt.Sprintf("lang.%d", i)] = true
	}
	for i := 1; i <= 3; i++ {
		k[fmt.Sprintf("rolling.mode.%d", i)] = true
	}
	for _, r := range []string{"invalid_name", "reserved", "bk_ci_prefix", "too_long", logvars.ReasonSteersEnv} {
		k["msg.var_skipped_"+r] = true
	}
	for _, r := range []string{rolling.ReasonEmpty, rolling.ReasonSyntax, rolling.ReasonRange} {
		k["val.rolling_"+r] = true
	}
	for _, w := range []string{rolling.WarnIncrementNotLast, rolling.WarnFullPercentNotLast, rolling.WarnLeadingZero} {
		k["warn.rolling_"+w] = true
	}
	for _, c := range errorCodes {
		k[fmt.Sprint(c)] = true
	}
	for _, key := range report.Keys {
		k[key] = true
	}
	return k
}

// codeKeys scans the project's Go sources (not tests) for message keys.
func codeKeys(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, dir := range []string{".", "../internal/report", "../internal/bkci", "../internal/wait"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range keyLiteralRe.FindAllStringSubmatch(string(b), -1) {
				if strings.HasSuffix(m[1], ".") || strings.HasSuffix(m[1], "_") {
					continue // a prefix completed at run time (listed in dynamicKeys)
				}
				keys[m[1]] = true
			}
		}
	}
	return keys
}

// TestI18n_Complete: every form text and runtime key exists in both locales, zh_CN matches task.json's
// literal strings, and no key is left over.
func TestI18n_Complete(t *testing.T) {
	task := readTaskJSON(t)
	form := formTexts(task)
	used := codeKeys(t)
	dyn := dynamicKeys(task)
	for _, lang := range i18n.Langs {
		table, err := i18n.Table(lang)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range form {
			got, ok := table[k]
			switch {
			case !ok:
				t.Errorf("%s: missing form key %s", lang, k)
			case lang == i18n.ZhCN && got != v:
				t.Errorf("zh_CN %s = %q, task.json says %q", k, got, v)
			}
		}
		for k := range used {
			if _, ok := table[k]; !ok {
				t.Errorf("%s: missing runtime key %s", lang, k)
			}
		}
		for k := range dyn {
			if _, ok := table[k]; !ok {
				t.Errorf("%s: missing key %s", lang, k)
			}
		}
		var leftovers []string
		for k := range table {
			if _, isForm := form[k]; isForm || used[k] || dyn[k] {
				continue
			}
			leftovers = append(leftovers, k)
		}
		sort.Strings(leftovers)
		if len(leftovers) > 0 {
			t.Errorf("%s: keys used nowhere: %v", lang, leftovers)
		}
		for k := range table {
			if formKeyRe.MatchString(k) {
				if _, ok := form[k]; !ok {
					t.Errorf("%s: form key %s matches nothing in task.json", lang, k)
				}
			}
		}
	}
}

// TestErrorCodes: errorCodes.json lists exactly the codes the plugin uses, six digits starting with 8,
// each translated.
func TestErrorCodes(t *testing.T) {
	b, err := os.ReadFile("../errorCodes.json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []int
	if err := json.Unmarshal(b, &listed); err != nil {
		t.Fatal(err)
	}
	want := append([]int(nil), errorCodes...)
	sort.Ints(want)
	sort.Ints(listed)
	if !reflect.DeepEqual(listed, want) {
		t.Errorf("errorCodes.json = %v, code uses %v", listed, want)
	}
	for _, c := range listed {
		if c < 800000 || c > 899999 {
			t.Errorf("code %d is not six digits starting with 8", c)
		}
	}
}

var outputValueRe = regexp.MustCompile(`job_status=[a-z_]+`)

// TestHelp_NoOptionIDs: a field's help names the options of a radio or a selector by the labels the form
// shows (手动录入, "Pause on failure"), never by the ids BK-CI saves (inline, 1), in both languages:
// the user never sees the ids. An id made only of letters that English help may use as a plain word
// ("all targets", "the file") is refused in English only where it reads as an id: before a colon, around
// a slash, in quotes or brackets. A numeric id is refused in its own field's help, and anywhere after
// its field's label ("滚动机制 2").
func TestHelp_NoOptionIDs(t *testing.T) {
	task := readTaskJSON(t)
	type option struct{ field, id string }
	var options []option
	inputs := task.Get("input").Map()
	for name, in := range inputs {
		for _, l := range in.Get("list").Array() {
			options = append(options, option{name, l.Get("value").String()})
		}
		for _, o := range in.Get("options").Array() {
			options = append(options, option{name, o.Get("id").String()})
		}
	}
	if len(options) < 20 {
		t.Fatalf("only %d options found in task.json", len(options))
	}
	const word = `A-Za-z0-9_.`
	for _, lang := range i18n.Langs {
		table, err := i18n.Table(lang)
		if err != nil {
			t.Fatal(err)
		}
		for name := range inputs {
			// An output's value (job_status=failed) is what later steps read, not an option id.
			help := outputValueRe.ReplaceAllString(table["input."+name+".desc"], "")
			for _, o := range options {
				q := regexp.QuoteMeta(o.id)
				var res []string
				switch {
				case regexp.MustCompile(`^[0-9]+$`).MatchString(o.id):
					if o.field == name {
						res = append(res, `(^|[^`+word+`%])`+q+`($|[^`+word+`%])`)
					}
					if label := table["input."+o.field+".label"]; label != "" {
						res = append(res, `(?i)`+regexp.QuoteMeta(label)+`\s*[「“"']?`+q+`($|[^0-9])`)
					}
				case lang == i18n.EnUS && regexp.MustCompile(`^[a-z]+$`).MatchString(o.id):
					res = append(res, `(^|[^`+word+`])`+q+`\s*[:：/=]`, `/\s*`+q+`($|[^`+word+`])`,
						"[\"'`(（「“]"+q+"[\"'`)）」”]")
				default:
					res = append(res, `(^|[^`+word+`])`+q+`($|[^`+word+`])`)
				}
				for _, re := range res {
					if m := regexp.MustCompile(re).FindString(help); m != "" {
						t.Errorf("%s: input.%s.desc names option id %q of %s (%q): name its label instead", lang, name, o.id, o.field, m)
					}
				}
			}
		}
	}
}

// TestHidden_MatchesRely: Form.shown, which decides the fields Parse ignores, agrees with task.json's
// rely, which decides the fields BK-CI's form hides, for every combination of the choices rely reads.
func TestHidden_MatchesRely(t *testing.T) {
	task := readTaskJSON(t)
	inputs := task.Get("input").Map()
	relyKeys := map[string]bool{}
	for _, in := range inputs {
		for _, e := range in.Get("rely.expression").Array() {
			relyKeys[e.Get("key").String()] = true
		}
	}
	choices := map[string][]string{
		"scriptSource":     {"inline", "file", "scriptId", "scriptVersionId"},
		"scriptLanguage":   {"1", "2", "3", "4", "5"},
		"rollingEnabled":   {"true", "false"},
		"rollingExecution": {"serial", "staggered"},
		"wait":             {"poll", "callback", "none"},
		"retryFailed":      {"0", "", "2"},
	}
	for k := range relyKeys {
		if _, ok := choices[k]; !ok {
			t.Fatalf("task.json has a rely on %s: add its values to this test", k)
		}
	}
	combos := []map[string]string{{}}
	for k, vals := range choices {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range vals {
				n := maps.Clone(c)
				n[k] = v
				next = append(next, n)
			}
		}
		combos = next
	}
	for _, c := range combos {
		f := Form{ScriptSource: c["scriptSource"], ScriptLanguage: c["scriptLanguage"], RollingEnabled: c["rollingEnabled"],
			RollingExec: c["rollingExecution"], Wait: c["wait"], RetryFailed: c["retryFailed"]}
		for name, in := range inputs {
			if want := taskjson.Shows(in, c); f.shown(name) != want {
				t.Errorf("%s with %v: Form.shown %v, task.json's rely %v", name, c, !want, want)
			}
		}
	}
}

// TestForm_Readable: what the form shows reads at BK-CI's 640-pixel side panel, in the user's
// language. Each script editor's template (its default, translated per language like every string of
// task.json) keeps its lines within 52 columns, a CJK character counting two (the editor cuts longer
// lines); en_US has no Chinese in any form text, templates included.
func TestForm_Readable(t *testing.T) {
	task := readTaskJSON(t)
	han := regexp.MustCompile(`\p{Han}`)
	for _, lang := range i18n.Langs {
		table, err := i18n.Table(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, editor := range scriptEditors {
			tpl := table["input."+editor+".default"]
			if strings.TrimSpace(tpl) == "" {
				t.Errorf("%s: %s has no template", lang, editor)
			}
			for i, line := range strings.Split(tpl, "\n") {
				cols := 0
				for _, r := range line {
					cols++
					if han.MatchString(string(r)) || r >= 0x3000 {
						cols++
					}
				}
				if cols > 52 {
					t.Errorf("%s: %s line %d is %d columns: %q", lang, editor, i+1, cols, line)
				}
			}
		}
		if lang != i18n.EnUS {
			continue
		}
		for k := range formTexts(task) {
			if v := table[k]; han.MatchString(v) {
				t.Errorf("en_US %s holds Chinese: %q", k, v)
			}
		}
		for _, editor := range scriptEditors {
			if v := table["input."+editor+".default"]; han.MatchString(v) {
				t.Errorf("en_US %s's template holds Chinese: %q", editor, v)
			}
		}
	}
	if task.Get("input.containerFiltersExample.type").String() != "tips" ||
		!gjson.Valid(task.Get("input.containerFiltersExample.tipStr").String()[strings.Index(task.Get("input.containerFiltersExample.tipStr").String(), "["):]) {
		t.Error("containerFiltersExample must show a valid JSON example after its text")
	}
}
