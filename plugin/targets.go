package plugin

import (
	"bytes"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/i18n"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/labelsel"
)

// Targets is what the form asks to run on, ready for execute_target.
type Targets struct {
	Hosts            []HostRef
	DynamicGroups    []string
	TopoNodes        []TopoNode
	ContainerFilters []ContainerFilter

	// KeepID are the hosts given as a label with a host id (0:10.0.0.1#101): their labels keep the id
	// (docs/CONTRACT.md#labels), so a list pasted back in selects the same hosts again.
	KeepID map[int64]bool
}

// HostRef is a host of the form's targets, in JOB's wire type.
type HostRef = jobapi.HostRef

// TopoNode is a topology node of the form's targets, in JOB's wire type.
type TopoNode = jobapi.TopoNode

// ContainerFilter is a container filter of the form's targets, in JOB's wire type.
type ContainerFilter = jobapi.ContainerFilter

// KnownCount is the number of targets when it can be known before submitting: only explicit hosts.
func (t Targets) KnownCount() (int, bool) {
	if len(t.DynamicGroups) > 0 || len(t.TopoNodes) > 0 || len(t.ContainerFilters) > 0 {
		return 0, false
	}
	return len(t.Hosts), true
}

// Empty reports whether nothing was asked for.
func (t Targets) Empty() bool {
	return len(t.Hosts) == 0 && len(t.DynamicGroups) == 0 && len(t.TopoNodes) == 0 && len(t.ContainerFilters) == 0
}

var (
	listSepRe    = regexp.MustCompile(`[\s,;]+`)
	nodeTypeRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	groupIDRe    = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
	oldGroupRe   = regexp.MustCompile(`^[0-9]+:([A-Za-z0-9_.-]+)$`)
	ipv4StrictRe = regexp.MustCompile(`^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$`)
	workloadKind = map[string]string{}
)

func init() {
	for _, k := range []string{"deployment", "daemonSet", "statefulSet", "gameStatefulSet", "gameDeployment", "cronJob", "job", "customResource"} {
		workloadKind[strings.ToLower(k)] = k
	}
}

// splitList splits a list field: a JSON array of strings, or entries separated by newlines, commas,
// semicolons or whitespace.
func splitList(ps *Problems, field, v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if strings.HasPrefix(v, "[") {
		if !gjson.Valid(v) || !gjson.Parse(v).IsArray() {
			ps.add(field, "val.json_list")
			return nil
		}
		var out []string
		for _, e := range gjson.Parse(v).Array() {
			if e.Type != gjson.String && e.Type != gjson.Number {
				ps.add(field, "val.json_list")
				return nil
			}
			out = append(out, listSepRe.Split(strings.TrimSpace(e.String()), -1)...)
		}
		return dropEmpty(out)
	}
	return dropEmpty(listSepRe.Split(v, -1))
}

func dropEmpty(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parseTargets(ps *Problems, f Form, b Build, lang i18n.Lang) Targets {
	var t Targets
	h := newHostSet()
	for _, e := range splitList(ps, "hosts", f.Hosts) {
		if key := h.add(e); key != "" {
			ps.add("hosts", key, e)
		}
	}
	if path := strings.TrimSpace(f.TargetsFile); path != "" {
		if text, ok := readWorkspaceFile(ps, "targetsFile", b.workspace(), path, maxTargetsFileBytes); ok {
			parseTargetsFile(ps, lang, h, path, string(text))
		}
	}
	t.Hosts, t.KeepID = h.out, h.keep
	seenGroup := map[string]bool{}
	for _, g := range splitList(ps, "dynamicGroups", f.DynamicGroups) {
		if !groupIDRe.MatchString(g) {
			ps.add("dynamicGroups", "val.group_id", g)
			continue
		}
		if m := oldGroupRe.FindStringSubmatch(g); m != nil {
			// JOB 6.x's "bizId:groupId": JOB now wants the id alone (CMDB ids have no colon).
			ps.add("dynamicGroups", "val.group_old_form", g, m[1])
			continue
		}
		if !seenGroup[g] {
			seenGroup[g] = true
			t.DynamicGroups = append(t.DynamicGroups, g)
		}
	}
	seenNode := map[TopoNode]bool{}
	for _, n := range splitList(ps, "topoNodes", f.TopoNodes) {
		typ, id, ok := strings.Cut(n, ":")
		num, err := strconv.ParseInt(id, 10, 64)
		if !ok || !nodeTypeRe.MatchString(typ) || err != nil || num < 1 || !digitsRe.MatchString(id) {
			ps.add("topoNodes", "val.topo_node", n)
			continue
		}
		// CMDB object ids are lower case ("set", "module", custom levels): "Module" would match nothing.
		node := TopoNode{ID: num, NodeType: strings.ToLower(typ)}
		if !seenNode[node] {
			seenNode[node] = true
			t.TopoNodes = append(t.TopoNodes, node)
		}
	}
	t.ContainerFilters = parseContainerFilters(ps, f.ContainerFilters)
	if t.Empty() && !hasProblemIn(ps, "hosts", "targetsFile", "dynamicGroups", "topoNodes", "containerFilters") {
		ps.add("hosts", "val.no_target")
	}
	return t
}

func hasProblemIn(ps *Problems, fields ...string) bool {
	for _, p := range ps.Errors {
		for _, f := range fields {
			if p.Field == f {
				return true
			}
		}
	}
	return false
}

// parseHosts reads cloudId:ipv4, bare ipv4 (cloud 0), #hostId and host:hostId entries, and the step's own
// labels with a host id (0:10.0.0.1#101, 0:[fd00::1]#104), dropping duplicates.
func parseHosts(ps *Problems, v string) ([]HostRef, map[int64]bool) {
	h := newHostSet()
	for _, e := range splitList(ps, "hosts", v) {
		if key := h.add(e); key != "" {
			ps.add("hosts", key, e)
		}
	}
	return h.out, h.keep
}

// maxTargetsFileProblems is how many bad entries of targetsFile are listed one by one.
const maxTargetsFileProblems = 20

// parseTargetsFile adds the host entries of the targets file's text to h: the hosts syntax, one or more
// entries a line; a line whose first entry starts with "#" is a comment, unless that entry is a host id
// (#101: write "# #101" to comment it out). Each bad entry is reported with its line number.
func parseTargetsFile(ps *Problems, lang i18n.Lang, h *hostSet, path, text string) {
	bad := 0
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		entries := listSepRe.Split(line, -1)
		if strings.HasPrefix(line, "#") && !hostIDRe.MatchString(entries[0]) {
			continue
		}
		for _, e := range entries {
			if e == "" {
				continue
			}
			key := h.add(e)
			if key == "" {
				continue
			}
			if bad++; bad <= maxTargetsFileProblems {
				ps.add("targetsFile", "val.targets_file_entry", path, n+1, lang.T(key, e))
			}
		}
	}
	if bad > maxTargetsFileProblems {
		ps.add("targetsFile", "val.targets_file_more", path, bad-maxTargetsFileProblems)
	}
}

var hostIDRe = regexp.MustCompile(`^#[0-9]+$`)

// hostSet collects hosts, dropping duplicates.
type hostSet struct {
	out    []HostRef
	keep   map[int64]bool
	seenID map[int64]bool
	seenIP map[string]bool
}

func newHostSet() *hostSet {
	return &hostSet{seenID: map[int64]bool{}, seenIP: map[string]bool{}}
}

// add adds the host entry e and returns "", or the message key of what is wrong with it.
func (h *hostSet) add(e string) string {
	var idText string
	switch {
	case strings.Contains(e[min(1, len(e)):], "#"):
		// A label the step writes: cloud:ip, cloud:[ipv6] or ip, then #hostId (docs/CONTRACT.md#labels).
		// The host id selects the host; the address before it must be well formed.
		addr, id, _ := strings.Cut(e, "#")
		if !labelAddr(addr) {
			return "val.host_label"
		}
		idText = id
		if idText == "" {
			idText = "x" // refused below
		} else if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			if h.keep == nil {
				h.keep = map[int64]bool{}
			}
			h.keep[n] = true
		}
	case strings.HasPrefix(e, "#"):
		idText = e[1:]
	case strings.HasPrefix(strings.ToLower(e), "host:"):
		idText = e[len("host:"):]
	}
	if idText != "" || e == "#" {
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || id < 1 || !digitsRe.MatchString(idText) {
			return "val.host_id"
		}
		if !h.seenID[id] {
			h.seenID[id] = true
			h.out = append(h.out, HostRef{HostID: id})
		}
		return ""
	}
	cloud, ip := "0", e
	if i := strings.LastIndexByte(e, ':'); i >= 0 && strings.Count(e, ":") == 1 {
		cloud, ip = e[:i], e[i+1:]
	}
	if strings.Count(e, ":") > 1 || net.ParseIP(strings.Trim(e, "[]")) != nil && strings.Contains(e, ":") {
		return "val.host_ipv6"
	}
	c, err := strconv.ParseInt(cloud, 10, 64)
	if err != nil || c < 0 || !digitsRe.MatchString(cloud) {
		return "val.cloud_id"
	}
	if !ipv4StrictRe.MatchString(ip) {
		return "val.host_ip"
	}
	key := strconv.FormatInt(c, 10) + ":" + ip
	if !h.seenIP[key] {
		h.seenIP[key] = true
		cc := c
		h.out = append(h.out, HostRef{CloudID: &cc, IP: ip})
	}
	return ""
}

// labelAddr reports whether addr is the address part of a host label with a host id: cloud:ipv4,
// bare ipv4, or cloud:[ipv6].
func labelAddr(addr string) bool {
	cloud, ip := "0", addr
	if i := strings.IndexByte(addr, ':'); i >= 0 {
		cloud, ip = addr[:i], addr[i+1:]
	}
	if c, err := strconv.ParseInt(cloud, 10, 64); err != nil || c < 0 || !digitsRe.MatchString(cloud) {
		return false
	}
	if strings.HasPrefix(ip, "[") && strings.HasSuffix(ip, "]") {
		a := net.ParseIP(ip[1 : len(ip)-1])
		return a != nil && strings.Contains(ip, ":")
	}
	return ipv4StrictRe.MatchString(ip)
}

// parseContainerFilters validates the containerFilters JSON and normalises it. The spellings of the API
// document's example (label_key, label_value, label_values) are accepted and sent as key/values.
func parseContainerFilters(ps *Problems, v string) []ContainerFilter {
	const field = "containerFilters"
	v = strings.TrimSpace(v)
	if v == "" || v == "[]" {
		return nil
	}
	if !gjson.Valid(v) {
		ps.add(field, "val.json")
		return nil
	}
	root := gjson.Parse(v)
	if root.IsObject() {
		root = gjson.Parse("[" + v + "]")
	}
	if !root.IsArray() {
		ps.add(field, "val.cf_array")
		return nil
	}
	var out []ContainerFilter
	for i, fr := range root.Array() {
		n := i + 1
		if !fr.IsObject() {
			ps.add(field, "val.cf_object", n)
			continue
		}
		var cf ContainerFilter
		ok := true
		bad := func(key string, args ...any) {
			ok = false
			ps.add(field, key, append([]any{n}, args...)...)
		}
		cf.IsEmptyFilter = jsonBool(fr.Get("is_empty_filter"), func() { bad("val.cf_bool", "is_empty_filter") })
		cf.FetchAnyOneContainer = jsonBool(fr.Get("fetch_any_one_container"), func() { bad("val.cf_bool", "fetch_any_one_container") })
		fr.ForEach(func(k, _ gjson.Result) bool {
			switch k.String() {
			case "kube_cluster_filter", "kube_namespace_filter", "kube_workload_filter", "kube_pod_filter",
				"kube_container_prop_filter", "is_empty_filter", "fetch_any_one_container":
			default:
				ps.warn(field, "warn.cf_unknown_key", n, k.String())
			}
			return true
		})
		if x := fr.Get("kube_cluster_filter"); x.Exists() && x.Type != gjson.Null {
			l := stringList(x, "cluster_uid_list", true, func(key string, a ...any) { bad(key, a...) })
			cf.Cluster = &jobapi.ClusterFilter{ClusterUIDs: l}
		}
		if x := fr.Get("kube_namespace_filter"); x.Exists() && x.Type != gjson.Null {
			l := stringList(x, "namespace_name_list", true, func(key string, a ...any) { bad(key, a...) })
			cf.Namespace = &jobapi.NamespaceFilter{Names: l}
		}
		if x := fr.Get("kube_workload_filter"); x.Exists() && x.Type != gjson.Null {
			w := &jobapi.WorkloadFilter{}
			kind := x.Get("kind")
			if !x.IsObject() || kind.Type != gjson.String || strings.TrimSpace(kind.String()) == "" {
				bad("val.cf_kind_missing")
			} else if canon, found := workloadKind[strings.ToLower(strings.TrimSpace(kind.String()))]; !found {
				bad("val.cf_kind", kind.String())
			} else {
				w.Kind = canon
			}
			w.Names = stringList(x, "workload_name_list", false, func(key string, a ...any) { bad(key, a...) })
			cf.Workload = w
		}
		if x := fr.Get("kube_pod_filter"); x.Exists() && x.Type != gjson.Null {
			cf.Pod = parsePodFilter(ps, x, n, func(key string, a ...any) { bad(key, a...) })
		}
		if x := fr.Get("kube_container_prop_filter"); x.Exists() && x.Type != gjson.Null {
			l := stringList(x, "container_name_list", true, func(key string, a ...any) { bad(key, a...) })
			cf.ContainerProp = &jobapi.ContainerProp{Names: l}
		}
		if !cf.IsEmptyFilter && cf.Cluster == nil && cf.Namespace == nil && cf.Workload == nil && cf.Pod == nil && cf.ContainerProp == nil {
			bad("val.cf_empty")
		}
		if ok {
			out = append(out, cf)
		}
	}
	return out
}

func parsePodFilter(ps *Problems, x gjson.Result, n int, bad func(string, ...any)) *jobapi.PodFilter {
	p := &jobapi.PodFilter{}
	if !x.IsObject() {
		bad("val.cf_sub_object", "kube_pod_filter")
		return p
	}
	p.Names = stringList(x, "pod_name_list", false, bad)
	if sel := x.Get("label_selector"); sel.Exists() && sel.Type != gjson.Null {
		if !sel.IsArray() {
			bad("val.cf_list", "label_selector")
		}
		for _, r := range sel.Array() {
			req, ok := normaliseRequirement(r)
			if !ok {
				bad("val.cf_requirement", compactJSON(r.Raw))
				continue
			}
			if err := labelsel.ValidateRequirement(req); err != nil {
				bad("val.cf_label", err.Error())
				continue
			}
			p.Selector = append(p.Selector, jobapi.LabelRequirement{Key: req.Key, Operator: string(req.Operator), Values: req.Values})
		}
	}
	e := x.Get("label_selector_expr")
	if !e.Exists() || e.Type == gjson.Null {
		return p
	}
	expr := strings.TrimSpace(e.String())
	switch _, err := labelsel.ParseExpr(expr); {
	case e.Type != gjson.String:
		bad("val.cf_string", "label_selector_expr")
	case expr == "":
	case err != nil:
		bad("val.cf_label_expr", expr, err.Error())
	default:
		p.SelectorExpr = expr
		if len(p.Selector) > 0 {
			ps.warn("containerFilters", "warn.cf_expr_ignored", n)
		}
	}
	return p
}

// normaliseRequirement reads a label requirement in the table's spelling (key/operator/values) or the
// API document example's (label_key/label_value/label_values).
func normaliseRequirement(r gjson.Result) (labelsel.Requirement, bool) {
	if !r.IsObject() {
		return labelsel.Requirement{}, false
	}
	key := r.Get("key")
	if !key.Exists() {
		key = r.Get("label_key")
	}
	op := r.Get("operator")
	if key.Type != gjson.String || op.Type != gjson.String {
		return labelsel.Requirement{}, false
	}
	req := labelsel.Requirement{Key: strings.TrimSpace(key.String()), Operator: labelsel.Operator(strings.TrimSpace(op.String()))}
	vals := r.Get("values")
	if !vals.Exists() {
		vals = r.Get("label_values")
	}
	if vals.Exists() && vals.Type != gjson.Null {
		if !vals.IsArray() {
			return labelsel.Requirement{}, false
		}
		for _, v := range vals.Array() {
			if v.Type != gjson.String && v.Type != gjson.Number {
				return labelsel.Requirement{}, false
			}
			req.Values = append(req.Values, v.String())
		}
	}
	if single := r.Get("label_value"); single.Exists() && single.Type != gjson.Null {
		if single.Type != gjson.String && single.Type != gjson.Number {
			return labelsel.Requirement{}, false
		}
		req.Values = append(req.Values, single.String())
	}
	return req, true
}

func jsonBool(r gjson.Result, bad func()) bool {
	switch r.Type {
	case gjson.True:
		return true
	case gjson.False, gjson.Null:
		return false
	}
	if r.Exists() {
		bad()
	}
	return false
}

func stringList(obj gjson.Result, key string, required bool, bad func(string, ...any)) []string {
	if !obj.IsObject() {
		bad("val.cf_sub_object", key)
		return nil
	}
	l := obj.Get(key)
	if !l.Exists() || l.Type == gjson.Null {
		if required {
			bad("val.cf_required", key)
		}
		return nil
	}
	if !l.IsArray() {
		bad("val.cf_list", key)
		return nil
	}
	var out []string
	for _, e := range l.Array() {
		if e.Type != gjson.String || strings.TrimSpace(e.String()) == "" {
			bad("val.cf_list", key)
			return nil
		}
		out = append(out, strings.TrimSpace(e.String()))
	}
	if required && len(out) == 0 {
		bad("val.cf_required", key)
	}
	return out
}

func compactJSON(raw string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return raw
	}
	s := b.String()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
