package plugin

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// BK-CI's form hides a field whose rely does not hold, and still saves it with the step: a value typed
// before the user switched away stays, and a new step saves every field's default (bk-ci
// src/frontend/devops-pipeline/src/components/AtomPropertyPanel/NormalAtomV2.vue renders a field only
// when rely(...) holds; store/modules/atom/atomUtil.js getAtomDefaultValue; docs/BKCI.md#rely-shown-or-hidden-saved-either-way).
// A hidden field must change nothing, so Parse resets every field the step's own choices hide to its
// default before it reads anything: a hidden field's value is never checked, never reported as an
// unresolved variable, never sent.

// shown reports whether the form shows field key for the choices in f: the Go twin of task.json's rely
// (TestHidden_MatchesRely keeps the two equal). A field without a rely is always shown.
func (f Form) shown(key string) bool {
	src := strings.TrimSpace(f.ScriptSource)
	lang := strings.TrimSpace(f.ScriptLanguage)
	inlineOrFile := src == string(SourceInline) || src == string(SourceFile)
	rolling := strings.EqualFold(strings.TrimSpace(f.RollingEnabled), "true")
	switch key {
	case "scriptLanguage", "strictMode":
		return inlineOrFile
	case "windowsInterpreter":
		return inlineOrFile && (lang == "2" || lang == "5")
	case "scriptFile":
		return src == string(SourceFile)
	case "scriptId":
		return src == string(SourceScriptID)
	case "scriptVersionId":
		return src == string(SourceScriptVersionID)
	case "rollingExpression", "rollingMode", "rollingExecution":
		return rolling
	case "rollingStaggerSeconds", "rollingJitterMinSeconds", "rollingJitterMaxSeconds":
		return rolling && strings.TrimSpace(f.RollingExec) == "staggered"
	case "callbackListen", "callbackBaseUrl":
		return strings.TrimSpace(f.Wait) == string(WaitCallback)
	case "retryInterval":
		return !noRetryRe.MatchString(f.RetryFailed)
	}
	for l, editor := range scriptEditors {
		if key == editor {
			return src == string(SourceInline) && lang == strconv.Itoa(l)
		}
	}
	return true
}

// noRetryRe is retryInterval's rely in task.json: no retries, so no interval.
var noRetryRe = regexp.MustCompile(`(?i)^\s*0?\s*$`)

// withoutHidden returns f with every field the form hides for f's choices reset to its default.
func (f Form) withoutHidden() Form {
	out := f
	v := reflect.ValueOf(&out).Elem()
	typ := v.Type()
	for i := 0; i < typ.NumField(); i++ {
		key, def := formTag(typ.Field(i))
		if key != "" && !f.shown(key) {
			v.Field(i).SetString(def)
		}
	}
	return out
}
