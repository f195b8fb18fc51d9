//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobfastexecutescript/tooling/jobsim"
)

// TestReport_FailedRollingRun (issue 20), through the binary: a rolling run "5 10 100%" of 30
// hosts stops after batch 2, where 6 targets fail with two distinct errors. The step log folds one
// block per distinct error; result.json has the three batches (attributed by start and end times);
// the failed targets' full logs are files beside the page, linked from their rows; the page lists
// the failed targets first.
func TestReport_FailedRollingRun(t *testing.T) {
	t.Parallel()
	sim := fleetSim(t, 30, func(tg jobsim.Target) jobsim.Outcome {
		o := jobsim.Outcome{Duration: 30 * time.Millisecond, Log: "deploying " + tg.Label + "\nall good\n"}
		if tg.Batch == 2 {
			switch { // batch 2 holds indexes 5 to 14
			case tg.Index%3 == 0: // 6, 9, 12
				o.ExitCode, o.Log = 7, "deploying "+tg.Label+"\n"+strings.Repeat("progress\n", 40)+"ERROR: connection refused\n"
			case tg.Index%2 == 0: // 8, 10, 14
				o.ExitCode, o.Log = 28, "deploying "+tg.Label+"\n"+strings.Repeat("progress\n", 40)+"ERROR: disk full on /data\n"
			}
		}
		return o
	})
	res := fleetStep(t, sim, "rollingEnabled", "true", "rollingExpression", "5 10 100%", "rollingMode", "1", "logMode", "failed").run()
	if res.out.Get("status").String() != "failure" {
		t.Fatalf("status %s\n%.3000s", res.out.Raw, res.Stdout)
	}
	failed := res.data("failed_count")
	l := readStepLog(t, res.Stdout)
	var blocks []string
	for _, line := range l.raw {
		if strings.HasPrefix(line, "##[group]") && (strings.Contains(line, " log tail (") || strings.Contains(line, "targets with the same log tail")) {
			blocks = append(blocks, line)
		}
	}
	if len(blocks) != 2 || !strings.Contains(blocks[0], "3 targets with the same log tail (non-zero exit code, exit code 7: 3): 0:10.0.0.7, 0:10.0.0.10, 0:10.0.0.13") ||
		!strings.Contains(blocks[1], "3 targets with the same log tail (non-zero exit code, exit code 28: 3): 0:10.0.0.9, 0:10.0.0.11, 0:10.0.0.15") {
		t.Errorf("folded blocks for %s failed targets with 2 distinct errors:\n%s", failed, strings.Join(blocks, "\n"))
	}

	rj := readResultJSON(t, res)
	want := `[{"number":1,"total_count":5,"success_count":5,"failed_count":0,"not_started_count":0},` +
		`{"number":2,"total_count":10,"success_count":4,"failed_count":6,"not_started_count":0},` +
		`{"number":3,"total_count":15,"success_count":0,"failed_count":0,"not_started_count":15}]`
	if got := rj.Get("batches").Raw; got != want {
		t.Errorf("batches %s\nwant    %s", got, want)
	}
	page, err := os.ReadFile(filepath.Join(reportDir(res), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	rows := reportRows(t, string(page))
	for i, r := range rows {
		isFailed := strings.HasPrefix(r.class, "ng ")
		if (i < 6) != isFailed {
			t.Errorf("row %d %+v: the 6 failed rows come first", i, r)
		}
		if isFailed != (r.logFile != "") {
			t.Errorf("row %d: log file %q", i, r.logFile)
			continue
		}
		if isFailed {
			b, err := os.ReadFile(filepath.Join(reportDir(res), filepath.FromSlash(r.logFile)))
			if err != nil || !strings.HasPrefix(string(b), "deploying "+r.label+"\n") || strings.Count(string(b), "progress") != 40 {
				t.Errorf("row %d: full log %s: %.100q %v", i, r.logFile, b, err)
			}
		}
	}
	if !strings.Contains(string(page), "<span>Batch 3 (15)</span>") {
		t.Errorf("the page draws no batches")
	}
}
