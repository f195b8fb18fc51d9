package jobstatus

import "testing"

func TestJobClass(t *testing.T) {
	t.Parallel()
	want := map[int]Class{
		1: Running, 2: Running, 3: Success, 4: Failure, 5: Failure, 6: Failure, 7: WaitingUser, 8: Failure,
		9: Failure, 10: Running, 11: Failure, 12: Failure, 13: Failure, 14: Failure, 15: Running, 99: Running,
	}
	for code, c := range want {
		if got := JobClass(code); got != c {
			t.Errorf("JobClass(%d) = %v, want %v", code, got, c)
		}
	}
	for _, code := range []int{3, 4, 5, 6, 8, 9, 11, 12, 13, 14} {
		if !JobFinished(code) {
			t.Errorf("%d should be finished", code)
		}
	}
	for _, code := range []int{1, 2, 7, 10, 15, 0} {
		if JobFinished(code) {
			t.Errorf("%d should not be finished", code)
		}
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	want := map[int]string{3: "success", 4: "failed", 6: "failed", 8: "terminated", 11: "terminated", 13: "terminated",
		9: "abnormal", 12: "abnormal", 14: "abnormal"}
	for code, v := range want {
		if got := Verdict(code); got != v {
			t.Errorf("Verdict(%d) = %q, want %q", code, got, v)
		}
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	for _, code := range TargetCodes {
		switch code {
		case 9, 3:
			if TargetClass(code) != Success {
				t.Errorf("target %d should succeed", code)
			}
		case 5, 7:
			if TargetClass(code) != Running || TargetFinished(code) {
				t.Errorf("target %d should be running", code)
			}
		default:
			if TargetClass(code) != Failure || !TargetFinished(code) {
				t.Errorf("target %d should be a finished failure", code)
			}
		}
	}
}
