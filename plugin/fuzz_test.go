package plugin

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/tooling/jobsim"
)

// fuzzToken is the recognisable part of the fuzzed sensitive parameter.
const fuzzToken = "FUZZ-SENSITIVE-7c1d9e"

// Codes that say JOB could not read or accept the request itself: a request the plugin builds from a
// form it accepted must never get one. 1240002 is JOB failing on the request (an NPE in JOB), 1241011 a
// feature the plugin never asks for.
var fuzzRefused = map[int64]string{
	jobsim.CodeBadRequest:     "bad request (validation)",
	jobsim.CodeInvalidRolling: "invalid rolling expression",
	jobsim.CodeInvalidLabel:   "invalid label selector",
	jobsim.CodeInternal:       "JOB internal error",
	jobsim.CodeNotSupported:   "not supported",
}

// fuzzSim is the simulator the built requests are sent to (in process, through ServeHTTP): the demo
// inventory plus 3,000 hosts (ids from 100000, cloud area 1) that adapted requests point at. Jobs it
// creates never start; it is replaced after fuzzSimJobs submits to bound its memory.
var fuzzSim struct {
	mu   sync.Mutex
	sim  *jobsim.Sim
	used int
}

const (
	fuzzSimJobs      = 2000
	fuzzFirstHost    = 100000
	fuzzFleet        = 3000
	fuzzAuthApp      = "bkci-fuzz"
	fuzzAuthSecret   = "fuzz-app-secret"
	fuzzAuthOperator = "fuzz"
)

func fuzzSubmit(t *testing.T, body []byte) (code int64, message string) {
	t.Helper()
	fuzzSim.mu.Lock()
	defer fuzzSim.mu.Unlock()
	if fuzzSim.sim == nil || fuzzSim.used >= fuzzSimJobs {
		if fuzzSim.sim != nil {
			_ = fuzzSim.sim.Close()
		}
		inv := jobsim.DemoInventory()
		for _, h := range jobsim.FakeHosts(2, fuzzFirstHost, fuzzFleet) {
			h.CloudID = 1
			inv.Hosts = append(inv.Hosts, h)
		}
		sim, err := jobsim.New(jobsim.Options{Apps: map[string]string{fuzzAuthApp: fuzzAuthSecret},
			Inventory: inv, Exec: jobsim.Synthetic(nil), StartDelay: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		fuzzSim.sim, fuzzSim.used = sim, 0
	}
	fuzzSim.used++
	req := httptest.NewRequest(http.MethodPost, jobsim.DefaultPrefix+jobsim.EPSubmit.Path(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bkapi-Authorization", `{"bk_app_code":"`+fuzzAuthApp+`","bk_app_secret":"`+fuzzAuthSecret+`","bk_username":"`+fuzzAuthOperator+`"}`)
	rec := httptest.NewRecorder()
	fuzzSim.sim.ServeHTTP(rec, req)
	env := gjson.ParseBytes(rec.Body.Bytes())
	if rec.Code != http.StatusOK || !env.Get("code").Exists() {
		t.Fatalf("the simulator answered HTTP %d: %s\nrequest: %s", rec.Code, rec.Body.Bytes(), body)
	}
	return env.Get("code").Int(), env.Get("message").String()
}

// FuzzParseForm fuzzes the form fields that carry outside data (targets, container filters, rolling
// expression, failure tolerance, script parameter) through Parse, and checks what an accepted form
// becomes: a request JOB's validation accepts, and a dry run that never shows a sensitive parameter.
func FuzzParseForm(f *testing.F) {
	type seed struct {
		hosts, groups, topo, filters, rollingExpr, tolerance, param string
		rolling, sensitive                                          bool
	}
	for _, s := range []seed{
		{hosts: "0:10.0.0.1\n10.0.0.2,#101 host:102", tolerance: "0"},
		{hosts: `["0:10.0.0.1","#103"]`, groups: "dg-web", topo: "module:1000 set:10", tolerance: "10%"},
		{hosts: "10.0.0.1;10.0.0.2;10.0.0.3", rollingExpr: "1 10% 100%", rolling: true, tolerance: "1", param: "--env prod", sensitive: true},
		{filters: `[{"kube_cluster_filter":{"cluster_uid_list":["BCS-K8S-00001"]},"kube_workload_filter":{"kind":"Deployment","workload_name_list":["api"]},"kube_pod_filter":{"label_selector":[{"label_key":"app","operator":"in","label_values":["api"]}],"label_selector_expr":"env!=dev"}}]`, tolerance: "0"},
		{filters: `{"is_empty_filter":true,"fetch_any_one_container":true}`, rollingExpr: "+1 *2", rolling: true, tolerance: "100%"},
		{filters: `[{"kube_pod_filter":{"label_selector":[{"key":"app","operator":"equals","label_value":"db"}]}}]`, tolerance: "0"},
		{hosts: "#1 #2 #3 #4 #5", rollingExpr: "2  3  *2", rolling: true, param: "--password=abc123 tok", sensitive: true},
		{hosts: "${{ variables.hosts }}", tolerance: "x%"},
		{topo: "biz:2", rollingExpr: "50%", rolling: true, tolerance: "100"},
	} {
		f.Add(s.hosts, s.groups, s.topo, s.filters, s.rollingExpr, s.tolerance, s.param, s.rolling, s.sensitive)
	}
	f.Cleanup(func() {
		fuzzSim.mu.Lock()
		defer fuzzSim.mu.Unlock()
		if fuzzSim.sim != nil {
			_ = fuzzSim.sim.Close()
			fuzzSim.sim = nil
		}
	})
	f.Fuzz(func(t *testing.T, hosts, groups, topo, filters, rollingExpr, tolerance, param string, rollingOn, sensitive bool) {
		for _, s := range []string{hosts, groups, topo, filters, rollingExpr, tolerance, param} {
			if len(s) > 4096 {
				return // the form's fields are short; long inputs only slow the fuzzer down
			}
		}
		form := Form{
			ScopeType: "biz", ScopeID: "2", ScriptSource: "inline", ScriptLanguage: "1", ScriptContent: "echo hi",
			ParamSensitive: "false", Timeout: "600", AccountAlias: "root",
			Hosts: hosts, DynamicGroups: groups, TopoNodes: topo, ContainerFilters: filters,
			RollingEnabled: "false", RollingExpr: rollingExpr, RollingMode: "1", Wait: "poll", OnCancel: "terminate",
			Operator: "lastModifier", FailureTolerance: tolerance, LogMode: "auto", ExtractVars: "true", DryRun: "true",
		}
		if rollingOn {
			form.RollingEnabled = "true"
		}
		if param != "" {
			param += " " + fuzzToken
			form.ScriptParam = param
		}
		if sensitive {
			form.ParamSensitive = "true"
		}
		cfg, ps := Parse(form, testBuild, testPrivate, nil, i18n.EnUS)
		for _, p := range append(append([]Problem(nil), ps.Errors...), ps.Warnings...) {
			if text := p.Text(i18n.EnUS); text == "" || !utf8.ValidString(p.Key) {
				t.Fatalf("problem %+v renders empty", p)
			}
		}
		if cfg == nil {
			if len(ps.Errors) == 0 {
				t.Fatal("Parse returned no config and no problem")
			}
			return
		}
		checkTargets(t, cfg)
		checkTolerance(t, cfg.FailureTolerance)

		body, err := BuildRequest(cfg, "")
		if err != nil {
			t.Fatalf("BuildRequest: %v", err)
		}
		if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
			t.Fatalf("the request is not a JSON object: %s", body)
		}
		// JOB's validation accepts the request as built (hosts may not exist: that is not validation).
		if code, msg := fuzzSubmit(t, body); fuzzRefused[code] != "" {
			t.Fatalf("JOB refused the request: %d %s (%s)\nrequest: %s", code, fuzzRefused[code], msg, body)
		}
		// With the targets adapted to exist, JOB gets as far as the rolling batches and accepts them.
		adapted := *cfg
		adapted.Targets = Targets{Hosts: fleetHosts(len(cfg.Targets.Hosts))}
		body2, err := BuildRequest(&adapted, "")
		if err != nil {
			t.Fatalf("BuildRequest (adapted): %v", err)
		}
		_, knownCount := cfg.Targets.KnownCount()
		switch code, msg := fuzzSubmit(t, body2); {
		case code == 0:
		case code == jobsim.CodeTooManyBatches && !knownCount:
			// The plugin cannot count dynamic targets before submitting; JOB counts them.
		default:
			t.Fatalf("JOB refused the adapted request: %d %s\nrequest: %s", code, msg, body2)
		}
		// Container filters alone, each narrowed to its pod filter so that JOB reaches the label rules of
		// the demo cluster.
		for _, cf := range cfg.Targets.ContainerFilters {
			if cf.Pod == nil {
				continue
			}
			pod := *cf.Pod
			pod.Names = nil
			narrowed := *cfg
			narrowed.Rolling = nil
			narrowed.Targets = Targets{ContainerFilters: []ContainerFilter{{Pod: &pod}}}
			body3, err := BuildRequest(&narrowed, "")
			if err != nil {
				t.Fatalf("BuildRequest (pod filter): %v", err)
			}
			if code, msg := fuzzSubmit(t, body3); fuzzRefused[code] != "" {
				t.Fatalf("JOB refused the pod filter: %d %s (%s)\nrequest: %s", code, fuzzRefused[code], msg, body3)
			}
		}
		checkDryRun(t, cfg, param, []string{hosts, groups, topo, filters, rollingExpr, tolerance})
	})
}

// fleetHosts returns n hosts of the fuzz simulator's fleet (at least 1, at most the fleet).
func fleetHosts(n int) []HostRef {
	n = min(max(n, 1), fuzzFleet)
	out := make([]HostRef, n)
	for i := range out {
		out[i] = HostRef{HostID: fuzzFirstHost + int64(i)}
	}
	return out
}

func checkTargets(t *testing.T, cfg *Config) {
	t.Helper()
	if cfg.Targets.Empty() {
		t.Fatal("a config without targets was accepted")
	}
	seen := map[string]bool{}
	for _, h := range cfg.Targets.Hosts {
		var key string
		switch {
		case h.HostID > 0 && h.CloudID == nil && h.IP == "":
			key = "#" + strconv.FormatInt(h.HostID, 10)
		case h.HostID == 0 && h.CloudID != nil && *h.CloudID >= 0 && ipv4StrictRe.MatchString(h.IP):
			key = strconv.FormatInt(*h.CloudID, 10) + ":" + h.IP
		default:
			t.Fatalf("host %+v is neither a host id nor a cloud area and IPv4", h)
		}
		if seen[key] {
			t.Fatalf("duplicate host %+v", h)
		}
		seen[key] = true
	}
	for _, n := range cfg.Targets.TopoNodes {
		if n.ID < 1 || !nodeTypeRe.MatchString(n.NodeType) {
			t.Fatalf("topology node %+v", n)
		}
	}
	for _, g := range cfg.Targets.DynamicGroups {
		if !groupIDRe.MatchString(g) {
			t.Fatalf("dynamic group %q", g)
		}
	}
	if cfg.Rolling != nil {
		if n, known := cfg.Targets.KnownCount(); known {
			sizes, err := cfg.Rolling.Expr.Batches(n)
			if err != nil {
				t.Fatalf("accepted rolling %q does not split %d targets: %v", cfg.Rolling.Expr.String(), n, err)
			}
			sum := 0
			for _, s := range sizes {
				if s < 1 {
					t.Fatalf("rolling %q gives an empty batch for %d targets: %v", cfg.Rolling.Expr.String(), n, sizes)
				}
				sum += s
			}
			if sum != n {
				t.Fatalf("rolling %q batches %v do not add up to %d", cfg.Rolling.Expr.String(), sizes, n)
			}
		}
	}
}

func checkTolerance(t *testing.T, tol Tolerance) {
	t.Helper()
	for _, total := range []int{0, 1, 7, 100, 30000} {
		if a := tol.Allowed(total); a < 0 || (tol.Percent && a > total) {
			t.Fatalf("tolerance %s allows %d of %d", tol.String(), a, total)
		}
	}
	ps := &Problems{}
	if again := parseTolerance(ps, tol.String()); again != tol || len(ps.Errors) > 0 {
		t.Fatalf("tolerance %s does not read back: %+v %+v", tol.String(), again, ps.Errors)
	}
}

// checkDryRun runs the dry run (plan and masked body) into a buffer: valid output, and with a sensitive
// parameter neither the parameter nor its base64 appear, even though nothing registered it as a
// secret (the dry run must mask by itself).
func checkDryRun(t *testing.T, cfg *Config, param string, others []string) {
	t.Helper()
	masked, err := maskedRequest(cfg, "")
	if err != nil {
		t.Fatalf("maskedRequest: %v", err)
	}
	mb := gjson.Parse(masked)
	if !gjson.Valid(masked) || !mb.IsObject() {
		t.Fatalf("the masked body is not a JSON object: %s", masked)
	}
	var out bytes.Buffer
	s := &step{env: Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out},
		printer: printer{lang: i18n.EnUS, log: bkci.NewLog(&out)}, cfg: cfg}
	s.printPlan()
	if o := s.dryRun(); !o.success || o.jobStatus != "dry_run" {
		t.Fatalf("dry run outcome %+v", o)
	}
	if param == "" {
		return
	}
	enc := base64.StdEncoding.EncodeToString([]byte(param))
	if !cfg.ParamSensitive {
		if got := mb.Get("script_param").String(); got != enc {
			t.Fatalf("script_param = %q, want the base64 of the parameter", got)
		}
		return
	}
	if got := mb.Get("script_param").String(); got != bkci.Mask {
		t.Fatalf("sensitive script_param shown as %q", got)
	}
	for _, o := range others {
		if strings.Contains(o, fuzzToken) {
			return // the token was also typed into another field, which is shown
		}
	}
	for name, text := range map[string]string{"masked body": masked, "dry-run log": out.String()} {
		if strings.Contains(text, fuzzToken) || strings.Contains(text, enc) {
			t.Fatalf("the %s shows the sensitive parameter:\n%s", name, text)
		}
	}
}

// FuzzJoinLimited fuzzes the cut of target label lists (labels carry JOB's host and container names):
// the value stays within the limit, keeps a prefix of the labels whole, and counts the rest exactly.
func FuzzJoinLimited(f *testing.F) {
	f.Add("0:10.0.0.1\n0:10.0.0.2\ncontainer:main@10001", 4000)
	f.Add(strings.Repeat("0:10.0.0.1\n", 500), 4000)
	f.Add("容器:主@1\nhost:7\n\n", 25)
	f.Add("a,b\nc", 20)
	f.Fuzz(func(t *testing.T, list string, limit int) {
		if limit < 20 || limit > 5000 || len(list) > 1<<16 {
			return // the marker alone needs room; BK-CI's limit is 4000
		}
		labels := strings.Split(list, "\n")
		got := joinLimited(labels, limit)
		full := strings.Join(labels, ",")
		if utf8.RuneCountInString(full) <= limit {
			if got != full {
				t.Fatalf("a list that fits was changed: %q → %q", full, got)
			}
			return
		}
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("%d code points, limit %d: %q", n, limit, got)
		}
		i := strings.LastIndex(got, "…(+")
		if i < 0 || !strings.HasSuffix(got, " more)") {
			t.Fatalf("cut without the marker: %q", got)
		}
		more, err := strconv.Atoi(strings.TrimSuffix(got[i+len("…(+"):], " more)"))
		if err != nil {
			t.Fatalf("marker %q", got[i:])
		}
		kept := len(labels) - more
		if kept < 0 || strings.Join(labels[:kept], ",") != got[:i] {
			t.Fatalf("%q does not keep the first %d labels whole", got, kept)
		}
	})
}
