package jobsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
)

// Inventory is what the simulated JOB and CMDB know: businesses, hosts, CMDB topology, dynamic groups,
// Kubernetes objects, accounts and library scripts. It is plain data, loadable from JSON.
type Inventory struct {
	Bizs          []Biz          `json:"bizs"`
	BizSets       []BizSet       `json:"biz_sets,omitempty"`
	Hosts         []Host         `json:"hosts"`
	DynamicGroups []DynamicGroup `json:"dynamic_groups,omitempty"`
	Sets          []Set          `json:"sets,omitempty"`
	Modules       []Module       `json:"modules,omitempty"`
	Clusters      []Cluster      `json:"clusters,omitempty"`
	Accounts      []Account      `json:"accounts,omitempty"`
	Scripts       []Script       `json:"scripts,omitempty"`
}

// Biz is a CMDB business (scope type "biz").
type Biz struct {
	ID   int64  `json:"bk_biz_id"`
	Name string `json:"name"`
}

// BizSet is a business set (scope type "biz_set"): its hosts are those of its businesses.
type BizSet struct {
	ID     int64   `json:"bk_biz_set_id"`
	Name   string  `json:"name"`
	BizIDs []int64 `json:"bk_biz_ids"`
}

// Host is a CMDB host. AgentDown makes its agent abnormal: the host fails with status 1 when it runs.
type Host struct {
	ID        int64  `json:"bk_host_id"`
	BizID     int64  `json:"bk_biz_id"`
	CloudID   int64  `json:"bk_cloud_id"`
	IP        string `json:"ip,omitempty"`
	IPv6      string `json:"ipv6,omitempty"`
	CloudName string `json:"bk_cloud_name,omitempty"`
	AgentID   string `json:"bk_agent_id,omitempty"`
	AgentDown bool   `json:"agent_down,omitempty"`
}

// DynamicGroup is a CMDB dynamic group, resolved to a fixed host list.
type DynamicGroup struct {
	ID      string  `json:"id"`
	BizID   int64   `json:"bk_biz_id"`
	Name    string  `json:"name,omitempty"`
	HostIDs []int64 `json:"host_ids"`
}

// Set is a CMDB set; it contains modules.
type Set struct {
	ID        int64   `json:"id"`
	BizID     int64   `json:"bk_biz_id"`
	Name      string  `json:"name,omitempty"`
	ModuleIDs []int64 `json:"module_ids"`
}

// Module is a CMDB module with its hosts.
type Module struct {
	ID      int64   `json:"id"`
	BizID   int64   `json:"bk_biz_id"`
	Name    string  `json:"name,omitempty"`
	HostIDs []int64 `json:"host_ids"`
}

// Cluster is a Kubernetes cluster known to CMDB.
type Cluster struct {
	ID         int64       `json:"id"`
	UID        string      `json:"uid"`
	BizID      int64       `json:"bk_biz_id"`
	Name       string      `json:"name,omitempty"`
	Namespaces []Namespace `json:"namespaces,omitempty"`
}

// Namespace is a Kubernetes namespace; Pods holds pods that belong to no workload.
type Namespace struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Workloads []Workload `json:"workloads,omitempty"`
	Pods      []Pod      `json:"pods,omitempty"`
}

// Workload is a Kubernetes workload; Kind as CMDB spells it (deployment, statefulSet, daemonSet, ...).
type Workload struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	Pods []Pod  `json:"pods,omitempty"`
}

// Pod is a Kubernetes pod with its labels.
type Pod struct {
	Name       string            `json:"name"`
	Labels     map[string]string `json:"labels,omitempty"`
	Containers []Container       `json:"containers"`
}

// Container is a container: ID is the CMDB id (resource_id), ContainerID the runtime id.
type Container struct {
	ID          int64  `json:"id"`
	ContainerID string `json:"container_id"`
	Name        string `json:"name"`
	NodeHostID  int64  `json:"node_host_id"`
}

// Account is an execution account. It is visible in the business BizID or the business set BizSetID.
type Account struct {
	ID       int64  `json:"id"`
	Alias    string `json:"alias"`
	Account  string `json:"account,omitempty"`
	BizID    int64  `json:"bk_biz_id,omitempty"`
	BizSetID int64  `json:"bk_biz_set_id,omitempty"`
}

// Script is a library script. With neither BizID nor BizSetID it is a public script.
type Script struct {
	ID       string          `json:"script_id"`
	Name     string          `json:"name,omitempty"`
	BizID    int64           `json:"bk_biz_id,omitempty"`
	BizSetID int64           `json:"bk_biz_set_id,omitempty"`
	Versions []ScriptVersion `json:"versions"`
}

// Script version statuses (JOB's JobResourceStatusEnum); only online and offline versions may run.
const (
	ScriptOnline   = "online"
	ScriptOffline  = "offline"
	ScriptDraft    = "draft"
	ScriptDisabled = "disabled"
)

// ScriptVersion is one version of a library script. Content is plain text; Language is JOB's script type
// (1 shell, 2 bat, 3 perl, 4 python, 5 powershell). The script's online version has Status "online".
type ScriptVersion struct {
	ID       int64  `json:"script_version_id"`
	Version  string `json:"version,omitempty"`
	Content  string `json:"content"`
	Language int    `json:"language"`
	Status   string `json:"status"`
}

// LoadInventory reads an inventory JSON file.
func LoadInventory(path string) (*Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return ParseInventory(b)
}

// ParseInventory decodes and validates inventory JSON.
func ParseInventory(b []byte) (*Inventory, error) {
	var inv Inventory
	if err := json.Unmarshal(b, &inv); err != nil {
		return nil, fmt.Errorf("parse inventory: %w", err)
	}
	if _, err := newIndex(&inv); err != nil {
		return nil, err
	}
	return &inv, nil
}

// FakeHosts returns n alive hosts of business bizID with ids firstID, firstID+1, … and IPv4 addresses
// 10.x.y.z counted up from 10.0.0.1 (cloud area 0), for building large inventories.
func FakeHosts(bizID, firstID int64, n int) []Host {
	out := make([]Host, n)
	for i := range out {
		v := i + 1
		out[i] = Host{
			ID:      firstID + int64(i),
			BizID:   bizID,
			IP:      fmt.Sprintf("10.%d.%d.%d", (v>>16)&255, (v>>8)&255, v&255),
			AgentID: "0:" + strconv.Itoa(v),
		}
	}
	return out
}

// DemoInventory returns a small inventory: business 2 "demo" with hosts 101–104 (10.0.0.1–10.0.0.4),
// host 105 whose agent is down (10.0.0.5), host 201 in business 3 (10.0.1.1); dynamic group "dg-web"
// (101, 102); set 10 "web" with modules 1000 "nginx" (101, 102) and 1001 "app" (103, 104); cluster
// "BCS-K8S-00001" with namespace "prod", deployment "api" (pods api-0 app=api,env=prod and api-1
// app=api,env=dev, containers "main" and "sidecar") and statefulSet "db" (pod db-0 app=db); accounts 1
// "root" and 2 "app"; script "demo-hello" (online version 1001, offline 1000) and public script "pub-echo".
func DemoInventory() *Inventory {
	return &Inventory{
		Bizs:    []Biz{{ID: 2, Name: "demo"}, {ID: 3, Name: "other"}},
		BizSets: []BizSet{{ID: 9991, Name: "demo-set", BizIDs: []int64{2, 3}}},
		Hosts: []Host{
			{ID: 101, BizID: 2, IP: "10.0.0.1", AgentID: "0:10.0.0.1"},
			{ID: 102, BizID: 2, IP: "10.0.0.2", AgentID: "0:10.0.0.2"},
			{ID: 103, BizID: 2, IP: "10.0.0.3", AgentID: "0:10.0.0.3"},
			{ID: 104, BizID: 2, IP: "10.0.0.4", IPv6: "fd00::4", AgentID: "0:10.0.0.4"},
			{ID: 105, BizID: 2, IP: "10.0.0.5", AgentDown: true},
			{ID: 201, BizID: 3, IP: "10.0.1.1", AgentID: "0:10.0.1.1"},
		},
		DynamicGroups: []DynamicGroup{{ID: "dg-web", BizID: 2, Name: "web hosts", HostIDs: []int64{101, 102}}},
		Sets:          []Set{{ID: 10, BizID: 2, Name: "web", ModuleIDs: []int64{1000, 1001}}},
		Modules: []Module{
			{ID: 1000, BizID: 2, Name: "nginx", HostIDs: []int64{101, 102}},
			{ID: 1001, BizID: 2, Name: "app", HostIDs: []int64{103, 104}},
		},
		Clusters: []Cluster{{
			ID: 1, UID: "BCS-K8S-00001", BizID: 2, Name: "demo-cluster",
			Namespaces: []Namespace{{
				ID: 11, Name: "prod",
				Workloads: []Workload{
					{ID: 21, Kind: "deployment", Name: "api", Pods: []Pod{
						{Name: "api-0", Labels: map[string]string{"app": "api", "env": "prod"}, Containers: []Container{
							{ID: 10001, ContainerID: "containerd://a0", Name: "main", NodeHostID: 101},
							{ID: 10002, ContainerID: "containerd://a1", Name: "sidecar", NodeHostID: 101},
						}},
						{Name: "api-1", Labels: map[string]string{"app": "api", "env": "dev"}, Containers: []Container{
							{ID: 10003, ContainerID: "containerd://b0", Name: "main", NodeHostID: 102},
						}},
					}},
					{ID: 22, Kind: "statefulSet", Name: "db", Pods: []Pod{
						{Name: "db-0", Labels: map[string]string{"app": "db"}, Containers: []Container{
							{ID: 10004, ContainerID: "containerd://c0", Name: "main", NodeHostID: 103},
						}},
					}},
				},
			}},
		}},
		Accounts: []Account{
			{ID: 1, Alias: "root", Account: "root", BizID: 2},
			{ID: 2, Alias: "app", Account: "app", BizID: 2},
			{ID: 3, Alias: "root", Account: "root", BizID: 3},
			{ID: 4, Alias: "root", Account: "root", BizSetID: 9991},
		},
		Scripts: []Script{
			{ID: "demo-hello", Name: "hello", BizID: 2, Versions: []ScriptVersion{
				{ID: 1000, Version: "v1", Content: "#!/bin/bash\necho old\n", Language: 1, Status: ScriptOffline},
				{ID: 1001, Version: "v2", Content: "#!/bin/bash\necho \"hello $1 from $JOBSIM_TARGET_LABEL\"\n", Language: 1, Status: ScriptOnline},
				{ID: 1002, Version: "v3", Content: "#!/bin/bash\necho draft\n", Language: 1, Status: ScriptDraft},
			}},
			{ID: "pub-echo", Name: "echo", Versions: []ScriptVersion{
				{ID: 2001, Version: "v1", Content: "echo public \"$@\"\n", Language: 1, Status: ScriptOnline},
			}},
		},
	}
}

// containerRef is a container with its place in the Kubernetes topology.
type containerRef struct {
	c        Container
	pod      *Pod
	workload *Workload
	ns       *Namespace
	cluster  *Cluster
}

type versionRef struct {
	script  *Script
	version *ScriptVersion
}

// index is the inventory prepared for look-ups.
type index struct {
	inv         *Inventory
	bizs        map[int64]*Biz
	bizSets     map[int64]*BizSet
	hosts       map[int64]*Host
	hostsByIP   map[string]*Host
	groups      map[string]*DynamicGroup
	sets        map[int64]*Set
	modules     map[int64]*Module
	containers  []*containerRef
	accounts    map[int64]*Account
	scripts     map[string]*Script
	versions    map[int64]versionRef
	bizHostList map[int64][]int64
}

func cloudIPKey(cloud int64, ip string) string { return strconv.FormatInt(cloud, 10) + ":" + ip }

func newIndex(inv *Inventory) (*index, error) {
	x := &index{
		inv: inv, bizs: map[int64]*Biz{}, bizSets: map[int64]*BizSet{}, hosts: map[int64]*Host{},
		hostsByIP: map[string]*Host{}, groups: map[string]*DynamicGroup{}, sets: map[int64]*Set{},
		modules: map[int64]*Module{}, accounts: map[int64]*Account{}, scripts: map[string]*Script{},
		versions: map[int64]versionRef{}, bizHostList: map[int64][]int64{},
	}
	var errs []error
	for i := range inv.Bizs {
		b := &inv.Bizs[i]
		if _, dup := x.bizs[b.ID]; dup {
			errs = append(errs, fmt.Errorf("duplicate business %d", b.ID))
		}
		x.bizs[b.ID] = b
	}
	for i := range inv.BizSets {
		x.bizSets[inv.BizSets[i].ID] = &inv.BizSets[i]
	}
	for i := range inv.Hosts {
		h := &inv.Hosts[i]
		if h.ID <= 0 {
			errs = append(errs, fmt.Errorf("host %q: bk_host_id must be positive", h.IP))
			continue
		}
		if _, dup := x.hosts[h.ID]; dup {
			errs = append(errs, fmt.Errorf("duplicate host %d", h.ID))
		}
		x.hosts[h.ID] = h
		if h.IP != "" {
			x.hostsByIP[cloudIPKey(h.CloudID, h.IP)] = h
		}
		x.bizHostList[h.BizID] = append(x.bizHostList[h.BizID], h.ID)
	}
	for i := range inv.DynamicGroups {
		x.groups[inv.DynamicGroups[i].ID] = &inv.DynamicGroups[i]
	}
	for i := range inv.Sets {
		x.sets[inv.Sets[i].ID] = &inv.Sets[i]
	}
	for i := range inv.Modules {
		x.modules[inv.Modules[i].ID] = &inv.Modules[i]
	}
	seenContainer := map[int64]bool{}
	for ci := range inv.Clusters {
		cl := &inv.Clusters[ci]
		for ni := range cl.Namespaces {
			ns := &cl.Namespaces[ni]
			add := func(w *Workload, pods []Pod) {
				for pi := range pods {
					p := &pods[pi]
					for _, c := range p.Containers {
						if seenContainer[c.ID] || c.ID <= 0 {
							errs = append(errs, fmt.Errorf("container %d: duplicate or non-positive id", c.ID))
							continue
						}
						seenContainer[c.ID] = true
						x.containers = append(x.containers, &containerRef{c: c, pod: p, workload: w, ns: ns, cluster: cl})
					}
				}
			}
			for wi := range ns.Workloads {
				add(&ns.Workloads[wi], ns.Workloads[wi].Pods)
			}
			add(nil, ns.Pods)
		}
	}
	sort.SliceStable(x.containers, func(i, j int) bool { return x.containers[i].c.ID < x.containers[j].c.ID })
	for i := range inv.Accounts {
		x.accounts[inv.Accounts[i].ID] = &inv.Accounts[i]
	}
	for i := range inv.Scripts {
		s := &inv.Scripts[i]
		x.scripts[s.ID] = s
		for vi := range s.Versions {
			v := &s.Versions[vi]
			if _, dup := x.versions[v.ID]; dup {
				errs = append(errs, fmt.Errorf("duplicate script version %d", v.ID))
			}
			x.versions[v.ID] = versionRef{script: s, version: v}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid inventory: %w", err)
	}
	return x, nil
}

// scope is a resolved bk_scope_type/bk_scope_id.
type scope struct {
	Type   string
	ID     string
	num    int64
	bizIDs []int64
}

func (x *index) scope(typ, id string) (scope, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return scope{}, false
	}
	switch typ {
	case "biz":
		if _, ok := x.bizs[n]; ok {
			return scope{Type: typ, ID: id, num: n, bizIDs: []int64{n}}, true
		}
	case "biz_set":
		if s, ok := x.bizSets[n]; ok {
			return scope{Type: typ, ID: id, num: n, bizIDs: s.BizIDs}, true
		}
	}
	return scope{}, false
}

func (sc scope) hasBiz(biz int64) bool {
	return slices.Contains(sc.bizIDs, biz)
}

func (sc scope) ownsAccount(a *Account) bool {
	if sc.Type == "biz" {
		return a.BizID == sc.num && a.BizID != 0
	}
	return a.BizSetID == sc.num && a.BizSetID != 0
}

func (sc scope) ownsScript(s *Script) bool {
	if s.BizID == 0 && s.BizSetID == 0 {
		return true
	}
	if sc.Type == "biz" {
		return s.BizID == sc.num
	}
	return s.BizSetID == sc.num
}

func (x *index) scopeName(sc scope) string {
	if sc.Type == "biz" {
		if b := x.bizs[sc.num]; b != nil {
			return b.Name
		}
	}
	if s := x.bizSets[sc.num]; s != nil {
		return s.Name
	}
	return sc.ID
}
