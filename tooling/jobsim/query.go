package jobsim

import (
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type hostJSON struct {
	HostID    *int64  `json:"bk_host_id"`
	CloudID   *int64  `json:"bk_cloud_id"`
	CloudName *string `json:"bk_cloud_name"`
	IP        *string `json:"ip"`
	IPv6      *string `json:"ipv6"`
	AgentID   *string `json:"bk_agent_id"`
	Alive     *int    `json:"alive"`
}

type containerJSON struct {
	ID          int64  `json:"id,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	NodeHostID  int64  `json:"node_host_id,omitempty"`
	Name        string `json:"name,omitempty"`
}

type execObjectJSON struct {
	Type       int            `json:"type"`
	ResourceID string         `json:"resource_id"`
	Container  *containerJSON `json:"container,omitempty"`
	Host       *hostJSON      `json:"host,omitempty"`
}

type resultJSON struct {
	ExecuteObject execObjectJSON `json:"execute_object"`
	Status        int            `json:"status"`
	Tag           *string        `json:"tag"`
	ExitCode      *int           `json:"exit_code"`
	ErrorCode     *int           `json:"error_code"`
	StartTime     *int64         `json:"start_time"`
	EndTime       *int64         `json:"end_time"`
	TotalTime     *int64         `json:"total_time"`
}

type stepJSON struct {
	ID           int64        `json:"step_instance_id"`
	Name         string       `json:"name"`
	Status       int          `json:"status"`
	Type         int          `json:"type"`
	ExecuteCount int          `json:"execute_count"`
	StartTime    *int64       `json:"start_time"`
	EndTime      *int64       `json:"end_time"`
	TotalTime    *int64       `json:"total_time"`
	CreateTime   *int64       `json:"create_time"`
	Results      []resultJSON `json:"execute_object_result_list,omitempty"`
}

type jobInstanceJSON struct {
	BizID      *int64 `json:"bk_biz_id"`
	ScopeType  string `json:"bk_scope_type"`
	ScopeID    string `json:"bk_scope_id"`
	ID         int64  `json:"job_instance_id"`
	Status     int    `json:"status"`
	Name       string `json:"name"`
	CreateTime *int64 `json:"create_time"`
	StartTime  *int64 `json:"start_time"`
	EndTime    *int64 `json:"end_time"`
	TotalTime  *int64 `json:"total_time"`
}

type statusJSON struct {
	Finished    bool            `json:"finished"`
	JobInstance jobInstanceJSON `json:"job_instance"`
	Steps       []stepJSON      `json:"step_instance_list"`
}

func ms(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func span(start, end int64) *int64 {
	if start == 0 || end == 0 {
		return nil
	}
	d := end - start
	return &d
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Sim) execObject(tk *task) execObjectJSON {
	t := tk.t
	o := execObjectJSON{Type: int(t.Kind), ResourceID: t.ResourceID}
	if t.Kind == TargetContainer {
		o.Container = &containerJSON{ID: t.ContainerID, ContainerID: t.ContainerUID, NodeHostID: t.HostID, Name: t.Container}
		return o
	}
	id, cloud := t.HostID, t.CloudID
	hj := &hostJSON{HostID: &id, CloudID: &cloud, IP: strPtr(t.IP), IPv6: strPtr(t.IPv6)}
	if h := s.idx.hosts[t.HostID]; h != nil {
		hj.CloudName, hj.AgentID = strPtr(h.CloudName), strPtr(h.AgentID)
	}
	o.Host = hj
	return o
}

// canView applies JOB's view rule: the operator may always view; others need view_history.
func (s *Sim) canView(j *job, user string) bool {
	return !s.opts.EnforceViewPermission || user == j.operator || slices.Contains(s.opts.ViewHistoryUsers, user)
}

func viewDenied(user string, j *job) *apiError {
	e := jobErr(CodePermissionDenied, user)
	e.permission = iamBlock("view_history", "查看执行历史", "biz", "业务",
		[][]map[string]string{{{"id": j.scope.ID, "type": "biz", "type_name": "业务"}}})
	return e
}

// positiveID reads a Long id that must be ≥ 1 (NotNull + Min(1)).
func positiveID(o *obj, key, msgKey string) (int64, *apiError) {
	v, err := o.i64(key)
	if err != nil {
		return 0, badRequest()
	}
	if v == nil || *v < 1 {
		return 0, validationErr(msgKey)
	}
	return *v, nil
}

func (s *Sim) findJob(sc scope, id int64) *job {
	j := s.jobs[id]
	if j == nil || j.scope.Type != sc.Type || j.scope.ID != sc.ID {
		return nil
	}
	return j
}

func (s *Sim) handleStatus(rc *reqCtx) (any, *apiError) {
	o, err := parseObject(rc.body, s.opts.LenientTypes)
	if err != nil {
		return nil, badRequest()
	}
	include, err := o.boolean("include_execute_object_task_result")
	if err != nil {
		return nil, badRequest()
	}
	if _, err := o.i64("job_instance_id"); err != nil {
		return nil, badRequest()
	}
	sc, aerr := s.checkScope(o)
	if aerr != nil {
		return nil, aerr
	}
	id, aerr := positiveID(o, "job_instance_id", "InvalidJobInstanceId")
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.findJob(sc, id)
	if j == nil {
		return nil, jobErr(CodeTaskNotExist)
	}
	if !s.canView(j, rc.user) {
		return nil, viewDenied(rc.user, j)
	}
	out := s.statusOf(j, include)
	if r := j.lastRetry; r != nil && time.Duration(nowMillis()-r.at)*time.Millisecond < s.opts.RetryLag {
		out = r.status
		out.Steps = append([]stepJSON(nil), out.Steps...)
		if !include {
			out.Steps[0].Results = nil
		}
		return out, nil
	}
	if s.opts.StatusLag > 0 && out.Finished && time.Duration(nowMillis()-j.ended)*time.Millisecond < s.opts.StatusLag {
		out.Finished = false
		out.JobInstance.Status, out.JobInstance.EndTime, out.JobInstance.TotalTime = StatusRunning, nil, nil
		out.Steps[0].Status, out.Steps[0].EndTime, out.Steps[0].TotalTime = StatusRunning, nil, nil
	}
	return out, nil
}

func (s *Sim) statusOf(j *job, include bool) statusJSON {
	out := statusJSON{
		Finished: IsFinished(j.status),
		JobInstance: jobInstanceJSON{
			ScopeType: j.scope.Type, ScopeID: j.scope.ID, ID: j.id, Status: j.status, Name: j.name,
			CreateTime: ms(j.created), StartTime: ms(j.started), EndTime: ms(j.ended), TotalTime: span(j.started, j.ended),
		},
	}
	st := stepJSON{
		ID: j.stepID, Name: j.name, Status: j.stepStatus, Type: 1, ExecuteCount: j.executeCount,
		StartTime: ms(j.started), EndTime: ms(j.ended), TotalTime: span(j.started, j.ended), CreateTime: ms(j.created),
	}
	if include && j.status != StatusBlank {
		st.Results = make([]resultJSON, 0, len(j.tasks))
		for _, tk := range j.tasks {
			ec := tk.errorCode
			r := resultJSON{
				ExecuteObject: s.execObject(tk), Status: tk.status, Tag: tk.tag, ExitCode: tk.exitCode, ErrorCode: &ec,
				StartTime: ms(tk.start), EndTime: ms(tk.end), TotalTime: span(tk.start, tk.end),
			}
			st.Results = append(st.Results, r)
		}
	}
	out.Steps = []stepJSON{st}
	return out
}

type logEntryJSON struct {
	ExecuteObject execObjectJSON `json:"execute_object"`
	LogContent    string         `json:"log_content"`
}

type logsJSON struct {
	JobInstanceID  int64          `json:"job_instance_id"`
	StepInstanceID int64          `json:"step_instance_id"`
	LogType        int            `json:"log_type"`
	ScriptLogs     []logEntryJSON `json:"script_execute_object_task_logs"`
	FileLogs       []any          `json:"file_execute_object_task_logs"`
}

func (s *Sim) handleLogs(rc *reqCtx) (any, *apiError) {
	o, err := parseObject(rc.body, s.opts.LenientTypes)
	if err != nil {
		return nil, badRequest()
	}
	present := o.has("execute_object_list")
	objs, err := o.objList("execute_object_list")
	if err != nil {
		return nil, badRequest()
	}
	keys := make([]objKey, 0, len(objs))
	var internal bool
	for _, eo := range objs {
		if eo == nil {
			internal = true
			continue
		}
		typ, err1 := eo.i32("type")
		rid, err2 := eo.str("resource_id")
		if errors.Join(err1, err2) != nil {
			return nil, badRequest()
		}
		if typ == nil || rid == nil {
			internal = true
			continue
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(*rid), 10, 64); err != nil {
			internal = true
			continue
		}
		keys = append(keys, objKey{*typ, strings.TrimSpace(*rid)})
	}
	if _, err := o.i64("job_instance_id"); err != nil {
		return nil, badRequest()
	}
	if _, err := o.i64("step_instance_id"); err != nil {
		return nil, badRequest()
	}
	sc, aerr := s.checkScope(o)
	if aerr != nil {
		return nil, aerr
	}
	jobID, aerr := positiveID(o, "job_instance_id", "InvalidJobInstanceId")
	if aerr != nil {
		return nil, aerr
	}
	stepID, aerr := positiveID(o, "step_instance_id", "InvalidStepInstanceId")
	if aerr != nil {
		return nil, aerr
	}
	if present && (len(objs) < 1 || len(objs) > 500) {
		return nil, validationErr("QueryObjectsRange")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.findJob(sc, jobID)
	if j == nil {
		return nil, jobErr(CodeTaskNotExist)
	}
	if !s.canView(j, rc.user) {
		return nil, viewDenied(rc.user, j)
	}
	if j.stepID != stepID {
		return nil, jobErr(CodeTaskNotExist)
	}
	if !present || internal {
		return nil, internalErr()
	}
	out := logsJSON{JobInstanceID: j.id, StepInstanceID: j.stepID, LogType: 1}
	done := map[objKey]bool{}
	for _, k := range keys {
		tk := j.byKey[k]
		if tk == nil || done[k] || tk.log == nil {
			continue
		}
		done[k] = true
		out.ScriptLogs = append(out.ScriptLogs, logEntryJSON{ExecuteObject: s.execObject(tk), LogContent: tk.log.content()})
	}
	return out, nil
}

func (s *Sim) handleOperateJob(rc *reqCtx) (any, *apiError) {
	o, err := parseObject(rc.body, s.opts.LenientTypes)
	if err != nil {
		return nil, badRequest()
	}
	id, err1 := o.i64("job_instance_id")
	code, err2 := o.i32("operation_code")
	if errors.Join(err1, err2) != nil {
		return nil, badRequest()
	}
	sc, aerr := s.checkScope(o)
	if aerr != nil {
		return nil, aerr
	}
	if id == nil || *id <= 0 || code == nil || (*code != 1 && *code != 2) {
		return nil, jobErr(CodeIllegalParam)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.findJob(sc, *id)
	if j == nil {
		return nil, jobErr(CodeTaskNotExist)
	}
	switch *code {
	case 1:
		if aerr := s.stop(j, StatusStopSuccess); aerr != nil {
			return nil, aerr
		}
	case 2:
		// Start is only for jobs created with start_task=false, which this endpoint never creates.
		return nil, jobErr(CodeUnsupportedOp)
	}
	return map[string]any{"job_instance_id": j.id, "job_instance_name": nil, "step_instance_id": nil}, nil
}

func (s *Sim) handleOperateStep(rc *reqCtx) (any, *apiError) {
	o, err := parseObject(rc.body, s.opts.LenientTypes)
	if err != nil {
		return nil, badRequest()
	}
	id, err1 := o.i64("job_instance_id")
	stepID, err2 := o.i64("step_instance_id")
	code, err3 := o.i32("operation_code")
	if errors.Join(err1, err2, err3) != nil {
		return nil, badRequest()
	}
	sc, aerr := s.checkScope(o)
	if aerr != nil {
		return nil, aerr
	}
	valid := map[int64]bool{2: true, 3: true, 6: true, 8: true, 9: true, 10: true, 11: true, 12: true, 13: true}
	if id == nil || *id <= 0 || stepID == nil || *stepID <= 0 || code == nil || !valid[*code] {
		return nil, jobErr(CodeIllegalParam)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.findJob(sc, *id)
	if j == nil {
		return nil, jobErr(CodeTaskNotExist)
	}
	if j.stepID != *stepID {
		return nil, jobErr(CodeStepNotExist)
	}
	switch *code {
	case 13:
		aerr = s.continueRolling(j)
	case 2:
		aerr = s.retry(j, false)
	case 8:
		aerr = s.retry(j, true)
	case 3:
		aerr = s.ignoreError(j)
	default:
		// Manual-confirm, next-step and skip operations need steps this endpoint never creates.
		aerr = jobErr(CodeUnsupportedOp)
	}
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"job_instance_id": j.id, "job_instance_name": nil, "step_instance_id": j.stepID}, nil
}

type listItemJSON struct {
	BizID      *int64 `json:"bk_biz_id"`
	ScopeType  string `json:"bk_scope_type"`
	ScopeID    string `json:"bk_scope_id"`
	ID         int64  `json:"job_instance_id"`
	PlanID     int64  `json:"job_plan_id"`
	TemplateID int64  `json:"job_template_id"`
	Name       string `json:"name"`
	Operator   string `json:"operator"`
	LaunchMode int    `json:"launch_mode"`
	Status     int    `json:"status"`
	StartTime  *int64 `json:"start_time"`
	EndTime    *int64 `json:"end_time"`
	TotalTime  *int64 `json:"total_time"`
	CreateTime int64  `json:"create_time"`
	Type       int    `json:"type"`
}

type pageJSON struct {
	Start  int            `json:"start"`
	Length int            `json:"length"`
	Total  int64          `json:"total"`
	Data   []listItemJSON `json:"data"`
}

// likeMatch is MySQL's case-insensitive LIKE '%pattern%' (with % and _ wildcards, \ escaping).
func likeMatch(name, pattern string) bool {
	p := []rune(strings.ToLower(pattern))
	n := []rune(strings.ToLower(name))
	var match func(pi, ni int) bool
	memo := map[[2]int]bool{}
	match = func(pi, ni int) bool {
		k := [2]int{pi, ni}
		if v, ok := memo[k]; ok {
			return v
		}
		var res bool
		switch {
		case pi == len(p):
			res = ni == len(n)
		case p[pi] == '%':
			res = match(pi+1, ni) || (ni < len(n) && match(pi, ni+1))
		case p[pi] == '\\' && pi+1 < len(p):
			res = ni < len(n) && n[ni] == p[pi+1] && match(pi+2, ni+1)
		case p[pi] == '_':
			res = ni < len(n) && match(pi+1, ni+1)
		default:
			res = ni < len(n) && n[ni] == p[pi] && match(pi+1, ni+1)
		}
		memo[k] = res
		return res
	}
	return match(0, 0)
}

func (s *Sim) handleList(rc *reqCtx) (any, *apiError) {
	q := rc.r.URL.Query()
	num := func(key string) (*int64, bool) {
		v := strings.TrimSpace(q.Get(key))
		if v == "" {
			return nil, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false
		}
		return &n, true
	}
	vals := map[string]*int64{}
	for _, k := range []string{"create_time_start", "create_time_end", "job_instance_id", "job_cron_id", "launch_mode", "type", "status", "start", "length", "bk_biz_id"} {
		v, ok := num(k)
		if !ok {
			return nil, badRequest()
		}
		vals[k] = v
	}
	st, sid := q.Get("bk_scope_type"), q.Get("bk_scope_id")
	sc, aerr := s.scopeOf(&st, &sid)
	if aerr != nil {
		return nil, aerr
	}
	from, to := vals["create_time_start"], vals["create_time_end"]
	switch {
	case from == nil || *from < 1:
		return nil, jobErr(CodeMissingOrIllegalArg, "create_time_start")
	case to == nil || *to < 1:
		return nil, jobErr(CodeMissingOrIllegalArg, "create_time_end")
	case *to-*from <= 0:
		return nil, jobErr(CodeMissingOrIllegalArg, "create_time_start|create_time_end")
	case *to-*from > 30*24*3600*1000:
		return nil, jobErr(CodeIllegalParam)
	}
	if t := vals["type"]; t != nil && (*t < 0 || *t > 2) {
		return nil, jobErr(CodeIllegalParam)
	}
	start, length := 0, 20
	if v := vals["start"]; v != nil && *v > 0 {
		if s.opts.ListMaxStart >= 0 && *v > int64(s.opts.ListMaxStart) {
			return nil, jobErr(CodeIllegalParamReason, "start", "The value of start cannot exceed "+strconv.Itoa(s.opts.ListMaxStart))
		}
		start = int(*v)
	}
	if v := vals["length"]; v != nil && *v > 0 {
		length = int(min(*v, 1000))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*job
	for _, j := range s.jobList {
		if j.scope.Type != sc.Type || j.scope.ID != sc.ID {
			continue
		}
		if id := vals["job_instance_id"]; id != nil && *id > 0 {
			if j.id == *id {
				matched = append(matched, j)
			}
			continue
		}
		if j.created < *from || j.created > *to {
			continue
		}
		if op := q.Get("operator"); strings.TrimSpace(op) != "" && j.operator != op {
			continue
		}
		if name := q.Get("name"); strings.TrimSpace(name) != "" && !likeMatch(j.name, "%"+name+"%") {
			continue
		}
		if v := vals["status"]; v != nil && int(*v) != j.status {
			continue
		}
		if v := vals["launch_mode"]; v != nil && *v != 2 {
			continue
		}
		if v := vals["type"]; v != nil && *v != 1 {
			continue
		}
		if v := vals["job_cron_id"]; v != nil && *v > 0 {
			continue
		}
		if ip := q.Get("ip"); ip != "" && !jobHasIP(j, ip) {
			continue
		}
		matched = append(matched, j)
	}
	sort.SliceStable(matched, func(a, b int) bool {
		if matched[a].created != matched[b].created {
			return matched[a].created > matched[b].created
		}
		return matched[a].id > matched[b].id
	})
	page := pageJSON{Start: start, Length: length, Total: int64(len(matched))}
	for i := start; i < len(matched) && i < start+length; i++ {
		j := matched[i]
		page.Data = append(page.Data, listItemJSON{
			ScopeType: j.scope.Type, ScopeID: j.scope.ID, ID: j.id, PlanID: -1, TemplateID: -1, Name: j.name,
			Operator: j.operator, LaunchMode: 2, Status: j.status, StartTime: ms(j.started), EndTime: ms(j.ended),
			TotalTime: span(j.started, j.ended), CreateTime: j.created, Type: 1,
		})
	}
	return page, nil
}

func jobHasIP(j *job, ip string) bool {
	for _, tk := range j.tasks {
		if tk.t.Kind == TargetHost && tk.t.IP == ip {
			return true
		}
	}
	return false
}
