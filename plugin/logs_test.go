package plugin

import (
	"testing"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/tooling/jobsim"
)

// TestAnswerLimit (issue 12, item 3): the probe's 8 MiB limit never applies to a request for one
// target, whose limit holds JOB's largest log (the simulator's cap, as GSE's) in its worst JSON
// escaping, within the client's own limit.
func TestAnswerLimit(t *testing.T) {
	t.Parallel()
	answerLimit := logReading.AnswerLimit
	if maxTargetLogBytes != jobsim.MaxLogBytes {
		t.Errorf("maxTargetLogBytes %d, the simulator's cap %d", maxTargetLogBytes, jobsim.MaxLogBytes)
	}
	if got := answerLimit(probeLogBytes, 1); got < 6*maxTargetLogBytes || got > jobapi.MaxLogBodyBytes {
		t.Errorf("one target's limit %d: want at least %d, at most %d", got, 6*maxTargetLogBytes, jobapi.MaxLogBodyBytes)
	}
	if got := answerLimit(probeLogBytes, 2); got != probeLogBytes {
		t.Errorf("two targets' limit %d, want the probe's %d", got, probeLogBytes)
	}
	if got := answerLimit(0, 7); got != 0 {
		t.Errorf("a chunk without its own limit got %d", got)
	}
}
