package plugin

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
)

// target is one execute object's result as the step reports it.
type target struct {
	label  string
	res    jobapi.ObjectResult
	ok     bool
	tail   string
	logged bool // its log was read
	// logFile is its full log in the report folder (failed targets: report.Logs), relative to it.
	logFile string
}

// notStarted reports whether the target never ran (JOB's status 5, waiting, in a finished job: a
// rolling stop, a terminate before its batch).
func (t *target) notStarted() bool { return t.res.Status == jobstatus.TargetWaiting }

// label names an execute object as docs/CONTRACT.md#labels says.
func label(o jobapi.ExecuteObject) string {
	switch {
	case o.Container != nil:
		id := strconv.FormatInt(o.Container.ID, 10)
		if o.Container.ID == 0 {
			id = o.ResourceID
		}
		return "container:" + o.Container.Name + "@" + id
	case o.Host != nil && o.Host.IP != "":
		return strconv.FormatInt(o.Host.CloudID, 10) + ":" + o.Host.IP
	case o.Host != nil && o.Host.IPv6 != "" && o.Host.HostID > 0:
		// JOB takes an IPv6-only host by host id only: the label carries it, as hosts reads it.
		return strconv.FormatInt(o.Host.CloudID, 10) + ":[" + o.Host.IPv6 + "]#" + strconv.FormatInt(o.Host.HostID, 10)
	case o.Host != nil && o.Host.IPv6 != "":
		return strconv.FormatInt(o.Host.CloudID, 10) + ":[" + o.Host.IPv6 + "]"
	case o.Host != nil && o.Host.HostID != 0:
		return "host:" + strconv.FormatInt(o.Host.HostID, 10)
	case o.Type == 2:
		return "container:@" + o.ResourceID
	}
	return "host:" + o.ResourceID
}

// targetsOf turns a status response's results into targets sorted by label (compareLabels: IPs
// numerically). Labels are unique (see
// uniqueLabels). Every string JOB sent that the step shows (label, tag, IP, names) is masked with
// redact here, where it enters the step's results: the outputs, the summary, the report and its
// result.json all read it from the target (see maskResult).
func targetsOf(st *jobapi.JobStatus, redact func(string) string, keepID map[int64]bool) []*target {
	var results []jobapi.ObjectResult
	for _, step := range st.Steps {
		for _, r := range step.Results {
			results = append(results, maskResult(r, redact))
		}
	}
	labels := uniqueLabels(results, redact, keepID)
	out := make([]*target, len(results))
	for i, r := range results {
		out[i] = &target{label: labels[i], res: r, ok: jobstatus.TargetSuccess(r.Status)}
	}
	slices.SortStableFunc(out, func(a, b *target) int { return compareLabels(a.label, b.label) })
	return out
}

// uniqueLabels labels each result (label). Objects that would share a label, two hosts with one cloud
// area and IP say, are told apart by their resource id: "0:10.0.0.1#101", which the hosts field reads
// back as host 101 (parseHosts), so a failed list pasted into a later step selects the same hosts. Each
// target then has its own sub-tag, list entry, report row and variables; "first in label order" stays
// well defined. A host the user named by such a label (keepID: hosts gave it as cloud:ip#hostId) keeps
// the host id in its label, so that the label selects it again though it is alone in this job.
//
// Labels are masked with redact (whole, so that a secret spanning a name and an id is masked too);
// objects that share a label only once masked are told apart the same way.
func uniqueLabels(results []jobapi.ObjectResult, redact func(string) string, keepID map[int64]bool) []string {
	labels := make([]string, len(results))
	seen := make(map[string]int, len(results))
	for i, r := range results {
		labels[i] = redact(label(r.Object))
		seen[labels[i]]++
	}
	for i, r := range results {
		h := r.Object.Host
		if seen[labels[i]] > 1 || h != nil && keepID[h.HostID] && r.Object.Container == nil {
			if strings.Contains(labels[i], "#") { // already carries its host id
				continue
			}
			labels[i] = redact(labels[i] + "#" + r.Object.Key().ResourceID)
		}
	}
	return labels
}

// maskResult returns r with the strings the step shows masked: the tag the script set, the host's
// IPs and names, the container's names. The resource id stays as JOB sent it: it is what log requests
// name the object by (labels built from it are masked whole by uniqueLabels).
func maskResult(r jobapi.ObjectResult, redact func(string) string) jobapi.ObjectResult {
	r.Tag = redact(r.Tag)
	if h := r.Object.Host; h != nil {
		m := *h
		m.IP, m.IPv6, m.CloudName, m.AgentID = redact(m.IP), redact(m.IPv6), redact(m.CloudName), redact(m.AgentID)
		r.Object.Host = &m
	}
	if c := r.Object.Container; c != nil {
		m := *c
		m.Name, m.ContainerID = redact(m.Name), redact(m.ContainerID)
		r.Object.Container = &m
	}
	return r
}

// labelKey is what labels sort by: hosts by cloud area, then address numerically (10.0.0.2 before
// 10.0.0.10; IPv4 before IPv6), then host id; then hosts known by id alone; then containers; then the
// rest. Text breaks ties.
type labelKey struct {
	kind  int
	cloud int64
	addr  netip.Addr
	id    int64
}

func parseLabelKey(l string) labelKey {
	if rest, ok := strings.CutPrefix(l, "host:"); ok {
		id, _ := strconv.ParseInt(rest, 10, 64)
		return labelKey{kind: 1, id: id}
	}
	if strings.HasPrefix(l, "container:") {
		return labelKey{kind: 2}
	}
	addr, idText, _ := strings.Cut(l, "#")
	cloudText, ipText, ok := strings.Cut(addr, ":")
	cloud, err := strconv.ParseInt(cloudText, 10, 64)
	a, aerr := netip.ParseAddr(strings.Trim(ipText, "[]"))
	if !ok || err != nil || aerr != nil {
		return labelKey{kind: 3}
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	return labelKey{kind: 0, cloud: cloud, addr: a, id: id}
}

// compareLabels orders labels as every list, log and report of the step shows them (labelKey).
func compareLabels(a, b string) int {
	ka, kb := parseLabelKey(a), parseLabelKey(b)
	if c := cmp.Compare(ka.kind, kb.kind); c != 0 {
		return c
	}
	if c := cmp.Compare(ka.cloud, kb.cloud); c != 0 {
		return c
	}
	if c := ka.addr.Compare(kb.addr); c != 0 {
		return c
	}
	if c := cmp.Compare(ka.id, kb.id); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
