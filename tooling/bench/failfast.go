package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// failFastRows measures failFast on the large fleet (plugin/failfast.go): the status answers the step
// reads while it watches a job nobody fails (what fail fast costs JOB), and how soon it terminates a job
// whose failures pass the tolerance. It counts from the answers progress already reads: a fleet over
// 2000 targets gets the targets' results every 5th poll.
func (h *Harness) failFastRows(ctx context.Context, p Plan) ([]Row, []string, error) {
	n := h.opts.LargeTargets
	var rows []Row
	var notes []string

	// 1. Watching: every target runs FailFastLength and succeeds.
	h.logf("fail fast: %d targets running %v, none failing: %d runs", n, p.FailFastLength, p.FailFastRuns)
	var perMin, resultsPerMin []float64
	var answer int
	for range p.FailFastRuns {
		r, err := h.RunPlugin(ctx, Job{Large: true, Duration: p.FailFastLength, FailFast: true, FailureTolerance: "2"})
		if err != nil {
			return nil, nil, err
		}
		if r.ExitCode != 0 {
			return nil, nil, fmt.Errorf("run %s: exit %d: %s", r.User, r.ExitCode, r.Output.Get("message"))
		}
		all, withResults := h.statusReads(r)
		mins := r.JobEnded.Sub(r.JobStarted).Minutes()
		perMin = append(perMin, float64(all)/mins)
		resultsPerMin = append(resultsPerMin, float64(withResults)/mins)
		if answer == 0 {
			if answer, err = h.statusAnswerSize(ctx, r); err != nil {
				return nil, nil, err
			}
		}
	}
	scenario := fmt.Sprintf("poll · %d targets · failFast on · job of %s, none failing", n, fmtLength(p.FailFastLength))
	rows = append(rows,
		Row{Scenario: scenario, Policy: "plugin", Measure: "status answers per minute", N: len(perMin),
			Median: fmt.Sprintf("%.1f", Quantile(perMin, 0.5)), P95: fmt.Sprintf("%.1f", Quantile(perMin, 0.95))},
		Row{Scenario: "same jobs", Policy: "plugin", Measure: fmt.Sprintf("of which with the targets' results (%s each)", sizeText(answer)),
			N: len(resultsPerMin), Median: fmt.Sprintf("%.1f", Quantile(resultsPerMin, 0.5)), P95: fmt.Sprintf("%.1f", Quantile(resultsPerMin, 0.95))})

	// 2. Stopping: one target in 10,000 fails after a third of the length, the others run on; the
	// tolerance is 2, so the third failure (they fail together) passes it.
	h.logf("fail fast: %d targets, 3 failing after %v: %d runs", n, p.FailFastLength/3, p.FailFastRuns)
	var delays []time.Duration
	var stopped []*Run
	for range p.FailFastRuns {
		r, err := h.RunPlugin(ctx, Job{Large: true, Duration: p.FailFastLength, FailEvery: n / 3, FailAt: p.FailFastLength / 3,
			FailFast: true, FailureTolerance: "2"})
		if err != nil {
			return nil, nil, err
		}
		if r.ExitCode != 1 || r.Output.Get("errorCode").Int() != 800018 {
			return nil, nil, fmt.Errorf("run %s: exit %d, errorCode %d: %s", r.User, r.ExitCode, r.Output.Get("errorCode").Int(), r.Output.Get("message"))
		}
		failedAt := h.lastFailure(r)
		stop := h.terminateTime(r)
		if stop.IsZero() {
			return nil, nil, fmt.Errorf("run %s: no terminate request", r.User)
		}
		delays = append(delays, stop.Sub(failedAt))
		stopped = append(stopped, r)
	}
	rows = append(rows, latencyRow(fmt.Sprintf("poll · %d targets · failFast on · 3 fail at %s, tolerance 2", n, fmtLength(p.FailFastLength/3)),
		"plugin", "third failure → terminate request", stopped, delays))
	notes = append(notes, fmt.Sprintf("Fail fast at %d targets: the step reads the targets' results with every 5th status "+
		"poll (every poll up to 2000 targets), so a stop comes up to about five poll intervals (≤ 50 s once polls are "+
		"10 s apart) after the failure that passes the tolerance; it adds no status request of its own.", n))
	return rows, notes, nil
}

// statusReads counts a run's status requests, and those that asked for the targets' results.
func (h *Harness) statusReads(r *Run) (all, withResults int) {
	for _, q := range h.Sim.Requests() {
		if q.Endpoint != jobsim.EPStatus || requestUser(q) != r.User {
			continue
		}
		all++
		if gjson.GetBytes(q.Body, "include_execute_object_task_result").Bool() {
			withResults++
		}
	}
	return all, withResults
}

// lastFailure is when the last of the run's failed targets (exit code 1) ended.
func (h *Harness) lastFailure(r *Run) time.Time {
	var last time.Time
	if snap, ok := h.Sim.Job(r.JobID); ok {
		for _, tg := range snap.Targets {
			if tg.ExitCode != nil && *tg.ExitCode == 1 && tg.End.After(last) {
				last = tg.End
			}
		}
	}
	return last
}

// terminateTime is when the run's terminate request reached the simulator (zero: none).
func (h *Harness) terminateTime(r *Run) time.Time {
	for _, q := range h.Sim.Requests() {
		if q.Endpoint == jobsim.EPOperateJob && requestUser(q) == r.User {
			return q.Time
		}
	}
	return time.Time{}
}

// statusAnswerSize reads the run's job status with the targets' results once, as the plugin does, and
// returns the answer's size in bytes.
func (h *Harness) statusAnswerSize(ctx context.Context, r *Run) (int, error) {
	body, _ := json.Marshal(map[string]any{"bk_scope_type": "biz", "bk_scope_id": fmt.Sprint(bizID),
		"job_instance_id": r.JobID, "include_execute_object_task_result": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.Sim.URL()+jobsim.EPStatus.Path(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	auth, _ := json.Marshal(map[string]string{"bk_app_code": appCode, "bk_app_secret": appSecret, "bk_username": r.User})
	req.Header.Set("X-Bkapi-Authorization", string(auth))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read the status answer: %w", err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, fmt.Errorf("read the status answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read the status answer: HTTP %d", resp.StatusCode)
	}
	return int(n), nil
}
