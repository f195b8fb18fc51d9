package plugin

import (
	"reflect"
	"testing"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/report"
	"jobfastexecutescript/internal/rolling"
)

// TestRollingBatches: targets are attributed to the rolling expression's batches by start time, and
// only when the times prove it; otherwise the report shows no batches.
func TestRollingBatches(t *testing.T) {
	t.Parallel()
	expr, err := rolling.Parse("1 2 100%")
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v int64) *int64 { return &v }
	// mk builds a target that ran from start to end (end 0: no end time), or never ran (start < 0).
	mk := func(label string, start, end int64, ok bool) *target {
		tg := &target{label: label, ok: ok, res: jobapi.ObjectResult{Status: jobstatus.TargetWaiting}}
		if start >= 0 {
			tg.res.Status = 9
			if !ok {
				tg.res.Status = 104
			}
			tg.res.StartTime = ms(start)
			if end > 0 {
				tg.res.EndTime = ms(end)
			}
		}
		return tg
	}
	// Sizes for 6 targets: 1, 2, 3. Labels out of time order: the batches follow the times.
	stopped := []*target{mk("a", 170, 300, false), mk("b", 100, 150, true), mk("c", 160, 190, true),
		mk("d", -1, 0, false), mk("e", -1, 0, false), mk("f", -1, 0, false)}
	tests := []struct {
		name    string
		rolling *Rolling
		targets []*target
		want    []report.Batch
	}{
		{"stopped after batch 2 of 3", &Rolling{Expr: expr}, stopped, []report.Batch{
			{Number: 1, Total: 1, SuccessCount: 1}, {Number: 2, Total: 2, SuccessCount: 1, FailedCount: 1}, {Number: 3, Total: 3, NotStarted: 3}}},
		{"no rolling", nil, stopped, nil},
		{"staggered", &Rolling{Expr: expr, Staggered: true}, stopped, nil},
		{"a batch started before the one before ended", &Rolling{Expr: expr},
			[]*target{mk("a", 100, 300, true), mk("b", 200, 250, true), mk("c", 260, 270, true)}, nil},
		{"a start time missing", &Rolling{Expr: expr},
			[]*target{mk("a", 100, 150, true), mk("b", 200, 250, true), {label: "c", ok: true, res: jobapi.ObjectResult{Status: 9}}}, nil},
		{"part of a batch ran", &Rolling{Expr: expr},
			[]*target{mk("a", 100, 150, true), mk("b", 200, 250, true), mk("c", -1, 0, false)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &step{cfg: &Config{Rolling: tt.rolling}}
			if got := s.rollingBatches(tt.targets); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
