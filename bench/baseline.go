package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"jobfastexecutescript/internal/jobapi"
)

// BaselineInterval is today's poll interval (ci-executeJobScript: Thread.sleep(2000) before every
// status request, ../shared/docs/peers.md §A1).
const BaselineInterval = 2 * time.Second

// Baseline is today's waiting policy, as ci-executeJobScript implements it: submit, then sleep 2 s and
// ask for the job's status, again and again, until JOB says it finished. No backoff, no jitter, no
// callback, no retry, no logs. It talks to JOB through the plugin's own client (internal/jobapi) with
// retries off, so that only the policy differs.
type Baseline struct {
	// Client sends the requests (its operator identifies the run's requests in the simulator).
	Client *jobapi.Client
	// Scope is the job's scope.
	Scope jobapi.Scope
	// Interval is the sleep before each status request (default BaselineInterval).
	Interval time.Duration
}

// Run submits body and polls until the job finished. It returns the job id and the number of status
// requests made.
func (b *Baseline) Run(ctx context.Context, body []byte) (int64, int, error) {
	sub, err := b.Client.FastExecuteScript(ctx, body)
	if err != nil {
		return 0, 0, fmt.Errorf("baseline submit: %w", err)
	}
	interval := b.Interval
	if interval <= 0 {
		interval = BaselineInterval
	}
	for polls := 1; ; polls++ {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return sub.JobInstanceID, polls - 1, ctx.Err()
		case <-t.C:
		}
		st, err := b.Client.GetJobInstanceStatus(ctx, b.Scope, sub.JobInstanceID, false)
		if err != nil {
			return sub.JobInstanceID, polls, fmt.Errorf("baseline status: %w", err)
		}
		if st.Finished {
			return sub.JobInstanceID, polls, nil
		}
	}
}

// RunBaseline runs the baseline policy on a job like j (its own hosts, the same outcomes) against the
// simulator and measures it the way RunPlugin measures the plugin.
func (h *Harness) RunBaseline(ctx context.Context, j Job) (*Run, error) {
	if err := h.assign(&j); err != nil {
		return nil, err
	}
	n := h.runs.Add(1)
	user := fmt.Sprintf("bench-b%05d", n)
	client, err := jobapi.New(jobapi.Config{BaseURL: h.Sim.URL(), AppCode: appCode, AppSecret: appSecret,
		Username: user, Retry: jobapi.RetryPolicy{Attempts: 1, SubmitAttempts: 1}})
	if err != nil {
		return nil, fmt.Errorf("baseline client: %w", err)
	}
	body, err := baselineBody(j.hosts, fmt.Sprintf("bench-baseline-%05d", n))
	if err != nil {
		return nil, err
	}
	b := &Baseline{Client: client, Scope: jobapi.Scope{Type: "biz", ID: fmt.Sprint(bizID)}}
	start := time.Now()
	id, _, err := b.Run(ctx, body)
	r := &Run{Policy: "baseline", User: user, JobID: id, Start: start, Exited: time.Now()}
	if err != nil {
		return r, err
	}
	return r, h.collect(r)
}

// baselineBody is a minimal fast_execute_script request for the given "cloud:ip" hosts.
func baselineBody(hosts []string, taskName string) ([]byte, error) {
	type host struct {
		CloudID int64  `json:"bk_cloud_id"`
		IP      string `json:"ip"`
	}
	list := make([]host, 0, len(hosts))
	for _, h := range hosts {
		_, ip, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("host %q: want cloud:ip", h)
		}
		list = append(list, host{IP: ip})
	}
	body := map[string]any{
		"bk_scope_type": "biz", "bk_scope_id": fmt.Sprint(bizID),
		"script_content":  base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho deploying\n")),
		"script_language": 1, "is_param_sensitive": false, "timeout": 3600, "account_alias": "root",
		"task_name": taskName, "execute_target": map[string]any{"host_list": list},
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("baseline request: %w", err)
	}
	return b, nil
}
