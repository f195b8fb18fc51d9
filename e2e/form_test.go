//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/jobsim"
	"jobfastexecutescript/tooling/taskjson"
)

// taskInputs reads task.json's inputs, in the form's order.
func taskInputs(t *testing.T) gjson.Result {
	t.Helper()
	wd, _ := os.Getwd()
	root, err := agent.ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "task.json"))
	if err != nil {
		t.Fatal(err)
	}
	return gjson.GetBytes(b, "input")
}

// hiddenValue is what a hidden field holds in TestHiddenFieldsChangeNothing: a value that the step
// would refuse, or that would show in the request, were the field read.
func hiddenValue(in gjson.Result) string {
	switch in.Get("type").String() {
	case "atom-checkbox":
		return "maybe"
	case "enum-input", "selector":
		return "bogus"
	}
	return "hidden ${hidden_var} ../../outside \\ \" 0:10.6.6.6 " + strings.Repeat("x", 70000)
}

// TestHiddenFieldsChangeNothing: BK-CI's form hides a field whose rely does not hold, and still saves
// it with the step (bk-ci NormalAtomV2.vue renders a field only when rely(...) holds; the store saves
// every input, and a value the user typed before switching away stays): the default script when the
// source is a script id, rolling mode with rolling off, the other languages' editors, the callback
// fields when not waiting by callback. For each step below, every field its choices hide is given a
// value the step would refuse or that would show in the request; the binary must send the same
// request as with those fields at their defaults, and end the same way.
func TestHiddenFieldsChangeNothing(t *testing.T) {
	t.Parallel()
	inputs := taskInputs(t)
	for _, tc := range []struct {
		name string
		set  []string
		want string // the run's status
	}{
		{"inline shell, poll, rolling off", nil, "success"},
		{"library script by id", []string{"scriptSource", "scriptId", "scriptId", "demo-hello"}, "success"},
		{"script version id", []string{"scriptSource", "scriptVersionId", "scriptVersionId", "1001"}, "success"},
		{"inline python", []string{"scriptLanguage", "4", "scriptContentPython", "print('hi from python')\n"}, "success"},
		{"inline perl", []string{"scriptLanguage", "3"}, "success"},
		{"serial rolling", []string{"rollingEnabled", "true", "rollingExpression", "1 100%", "rollingMode", "2"}, "success"},
		{"no wait", []string{"wait", "none"}, "success"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plain := newStep(t, nil, tc.set...)
			// What BK-CI holds for the step: the form's defaults and what the step sets.
			saved := map[string]string{}
			for k, v := range form.Defaults {
				saved[k] = v
			}
			for k, v := range plain.step.Input {
				if s, ok := v.(string); ok && form.Inputs[k] {
					saved[k] = s
				}
			}
			var hidden []string
			inputs.ForEach(func(k, in gjson.Result) bool {
				if !taskjson.Shows(in, saved) {
					hidden = append(hidden, k.String())
				}
				return true
			})
			sort.Strings(hidden)
			if len(hidden) == 0 {
				t.Fatal("no field hidden: the test has nothing to check")
			}
			t.Logf("hidden: %v", hidden)

			run := func(hostile bool) (string, gjson.Result) {
				sim := startSim(t, jobsim.Options{})
				r := newStep(t, sim, tc.set...)
				if hostile {
					for _, k := range hidden {
						r.step.Input[k] = hiddenValue(inputs.Get(gjson.Escape(k)))
					}
				}
				res := r.run()
				reqs := sim.Requests()
				for _, q := range reqs {
					if q.Endpoint == jobsim.EPSubmit {
						// The task name carries the run's own marker.
						var body map[string]any
						if err := json.Unmarshal(q.Body, &body); err != nil {
							t.Fatal(err)
						}
						delete(body, "task_name")
						b, _ := json.Marshal(body)
						return res.out.Get("status").String(), gjson.ParseBytes(b)
					}
				}
				t.Fatalf("no submit (hostile %v): %s\n%s", hostile, res.out.Get("message").String(), res.Stdout)
				return "", gjson.Result{}
			}
			status, want := run(false)
			if status != tc.want {
				t.Fatalf("with the hidden fields at their defaults: status %s, want %s", status, tc.want)
			}
			status2, got := run(true)
			if status2 != status {
				t.Errorf("hidden fields changed the outcome: %s, want %s", status2, status)
			}
			if got.Raw != want.Raw {
				t.Errorf("hidden fields changed the request:\n got %s\nwant %s", got.Raw, want.Raw)
			}
		})
	}
}

// TestScriptEditorOfTheLanguage: the form saves every language's editor with its template; the step
// sends the chosen language's editor, and a step with no key for that editor (written in pipeline YAML
// with scriptContent, as the contract always allowed) sends scriptContent.
func TestScriptEditorOfTheLanguage(t *testing.T) {
	t.Parallel()
	sent := func(t *testing.T, sim *jobsim.Sim) (string, int64) {
		t.Helper()
		body := gjson.ParseBytes(sim.Requests()[0].Body)
		b, err := base64.StdEncoding.DecodeString(body.Get("script_content").String())
		if err != nil {
			t.Fatal(err)
		}
		return string(b), body.Get("script_language").Int()
	}
	t.Run("web form step", func(t *testing.T) {
		t.Parallel()
		sim := startSim(t, jobsim.Options{})
		res := newStep(t, sim, "scriptLanguage", "3", "strictMode", "false").run()
		res.wantStatus(t, "success", 0, "success")
		script, lang := sent(t, sim)
		if script != form.Defaults["scriptContentPerl"] || lang != 3 {
			t.Errorf("sent language %d:\n%s\nwant the Perl editor's template:\n%s", lang, script, form.Defaults["scriptContentPerl"])
		}
	})
	t.Run("yaml step with scriptContent", func(t *testing.T) {
		t.Parallel()
		sim := startSim(t, jobsim.Options{})
		script := "print \"from scriptContent\\n\";\n"
		res := newStep(t, sim, "scriptLanguage", "3", "strictMode", "false", "scriptContent", script,
			"scriptContentPerl", agent.Unset).run()
		res.wantStatus(t, "success", 0, "success")
		if got, lang := sent(t, sim); got != script || lang != 3 {
			t.Errorf("sent language %d: %q, want %q", lang, got, script)
		}
	})
	t.Run("emptied editor", func(t *testing.T) {
		t.Parallel()
		sim := startSim(t, jobsim.Options{})
		res := newStep(t, sim, "scriptLanguage", "3", "scriptContentPerl", "").run()
		res.wantStatus(t, "failure", 1, "")
		wantSubmits(t, sim, 0, 0)
		if !strings.Contains(res.out.Get("message").String(), "Perl script") {
			t.Errorf("message %q does not name the Perl editor", res.out.Get("message").String())
		}
	})
}
