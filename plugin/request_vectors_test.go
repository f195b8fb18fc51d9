package plugin

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"jobfastexecutescript/tooling/vectors"
)

// bodyVector is one submit body the step builds (from Form with BuildRequest), as JOB's own Jackson read
// it into EsbBkCIPluginFastExecuteScriptRequest with unknown properties failing, and what JOB read back
// (its fields serialised again, nulls left out): testdata/job_request_bodies.jsonl, docs/CONFORMANCE.md.
// Vectors without a form are bodies the step must never send; JOB refused them.
type bodyVector struct {
	Name        string            `json:"name"`
	Form        map[string]string `json:"form"`
	CallbackURL string            `json:"callback_url"`
	TaskName    string            `json:"task_name"`
	Body        json.RawMessage   `json:"body"`
	Jackson     struct {
		OK       bool            `json:"ok"`
		Error    string          `json:"error"`
		ReadBack json.RawMessage `json:"read_back"`
	} `json:"jackson"`
}

// jobDefaults are the fields JOB's request classes fill in when the body leaves them out, with their
// values: the only differences allowed between a body and what JOB read back.
var jobDefaults = map[string]any{
	"start":                         float64(0), // EsbReq paging field, unused here
	"rolling_config.type":           float64(1), // RollingTypeEnum target hosts
	"rolling_config.execution_mode": float64(1), // serial
	"execute_target.kube_container_filters[].is_empty_filter":         false,
	"execute_target.kube_container_filters[].fetch_any_one_container": false,
}

// flatten maps every leaf of a JSON value to its path ("a.b[].c" style for arrays, with the index kept
// in the key so that two elements never collide).
func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = x
		}
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		out[prefix] = v
	}
}

func defaultKey(path string) string {
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
			b.WriteString("[]")
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// bodyDiffs compares each vector with what the step builds today and with what JOB read back.
func bodyDiffs(t *testing.T, lines []vectors.Line, vs []bodyVector) []string {
	t.Helper()
	var diffs []string
	for i, v := range vs {
		name := fmt.Sprintf("line %d (%s)", lines[i].N, v.Name)
		if v.Form == nil {
			if v.Jackson.OK {
				diffs = append(diffs, name+": JOB accepted a body the step must never send")
			}
			continue
		}
		// The bodies were recorded with the script as written: strict mode (strict_test.go) only
		// changes the script's text, which JOB reads the same way.
		c, ps := parseInputs(t, withStrictOff(v.Form))
		if c == nil {
			diffs = append(diffs, fmt.Sprintf("%s: the form no longer parses: %+v", name, ps.Errors))
			continue
		}
		c.TaskName = v.TaskName // the run's marker is random
		built, err := BuildRequest(c, v.CallbackURL)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		var now, recorded, readBack any
		_ = json.Unmarshal(built, &now)
		_ = json.Unmarshal(v.Body, &recorded)
		if !reflect.DeepEqual(now, recorded) {
			diffs = append(diffs, fmt.Sprintf("%s: the step now builds %s, JOB was shown %s (record it again)", name, built, v.Body))
			continue
		}
		if !v.Jackson.OK {
			diffs = append(diffs, fmt.Sprintf("%s: JOB refused the body: %s", name, v.Jackson.Error))
			continue
		}
		_ = json.Unmarshal(v.Jackson.ReadBack, &readBack)
		sent, got := map[string]any{}, map[string]any{}
		flatten("", recorded, sent)
		flatten("", readBack, got)
		var bad []string
		for p, sv := range sent {
			if gv, ok := got[p]; !ok || !reflect.DeepEqual(sv, gv) {
				bad = append(bad, fmt.Sprintf("%s sent %v, JOB read %v", p, sv, gv))
			}
		}
		for p, gv := range got {
			if _, ok := sent[p]; ok {
				continue
			}
			if d, ok := jobDefaults[defaultKey(p)]; !ok || !reflect.DeepEqual(d, gv) {
				bad = append(bad, fmt.Sprintf("%s not sent, JOB read %v", p, gv))
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			diffs = append(diffs, name+": "+strings.Join(bad, "; "))
		}
	}
	return diffs
}

func loadBodyVectors(t *testing.T) ([]vectors.Line, []bodyVector) {
	t.Helper()
	return vectors.Load[bodyVector](t, "testdata/job_request_bodies.jsonl")
}

// TestRequestBody_JOBVectors: every form of body the step sends (hosts, groups, topology, containers,
// rolling, callbacks, sensitive parameters, script sources, accounts, scopes) is still built as recorded,
// JOB's Jackson read it with unknown properties failing, and read back every field with the value sent,
// adding only its own defaults.
func TestRequestBody_JOBVectors(t *testing.T) {
	t.Parallel()
	lines, vs := loadBodyVectors(t)
	if len(vs) < 75 {
		t.Fatalf("only %d bodies: the vector file is truncated", len(vs))
	}
	if diffs := bodyDiffs(t, lines, vs); len(diffs) > 0 {
		t.Errorf("%d of %d bodies differ:\n%s", len(diffs), len(vs), strings.Join(diffs, "\n"))
	}
}

// TestRequestBody_ChangedVectorIsNamed: a read-back value changed by hand (here in memory) is reported
// by line, name and field.
func TestRequestBody_ChangedVectorIsNamed(t *testing.T) {
	t.Parallel()
	lines, vs := loadBodyVectors(t)
	i := len(vs) / 2
	vs[i].Jackson.ReadBack = json.RawMessage(strings.Replace(string(vs[i].Jackson.ReadBack), `"timeout":`, `"timeout":1`, 1))
	diffs := bodyDiffs(t, lines, vs)
	want := fmt.Sprintf("line %d (%s): timeout sent", lines[i].N, vs[i].Name)
	if len(diffs) != 1 || !strings.HasPrefix(diffs[0], want) {
		t.Fatalf("diffs = %q, want one starting %q", diffs, want)
	}
}
