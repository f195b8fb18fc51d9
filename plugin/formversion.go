package plugin

import (
	"reflect"
	"strconv"
	"strings"
)

// FormVersion is the version of the form in task.json, the default of its hidden formVersion input.
// BK-CI saves a new step with every input's default, hidden ones included (bk-ci
// src/frontend/devops-pipeline/src/store/modules/atom/atomUtil.js getAtomDefaultValue), so each step
// carries the version of the form it was saved with.
//
// Why it matters: BK-CI writes every build variable into input.json and lays the saved step inputs over
// them (bk-ci worker-common .../task/market/MarketAtomTask.kt). A step saved before an input existed has
// no key for it, and a pipeline variable of the same name would become that input. A release that adds
// an input raises FormVersion and lists the input in fieldsSince: steps saved with an older form then
// get the input's default instead (docs/BKCI.md#inputjson-the-build-variables-then-the-saved-inputs).
const FormVersion = 1

// fieldsSince maps each input added after form version 1 to the form version that added it.
// TestFormVersion_Guard fails for an input that is neither in the first form nor listed here.
var fieldsSince = map[string]int{}

// formVersionOf reads the saved formVersion: empty (a step saved before the input existed) is 1.
func formVersionOf(ps *Problems, v string) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || !digitsRe.MatchString(v) {
		ps.add("formVersion", "val.form_version", v)
		return 1
	}
	return n
}

// forVersion returns f with every input that the saved form version (f.FormVersion) did not have
// reset to its default: such a value can only have come from a pipeline variable of the same name.
func (f Form) forVersion(ps *Problems, since map[string]int) Form {
	saved := formVersionOf(ps, f.FormVersion)
	v := reflect.ValueOf(&f).Elem()
	typ := v.Type()
	for i := 0; i < typ.NumField(); i++ {
		key, def := formTag(typ.Field(i))
		if added, ok := since[key]; ok && added > saved {
			v.Field(i).SetString(def)
		}
	}
	return f
}

// formTag splits a Form field's env tag into its input key and its default.
func formTag(field reflect.StructField) (key, def string) {
	parts := strings.Split(field.Tag.Get("env"), ",")
	key = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		if d, ok := strings.CutPrefix(strings.TrimSpace(p), "default="); ok {
			def = d
		}
	}
	return key, def
}
