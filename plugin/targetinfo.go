package plugin

import (
	"sort"
	"strconv"

	"jobfastexecutescript/internal/jobapi"
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

// targetsOf turns a status response's results into targets sorted by label (stable for equal labels).
func targetsOf(st *jobapi.JobStatus) []*target {
	var out []*target
	for _, step := range st.Steps {
		for _, r := range step.Results {
			out = append(out, &target{label: label(r.Object), res: r, ok: isTargetSuccess(r.Status)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].label < out[j].label })
	return out
}
