package bkci

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestWriteOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  Output
		want string // exact JSON
	}{
		{
			name: "success omits error fields",
			out: Output{Status: StatusSuccess, Data: map[string]Data{
				"job_instance_id": StringData("123"),
				"empty":           StringData(""),
				"job_report":      InternalReport("JOB 执行报告", ".jobFastExecuteScript/e-1/report", "index.html"),
			}},
			want: `{"status":"success","type":"default","data":{` +
				`"empty":{"type":"string","value":""},` +
				`"job_instance_id":{"type":"string","value":"123"},` +
				`"job_report":{"type":"report","label":"JOB 执行报告","reportType":"INTERNAL","path":".jobFastExecuteScript/e-1/report","target":"index.html"}}}`,
		},
		{
			name: "failure with all fields",
			out: Output{Status: StatusFailure, Message: "2 targets failed <b>&</b>", ErrorType: ErrorTypeThirdParty,
				ErrorCode: 800003, PlatformCode: "bk_job", PlatformErrorCode: 1240002,
				Data: map[string]Data{
					"token": {Type: DataTypeString, Value: "x", IsSensitive: true},
					"ext":   {Type: DataTypeReport, ReportType: ReportTypeThirdParty, Label: "JOB", URL: "https://job/x?a=1&b=2"},
					"files": {Type: DataTypeArtifact, Value: []string{"out/*.log"}},
				}},
			want: `{"status":"failure","message":"2 targets failed <b>&</b>","errorType":2,"errorCode":800003,` +
				`"platformCode":"bk_job","platformErrorCode":1240002,"type":"default","data":{` +
				`"ext":{"type":"report","label":"JOB","reportType":"THIRDPARTY","url":"https://job/x?a=1&b=2"},` +
				`"files":{"type":"artifact","value":["out/*.log"]},` +
				`"token":{"type":"string","value":"x","isSensitive":true}}}`,
		},
		{
			name: "failure without platform",
			out:  Output{Status: StatusError, Message: "bug", ErrorType: ErrorTypePlugin, ErrorCode: 800099},
			want: `{"status":"error","message":"bug","errorType":3,"errorCode":800099,"type":"default","data":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "output.json")
			if err := WriteOutput(path, &tt.out); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(b)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !gjson.ValidBytes(b) || !json.Valid(b) {
				t.Fatal("invalid JSON")
			}
			// Typed fields, as the worker's Kotlin model reads them.
			if r := gjson.GetBytes(b, "errorCode"); r.Exists() && r.Type != gjson.Number {
				t.Errorf("errorCode is %v", r.Type)
			}
			if gjson.GetBytes(b, "type").String() != "default" || gjson.GetBytes(b, "status").Type != gjson.String {
				t.Error("type/status missing")
			}
			gjson.GetBytes(b, "data").ForEach(func(k, v gjson.Result) bool {
				if v.Get("type").String() == DataTypeString && v.Get("value").Type != gjson.String {
					t.Errorf("data %s: value is not a JSON string", k)
				}
				return true
			})
			assertOnlyFile(t, dir, "output.json")
			if runtime.GOOS != "windows" {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o644 {
					t.Errorf("mode %v, want 0644", st.Mode().Perm())
				}
			}
		})
	}
}

// assertOnlyFile fails unless dir holds exactly the named file (no temporary files left).
func assertOnlyFile(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("dir holds %q, want %q", got, names)
	}
}

func TestWriteOutput_Replaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "output.json")
	if err := os.WriteFile(path, []byte("old content that is longer than the new one ....................."), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteOutput(path, &Output{Status: StatusSuccess}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != `{"status":"success","type":"default","data":{}}` {
		t.Fatalf("got %s", b)
	}
	assertOnlyFile(t, dir, "output.json")
}

func TestWriteOutput_Invalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  *Output
		want string
	}{
		{"nil", nil, "nil output"},
		{"no status", &Output{}, "empty status"},
		{"string value not string", &Output{Status: StatusSuccess, Data: map[string]Data{"n": {Type: DataTypeString, Value: 3}}}, `data "n": string value is int`},
		{"nil string value", &Output{Status: StatusSuccess, Data: map[string]Data{"n": {Type: DataTypeString}}}, `data "n": string value is <nil>`},
		{"artifact value", &Output{Status: StatusSuccess, Data: map[string]Data{"a": {Type: DataTypeArtifact, Value: "x"}}}, `artifact value is string`},
		{"unknown type", &Output{Status: StatusSuccess, Data: map[string]Data{"q": {Type: "quality"}}}, `unknown type "quality"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "output.json")
			err := WriteOutput(path, tt.out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			assertOnlyFile(t, dir)
		})
	}
}

func TestWriteOutput_UnwritableDir(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing-dir", "output.json")
	if err := WriteOutput(path, &Output{Status: StatusSuccess}); err == nil {
		t.Fatal("no error for a missing directory")
	}
}

func TestWriteOutput_RenameFailsLeavesNoTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A non-empty directory where the file should go makes the rename fail on every platform.
	target := filepath.Join(dir, "output.json")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteOutput(target, &Output{Status: StatusSuccess}); err == nil {
		t.Fatal("no error when the rename fails")
	}
	assertOnlyFile(t, dir, "output.json")
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]int{
		StatusSuccess: 0, StatusFailure: 1, StatusError: 1, "": 1, "Success": 1, "success ": 1,
	} {
		if got := ExitCode(status); got != want {
			t.Errorf("ExitCode(%q) = %d, want %d", status, got, want)
		}
	}
}
