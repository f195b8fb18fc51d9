package jobapi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SubmitRequest is the body of bkci_plugin_fast_execute_script. Field order is the order of the JSON
// written (Encode).
type SubmitRequest struct {
	ScopeType       string `json:"bk_scope_type"`
	ScopeID         string `json:"bk_scope_id"`
	ScriptVersionID int64  `json:"script_version_id,omitempty"`
	ScriptID        string `json:"script_id,omitempty"`
	ScriptContent   string `json:"script_content,omitempty"`  // base64
	ScriptLanguage  int    `json:"script_language,omitempty"` // 1 shell, 2 bat, 3 perl, 4 python, 5 powershell
	ScriptParam     string `json:"script_param,omitempty"`    // base64
	// WindowsInterpreter runs the script on Windows targets with this program (ends in .exe).
	WindowsInterpreter string         `json:"windows_interpreter,omitempty"`
	IsParamSensitive   bool           `json:"is_param_sensitive"`
	Timeout            int            `json:"timeout"` // seconds
	AccountID          int64          `json:"account_id,omitempty"`
	AccountAlias       string         `json:"account_alias,omitempty"`
	TaskName           string         `json:"task_name"`
	ExecuteTarget      ExecuteTarget  `json:"execute_target"`
	Callback           *Callback      `json:"callback,omitempty"`
	RollingConfig      *RollingConfig `json:"rolling_config,omitempty"`
}

// ExecuteTarget is what a job runs on: hosts, dynamic groups, topology nodes and Kubernetes containers.
type ExecuteTarget struct {
	Hosts         []HostRef         `json:"host_list,omitempty"`
	DynamicGroups []DynamicGroup    `json:"host_dynamic_group_list,omitempty"`
	TopoNodes     []TopoNode        `json:"host_topo_node_list,omitempty"`
	Containers    []ContainerFilter `json:"kube_container_filters,omitempty"`
}

// HostRef is one host_list entry: a bk_host_id, or a cloud area and IPv4.
type HostRef struct {
	HostID  int64  `json:"bk_host_id,omitempty"`
	CloudID *int64 `json:"bk_cloud_id,omitempty"`
	IP      string `json:"ip,omitempty"`
}

// DynamicGroup is one host_dynamic_group_list entry (a CMDB dynamic group id).
type DynamicGroup struct {
	ID string `json:"id"`
}

// TopoNode is one host_topo_node_list entry.
type TopoNode struct {
	ID       int64  `json:"id"`
	NodeType string `json:"node_type"` // CMDB object id: "set", "module", a custom level
}

// ContainerFilter is one kube_container_filters entry.
type ContainerFilter struct {
	Cluster              *ClusterFilter   `json:"kube_cluster_filter,omitempty"`
	Namespace            *NamespaceFilter `json:"kube_namespace_filter,omitempty"`
	Workload             *WorkloadFilter  `json:"kube_workload_filter,omitempty"`
	Pod                  *PodFilter       `json:"kube_pod_filter,omitempty"`
	ContainerProp        *ContainerProp   `json:"kube_container_prop_filter,omitempty"`
	IsEmptyFilter        bool             `json:"is_empty_filter"`
	FetchAnyOneContainer bool             `json:"fetch_any_one_container"`
}

// ClusterFilter selects clusters by uid.
type ClusterFilter struct {
	ClusterUIDs []string `json:"cluster_uid_list"`
}

// NamespaceFilter selects namespaces by name.
type NamespaceFilter struct {
	Names []string `json:"namespace_name_list"`
}

// WorkloadFilter selects workloads by kind and names.
type WorkloadFilter struct {
	Kind  string   `json:"kind"`
	Names []string `json:"workload_name_list,omitempty"`
}

// PodFilter selects pods by name and labels.
type PodFilter struct {
	Names        []string           `json:"pod_name_list,omitempty"`
	Selector     []LabelRequirement `json:"label_selector,omitempty"`
	SelectorExpr string             `json:"label_selector_expr,omitempty"`
}

// LabelRequirement is one label_selector entry.
type LabelRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// ContainerProp selects containers by name.
type ContainerProp struct {
	Names []string `json:"container_name_list"`
}

// Callback is the URL JOB calls when the job ends.
type Callback struct {
	URL string `json:"url"`
}

// RollingConfig runs the job in rolling batches.
type RollingConfig struct {
	Expression string `json:"expression"`
	Mode       int    `json:"mode"`
	// ExecutionMode 2 starts batches staggered (JOB master from 2026-07; older JOB ignores it and the
	// waits and runs serially). With 2, JOB requires all three waits, each 0..3,600,000 ms, min ≤ max.
	ExecutionMode   int    `json:"execution_mode,omitempty"`
	WaitFixedMs     *int64 `json:"batch_start_wait_fixed_ms,omitempty"`
	WaitRandomMinMs *int64 `json:"batch_start_wait_random_min_ms,omitempty"`
	WaitRandomMaxMs *int64 `json:"batch_start_wait_random_max_ms,omitempty"`
}

// Encode returns r as the JSON the submit sends: fields in declaration order, <, > and & as they
// are, indented by indent ("": not indented), with no trailing newline.
func (r *SubmitRequest) Encode(indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
