package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"jobfastexecutescript/internal/jobapi"
)

// BaselineInterval is today's poll interval (ci-executeJobScript: Thread.sleep(2000) before every
// status request, docs/CONTRACT.md#predecessor).
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

// Run submits req and polls until the job finished. It returns the job id and the number of status
// requests made.
func (b *Baseline) Run(ctx context.Context, req *jobapi.SubmitRequest) (int64, int, error) {
	sub, err := b.Client.FastExecuteScript(ctx, req)
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
func baselineBody(hosts []string, taskName string) (*jobapi.SubmitRequest, error) {
	list := make([]jobapi.HostRef, 0, len(hosts))
	for _, h := range hosts {
		_, ip, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("host %q: want cloud:ip", h)
		}
		cloud := int64(0)
		list = append(list, jobapi.HostRef{CloudID: &cloud, IP: ip})
	}
	return &jobapi.SubmitRequest{
		ScopeType: "biz", ScopeID: fmt.Sprint(bizID),
		ScriptContent:  base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho deploying\n")),
		ScriptLanguage: 1, Timeout: 3600, AccountAlias: "root",
		TaskName: taskName, ExecuteTarget: jobapi.ExecuteTarget{Hosts: list},
	}, nil
}
