package plugin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

func mustParse(t *testing.T, in map[string]string) *Config {
	t.Helper()
	c, ps := parseInputs(t, in)
	if c == nil {
		t.Fatalf("problems: %+v", ps.Errors)
	}
	c.TaskName = "golden-task" // the default name carries a random suffix
	return c
}

// withStrictOff returns in with strictMode false unless in sets it: golden bodies hold the script as
// written (strict mode has its own tests, strict_test.go).
func withStrictOff(in map[string]string) map[string]string {
	out := map[string]string{"strictMode": "false"}
	for k, v := range in {
		out[k] = v
	}
	return out
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestBuildRequest_Golden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		in       map[string]string
		callback string
	}{
		{"inline_hosts", base("hosts", "0:10.0.0.1\n10.0.0.2,#101 10.0.0.1", "scriptParam", "--env prod", "accountAlias", "deploy"), ""},
		{"script_id_sensitive", base("scriptSource", "scriptId", "scriptId", "8bd6a1f0", "scriptParam", "token=abc", "paramSensitive", "true", "accountId", "1000"), ""},
		{"rolling_callback", base("rollingEnabled", "true", "rollingExpression", "1  10%   100%", "rollingMode", "3", "callbackUrl", "https://hooks.example.com/job"), "https://hooks.example.com/job"},
		{"rolling_staggered", base("rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "2", "rollingExecution", "staggered", "rollingStaggerSeconds", "30", "rollingJitterMinSeconds", "0", "rollingJitterMaxSeconds", "3600"), ""},
		{"windows_interpreter", base("scriptLanguage", "5", "scriptContent", "Write-Output hi", "windowsInterpreter", ` C:\Program Files\PowerShell\7\pwsh.exe `), ""},
		{"containers", base("hosts", "", "containerFilters", `[{"kube_cluster_filter":{"cluster_uid_list":["BCS-K8S-00001"]},"kube_workload_filter":{"kind":"Deployment","workload_name_list":["api"]},"kube_pod_filter":{"label_selector":[{"key":"app","operator":"in","values":["api","web"]}],"label_selector_expr":"env!=dev"}},{"is_empty_filter":true,"fetch_any_one_container":true}]`), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body, err := BuildRequest(mustParse(t, withStrictOff(tc.in)), tc.callback)
			if err != nil {
				t.Fatal(err)
			}
			if !gjson.ValidBytes(body) {
				t.Fatal("invalid JSON")
			}
			golden(t, "request_"+tc.name+".golden.json", indent(t, body))
		})
	}
}

// TestBuildRequest_SeedExample maps the original API document's request example to the form and checks
// the body: its mistakes are handled as docs/JOB.md#doc-vs-code says (label_key/label_values/label_value become
// key/values, is_param_sensitive is a boolean, script_version_id wins over script_content).
func TestBuildRequest_SeedExample(t *testing.T) {
	t.Parallel()
	seed, err := os.ReadFile("testdata/seed_request_example.json")
	if err != nil {
		t.Fatal(err)
	}
	s := gjson.ParseBytes(seed)
	param, _ := base64.StdEncoding.DecodeString(s.Get("script_param").String())
	in := map[string]string{
		"scopeType": s.Get("bk_scope_type").String(), "scopeId": s.Get("bk_scope_id").String(),
		"scriptSource": "scriptVersionId", "scriptVersionId": s.Get("script_version_id").String(),
		"scriptParam": string(param), "timeout": s.Get("timeout").String(), "accountId": s.Get("account_id").String(),
		"hosts": "#101\n0:10.0.0.2", "dynamicGroups": s.Get("execute_target.host_dynamic_group_list.0.id").String(),
		"topoNodes": "module:1000", "containerFilters": s.Get("execute_target.kube_container_filters").Raw,
	}
	c := mustParse(t, in)
	body, err := BuildRequest(c, "")
	if err != nil {
		t.Fatal(err)
	}
	b := gjson.ParseBytes(body)
	if b.Get("is_param_sensitive").Type != gjson.False {
		t.Errorf("is_param_sensitive must be a JSON boolean: %s", b.Get("is_param_sensitive").Raw)
	}
	if b.Get("script_content").Exists() || b.Get("script_version_id").Int() != 1 {
		t.Errorf("script_version_id must win: %s", body)
	}
	sel := b.Get("execute_target.kube_container_filters.0.kube_pod_filter.label_selector")
	if sel.Get("0.key").String() != "application" || sel.Get("0.values.#").Int() != 2 || sel.Get("0.label_key").Exists() {
		t.Errorf("label_key/label_values not normalised: %s", sel.Raw)
	}
	if sel.Get("1.key").String() != "env" || sel.Get("1.values.0").String() != "prod" || sel.Get("1.label_value").Exists() {
		t.Errorf("label_value not normalised: %s", sel.Raw)
	}
	golden(t, "request_seed_example.golden.json", indent(t, body))
}

func TestMaskedRequest(t *testing.T) {
	t.Parallel()
	c := mustParse(t, base("scriptParam", "--password hunter2secret", "paramSensitive", "true", "wait", "callback", "callbackBaseUrl", "http://10.0.0.5:19091"))
	out, err := maskedRequest(c, "http://10.0.0.5:19091/jobcb/0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString([]byte(c.ScriptParam))
	if bytes.Contains([]byte(out), []byte(enc)) || bytes.Contains([]byte(out), []byte("hunter2secret")) {
		t.Errorf("sensitive param not masked:\n%s", out)
	}
	if bytes.Contains([]byte(out), []byte("0123456789abcdef")) {
		t.Errorf("callback secret path not masked:\n%s", out)
	}
}
