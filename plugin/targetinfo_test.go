package plugin

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"jobfastexecutescript/internal/jobapi"
)

// TestTargetsOf_UniqueLabels: two objects that would share a label (two hosts with one cloud area and
// IP) are told apart by their resource, so each has its own sub-tag, list entry, report row and
// variables; the others keep the labels of docs/CONTRACT.md#labels.
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
	for _, tg := range targetsOf(st, func(s string) string { return s }, nil) {
		got = append(got, tg.label)
	}
	want := []string{"0:10.0.0.1#101", "0:10.0.0.1#102", "0:10.0.0.2",
		"container:web@5", "container:web@6"}
	if !slices.Equal(got, want) {
		t.Errorf("labels\n got %q\nwant %q", got, want)
	}
}

// TestTargetsOf_Masks (issue 12, item 2): the strings JOB sent that the step shows are masked where
// they enter the results; the resource id the log requests use is kept; two objects that share a
// label once masked are still told apart.
func TestTargetsOf_Masks(t *testing.T) {
	t.Parallel()
	redact := strings.NewReplacer("S3CR3T", "******").Replace
	pod := func(id int64, name, tag string) jobapi.ObjectResult {
		return jobapi.ObjectResult{Status: 9, Tag: tag, Object: jobapi.ExecuteObject{Type: jobapi.ObjectTypeContainer,
			ResourceID: strconv.FormatInt(id, 10), Container: &jobapi.Container{ID: id, Name: name, ContainerID: "docker://S3CR3T"}}}
	}
	st := &jobapi.JobStatus{Steps: []jobapi.StepInstance{{Results: []jobapi.ObjectResult{
		pod(5, "a-S3CR3T", "tag S3CR3T"), {Status: 9, Object: jobapi.ExecuteObject{Type: jobapi.ObjectTypeHost, ResourceID: "S3CR3T"}},
	}}}}
	ts := targetsOf(st, redact, nil)
	var got []string
	for _, tg := range ts {
		got = append(got, tg.label, tg.res.Tag)
		if c := tg.res.Object.Container; c != nil {
			got = append(got, c.Name, c.ContainerID)
		}
	}
	want := []string{"host:******", "", "container:a-******@5", "tag ******", "a-******", "docker://******"} // hosts before containers
	if !slices.Equal(got, want) {
		t.Errorf("masked\n got %q\nwant %q", got, want)
	}
	if k := ts[0].res.Object.Key(); k.ResourceID != "S3CR3T" {
		t.Errorf("the resource id was changed: %q", k.ResourceID)
	}
	if st.Steps[0].Results[0].Tag != "tag S3CR3T" {
		t.Error("JOB's answer itself was changed")
	}
}

// TestLabels_GoBackIn (issue 17, item 3): every host label the step writes is accepted by hosts as
// written (no space: hosts splits on spaces) and selects the same host: cloud:ip by address, a label
// shared by two hosts and an IPv6-only host's by the host id they carry.
func TestLabels_GoBackIn(t *testing.T) {
	t.Parallel()
	host := func(id, cloud int64, ip, ipv6 string) jobapi.ObjectResult {
		return jobapi.ObjectResult{Status: 104, Object: jobapi.ExecuteObject{Type: jobapi.ObjectTypeHost,
			ResourceID: strconv.FormatInt(id, 10), Host: &jobapi.Host{HostID: id, CloudID: cloud, IP: ip, IPv6: ipv6}}}
	}
	st := &jobapi.JobStatus{Steps: []jobapi.StepInstance{{Results: []jobapi.ObjectResult{
		host(101, 0, "10.0.0.1", ""), host(102, 0, "10.0.0.1", ""), host(103, 2, "10.0.0.3", "fd00::3"),
		host(104, 0, "", "fd00::4"), host(105, 0, "", ""),
	}}}}
	ts := targetsOf(st, func(s string) string { return s }, nil)
	var labels []string
	for _, tg := range ts {
		labels = append(labels, tg.label)
	}
	want := []string{"0:10.0.0.1#101", "0:10.0.0.1#102", "0:[fd00::4]#104", "2:10.0.0.3", "host:105"}
	if !slices.Equal(labels, want) {
		t.Fatalf("labels\n got %q\nwant %q", labels, want)
	}
	var ps Problems
	refs, keep := parseHosts(&ps, strings.Join(labels, " "))
	if len(ps.Errors) > 0 {
		t.Fatalf("hosts refuses the step's labels: %+v", ps.Errors)
	}
	wantRefs := []string{"#101", "#102", "#104", "2:10.0.0.3", "#105"}
	var got []string
	for _, r := range refs {
		if r.HostID > 0 {
			got = append(got, "#"+strconv.FormatInt(r.HostID, 10))
		} else {
			got = append(got, strconv.FormatInt(*r.CloudID, 10)+":"+r.IP)
		}
	}
	if !slices.Equal(got, wantRefs) {
		t.Errorf("hosts read the labels as\n got %q\nwant %q", got, wantRefs)
	}
	// Back in, alone in the job, each keeps its host id: the label still selects that host.
	again := &jobapi.JobStatus{Steps: []jobapi.StepInstance{{Results: []jobapi.ObjectResult{host(102, 0, "10.0.0.1", ""), host(104, 0, "", "fd00::4")}}}}
	var labels2 []string
	for _, tg := range targetsOf(again, func(s string) string { return s }, keep) {
		labels2 = append(labels2, tg.label)
	}
	if want := []string{"0:10.0.0.1#102", "0:[fd00::4]#104"}; !slices.Equal(labels2, want) {
		t.Errorf("labels in the second run %q, want %q", labels2, want)
	}
}

// TestCompareLabels (issue 17, item 4): targets sort by cloud area and IP numerically (10.0.0.2 before
// 10.0.0.10), IPv4 before IPv6, then by host id; hosts known by id, then containers, come after.
func TestCompareLabels(t *testing.T) {
	t.Parallel()
	got := []string{"container:web@5", "host:12", "0:10.0.0.10", "host:9", "2:10.0.0.1", "0:[fd00::4]#104",
		"0:10.0.0.2#7", "0:10.0.0.2#12", "0:9.255.0.1", "0:10.0.0.9"}
	slices.SortFunc(got, compareLabels)
	want := []string{"0:9.255.0.1", "0:10.0.0.2#7", "0:10.0.0.2#12", "0:10.0.0.9", "0:10.0.0.10", "0:[fd00::4]#104",
		"2:10.0.0.1", "host:9", "host:12", "container:web@5"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted\n got %q\nwant %q", got, want)
	}
}
