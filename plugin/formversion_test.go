package plugin

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestFormVersion_ResetsLaterFields: an input added after the form a step was saved with is read as its
// default, whatever input.json holds for it (a pipeline variable of the same name); a step saved with
// that version or later keeps its value.
func TestFormVersion_ResetsLaterFields(t *testing.T) {
	since := map[string]int{"hosts": 2, "failureTolerance": 3}
	base := Form{Hosts: "0:10.9.9.9", FailureTolerance: "50%", TopoNodes: "module:1"}
	cases := []struct {
		saved            string
		hosts, tolerance string
	}{
		{"", "", "0"}, // saved before formVersion existed: version 1
		{"1", "", "0"},
		{"2", "0:10.9.9.9", "0"},
		{"3", "0:10.9.9.9", "50%"},
		{" 7 ", "0:10.9.9.9", "50%"}, // a newer form than this binary knows: everything it knows is read
	}
	for _, tc := range cases {
		f := base
		f.FormVersion = tc.saved
		ps := &Problems{}
		got := f.forVersion(ps, since)
		if got.Hosts != tc.hosts || got.FailureTolerance != tc.tolerance || got.TopoNodes != "module:1" || len(ps.Errors) != 0 {
			t.Errorf("formVersion %q: hosts %q tolerance %q topo %q problems %v; want %q %q", tc.saved,
				got.Hosts, got.FailureTolerance, got.TopoNodes, ps.Errors, tc.hosts, tc.tolerance)
		}
	}
	for _, bad := range []string{"x", "0", "-1", "1.5", "+2"} {
		ps := &Problems{}
		f := base
		f.FormVersion = bad
		got := f.forVersion(ps, since)
		if len(ps.Errors) != 1 || ps.Errors[0].Field != "formVersion" || got.Hosts != "" {
			t.Errorf("formVersion %q: problems %v, hosts %q; want one formVersion problem and version 1", bad, ps.Errors, got.Hosts)
		}
	}
}

// TestFormVersion_Guard keeps the form versioned: task.json's formVersion default is FormVersion, and
// every input not in the first form (testdata/form_v1_inputs.txt, frozen) is listed in fieldsSince
// with a version after 1 and at most FormVersion, so a step saved before it existed never reads it from
// a pipeline variable.
func TestFormVersion_Guard(t *testing.T) {
	task := readTaskJSON(t)
	if got := task.Get("input.formVersion.default").String(); got != strconv.Itoa(FormVersion) {
		t.Errorf("task.json formVersion default %q, want FormVersion %d", got, FormVersion)
	}
	if !task.Get("input.formVersion.hidden").Bool() {
		t.Error("task.json formVersion must be hidden: users do not set it")
	}
	b, err := os.ReadFile("testdata/form_v1_inputs.txt")
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			first[l] = true
		}
	}
	inputs := task.Get("input").Map()
	for name := range inputs {
		v, later := fieldsSince[name]
		switch {
		case first[name] && later:
			t.Errorf("%s is in the first form and in fieldsSince", name)
		case !first[name] && !later:
			t.Errorf("%s is not in form version 1: list it in fieldsSince with the version that adds it", name)
		case later && (v < 2 || v > FormVersion):
			t.Errorf("%s: fieldsSince says version %d; want 2..%d", name, v, FormVersion)
		}
	}
	for name := range fieldsSince {
		if _, ok := inputs[name]; !ok {
			t.Errorf("fieldsSince lists %s, which task.json does not declare", name)
		}
	}
}
