package plugin

import (
	"sort"
	"strconv"

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
}

// label names an execute object as interface.md §9 says.
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
	case o.Host != nil && o.Host.IPv6 != "":
		return strconv.FormatInt(o.Host.CloudID, 10) + ":[" + o.Host.IPv6 + "]"
	case o.Host != nil && o.Host.HostID != 0:
		return "host:" + strconv.FormatInt(o.Host.HostID, 10)
	case o.Type == 2:
		return "container:@" + o.ResourceID
	}
	return "host:" + o.ResourceID
}

// targetsOf turns a status response's results into targets sorted by label. Labels are unique (see
// uniqueLabels).
func targetsOf(st *jobapi.JobStatus) []*target {
	var results []jobapi.ObjectResult
	for _, step := range st.Steps {
		results = append(results, step.Results...)
	}
	labels := uniqueLabels(results)
	out := make([]*target, len(results))
	for i, r := range results {
		out[i] = &target{label: labels[i], res: r, ok: jobstatus.TargetSuccess(r.Status)}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].label < out[j].label })
	return out
}

// uniqueLabels labels each result (label). Objects that would share a label, two hosts with one cloud
// area and IP say, are told apart by their resource: "0:10.0.0.1 (host 101)". Each target then has its
// own sub-tag, list entry, report row and variables; "first in label order" stays well defined.
func uniqueLabels(results []jobapi.ObjectResult) []string {
	labels := make([]string, len(results))
	seen := make(map[string]int, len(results))
	for i, r := range results {
		labels[i] = label(r.Object)
		seen[labels[i]]++
	}
	for i, r := range results {
		if seen[labels[i]] > 1 {
			k := r.Object.Key()
			kind := "host"
			if k.Type == jobapi.ObjectTypeContainer {
				kind = "container"
			}
			labels[i] += " (" + kind + " " + k.ResourceID + ")"
		}
	}
	return labels
}
