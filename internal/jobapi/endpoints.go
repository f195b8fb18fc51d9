package jobapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// MaxLogObjects is the most execute objects one log request may name.
const MaxLogObjects = 500

// get_job_instance_list's limits, as JOB checks them (bk-job job-execute
// .../api/esb/v3/EsbGetJobInstanceListV3ResourceImpl.java checkRequest, config/OpenApiProperties.java).
const (
	// MaxListWindow is the widest creation-time window: JOB refuses a longer one (1241002).
	MaxListWindow = 30 * 24 * time.Hour
	// MaxListLength is the largest page JOB serves.
	MaxListLength = 1000
	// MaxListStart is the largest offset: JOB refuses a larger one (1241010) where its operator enabled
	// the start limit, so the client never asks for one.
	MaxListStart = 1000
)

// FindJobs paging bounds: pages of findPageSize starting at 0, 500 and 1000, so the offset never
// passes MaxListStart; up to 1,500 fuzzy matches are read per 30-day window.
const (
	findPageSize = 500
	findMaxPages = MaxListStart/findPageSize + 1
)

// FastExecuteScript starts a script job: POST /api/v3/system/bkci_plugin_fast_execute_script with
// r as its body (r.Encode). The call is retried only when the request provably never left the
// client (connection refused, DNS failure) or the gateway's rate limit refused it. When the request
// may have reached JOB but the answer is missing or unusable (timeout after sending, reset, truncated
// or unreadable body, 5xx), the error is an *Error with Unknown() true: JOB may have created the job.
func (c *Client) FastExecuteScript(ctx context.Context, r *SubmitRequest) (Submitted, error) {
	if r == nil {
		return Submitted{}, argError(opSubmit, "no request")
	}
	body, err := r.Encode("")
	if err != nil {
		return Submitted{}, fmt.Errorf("%s: %w", opSubmit, err)
	}
	var s Submitted
	err = c.do(ctx, c.spec(opSubmit), http.MethodPost, PathFastExecuteScript, nil, body,
		func(root gjson.Result, h http.Header) (err error) {
			s, err = parseSubmitted(root, h)
			return err
		})
	if err != nil {
		return Submitted{}, err
	}
	return s, nil
}

// GetJobInstanceStatus reads a job's status: POST /api/v3/system/bkci_plugin_get_job_instance_status.
// withResults asks for every execute object's result (include_execute_object_task_result).
func (c *Client) GetJobInstanceStatus(ctx context.Context, s Scope, jobID int64, withResults bool) (*JobStatus, error) {
	if err := checkScope(opStatus, s); err != nil {
		return nil, err
	}
	if jobID <= 0 {
		return nil, argError(opStatus, "job instance id %d is not positive", jobID)
	}
	body, err := json.Marshal(struct {
		scopeFields
		JobInstanceID int64 `json:"job_instance_id"`
		WithResults   bool  `json:"include_execute_object_task_result"`
	}{scopeFields{s.Type, s.ID}, jobID, withResults})
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", opStatus, err)
	}
	var st *JobStatus
	err = c.do(ctx, c.spec(opStatus), http.MethodPost, PathGetJobStatus, nil, body,
		func(root gjson.Result, _ http.Header) (err error) {
			st, err = parseStatus(root)
			return err
		})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// LogOptions are the per-call options of BatchGetObjectLogs. A nil *LogOptions is the zero value.
type LogOptions struct {
	// MaxBody, when positive and lower than the client's own limit (MaxLogBodyBytes), is the largest
	// answer accepted: a reader can probe with a request it can afford to lose. A larger answer fails
	// with an error IsBodyTooLarge reports, and is not retried.
	MaxBody int64
	// NoTimeoutRetry: the call is not repeated after a timeout (IsTimeout). A reader that can ask for
	// less (fewer log objects) does that instead of waiting again as long.
	NoTimeoutRetry bool
}

// BatchGetObjectLogs reads the script logs of 1..MaxLogObjects execute objects of one step:
// POST /api/v3/system/bkci_plugin_batch_get_job_instance_execute_object_log, within opts (may be
// nil). The result has one entry per key, in the order given; Present is false for objects JOB
// returned nothing for. A key count outside 1..500 or a malformed key is an error and sends no
// request.
func (c *Client) BatchGetObjectLogs(ctx context.Context, s Scope, jobID, stepID int64, keys []ObjectKey, opts *LogOptions) ([]ObjectLog, error) {
	if err := checkScope(opLogs, s); err != nil {
		return nil, err
	}
	if jobID <= 0 || stepID <= 0 {
		return nil, argError(opLogs, "job instance id %d and step instance id %d must be positive", jobID, stepID)
	}
	if len(keys) == 0 || len(keys) > MaxLogObjects {
		return nil, argError(opLogs, "%d execute objects requested, want 1..%d", len(keys), MaxLogObjects)
	}
	type object struct {
		Type       int    `json:"type"`
		ResourceID string `json:"resource_id"`
	}
	objects := make([]object, 0, len(keys))
	seen := make(map[ObjectKey]bool, len(keys))
	for _, k := range keys {
		if !k.Valid() {
			return nil, argError(opLogs, "invalid execute object key {type %d, resource id %q}", k.Type, k.ResourceID)
		}
		if !seen[k] {
			seen[k] = true
			objects = append(objects, object(k))
		}
	}
	body, err := json.Marshal(struct {
		scopeFields
		JobInstanceID  int64    `json:"job_instance_id"`
		StepInstanceID int64    `json:"step_instance_id"`
		Objects        []object `json:"execute_object_list"`
	}{scopeFields{s.Type, s.ID}, jobID, stepID, objects})
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", opLogs, err)
	}
	var logs []ObjectLog
	err = c.do(ctx, c.spec(opLogs).withLogOptions(opts), http.MethodPost, PathBatchGetObjectLog, nil, body,
		func(root gjson.Result, _ http.Header) (err error) {
			logs, err = parseLogs(root, keys)
			return err
		})
	if err != nil {
		return nil, err
	}
	return logs, nil
}

// TerminateJob asks JOB to terminate a job: POST /api/v3/system/operate_job_instance, operation
// code 1. JOB accepts it only while the job is running (2) or waiting (7); otherwise the answer is
// a business *Error with Code CodeUnsupportedOperation (1241003), left to the caller to judge.
func (c *Client) TerminateJob(ctx context.Context, s Scope, jobID int64) error {
	if err := checkScope(opTerminate, s); err != nil {
		return err
	}
	if jobID <= 0 {
		return argError(opTerminate, "job instance id %d is not positive", jobID)
	}
	body, err := json.Marshal(struct {
		scopeFields
		JobInstanceID int64 `json:"job_instance_id"`
		OperationCode int   `json:"operation_code"`
	}{scopeFields{s.Type, s.ID}, jobID, OpTerminateJob})
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", opTerminate, err)
	}
	err = c.do(ctx, c.spec(opTerminate), http.MethodPost, PathOperateJobInstance, nil, body, nil)
	return err
}

// OperateStep runs a step operation: POST /api/v3/system/operate_step_instance with
// operation_code op (e.g. OpStepContinueRolling).
func (c *Client) OperateStep(ctx context.Context, s Scope, jobID, stepID int64, op int) error {
	if err := checkScope(opOperateStep, s); err != nil {
		return err
	}
	if jobID <= 0 || stepID <= 0 || op <= 0 {
		return argError(opOperateStep, "job instance id %d, step instance id %d and operation code %d must be positive", jobID, stepID, op)
	}
	body, err := json.Marshal(struct {
		scopeFields
		JobInstanceID  int64 `json:"job_instance_id"`
		StepInstanceID int64 `json:"step_instance_id"`
		OperationCode  int   `json:"operation_code"`
	}{scopeFields{s.Type, s.ID}, jobID, stepID, op})
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", opOperateStep, err)
	}
	err = c.do(ctx, c.spec(opOperateStep), http.MethodPost, PathOperateStepInstance, nil, body, nil)
	return err
}

// ListJobInstances lists job instances created in a time window: GET
// /api/v3/system/get_job_instance_list. JOB matches Name fuzzily; compare names yourself (or use
// FindJobByName).
func (c *Client) ListJobInstances(ctx context.Context, s Scope, q ListQuery) ([]JobSummary, error) {
	items, _, err := c.listPage(ctx, s, q)
	return items, err
}

// listPage is ListJobInstances plus the total count JOB reports.
func (c *Client) listPage(ctx context.Context, s Scope, q ListQuery) ([]JobSummary, int, error) {
	if err := checkScope(opList, s); err != nil {
		return nil, 0, err
	}
	if err := checkListWindow(q.CreateTimeStart, q.CreateTimeEnd); err != nil {
		return nil, 0, err
	}
	if q.Start < 0 || q.Start > MaxListStart || q.Length < 0 || q.Length > MaxListLength || q.Type < 0 {
		return nil, 0, argError(opList, "start %d (0..%d), length %d (0..%d, 0 for JOB's default) or type %d out of range",
			q.Start, MaxListStart, q.Length, MaxListLength, q.Type)
	}
	v := url.Values{}
	v.Set("bk_scope_type", s.Type)
	v.Set("bk_scope_id", s.ID)
	v.Set("create_time_start", itoa(q.CreateTimeStart.UnixMilli()))
	v.Set("create_time_end", itoa(q.CreateTimeEnd.UnixMilli()))
	if q.Name != "" {
		v.Set("name", q.Name)
	}
	if q.Operator != "" {
		v.Set("operator", q.Operator)
	}
	if q.Type != 0 {
		v.Set("type", strconv.Itoa(q.Type))
	}
	if q.Start != 0 {
		v.Set("start", strconv.Itoa(q.Start))
	}
	if q.Length != 0 {
		v.Set("length", strconv.Itoa(q.Length))
	}
	var (
		items []JobSummary
		total int
	)
	err := c.do(ctx, c.spec(opList), http.MethodGet, PathGetJobInstanceList, v, nil,
		func(root gjson.Result, _ http.Header) (err error) {
			items, total, err = parseList(root)
			return err
		})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// checkListWindow refuses a creation-time window JOB would refuse: both ends set (epoch ms >= 1), the
// end strictly after the start (in ms, as sent), and a span of at most MaxListWindow.
func checkListWindow(from, to time.Time) error {
	f, t := from.UnixMilli(), to.UnixMilli()
	switch {
	case from.IsZero() || to.IsZero() || f < 1 || t < 1:
		return argError(opList, "a create time window is required")
	case t <= f:
		return argError(opList, "the create time window must end after it starts (%d..%d ms)", f, t)
	case t-f > MaxListWindow.Milliseconds():
		return argError(opList, "the create time window spans more than %s (%d..%d ms)", MaxListWindow, f, t)
	}
	return nil
}

// FindJobByName looks for the job whose name is exactly name, created by operator (when not
// empty) between from and to. It pages through get_job_instance_list (JOB matches names fuzzily)
// up to a bound. It returns (nil, nil) when no such job exists, an error wrapping
// ErrLookupIncomplete when the bound was reached without a match, and one wrapping ErrAmbiguous when
// several jobs carry the name.
func (c *Client) FindJobByName(ctx context.Context, s Scope, name, operator string, from, to time.Time) (*JobSummary, error) {
	if name == "" {
		return nil, argError(opList, "job name is empty")
	}
	matches, err := c.FindJobs(ctx, s, name, operator, from, to, func(n string) bool { return n == name })
	switch {
	case len(matches) == 1:
		return &matches[0], nil
	case len(matches) > 1:
		ids := make([]string, len(matches))
		for i, m := range matches {
			ids[i] = itoa(m.ID)
		}
		return nil, fmt.Errorf("%s: %w: %q matches job instances %s", opList, ErrAmbiguous, name, strings.Join(ids, ", "))
	}
	return nil, err
}

// FindJobs returns the jobs whose names hold part (JOB's fuzzy match) and satisfy match, created by
// operator (when not empty) between from and to, each once. It keeps every request within what JOB
// accepts: a window that does not end after it starts is widened to 1 ms, a window longer than
// MaxListWindow is read in slices of at most that (newest first), and each slice is paged with offsets
// up to MaxListStart. When a slice holds more fuzzy matches than that, it returns what it found with
// an error wrapping ErrLookupIncomplete.
func (c *Client) FindJobs(ctx context.Context, s Scope, part, operator string, from, to time.Time, match func(name string) bool) ([]JobSummary, error) {
	if part == "" {
		return nil, argError(opList, "job name is empty")
	}
	if from.IsZero() || to.IsZero() {
		return nil, argError(opList, "a create time window is required")
	}
	from, to = time.UnixMilli(from.UnixMilli()), time.UnixMilli(to.UnixMilli())
	if !to.After(from) {
		to = from.Add(time.Millisecond)
	}
	var (
		matches    []JobSummary
		incomplete error
	)
	for end := to; end.After(from); end = end.Add(-MaxListWindow) {
		start := end.Add(-MaxListWindow)
		if start.Before(from) {
			start = from
		}
		found, err := c.findInWindow(ctx, s, ListQuery{CreateTimeStart: start, CreateTimeEnd: end, Name: part,
			Operator: operator, Length: findPageSize}, match)
		if err != nil && !errors.Is(err, ErrLookupIncomplete) {
			return nil, err
		}
		if err != nil && incomplete == nil {
			incomplete = err
		}
		for _, j := range found {
			if !slices.ContainsFunc(matches, func(m JobSummary) bool { return m.ID == j.ID }) {
				matches = append(matches, j)
			}
		}
	}
	return matches, incomplete
}

// findInWindow pages through one window of at most MaxListWindow.
func (c *Client) findInWindow(ctx context.Context, s Scope, q ListQuery, match func(name string) bool) ([]JobSummary, error) {
	var matches []JobSummary
	for page := 0; page < findMaxPages; page++ {
		items, total, err := c.listPage(ctx, s, q)
		if err != nil {
			return nil, err
		}
		for _, j := range items {
			if !match(j.Name) || (q.Operator != "" && j.Operator != "" && j.Operator != q.Operator) {
				continue
			}
			if !slices.ContainsFunc(matches, func(m JobSummary) bool { return m.ID == j.ID }) {
				matches = append(matches, j)
			}
		}
		q.Start += len(items)
		if len(items) == 0 || len(items) < q.Length || q.Start >= total {
			return matches, nil
		}
	}
	return matches, fmt.Errorf("%s: %w: more than %d jobs in the window match %q fuzzily", opList, ErrLookupIncomplete, q.Start, q.Name)
}
