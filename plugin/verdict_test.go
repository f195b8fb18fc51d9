package plugin

import (
	"io"
	"testing"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/rolling"
)

// TestVerdict follows the table of docs/CONTRACT.md#verdict, row by row.
func TestVerdict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                 string
		code, total, failed  int
		notStarted           int
		tolerance            Tolerance
		success              bool
		jobStatus            string
		errorType, errorCode int
	}{
		{"success", 3, 3, 0, 0, Tolerance{}, true, "success", 0, 0},
		{"within tolerance", 3, 10, 2, 0, Tolerance{N: 2}, true, "success", 0, 0},
		{"within percent, rounded down", 3, 10, 1, 0, Tolerance{N: 19, Percent: true}, true, "success", 0, 0},
		{"beyond percent, rounded down", 3, 10, 2, 0, Tolerance{N: 19, Percent: true}, false, "failed", bkci.ErrorTypeUser, codeJobFailed},
		{"beyond tolerance", 3, 10, 3, 0, Tolerance{N: 2}, false, "failed", bkci.ErrorTypeUser, codeJobFailed},
		{"failed beyond tolerance", 4, 3, 2, 0, Tolerance{N: 1}, false, "failed", bkci.ErrorTypeUser, codeJobFailed},
		{"failed within tolerance, every target ran", 4, 3, 1, 0, Tolerance{N: 5}, true, "success", 0, 0},
		{"failed within percent tolerance", 4, 10, 1, 0, Tolerance{N: 10, Percent: true}, true, "success", 0, 0},
		{"failed, no failed target", 4, 3, 0, 0, Tolerance{N: 5}, false, "failed", bkci.ErrorTypeUser, codeJobFailed},
		{"rolling stop, not started", 4, 3, 1, 2, Tolerance{N: 5}, false, "failed", bkci.ErrorTypeUser, codeJobFailed},
		{"rolling mode 2, not started", 3, 3, 0, 1, Tolerance{N: 5}, false, "failed", bkci.ErrorTypeUser, codeJobFailed},
		{"ignored error", 6, 3, 0, 0, Tolerance{}, false, "failed", bkci.ErrorTypeUser, codeJobFailed},
		{"terminated 8", 8, 3, 3, 0, Tolerance{}, false, "terminated", bkci.ErrorTypeUser, codeTerminated},
		{"terminated 11", 11, 3, 1, 0, Tolerance{N: 3}, false, "terminated", bkci.ErrorTypeUser, codeTerminated},
		{"terminated 13", 13, 3, 0, 0, Tolerance{}, false, "terminated", bkci.ErrorTypeUser, codeTerminated},
		{"abnormal 9", 9, 3, 3, 0, Tolerance{}, false, "abnormal", bkci.ErrorTypeThirdParty, codeAbnormal},
		{"abnormal 12", 12, 3, 0, 0, Tolerance{}, false, "abnormal", bkci.ErrorTypeThirdParty, codeAbnormal},
		{"abnormal 14", 14, 3, 0, 0, Tolerance{}, false, "abnormal", bkci.ErrorTypeThirdParty, codeAbnormal},
		{"zero targets", 3, 0, 0, 0, Tolerance{N: 100, Percent: true}, false, "failed", bkci.ErrorTypeUser, codeNoTargets},
		{"zero targets, terminated", 11, 0, 0, 0, Tolerance{}, false, "terminated", bkci.ErrorTypeUser, codeTerminated},
		{"zero targets, abnormal", 9, 0, 0, 0, Tolerance{}, false, "abnormal", bkci.ErrorTypeThirdParty, codeAbnormal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &step{printer: printer{lang: i18n.EnUS, log: bkci.NewLog(io.Discard)}, cfg: &Config{FailureTolerance: tc.tolerance}, jobID: 42}
			o := s.verdict(tc.code, tally{total: tc.total, failed: tc.failed, notStarted: tc.notStarted})
			if o.success != tc.success || o.jobStatus != tc.jobStatus || o.errorType != tc.errorType || o.errorCode != tc.errorCode {
				t.Errorf("verdict(%d, %d, %d, %d) = %+v", tc.code, tc.total, tc.failed, tc.notStarted, o)
			}
			if o.message == "" {
				t.Error("no message")
			}
		})
	}
}

// TestNotStartedWhy (issue 17, item 1): the reason given for targets that never ran.
func TestNotStartedWhy(t *testing.T) {
	t.Parallel()
	expr, err := rolling.Parse("1 1 2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		rolling *Rolling
		code    int
		n       tally
		want    string
	}{
		{"rolling stop at batch 2 of 3", &Rolling{Expr: expr, Mode: 1}, 4, tally{total: 4, failed: 1, notStarted: 2}, "rolling stopped at batch 2 of 3"},
		{"rolling stop at batch 1 of 3", &Rolling{Expr: expr, Mode: 1}, 4, tally{total: 4, failed: 1, notStarted: 3}, "rolling stopped at batch 1 of 3"},
		{"terminated", &Rolling{Expr: expr, Mode: 1}, 8, tally{total: 4, notStarted: 2}, "the job was terminated before they started"},
		{"no rolling", nil, 4, tally{total: 3, notStarted: 1}, "JOB ended the job before they started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &step{printer: printer{lang: i18n.EnUS, log: bkci.NewLog(io.Discard)}, cfg: &Config{Rolling: tc.rolling}}
			if got := s.notStartedWhy(tc.code, tc.n); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
