// Package taskjson checks task.json against what BK-CI's store and agent require of it
// (docs/CONTRACT.md#package): the execution block the package and the agent depend on, and the form's limits.
// The package command and the consistency tests share it.
package taskjson

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tidwall/gjson"
)

// Platform is one execution.os entry of task.json.
type Platform struct {
	OS, Arch    string
	PackagePath string // path of the binary inside the zip
	Default     bool   // defaultFlag
	Raw         string // the entry's JSON text
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Execution checks task.json's execution block and returns its platforms: atomCode,
// language, and for each execution.os entry a packagePath bin/<os>_<arch>/<binary>[.exe], a target
// that runs that basename, `chmod +x <basename>` in the demands outside Windows, and exactly one
// defaultFlag per osName (docs/CONTRACT.md#package). The top-level packagePath must be one of them.
func Execution(b []byte, binary string) ([]Platform, error) {
	if !gjson.ValidBytes(b) {
		return nil, errors.New("not valid JSON")
	}
	task := gjson.ParseBytes(b)
	if got := task.Get("atomCode").String(); got != binary {
		return nil, fmt.Errorf("atomCode is %q, want %q", got, binary)
	}
	exec := task.Get("execution")
	if got := exec.Get("language").String(); got != "golang" {
		return nil, fmt.Errorf("execution.language is %q, want golang", got)
	}
	osList := exec.Get("os")
	if !osList.IsArray() || len(osList.Array()) == 0 {
		return nil, errors.New("execution.os lists no platform")
	}
	var plats []Platform
	seen := map[string]bool{}
	defaults := map[string]int{}
	var osNames []string
	for i, o := range osList.Array() {
		p := Platform{OS: o.Get("osName").String(), Arch: o.Get("osArch").String(),
			PackagePath: o.Get("packagePath").String(), Default: o.Get("defaultFlag").Type == gjson.True, Raw: o.Raw}
		where := fmt.Sprintf("execution.os[%d]", i)
		if !o.IsObject() || !safeName(p.OS) || !safeName(p.Arch) {
			return nil, fmt.Errorf("%s: osName and osArch must be plain names: %s", where, o.Raw)
		}
		if seen[p.String()] {
			return nil, fmt.Errorf("%s: %s is listed twice", where, p)
		}
		seen[p.String()] = true
		if p.OS == "windows" && p.Arch != "386" {
			// The store looks every Windows agent up as 386 (bk-ci store GolangAtomBusHandleHandleServiceImpl.kt
			// handleOsArch; docs/CONTRACT.md#package): another Windows entry is never downloaded.
			return nil, fmt.Errorf("%s: windows/%s is never used: BK-CI looks Windows up as 386 only", where, p.Arch)
		}
		base := binary
		if p.OS == "windows" {
			base += ".exe"
		}
		if want := "bin/" + p.OS + "_" + p.Arch + "/" + base; p.PackagePath != want {
			return nil, fmt.Errorf("%s: packagePath is %q, want %q", where, p.PackagePath, want)
		}
		if t := o.Get("target"); t.Type != gjson.String || strings.TrimPrefix(t.String(), "./") != base {
			return nil, fmt.Errorf("%s: target %s must run the basename %s (the agent saves the binary under it)", where, t.Raw, base)
		}
		if p.OS != "windows" && !hasDemand(o.Get("demands"), "chmod +x "+base) {
			return nil, fmt.Errorf("%s: demands lack %q (the download loses the exec bit)", where, "chmod +x "+base)
		}
		if f := o.Get("defaultFlag"); f.Type != gjson.True && f.Type != gjson.False {
			return nil, fmt.Errorf("%s: defaultFlag must be true or false", where)
		}
		if _, ok := defaults[p.OS]; !ok {
			osNames = append(osNames, p.OS)
			defaults[p.OS] = 0
		}
		if p.Default {
			defaults[p.OS]++
		}
		plats = append(plats, p)
	}
	for _, name := range osNames {
		if defaults[name] != 1 {
			return nil, fmt.Errorf("osName %s has %d defaultFlag entries, want exactly 1", name, defaults[name])
		}
	}
	if top := exec.Get("packagePath"); top.Exists() {
		found := false
		for _, p := range plats {
			found = found || p.PackagePath == top.String()
		}
		if !found {
			return nil, fmt.Errorf("execution.packagePath %q is none of execution.os's packagePaths", top.String())
		}
	}
	return plats, nil
}

func hasDemand(demands gjson.Result, want string) bool {
	for _, d := range demands.Array() {
		if strings.TrimSpace(d.String()) == want {
			return true
		}
	}
	return false
}

var safeNameRe = regexp.MustCompile(`^[a-z0-9]+$`)

func safeName(s string) bool { return safeNameRe.MatchString(s) }

// Form checks the store's rules for the form: inputGroups entries with a string name and label and a
// boolean isExpanded; 1..100 inputs, each with a type and a default, a groupName that names a group and rely keys that
// name inputs; 1..100 outputs of type string, artifact or report; a canceledOrTimeOut() post action.
func Form(b []byte) []error {
	if !gjson.ValidBytes(b) {
		return []error{errors.New("not valid JSON")}
	}
	task := gjson.ParseBytes(b)
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	groups := map[string]bool{}
	for _, g := range task.Get("inputGroups").Array() {
		if g.Get("name").Type != gjson.String || g.Get("label").Type != gjson.String ||
			(g.Get("isExpanded").Type != gjson.True && g.Get("isExpanded").Type != gjson.False) {
			bad("inputGroups entry %s needs a string name, a string label and a boolean isExpanded", g.Raw)
		}
		groups[g.Get("name").String()] = true
	}
	inputs := task.Get("input").Map()
	if len(inputs) == 0 || len(inputs) > 100 {
		bad("%d inputs; the store allows 1..100", len(inputs))
	}
	for name, in := range inputs {
		if in.Get("type").String() == "" {
			bad("input %s has no type", name)
		}
		// BK-CI lays the saved step inputs over every build variable, and an input without a default
		// is missing from a saved step: a pipeline variable of the same name would fill it
		// (bk-ci worker-common .../task/market/MarketAtomTask.kt; docs/BKCI.md).
		if !in.Get("default").Exists() || in.Get("default").Type == gjson.Null {
			bad("input %s has no default (\"\" where there is no value): a pipeline variable of its name would fill it", name)
		}
		if g := in.Get("groupName"); g.Exists() && !groups[g.String()] {
			bad("input %s: groupName %q is not an inputGroups name", name, g.String())
		}
		for _, e := range in.Get("rely.expression").Array() {
			if _, ok := inputs[e.Get("key").String()]; !ok {
				bad("input %s: rely on unknown field %q", name, e.Get("key").String())
			}
		}
	}
	outputs := task.Get("output").Map()
	if len(outputs) == 0 || len(outputs) > 100 {
		bad("%d outputs; the store allows 1..100", len(outputs))
	}
	for name, o := range outputs {
		switch o.Get("type").String() {
		case "string", "artifact", "report":
		default:
			bad("output %s has type %q; the store allows string, artifact, report", name, o.Get("type").String())
		}
	}
	post := task.Get("execution.post")
	if post.Get("postCondition").String() != "canceledOrTimeOut()" || post.Get("postEntryParam").String() == "" {
		bad("execution.post must run a postEntryParam on canceledOrTimeOut(): %s", post.Raw)
	}
	return errs
}

// Shows evaluates an input's rely the way BK-CI's form does (bk-ci
// src/frontend/devops-pipeline/src/utils/util.js rely): AND (the default) needs every expression, OR
// any, NOT none; a value array matches any of its values; a regex (checked when there is no value)
// matches case-insensitively. saved holds the step's values as the strings BK-CI saves ("true" for a
// ticked checkbox). An input without a rely is shown.
func Shows(input gjson.Result, saved map[string]string) bool {
	rely := input.Get("rely")
	if !rely.Exists() {
		return true
	}
	match := func(e gjson.Result) bool {
		got := saved[e.Get("key").String()]
		v := e.Get("value")
		switch {
		case v.IsArray():
			for _, x := range v.Array() {
				if x.String() == got {
					return true
				}
			}
			return false
		case !v.Exists() && e.Get("regex").Exists():
			re, err := regexp.Compile("(?i)" + e.Get("regex").String())
			return err == nil && re.MatchString(got)
		}
		return v.String() == got
	}
	exprs := rely.Get("expression").Array()
	matched := 0
	for _, e := range exprs {
		if match(e) {
			matched++
		}
	}
	switch strings.ToUpper(rely.Get("operation").String()) {
	case "OR":
		return len(exprs) == 0 || matched > 0
	case "NOT":
		return len(exprs) == 0 || matched == 0
	}
	return matched == len(exprs)
}
