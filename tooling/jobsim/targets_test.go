package jobsim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func labels(snap JobSnapshot) []string {
	out := make([]string, len(snap.Targets))
	for i, tg := range snap.Targets {
		out[i] = tg.Label
	}
	return out
}

func TestTargetResolution(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	kube := func(filters ...map[string]any) map[string]any {
		fs := make([]any, len(filters))
		for i, f := range filters {
			fs[i] = f
		}
		return map[string]any{"kube_container_filters": fs}
	}
	pod := func(m map[string]any) map[string]any { return map[string]any{"kube_pod_filter": m} }
	tests := []struct {
		name   string
		target map[string]any
		want   []string
	}{
		{name: "union and dedupe of hosts", target: map[string]any{
			"host_list":               []any{map[string]any{"bk_host_id": 103}, map[string]any{"bk_cloud_id": 0, "ip": "10.0.0.1"}},
			"host_dynamic_group_list": []any{map[string]any{"id": "dg-web"}},
			"host_topo_node_list":     []any{map[string]any{"node_type": "module", "id": 1001}},
		}, want: []string{"0:10.0.0.3", "0:10.0.0.1", "0:10.0.0.2", "0:10.0.0.4"}},
		{name: "set contains modules", target: map[string]any{"host_topo_node_list": []any{map[string]any{"node_type": "set", "id": 10}}},
			want: []string{"0:10.0.0.1", "0:10.0.0.2", "0:10.0.0.3", "0:10.0.0.4"}},
		{name: "empty filter is every container", target: kube(map[string]any{"is_empty_filter": true}),
			want: []string{"container:main@10001", "container:sidecar@10002", "container:main@10003", "container:main@10004"}},
		{name: "fetch any one", target: kube(map[string]any{"is_empty_filter": true, "fetch_any_one_container": true}),
			want: []string{"container:main@10001"}},
		{name: "label list", target: kube(pod(map[string]any{"label_selector": []any{
			map[string]any{"key": "app", "operator": "in", "values": []string{"api"}},
			map[string]any{"key": "env", "operator": "not_equals", "values": []string{"dev"}}}})),
			want: []string{"container:main@10001", "container:sidecar@10002"}},
		{name: "label expression", target: kube(pod(map[string]any{"label_selector_expr": "app in (api,db),env!=prod"})),
			want: []string{"container:main@10003", "container:main@10004"}},
		{name: "label list wins over expression", target: kube(pod(map[string]any{
			"label_selector":      []any{map[string]any{"key": "app", "operator": "equals", "values": []string{"db"}}},
			"label_selector_expr": "app=api"})),
			want: []string{"container:main@10004"}},
		{name: "workload and container name", target: kube(map[string]any{
			"kube_cluster_filter":        map[string]any{"cluster_uid_list": []string{"BCS-K8S-00001"}},
			"kube_namespace_filter":      map[string]any{"namespace_name_list": []string{"prod"}},
			"kube_workload_filter":       map[string]any{"kind": "deployment", "workload_name_list": []string{"api"}},
			"kube_container_prop_filter": map[string]any{"container_name_list": []string{"main"}}}),
			want: []string{"container:main@10001", "container:main@10003"}},
		{name: "unknown cluster", target: kube(map[string]any{"kube_cluster_filter": map[string]any{"cluster_uid_list": []string{"nope"}}},
			map[string]any{"kube_pod_filter": map[string]any{"pod_name_list": []string{"db-0"}}}),
			want: []string{"container:main@10004"}},
		{name: "hosts then containers, filters unioned", target: map[string]any{
			"host_list":              []any{map[string]any{"bk_host_id": 101}},
			"kube_container_filters": []any{pod(map[string]any{"pod_name_list": []string{"db-0"}}), pod(map[string]any{"label_selector_expr": "app=db"})},
		}, want: []string{"0:10.0.0.1", "container:main@10004"}},
		{name: "ipv6 label", target: map[string]any{"host_list": []any{map[string]any{"bk_host_id": 104}}}, want: []string{"0:10.0.0.4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := submitBody("echo")
			b["execute_target"] = tt.target
			id, _ := c.submit(b)
			snap, err := s.WaitFinished(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if got := labels(snap); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("targets %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("container object shape", func(t *testing.T) {
		t.Parallel()
		b := submitBody("echo")
		b["execute_target"] = kube(pod(map[string]any{"pod_name_list": []string{"db-0"}}))
		id, _ := c.submit(b)
		if _, err := s.WaitFinished(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
		r := c.status(id)
		obj := r.data()["step_instance_list"].([]any)[0].(map[string]any)["execute_object_result_list"].([]any)[0].(map[string]any)["execute_object"].(map[string]any)
		ct := obj["container"].(map[string]any)
		if obj["type"].(json.Number).String() != "2" || obj["resource_id"] != "10004" || ct["container_id"] != "containerd://c0" ||
			ct["name"] != "main" || ct["node_host_id"].(json.Number).String() != "103" || ct["id"].(json.Number).String() != "10004" {
			t.Fatalf("container object %v", obj)
		}
		if _, ok := obj["host"]; ok {
			t.Fatalf("container result with a host object: %v", obj)
		}
	})
}

func TestInventoryJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(DemoInventory())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "inv.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inv, DemoInventory()) {
		t.Fatal("inventory does not round-trip through JSON")
	}
	for name, bad := range map[string]string{
		"duplicate host":  `{"bizs":[{"bk_biz_id":1}],"hosts":[{"bk_host_id":1,"bk_biz_id":1},{"bk_host_id":1,"bk_biz_id":1}]}`,
		"zero host id":    `{"hosts":[{"bk_host_id":0}]}`,
		"not json":        `{"hosts":`,
		"wrong type":      `{"hosts":[{"bk_host_id":"x"}]}`,
		"dup version ids": `{"scripts":[{"script_id":"a","versions":[{"script_version_id":1},{"script_version_id":1}]}]}`,
	} {
		if _, err := ParseInventory([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	hosts := FakeHosts(5, 1000, 70000)
	if hosts[0].IP != "10.0.0.1" || hosts[65535].IP != "10.1.0.0" || hosts[69999].ID != 70999 {
		t.Fatalf("fake hosts %v %v %v", hosts[0], hosts[65535], hosts[69999])
	}
	if _, err := New(Options{Inventory: &Inventory{Hosts: []Host{{ID: 1}, {ID: 1}}}}); err == nil {
		t.Fatal("New accepted an invalid inventory")
	}
	if _, err := New(Options{DangerousPatterns: []string{"("}}); err == nil {
		t.Fatal("New accepted an invalid pattern")
	}
}

func TestScriptByIDAndVersion(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{})
	for _, tc := range []struct {
		key  string
		val  any
		want string
	}{
		{"script_id", "demo-hello", "hello world from 0:10.0.0.1"},
		{"script_version_id", 1000, "old"},
		{"script_id", "pub-echo", "public world"},
	} {
		b := submitBody("", 101)
		delete(b, "script_content")
		delete(b, "script_language")
		b[tc.key] = tc.val
		b["script_param"] = b64("world")
		id, _ := c.submit(b)
		snap, err := s.WaitFinished(ctxT(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(snap.Targets[0].Log, tc.want+"\n") {
			t.Fatalf("%s=%v: log %q", tc.key, tc.val, snap.Targets[0].Log)
		}
	}
}

// TestThirtyThousandTargets runs a 30,000-target synthetic job: it finishes, the status lists every
// target, and all logs come back in chunks of at most 500.
func TestThirtyThousandTargets(t *testing.T) {
	t.Parallel()
	const n = 30000
	s, c := newSim(t, Options{Inventory: bigInventory(n), Exec: Synthetic(func(tg Target) Outcome {
		if tg.Index%1000 == 999 {
			return Outcome{ExitCode: 1, LogSize: 64, LogPattern: "fail {label}\n"}
		}
		return Outcome{LogSize: 200, LogPattern: "line of {label}\n"}
	})})
	start := time.Now()
	b := submitBody("echo")
	b["execute_target"] = map[string]any{"host_list": hostList(n)}
	b["rolling_config"] = map[string]any{"expression": "10% 100%", "mode": 2}
	id, _ := c.submit(b)
	snap, err := s.WaitFinished(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("30000 targets finished in %v", time.Since(start))
	if snap.Status != StatusSuccess || !reflect.DeepEqual(snap.Batches, []int{3000, 27000}) {
		t.Fatalf("status %d batches %v", snap.Status, snap.Batches)
	}
	r := c.status(id)
	results := r.data()["step_instance_list"].([]any)[0].(map[string]any)["execute_object_result_list"].([]any)
	if len(results) != n {
		t.Fatalf("%d results", len(results))
	}
	failed := 0
	for _, res := range results {
		if res.(map[string]any)["status"].(json.Number).String() == "104" {
			failed++
		}
	}
	if failed != 30 {
		t.Fatalf("%d failed", failed)
	}
	logStart := time.Now()
	total, calls := 0, 0
	for off := 0; off < n; off += 500 {
		objs := make([]any, 0, 500)
		for i := off; i < off+500; i++ {
			objs = append(objs, map[string]any{"type": 1, "resource_id": fmt.Sprint(i + 1)})
		}
		lr := c.post(EPLogs, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": id, "step_instance_id": snap.StepID, "execute_object_list": objs})
		calls++
		logs := lr.data()["script_execute_object_task_logs"].([]any)
		total += len(logs)
		first := logs[0].(map[string]any)["log_content"].(string)
		if off == 0 && (len(first) != 200 || !strings.HasPrefix(first, "line of 0:10.0.0.1\n")) {
			t.Fatalf("log %q", first[:40])
		}
	}
	if total != n || calls != 60 {
		t.Fatalf("logs %d in %d calls", total, calls)
	}
	t.Logf("logs fetched in %d calls in %v", calls, time.Since(logStart))
}
