package plugin

import (
	"slices"
	"strconv"
	"testing"

	"jobfastexecutescript/internal/jobapi"
)

// TestTargetsOf_UniqueLabels: two objects that would share a label (two hosts with one cloud area and
// IP) are told apart by their resource, so each has its own sub-tag, list entry, report row and
// variables; the others keep the labels of interface.md §9.
func TestTargetsOf_UniqueLabels(t *testing.T) {
	t.Parallel()
	host := func(id int64, ip string) jobapi.ObjectResult {
		return jobapi.ObjectResult{Status: 9, Object: jobapi.ExecuteObject{Type: jobapi.ObjectTypeHost,
			ResourceID: strconv.FormatInt(id, 10), Host: &jobapi.Host{HostID: id, IP: ip}}}
	}
	pod := func(id int64, name string) jobapi.ObjectResult {
		return jobapi.ObjectResult{Status: 9, Object: jobapi.ExecuteObject{Type: jobapi.ObjectTypeContainer,
			ResourceID: strconv.FormatInt(id, 10), Container: &jobapi.Container{ID: id, Name: name}}}
	}
	st := &jobapi.JobStatus{Steps: []jobapi.StepInstance{{Results: []jobapi.ObjectResult{
		host(102, "10.0.0.1"), host(7, "10.0.0.2"), host(101, "10.0.0.1"), pod(5, "web"), pod(6, "web"),
	}}}}
	var got []string
	for _, tg := range targetsOf(st) {
		got = append(got, tg.label)
	}
	want := []string{"0:10.0.0.1 (host 101)", "0:10.0.0.1 (host 102)", "0:10.0.0.2",
		"container:web@5", "container:web@6"}
	if !slices.Equal(got, want) {
		t.Errorf("labels\n got %q\nwant %q", got, want)
	}
}
