package jobapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/internal/jobstatus"
)

// missing reports a required response field that is absent, null or of the wrong type.
func missing(path string) error {
	return fmt.Errorf("response has no usable %s", path)
}

// parseData returns the envelope's data object (required). root is the answer's root object, as
// classifyResponse accepted it (validated once, there).
func parseData(root gjson.Result) (gjson.Result, error) {
	data := root.Get("data")
	if !data.IsObject() {
		return gjson.Result{}, missing("data")
	}
	return data, nil
}

// parseSubmitted reads a fast_execute_script answer. h supplies the X-Bkapi-Request-Id
// fallback for the request id.
func parseSubmitted(root gjson.Result, h http.Header) (Submitted, error) {
	data, err := parseData(root)
	if err != nil {
		return Submitted{}, err
	}
	id, ok := intOf(data.Get("job_instance_id"))
	if !ok || id <= 0 {
		return Submitted{}, missing("data.job_instance_id")
	}
	step, _ := intOf(data.Get("step_instance_id"))
	s := Submitted{
		JobInstanceID:   id,
		JobInstanceName: str(data.Get("job_instance_name")),
		StepInstanceID:  max(step, 0),
		RequestID:       str(root.Get("job_request_id")),
	}
	if s.RequestID == "" && h != nil {
		s.RequestID = strings.TrimSpace(h.Get(headerRequestID))
	}
	return s, nil
}

// parseStatus reads a bkci_plugin_get_job_instance_status answer.
func parseStatus(root gjson.Result) (*JobStatus, error) {
	data, err := parseData(root)
	if err != nil {
		return nil, err
	}
	ji := data.Get("job_instance")
	if !ji.IsObject() {
		return nil, missing("data.job_instance")
	}
	st, ok := intOf(ji.Get("status"))
	if !ok {
		return nil, missing("data.job_instance.status")
	}
	js := &JobStatus{Job: JobInstance{
		ID:         int64Of(ji.Get("job_instance_id")),
		Name:       str(ji.Get("name")),
		Status:     clampInt(st),
		CreateTime: optInt64(ji.Get("create_time")),
		StartTime:  optInt64(ji.Get("start_time")),
		EndTime:    optInt64(ji.Get("end_time")),
		TotalTime:  optInt64(ji.Get("total_time")),
	}}
	if f, ok := boolOf(data.Get("finished")); ok {
		js.Finished = f
	} else {
		js.Finished = jobstatus.JobFinished(js.Job.Status)
	}
	for _, s := range arr(data.Get("step_instance_list")) {
		if !s.IsObject() {
			continue
		}
		step := StepInstance{
			ID:           int64Of(s.Get("step_instance_id")),
			Name:         str(s.Get("name")),
			Type:         clampInt(int64Of(s.Get("type"))),
			Status:       clampInt(int64Of(s.Get("status"))),
			ExecuteCount: clampInt(int64Of(s.Get("execute_count"))),
			CreateTime:   optInt64(s.Get("create_time")),
			StartTime:    optInt64(s.Get("start_time")),
			EndTime:      optInt64(s.Get("end_time")),
			TotalTime:    optInt64(s.Get("total_time")),
		}
		for _, r := range arr(s.Get("execute_object_result_list")) {
			if !r.IsObject() {
				continue
			}
			step.Results = append(step.Results, ObjectResult{
				Object:    parseExecuteObject(r.Get("execute_object")),
				Status:    clampInt(int64Of(r.Get("status"))),
				Tag:       str(r.Get("tag")),
				ExitCode:  optInt(r.Get("exit_code")),
				ErrorCode: optInt(r.Get("error_code")),
				StartTime: optInt64(r.Get("start_time")),
				EndTime:   optInt64(r.Get("end_time")),
				TotalTime: optInt64(r.Get("total_time")),
			})
		}
		js.Steps = append(js.Steps, step)
	}
	return js, nil
}

// parseExecuteObject reads an execute_object (null or absent gives the zero value).
func parseExecuteObject(o gjson.Result) ExecuteObject {
	if !o.IsObject() {
		return ExecuteObject{}
	}
	eo := ExecuteObject{
		Type:       clampInt(int64Of(o.Get("type"))),
		ResourceID: str(o.Get("resource_id")),
	}
	if h := o.Get("host"); h.IsObject() {
		eo.Host = &Host{
			HostID:    int64Of(h.Get("bk_host_id")),
			CloudID:   int64Of(h.Get("bk_cloud_id")),
			IP:        str(h.Get("ip")),
			IPv6:      str(h.Get("ipv6")),
			CloudName: str(h.Get("bk_cloud_name")),
			AgentID:   str(h.Get("bk_agent_id")),
		}
	}
	if c := o.Get("container"); c.IsObject() {
		eo.Container = &Container{
			ID:          int64Of(c.Get("id")),
			ContainerID: str(c.Get("container_id")),
			NodeHostID:  int64Of(c.Get("node_host_id")),
			Name:        str(c.Get("name")),
		}
	}
	if eo.Type == 0 { // JOB left the type out: the part it sent tells
		switch {
		case eo.Container != nil:
			eo.Type = ObjectTypeContainer
		case eo.Host != nil:
			eo.Type = ObjectTypeHost
		}
	}
	return eo
}

// parseLogs reads a bkci_plugin_batch_get_job_instance_execute_object_log answer and returns one
// entry per requested key, in the order of keys. Entries for the same object are concatenated.
func parseLogs(root gjson.Result, keys []ObjectKey) ([]ObjectLog, error) {
	data, err := parseData(root)
	if err != nil {
		return nil, err
	}
	got := make(map[ObjectKey]string)
	for _, l := range arr(data.Get("script_execute_object_task_logs")) {
		if !l.IsObject() {
			continue
		}
		k := parseExecuteObject(l.Get("execute_object")).Key()
		got[k] += str(l.Get("log_content"))
	}
	out := make([]ObjectLog, len(keys))
	for i, k := range keys {
		c, ok := got[k]
		out[i] = ObjectLog{Key: k, Content: c, Present: ok}
	}
	return out, nil
}

// parseList reads a get_job_instance_list answer: the page and the total count.
func parseList(root gjson.Result) ([]JobSummary, int, error) {
	data, err := parseData(root)
	if err != nil {
		return nil, 0, err
	}
	var out []JobSummary
	for _, j := range arr(data.Get("data")) {
		if !j.IsObject() {
			continue
		}
		// JOB's code (EsbTaskInstanceV3DTO) names the fields job_instance_id/status/type; its API doc
		// says id/task_status/task_type. Accept both.
		out = append(out, JobSummary{
			ID:         firstInt(j, "job_instance_id", "id"),
			Name:       str(j.Get("name")),
			Operator:   str(j.Get("operator")),
			Status:     clampInt(firstInt(j, "status", "task_status")),
			CreateTime: int64Of(j.Get("create_time")),
			Type:       clampInt(firstInt(j, "type", "task_type")),
			LaunchMode: clampInt(int64Of(j.Get("launch_mode"))),
		})
	}
	total, ok := intOf(data.Get("total"))
	if !ok {
		total = int64(len(out))
	}
	return out, clampInt(max(total, 0)), nil
}

// arr returns the elements of a JSON array, or nil for anything else (null, absent, object, scalar).
func arr(r gjson.Result) []gjson.Result {
	if !r.IsArray() {
		return nil
	}
	return r.Array()
}

// str returns a JSON string, or the literal text of a number or boolean; "" for null, absent,
// objects and arrays.
func str(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return r.Str
	case gjson.Number, gjson.True, gjson.False:
		return r.Raw
	}
	return ""
}

// intOf returns an integer from a JSON number or a string of digits; ok is false for null, absent
// and anything else.
func intOf(r gjson.Result) (int64, bool) {
	switch r.Type {
	case gjson.Number:
		if math.IsNaN(r.Num) || math.IsInf(r.Num, 0) {
			return 0, false
		}
		if r.Num >= math.MaxInt64 || r.Num <= math.MinInt64 {
			if n, err := strconv.ParseInt(r.Raw, 10, 64); err == nil {
				return n, true
			}
			return 0, false
		}
		return r.Int(), true
	case gjson.String:
		n, err := strconv.ParseInt(strings.TrimSpace(r.Str), 10, 64)
		if err != nil {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// firstInt returns the first of keys that holds an integer, or 0.
func firstInt(obj gjson.Result, keys ...string) int64 {
	for _, k := range keys {
		if n, ok := intOf(obj.Get(k)); ok {
			return n
		}
	}
	return 0
}

// int64Of is intOf without the flag (0 when not an integer).
func int64Of(r gjson.Result) int64 {
	n, _ := intOf(r)
	return n
}

// optInt64 returns a pointer for a present integer, nil for null, absent or non-numeric values.
func optInt64(r gjson.Result) *int64 {
	n, ok := intOf(r)
	if !ok {
		return nil
	}
	return &n
}

// optInt is optInt64 for int fields.
func optInt(r gjson.Result) *int {
	n, ok := intOf(r)
	if !ok {
		return nil
	}
	v := clampInt(n)
	return &v
}

// boolOf reads a JSON boolean (or "true"/"false"); ok is false otherwise.
func boolOf(r gjson.Result) (bool, bool) {
	switch r.Type {
	case gjson.True:
		return true, true
	case gjson.False:
		return false, true
	case gjson.String:
		if b, err := strconv.ParseBool(strings.TrimSpace(r.Str)); err == nil {
			return b, true
		}
	}
	return false, false
}
