package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestResolveInput: a saved input as the plugin receives it (bk-ci ObjectReplaceEnvVarUtil and
// EnvUtils, Jackson's pretty printer).
func TestResolveInput(t *testing.T) {
	vars := map[string]string{"HOSTS": "0:10.0.0.1", "REF": "${HOSTS}", "DEEP": "${REF}"}
	for _, tc := range []struct{ in, want string }{
		{"plain ${HOSTS} and ${{ HOSTS }}", "plain 0:10.0.0.1 and 0:10.0.0.1"},
		{"unknown ${NOPE} stays", "unknown ${NOPE} stays"},
		{"${REF}", "0:10.0.0.1"}, // one more level
		{"${DEEP}", "${HOSTS}"},  // not two
		{`  ["a","${HOSTS}"] `, `[ "a", "0:10.0.0.1" ]`},
		{`{"a":1,"b":[1.50,1e3,{"c":true}],"d":{},"e":[]}`,
			"{\n  \"a\" : 1,\n  \"b\" : [ 1.5, 1000.0, {\n    \"c\" : true\n  } ],\n  \"d\" : { },\n  \"e\" : [ ]\n}"},
		{`[{"k":"<&>"}]`, "[ {\n  \"k\" : \"<&>\"\n} ]"},
		{`[1e7, 0.0001, 2.5E-4]`, `[ 1.0E7, 1.0E-4, 2.5E-4 ]`},
		{`{"broken": }`, `{"broken": }`},
		{`[x]`, `[x]`},
	} {
		if got := ResolveInput(tc.in, vars); got != tc.want {
			t.Errorf("ResolveInput(%q) =\n%s\nwant\n%s", tc.in, got, tc.want)
		}
	}
}

// TestExportedVars: ShellUtil's export rules.
func TestExportedVars(t *testing.T) {
	got := ExportedVars(map[string]string{"OK": "it's\nfine", "a.b": "x", "a-b": "x", "名字": "x", "A|B": "x", "A：B": "x", "A_B": "1\r\\$x"})
	want := map[string]string{"OK": "itsfine", "A_B": "1\r\\$x"}
	if len(got) != len(want) || got["OK"] != want["OK"] || got["A_B"] != want["A_B"] {
		t.Errorf("ExportedVars = %q, want %q", got, want)
	}
}

// TestInputJSON: the build variables first, the saved inputs (the form's defaults and what the test
// set) over them; a form input left out of the saved step is filled by a variable of its name.
func TestInputJSON(t *testing.T) {
	form := &Form{Inputs: map[string]bool{"hosts": true, "topoNodes": true, "taskName": true},
		Defaults: map[string]string{"hosts": "", "topoNodes": ""}}
	bin := filepath.Join(t.TempDir(), BinaryName)
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Step{Binary: bin, Form: form, TmpDir: t.TempDir(), Workspace: "/ws",
		Input: map[string]any{"topoNodes": "module:1", "BK_CI_BUILD_TASK_ID": "e-1", "bkSensitiveConfInfo": map[string]string{"K": "v"}},
		Vars:  map[string]string{"hosts": "0:10.6.6.6", "taskName": "from-a-variable", "topoNodes": "set:9"}}
	b, vars, err := s.inputJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["hosts"] != "" || doc["topoNodes"] != "module:1" || doc["taskName"] != "from-a-variable" || doc["bkWorkspace"] != "/ws" {
		t.Errorf("input.json %s", b)
	}
	if vars["BK_CI_BUILD_TASK_ID"] != "e-1" {
		t.Errorf("variables %v", vars)
	}
	if _, _, _, err := s.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(s.TmpDir, BinaryName+"_e-1_data*", ".sdk.json")); len(m) != 1 {
		t.Errorf("data dir not made as the worker makes it: %v", m)
	}
}
