package plugin

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sethvargo/go-envconfig"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
)

var testPrivate = bkci.PrivateConfig{JobAPIURL: "http://127.0.0.1:1/api/bk-job/prod", AppCode: "bkci", AppSecret: "s3cr3t-app-secret"}

var testBuild = Build{PipelineName: "deploy", BuildNum: "42", TaskID: "e-77aa", UpdateUser: "bob", StartUser: "alice", AtomTimeout: "60"}

// parseInputs runs Parse on a form made of the task.json defaults plus in.
func parseInputs(t *testing.T, in map[string]string) (*Config, *Problems) {
	t.Helper()
	return parseWithBuild(t, testBuild, in)
}

// parseWithBuild runs Parse on the form in (empty values unset) with the build variables b.
func parseWithBuild(t *testing.T, b Build, in map[string]string) (*Config, *Problems) {
	t.Helper()
	m := map[string]string{}
	for k, v := range in {
		if v != "" {
			m[k] = v
		}
	}
	var f Form
	if err := decode(context.Background(), &f, envconfig.MapLookuper(m)); err != nil {
		t.Fatal(err)
	}
	// As load does: a step given without the chosen language's editor key (a YAML step, like these
	// maps) has its script in scriptContent.
	f.adoptScriptContent(func(k string) bool { _, ok := in[k]; return ok })
	return Parse(f, b, testPrivate, nil, i18n.EnUS)
}

func base(extra ...string) map[string]string {
	m := map[string]string{"scopeId": "2", "hosts": "0:10.0.0.1", "scriptContent": "echo hi"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestParse_Valid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		in    map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"defaults", base(), func(t *testing.T, c *Config) {
			if c.ScopeType != "biz" || c.Timeout != 7200 || c.AccountAlias != "root" || c.Wait != "poll" || c.LogMode != "auto" || !c.ExtractVars {
				t.Errorf("defaults not applied: %+v", c)
			}
			if c.Operator != "bob" {
				t.Errorf("operator = %q, want the last modifier", c.Operator)
			}
			if !strings.HasPrefix(c.TaskName, "deploy-#42-e-77aa-") {
				t.Errorf("task name %q", c.TaskName)
			}
		}},
		{"starter", base("operator", "starter"), func(t *testing.T, c *Config) {
			if c.Operator != "alice" {
				t.Errorf("operator = %q", c.Operator)
			}
		}},
		{"hosts all forms dedup", base("hosts", "0:10.0.0.1\n10.0.0.1, 2:10.0.0.1;#101 host:101  host:7"), func(t *testing.T, c *Config) {
			if len(c.Targets.Hosts) != 4 {
				t.Errorf("hosts = %+v", c.Targets.Hosts)
			}
		}},
		{"hosts json list", base("hosts", `["0:10.0.0.1", "10.0.0.2"]`), func(t *testing.T, c *Config) {
			if len(c.Targets.Hosts) != 2 {
				t.Errorf("hosts = %+v", c.Targets.Hosts)
			}
		}},
		{"topo and groups", base("hosts", "", "topoNodes", "module:1000, set:12 module:1000", "dynamicGroups", "g1;g2\ng1"), func(t *testing.T, c *Config) {
			if len(c.Targets.TopoNodes) != 2 || len(c.Targets.DynamicGroups) != 2 {
				t.Errorf("targets = %+v", c.Targets)
			}
		}},
		{"tolerance percent", base("failureTolerance", "5%"), func(t *testing.T, c *Config) {
			if got := c.FailureTolerance.Allowed(199); got != 9 {
				t.Errorf("5%% of 199 = %d, want 9", got)
			}
		}},
		{"rolling normalised", base("rollingEnabled", "true", "rollingExpression", " 1   10%  100% "), func(t *testing.T, c *Config) {
			if c.Rolling == nil || c.Rolling.Expr.String() != "1 10% 100%" || c.Rolling.Mode != 1 {
				t.Errorf("rolling = %+v", c.Rolling)
			}
		}},
		{"callback default listen", base("wait", "callback", "callbackBaseUrl", "http://10.0.0.5:19091/"), func(t *testing.T, c *Config) {
			if c.CallbackListen != "0.0.0.0:19091" || c.CallbackBaseURL != "http://10.0.0.5:19091" {
				t.Errorf("listen %q base %q", c.CallbackListen, c.CallbackBaseURL)
			}
		}},
		{"callback scheme port", base("wait", "callback", "callbackBaseUrl", "https://cb.example.com"), func(t *testing.T, c *Config) {
			if c.CallbackListen != "0.0.0.0:443" {
				t.Errorf("listen %q", c.CallbackListen)
			}
		}},
		{"callback IPv6 and DNS hosts", base("wait", "callback", "callbackBaseUrl", "http://[2001:db8::5]:19091", "callbackUrl", "https://ci-agent5.example.com:8443/hook"), func(t *testing.T, c *Config) {
			if c.CallbackBaseURL != "http://[2001:db8::5]:19091" || c.CallbackURL != "https://ci-agent5.example.com:8443/hook" || c.CallbackListen != "0.0.0.0:19091" {
				t.Errorf("base %q url %q listen %q", c.CallbackBaseURL, c.CallbackURL, c.CallbackListen)
			}
		}},
		{"script version", base("scriptSource", "scriptVersionId", "scriptVersionId", "1001", "scriptContent", ""), func(t *testing.T, c *Config) {
			if c.ScriptVersionID != 1001 {
				t.Errorf("version = %d", c.ScriptVersionID)
			}
		}},
		{"param newline warns", base("scriptParam", "a\nb"), func(t *testing.T, c *Config) {
			if len(c.Warnings) != 1 || c.Warnings[0].Field != "scriptParam" {
				t.Errorf("warnings = %+v", c.Warnings)
			}
		}},
		{"wait timeout capped by step", base("waitTimeout", "600000"), func(t *testing.T, c *Config) {
			if c.EffectiveWait() > 60*60*1e9 {
				t.Errorf("wait %v beyond the step timeout", c.EffectiveWait())
			}
		}},
	}
	cases = append(cases, []struct {
		name  string
		in    map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"windows interpreter trimmed, 260 units", base("scriptLanguage", "2", "windowsInterpreter", "  C:\\"+strings.Repeat("a", 253)+".exe "), func(t *testing.T, c *Config) {
			if c.WindowsInterpreter != "C:\\"+strings.Repeat("a", 253)+".exe" {
				t.Errorf("windows interpreter = %q", c.WindowsInterpreter)
			}
		}},
		{"windows interpreter ignored for shell", base("windowsInterpreter", "not-a-program"), func(t *testing.T, c *Config) {
			if c.WindowsInterpreter != "" {
				t.Errorf("windows interpreter = %q, want none for a shell script", c.WindowsInterpreter)
			}
		}},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ps := parseInputs(t, tc.in)
			if c == nil {
				t.Fatalf("unexpected problems: %+v", ps.Errors)
			}
			tc.check(t, c)
		})
	}
}

func TestParse_Invalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		in    map[string]string
		field string
		key   string
	}{
		{"scope id missing", base("scopeId", ""), "scopeId", "val.required"},
		{"scope id letters", base("scopeId", "abc"), "scopeId", "val.digits"},
		{"scope type", base("scopeType", "tenant"), "scopeType", "val.enum"},
		{"script source", base("scriptSource", "files"), "scriptSource", "val.enum"},
		{"language", base("scriptLanguage", "6"), "scriptLanguage", "val.enum"},
		{"content empty", base("scriptContent", " "), "scriptContent", "val.required"},
		{"script id missing", base("scriptSource", "scriptId"), "scriptId", "val.required"},
		{"script version zero", base("scriptSource", "scriptVersionId", "scriptVersionId", "0"), "scriptVersionId", "val.positive"},
		{"param too long", base("scriptParam", strings.Repeat("参", 5001)), "scriptParam", "val.too_long"},
		{"timeout zero", base("timeout", "0"), "timeout", "val.int_range"},
		{"timeout big", base("timeout", "259201"), "timeout", "val.int_range"},
		{"timeout text", base("timeout", "1h"), "timeout", "val.int_range"},
		{"account none", base("accountAlias", " "), "accountAlias", "val.account_required"},
		{"account id bad", base("accountId", "-1"), "accountId", "val.positive"},
		{"task name long", base("taskName", strings.Repeat("名", 513)), "taskName", "val.too_long"},
		{"task name long in utf-16", base("taskName", strings.Repeat("😀", 257)), "taskName", "val.too_long_utf16"},
		{"no target", base("hosts", ""), "hosts", "val.no_target"},
		{"bad ip", base("hosts", "0:10.0.0.256"), "hosts", "val.host_ip"},
		{"ip leading zero", base("hosts", "10.0.0.01"), "hosts", "val.host_ip"},
		{"bad cloud", base("hosts", "x:10.0.0.1"), "hosts", "val.cloud_id"},
		{"ipv6", base("hosts", "::1"), "hosts", "val.host_ipv6"},
		{"bad host id", base("hosts", "#0"), "hosts", "val.host_id"},
		{"label without host id", base("hosts", "0:10.0.0.1#"), "hosts", "val.host_id"},
		{"label with a bad address", base("hosts", "0:10.0.0.300#101"), "hosts", "val.host_label"},
		{"label with a bare IPv6", base("hosts", "0:fd00::1#101"), "hosts", "val.host_label"},
		{"label with a bad host id", base("hosts", "0:10.0.0.1#x"), "hosts", "val.host_id"},
		{"bad host id text", base("hosts", "host:abc"), "hosts", "val.host_id"},
		{"bad json list", base("hosts", `[1, {"a":1}]`), "hosts", "val.json_list"},
		{"bad topo", base("topoNodes", "module"), "topoNodes", "val.topo_node"},
		{"bad topo id", base("topoNodes", "module:0"), "topoNodes", "val.topo_node"},
		{"bad group", base("dynamicGroups", "g!1"), "dynamicGroups", "val.group_id"},
		{"group in the 6.x form", base("dynamicGroups", "2:blo8gojho0skft7pr5q0"), "dynamicGroups", "val.group_old_form"},
		{"cf json", base("containerFilters", "[{"), "containerFilters", "val.json"},
		{"cf not array", base("containerFilters", `"x"`), "containerFilters", "val.cf_array"},
		{"cf element", base("containerFilters", `[1]`), "containerFilters", "val.cf_object"},
		{"cf empty filter", base("containerFilters", `[{}]`), "containerFilters", "val.cf_empty"},
		{"cf kind", base("containerFilters", `[{"kube_workload_filter":{"kind":"pod"}}]`), "containerFilters", "val.cf_kind"},
		{"cf kind missing", base("containerFilters", `[{"kube_workload_filter":{}}]`), "containerFilters", "val.cf_kind_missing"},
		{"cf cluster list", base("containerFilters", `[{"kube_cluster_filter":{"cluster_uid_list":"BCS"}}]`), "containerFilters", "val.cf_list"},
		{"cf cluster required", base("containerFilters", `[{"kube_cluster_filter":{}}]`), "containerFilters", "val.cf_required"},
		{"cf operator", base("containerFilters", `[{"kube_pod_filter":{"label_selector":[{"key":"app","operator":"like","values":["a"]}]}}]`), "containerFilters", "val.cf_label"},
		{"cf in without values", base("containerFilters", `[{"kube_pod_filter":{"label_selector":[{"key":"app","operator":"in"}]}}]`), "containerFilters", "val.cf_label"},
		{"cf exists with values", base("containerFilters", `[{"kube_pod_filter":{"label_selector":[{"key":"app","operator":"exists","values":["x"]}]}}]`), "containerFilters", "val.cf_label"},
		{"cf requirement shape", base("containerFilters", `[{"kube_pod_filter":{"label_selector":[{"operator":"in"}]}}]`), "containerFilters", "val.cf_requirement"},
		{"cf expr", base("containerFilters", `[{"kube_pod_filter":{"label_selector_expr":"app in (a"}}]`), "containerFilters", "val.cf_label_expr"},
		{"cf bool", base("containerFilters", `[{"is_empty_filter":"yes"}]`), "containerFilters", "val.cf_bool"},
		{"rolling empty", base("rollingEnabled", "true"), "rollingExpression", "val.required"},
		{"rolling syntax", base("rollingEnabled", "true", "rollingExpression", "30%+"), "rollingExpression", "val.rolling_syntax"},
		{"rolling zero", base("rollingEnabled", "true", "rollingExpression", "0"), "rollingExpression", "val.rolling_range"},
		{"rolling percent range", base("rollingEnabled", "true", "rollingExpression", "101%"), "rollingExpression", "val.rolling_range"},
		{"rolling mode", base("rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "4"), "rollingMode", "val.enum"},
		{"rolling too many batches", base("rollingEnabled", "true", "rollingExpression", "1", "hosts", manyHosts(600)), "rollingExpression", "val.rolling_batches"},
		{"windows interpreter not exe", base("scriptLanguage", "2", "windowsInterpreter", `C:\Python\python`), "windowsInterpreter", "val.win_interpreter_exe"},
		{"windows interpreter upper-case EXE", base("scriptLanguage", "5", "windowsInterpreter", `C:\Python\PYTHON.EXE`), "windowsInterpreter", "val.win_interpreter_exe"},
		{"windows interpreter too long", base("scriptLanguage", "5", "windowsInterpreter", `C:\`+strings.Repeat("a", 254)+".exe"), "windowsInterpreter", "val.too_long_utf16"},
		{"staggered fixed too big", base("rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "staggered", "rollingStaggerSeconds", "3601"), "rollingStaggerSeconds", "val.int_range"},
		{"staggered min negative", base("rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "staggered", "rollingJitterMinSeconds", "-1"), "rollingJitterMinSeconds", "val.int_range"},
		{"staggered min above max", base("rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "staggered", "rollingJitterMinSeconds", "5", "rollingJitterMaxSeconds", "4"), "rollingJitterMaxSeconds", "val.rolling_jitter_order"},
		{"staggered over 200 batches", base("rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "staggered", "hosts", manyHosts(201)), "rollingExpression", "val.rolling_staggered_batches"},
		{"rolling execution enum", base("rollingEnabled", "true", "rollingExpression", "1", "rollingExecution", "parallel"), "rollingExecution", "val.enum"},
		{"wait enum", base("wait", "sleep"), "wait", "val.enum"},
		{"callback base missing", base("wait", "callback"), "callbackBaseUrl", "val.callback_base_required"},
		{"callback base scheme", base("wait", "callback", "callbackBaseUrl", "ftp://x"), "callbackBaseUrl", "val.url"},
		{"callback base query", base("wait", "callback", "callbackBaseUrl", "http://x:1/?a=1"), "callbackBaseUrl", "val.url_no_query"},
		{"callback listen", base("wait", "callback", "callbackBaseUrl", "http://x:1", "callbackListen", "nope"), "callbackListen", "val.listen"},
		{"callback listen without base", base("wait", "callback", "callbackListen", "nope"), "callbackListen", "val.listen"},
		{"callback listen with bad base", base("wait", "callback", "callbackBaseUrl", "ftp://x", "callbackListen", "nope"), "callbackListen", "val.listen"},
		{"callback url brace", base("callbackUrl", "http://example.com/cb?a={x}"), "callbackUrl", "val.url"},
		{"callback url pipe", base("callbackUrl", "http://example.com/cb|x"), "callbackUrl", "val.url"},
		{"callback url quote", base("callbackUrl", `http://example.com/cb"x`), "callbackUrl", "val.url"},
		{"callback base pipe", base("wait", "callback", "callbackBaseUrl", "http://10.0.0.5:8080/a|b"), "callbackBaseUrl", "val.url"},
		{"callback base port 0", base("wait", "callback", "callbackBaseUrl", "http://10.0.0.5:0"), "callbackBaseUrl", "val.url_port"},
		{"callback base port too big", base("wait", "callback", "callbackBaseUrl", "http://10.0.0.5:99999", "callbackListen", "0.0.0.0:19091"), "callbackBaseUrl", "val.url_port"},
		{"rolling overflows JOB's integers", base("rollingEnabled", "true", "rollingExpression", "2 *1073741824", "hosts", "#101 #102 #103 #104 #105"), "rollingExpression", "val.rolling_overflow"},
		{"rolling adds beyond JOB's integers", base("rollingEnabled", "true", "rollingExpression", "2 +2147483647", "hosts", "#101 #102 #103 #104 #105"), "rollingExpression", "val.rolling_overflow"},
		{"callback url userinfo", base("callbackUrl", "http://u:p@x/cb"), "callbackUrl", "val.url_userinfo"},
		// java.net.URI finds no host in these, so JOB would refuse the submit (internal/callbackurl).
		{"callback url underscore", base("callbackUrl", "http://build_agent.example.com/cb"), "callbackUrl", "val.url_host"},
		{"callback url leading hyphen", base("callbackUrl", "http://-bad.com/x"), "callbackUrl", "val.url_host"},
		{"callback url numeric last label", base("callbackUrl", "http://host.123/x"), "callbackUrl", "val.url_host"},
		{"callback url IDN", base("callbackUrl", "http://例子.cn/x"), "callbackUrl", "val.url_host"},
		{"callback base underscore", base("wait", "callback", "callbackBaseUrl", "http://a_b:8080"), "callbackBaseUrl", "val.url_host"},
		{"callback base trailing hyphen", base("wait", "callback", "callbackBaseUrl", "http://agent-.example.com:19091"), "callbackBaseUrl", "val.url_host"},
		{"callback url", base("callbackUrl", "x"), "callbackUrl", "val.url"},
		{"wait timeout", base("waitTimeout", "-5"), "waitTimeout", "val.int_range"},
		{"on cancel", base("onCancel", "kill"), "onCancel", "val.enum"},
		{"operator enum", base("operator", "me"), "operator", "val.enum"},
		{"tolerance", base("failureTolerance", "5%%"), "failureTolerance", "val.tolerance"},
		{"tolerance pct", base("failureTolerance", "101%"), "failureTolerance", "val.tolerance"},
		{"log mode", base("logMode", "some"), "logMode", "val.enum"},
		{"bool", base("dryRun", "yes"), "dryRun", "val.bool"},
		{"unresolved", base("scopeId", "${bizId}"), "scopeId", "val.unresolved"},
		{"unresolved expr", base("hosts", "${{ variables.hosts }}"), "hosts", "val.unresolved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ps := parseInputs(t, tc.in)
			if c != nil {
				t.Fatalf("no problem found")
			}
			for _, p := range ps.Errors {
				if p.Field == tc.field && p.Key == tc.key {
					return
				}
			}
			t.Errorf("want %s/%s, got %+v", tc.field, tc.key, ps.Errors)
		})
	}
}

// TestParse_Unresolved: a field that still holds variable references gets exactly one problem,
// naming each reference once, and nothing from parsing the reference as a value.
func TestParse_Unresolved(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, field, value, refs string
		extra                    []string
	}{
		{"host", "hosts", "${ip}", "${ip}", nil},
		{"host expression with spaces", "hosts", "${{ variables.ip }}", "${{ variables.ip }}", nil},
		{"several hosts", "hosts", "0:10.0.0.1 ${a}\n${b} ${a}", "${a}, ${b}", nil},
		{"json list", "hosts", `["${ip}"]`, "${ip}", nil},
		{"dynamic group", "dynamicGroups", "${group}", "${group}", nil},
		{"topology node", "topoNodes", "module:${m}", "${m}", nil},
		{"container filter", "containerFilters", `[{"kube_pod_filter":{"label_selector_expr":"app in (${app})"}}]`, "${app}", nil},
		{"task name", "taskName", "deploy-${BK_CI_FOO}", "${BK_CI_FOO}", nil},
		{"scope type", "scopeType", "${scope}", "${scope}", nil},
		{"checkbox", "extractVars", "${flag}", "${flag}", nil},
		{"rolling expression", "rollingExpression", "${batch}", "${batch}", []string{"rollingEnabled", "true"}},
		{"wait timeout", "waitTimeout", "${t}", "${t}", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ps := parseInputs(t, base(append([]string{tc.field, tc.value}, tc.extra...)...))
			if c != nil {
				t.Fatal("no problem found")
			}
			var got []Problem
			for _, p := range append(ps.Errors, ps.Warnings...) {
				if p.Field == tc.field {
					got = append(got, p)
				}
			}
			if len(got) != 1 || got[0].Key != "val.unresolved" || len(got[0].Args) != 1 || got[0].Args[0] != tc.refs {
				t.Errorf("problems of %s = %+v, want one val.unresolved naming %q", tc.field, got, tc.refs)
			}
		})
	}
	// The script and its parameters may hold shell syntax: they are sent as they are.
	c, ps := parseInputs(t, base("scriptContent", "echo ${HOME}", "scriptParam", "--v ${x}"))
	if c == nil {
		t.Fatalf("script text with ${...} refused: %+v", ps.Errors)
	}
}

func manyHosts(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("0:10.0.")
		b.WriteString(strconv.Itoa(i / 250))
		b.WriteString(".")
		b.WriteString(strconv.Itoa(i%250 + 1))
		b.WriteString("\n")
	}
	return b.String()
}

// TestParse_AllProblemsAtOnce: several bad fields are all reported, each naming its label.
func TestParse_AllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	_, ps := parseInputs(t, map[string]string{"scopeId": "x", "timeout": "0", "hosts": "1.2.3", "logMode": "x"})
	fields := map[string]bool{}
	for _, p := range ps.Errors {
		fields[p.Field] = true
	}
	for _, f := range []string{"scopeId", "timeout", "hosts", "logMode", "scriptContent"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s: %+v", f, ps.Errors)
		}
	}
	err := &InputError{Problems: ps.Errors, Lang: i18n.ZhCN}
	for _, label := range []string{"资源范围 ID", "脚本超时（秒）", "主机", "日志"} {
		if !strings.Contains(err.Error(), "「"+label+"」") {
			t.Errorf("zh_CN message lacks label %s:\n%s", label, err.Error())
		}
	}
}

func TestParse_MissingPrivate(t *testing.T) {
	t.Parallel()
	var f Form
	_ = decode(context.Background(), &f, envconfig.MapLookuper(base()))
	_, ps := Parse(f, testBuild, bkci.PrivateConfig{}, []string{"BK_JOB_API_URL", "BK_APP_SECRET"}, i18n.EnUS)
	if len(ps.Errors) != 2 || !onlyPrivateMissing(ps.Errors) {
		t.Fatalf("problems = %+v", ps.Errors)
	}
	msg := (&InputError{Problems: ps.Errors, Lang: i18n.EnUS}).Error()
	if !strings.Contains(msg, "BK_APP_SECRET") || !strings.Contains(msg, "administrator") {
		t.Errorf("message: %s", msg)
	}
}

func TestJoinLimited(t *testing.T) {
	t.Parallel()
	var labels []string
	for i := 0; i < 1000; i++ {
		labels = append(labels, "0:10.0.0."+strconv.Itoa(i))
	}
	got := joinLimited(labels, 4000)
	if n := len([]rune(got)); n > 4000 {
		t.Fatalf("length %d", n)
	}
	if !strings.Contains(got, "…(+") || !strings.HasSuffix(got, "more)") {
		t.Fatalf("no marker: %s", got[len(got)-40:])
	}
	kept := strings.Count(got, ",") + 1
	if !strings.HasSuffix(got, "…(+"+strconv.Itoa(1000-kept)+" more)") {
		t.Errorf("marker count wrong: kept %d, tail %q", kept, got[len(got)-30:])
	}
	if short := joinLimited(labels[:3], 4000); short != "0:10.0.0.0,0:10.0.0.1,0:10.0.0.2" {
		t.Errorf("short = %q", short)
	}
}

func TestLiveReadPause(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]time.Duration{0: 0, 512 << 10: time.Second, 5 << 20: 10 * time.Second, 100 << 20: 30 * time.Second} {
		if got := liveReadPause(n); got != want {
			t.Errorf("liveReadPause(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestDefaultTaskName: the default name fits JOB's limit of 512 UTF-16 code units whatever the
// pipeline name and step id, keeps whole characters and ends with the run's marker.
func TestDefaultTaskName(t *testing.T) {
	t.Parallel()
	run := Run{BuildID: "b-1", TaskID: "e-1"}
	for _, tc := range []struct {
		name string
		b    Build
		want string // prefix
	}{
		{"plain", Build{PipelineName: "deploy", BuildNum: "7", StepID: "s1"}, "deploy-#7-s1-"},
		{"no build number or step", Build{PipelineName: "deploy"}, "deploy-"},
		{"no pipeline name", Build{BuildNum: "7", TaskID: "e-1"}, "jobFastExecuteScript-#7-e-1-"},
		{"long emoji name", Build{PipelineName: strings.Repeat("😀", 600), BuildNum: "7", StepID: "s1"}, "😀😀"},
		{"long name", Build{PipelineName: strings.Repeat("名", 600), BuildNum: "7", StepID: "s1"}, "名名"},
		{"absurd step id", Build{PipelineName: "deploy", BuildNum: "7", StepID: strings.Repeat("s", 600)}, "deploy-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps := &Problems{}
			got := taskName(ps, Form{}, tc.b, run)
			if len(ps.Errors) > 0 {
				t.Fatalf("problems %+v", ps.Errors)
			}
			if u := utf16Len(got); u > maxTaskNameRunes || !utf8.ValidString(got) || !strings.HasPrefix(got, tc.want) {
				t.Errorf("%q: %d UTF-16 units, valid %v", got, u, utf8.ValidString(got))
			}
			if !hasRunKey(got, run.Key()) {
				t.Errorf("%q does not end with the run's marker", got)
			}
		})
	}
}

// TestTaskName_RunMarker: a name from the form gets the run's marker too, so that no other run's job
// is ever taken for this run's; the marker is the same for the step and its post action (the same
// build, task and retry), differs for any other run, and the random part tells two runs of the step
// in one build run apart.
func TestTaskName_RunMarker(t *testing.T) {
	t.Parallel()
	run := Run{BuildID: "b-7", TaskID: "e-1"}
	ps := &Problems{}
	a, b := taskName(ps, Form{TaskName: "nightly-deploy"}, Build{}, run), taskName(ps, Form{TaskName: "nightly-deploy"}, Build{}, run)
	if !strings.HasPrefix(a, "nightly-deploy-") || len(a) != len("nightly-deploy")+runMarkerLen || a == b {
		t.Errorf("names %q and %q: want nightly-deploy and a marker, different per run", a, b)
	}
	if !hasRunKey(a, run.Key()) || !hasRunKey(b, run.Key()) {
		t.Errorf("%q / %q lack the run key %s", a, b, run.Key())
	}
	for _, other := range []Run{{BuildID: "b-8", TaskID: "e-1"}, {BuildID: "b-7", TaskID: "e-2"}, {BuildID: "b-7", TaskID: "e-1", Retry: "1"}} {
		if hasRunKey(a, other.Key()) {
			t.Errorf("%q is taken for run %+v", a, other)
		}
	}
	if (Run{TaskID: "e-1"}).Key() != "" || hasRunKey(a, "") {
		t.Error("a run without a build id has no key")
	}
	// The form's limit leaves room for the marker.
	ps = &Problems{}
	taskName(ps, Form{TaskName: strings.Repeat("n", maxTaskNameRunes-runMarkerLen)}, Build{}, run)
	if len(ps.Errors) != 0 {
		t.Errorf("a name of the limit's length is refused: %v", ps.Errors)
	}
	taskName(ps, Form{TaskName: strings.Repeat("n", maxTaskNameRunes-runMarkerLen+1)}, Build{}, run)
	if len(ps.Errors) != 1 || ps.Errors[0].Key != "val.too_long" {
		t.Errorf("a name over the limit: %v", ps.Errors)
	}
}

// TestStepDeadline: the plugin's own deadline is BK-CI's step timeout (BK_CI_ATOM_TIMEOUT, minutes)
// less what the timer counted before the plugin started, less a margin; 0 means BK-CI's 7 days, a
// missing value its default of 900 minutes.
func TestStepDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		minutes string
		elapsed time.Duration
		want    time.Duration
	}{
		{"60", 0, 59 * time.Minute},
		{"10", 0, 9*time.Minute + 30*time.Second},
		{"1", 0, 30 * time.Second},
		{"", 0, 899 * time.Minute},
		{"x", 0, 899 * time.Minute},
		{"-5", 0, 899 * time.Minute},
		{"0", 0, 7*24*time.Hour - time.Minute},
		{"99999999", 0, 7*24*time.Hour - time.Minute},
		{"999999999999999", 0, 7*24*time.Hour - time.Minute},
		{"60", 5 * time.Minute, 54 * time.Minute}, // a slow download counted by BK-CI's timer
		{"1", 40 * time.Second, 10 * time.Second},
		{"1", 2 * time.Minute, 0}, // the timer ran out before the plugin started
		{"10", -time.Minute, 9*time.Minute + 30*time.Second},
	} {
		if got := stepDeadline(tc.minutes, tc.elapsed); got != tc.want {
			t.Errorf("stepDeadline(%q, %v) = %v, want %v", tc.minutes, tc.elapsed, got, tc.want)
		}
	}
}

// TestParse_TopoNodeType: CMDB object ids are lower case; "Module:1000" means module 1000.
func TestParse_TopoNodeType(t *testing.T) {
	t.Parallel()
	c, ps := parseInputs(t, base("hosts", "", "topoNodes", "Module:1000\nSET:7\nmodule:1000"))
	if c == nil {
		t.Fatalf("refused: %+v", ps.Errors)
	}
	want := []TopoNode{{ID: 1000, NodeType: "module"}, {ID: 7, NodeType: "set"}}
	if !slices.Equal(c.Targets.TopoNodes, want) {
		t.Errorf("topology nodes %+v, want %+v", c.Targets.TopoNodes, want)
	}
}

// TestParse_AllowedVariables (issue 12, item 4): names separated by commas, white space ignored; a
// name that is not a variable name is an error naming the field; one that would never be refused
// (a misspelling: names are case-sensitive) is a warning.
func TestParse_AllowedVariables(t *testing.T) {
	t.Parallel()
	c, ps := parseInputs(t, base("allowedVariables", " NODE_PATH ,Path,, GOFLAGS"))
	if c == nil {
		t.Fatalf("refused: %+v", ps.Errors)
	}
	if len(c.AllowedVariables) != 3 || !c.AllowedVariables["NODE_PATH"] || !c.AllowedVariables["GOFLAGS"] {
		t.Errorf("allowed %v", c.AllowedVariables)
	}
	if len(ps.Warnings) != 1 || ps.Warnings[0].Key != "val.allowed_var_unneeded" || ps.Warnings[0].Args[0] != "Path" {
		t.Errorf("warnings %+v", ps.Warnings)
	}
	c, ps = parseInputs(t, base("allowedVariables", "PATH, LD-PRELOAD"))
	if c != nil || len(ps.Errors) != 1 || ps.Errors[0].Field != "allowedVariables" || ps.Errors[0].Key != "val.allowed_var_name" {
		t.Errorf("errors %+v", ps.Errors)
	}
	if c, _ := parseInputs(t, base()); c == nil || c.AllowedVariables != nil {
		t.Error("the default allows something")
	}
}

// TestEffectiveWait_Staggered: staggered batches overlap, so the default wait is the last batch's
// latest start ((batches-1) × (fixed + largest random delay)) plus one script timeout and the margins,
// not a timeout per batch.
func TestEffectiveWait_Staggered(t *testing.T) {
	t.Parallel()
	in := base("hosts", "0:10.0.0.1 0:10.0.0.2 0:10.0.0.3 0:10.0.0.4", "timeout", "600", "rollingEnabled", "true",
		"rollingExpression", "1", "rollingExecution", "staggered", "rollingStaggerSeconds", "10", "rollingJitterMaxSeconds", "5")
	c, ps := parseInputs(t, in)
	if c == nil {
		t.Fatalf("refused: %+v", ps.Errors)
	}
	want := 3*15*time.Second + 600*time.Second + waitMarginPerBatch + waitMarginBase
	if got := c.EffectiveWait(); got != want {
		t.Errorf("staggered wait %v, want %v", got, want)
	}
	in["rollingExecution"] = "serial"
	c, _ = parseInputs(t, in)
	if got, serial := c.EffectiveWait(), 4*(600*time.Second+waitMarginPerBatch)+waitMarginBase; got != serial {
		t.Errorf("serial wait %v, want %v", got, serial)
	}
}

// TestParse_ScriptEditors: the form has one editor per script language (task.json rely on
// scriptLanguage) and BK-CI saves them all, each with its template. Only the chosen language's editor
// is sent; the others change nothing, whatever they hold; an emptied editor is an error, never replaced
// by another's text. A step with no key for the language's editor (pipeline YAML, the API) has its
// script in scriptContent.
func TestParse_ScriptEditors(t *testing.T) {
	t.Parallel()
	all := func(lang string, extra ...string) map[string]string { // as the web form saves a step
		m := base("scriptLanguage", lang, "strictMode", "false", "scriptContent", "echo shell",
			"scriptContentBat", "echo bat", "scriptContentPerl", "print 'perl';",
			"scriptContentPython", "print('python')", "scriptContentPowershell", "Write-Output ps")
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name string
		in   map[string]string
		want string
	}{
		{"shell", all("1"), "echo shell"},
		{"bat", all("2"), "echo bat"},
		{"perl", all("3"), "print 'perl';"},
		{"python", all("4"), "print('python')"},
		{"powershell", all("5"), "Write-Output ps"},
		{"hidden editors hold anything", all("1", "scriptContentPython", "\xff\xfe not UTF-8",
			"scriptContentBat", strings.Repeat("x", maxScriptBytes+1), "scriptContentPerl", ""), "echo shell"},
		{"yaml step: scriptContent for python", base("scriptLanguage", "4", "strictMode", "false", "scriptContent", "print(1)"), "print(1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ps := parseInputs(t, tc.in)
			if c == nil {
				t.Fatalf("problems: %+v", ps.Errors)
			}
			if c.ScriptContent != tc.want {
				t.Errorf("script %q, want %q", c.ScriptContent, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, field string
		in          map[string]string
	}{
		{"emptied python editor", "scriptContentPython", all("4", "scriptContentPython", " \n")},
		{"python editor saved empty", "scriptContentPython", all("4", "scriptContentPython", "")},
		{"emptied shell editor", "scriptContent", all("1", "scriptContent", "")},
		{"bat editor not UTF-8", "scriptContentBat", all("2", "scriptContentBat", "\xff")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := parseInputs(t, tc.in)
			if len(ps.Errors) != 1 || ps.Errors[0].Field != tc.field {
				t.Errorf("problems %+v, want one on %s", ps.Errors, tc.field)
			}
		})
	}
}
