package jobsim

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"jobfastexecutescript/internal/labelsel"
	"jobfastexecutescript/internal/rolling"
)

type hostReq struct {
	null    bool
	hostID  *int64
	cloudID *int64
	ip      *string
}

type topoReq struct {
	null     bool
	id       *int64
	nodeType *string
}

type labelReq struct {
	null   bool
	key    *string
	op     *string
	values []string
	hasVal bool
}

type listFilter struct {
	present bool
	names   []string
}

type kubeReq struct {
	null      bool
	cluster   listFilter
	ns        listFilter
	workload  listFilter
	kind      *string
	pod       bool
	podNames  []string
	labels    []labelReq
	expr      *string
	exprReqs  []labelsel.Requirement
	container listFilter
	empty     bool
	anyOne    bool
}

type targetReq struct {
	hosts     []hostReq
	groups    []*string
	groupNull []bool
	topo      []topoReq
	kube      []kubeReq
}

type rollingReq struct {
	typ, mode, execMode         *int64
	expr                        *string
	waitFixed, waitMin, waitMax *int64
	fileSource                  bool
}

type submitReq struct {
	scopeType, scopeID                                *string
	taskName, content, alias, param, winInterp, scrID *string
	accountID, versionID, language, timeout           *int64
	sensitive                                         bool
	target                                            *targetReq
	callback                                          bool
	callbackURL                                       *string
	rolling                                           *rollingReq
}

// decodeSubmit binds the request body as Jackson would bind EsbBkCIPluginFastExecuteScriptRequest.
func decodeSubmit(o *obj) (*submitReq, error) {
	r := &submitReq{}
	var errs []error
	str := func(dst **string, key string) {
		v, err := o.str(key)
		errs = append(errs, err)
		*dst = v
	}
	str(&r.scopeType, "bk_scope_type")
	str(&r.scopeID, "bk_scope_id")
	str(&r.taskName, "task_name")
	str(&r.content, "script_content")
	str(&r.alias, "account_alias")
	str(&r.param, "script_param")
	str(&r.winInterp, "windows_interpreter")
	str(&r.scrID, "script_id")
	var err error
	r.accountID, err = o.i64("account_id")
	errs = append(errs, err)
	r.versionID, err = o.i64("script_version_id")
	errs = append(errs, err)
	r.language, err = o.i32("script_language")
	errs = append(errs, err)
	r.timeout, err = o.i32("timeout")
	errs = append(errs, err)
	r.sensitive, err = o.boolean("is_param_sensitive")
	errs = append(errs, err)
	if _, err := o.i64("bk_biz_id"); err != nil {
		errs = append(errs, err)
	}
	if t, err := o.sub("execute_target"); err != nil {
		errs = append(errs, err)
	} else if t != nil {
		r.target, err = decodeTarget(t)
		errs = append(errs, err)
	}
	if cb, err := o.sub("callback"); err != nil {
		errs = append(errs, err)
	} else if cb != nil {
		r.callback = true
		r.callbackURL, err = cb.str("url")
		errs = append(errs, err)
	}
	if rc, err := o.sub("rolling_config"); err != nil {
		errs = append(errs, err)
	} else if rc != nil {
		rr := &rollingReq{}
		for _, f := range []struct {
			dst **int64
			key string
			fn  func(string) (*int64, error)
		}{
			{&rr.typ, "type", rc.i32}, {&rr.mode, "mode", rc.i32}, {&rr.execMode, "execution_mode", rc.i32},
			{&rr.waitFixed, "batch_start_wait_fixed_ms", rc.i64}, {&rr.waitMin, "batch_start_wait_random_min_ms", rc.i64},
			{&rr.waitMax, "batch_start_wait_random_max_ms", rc.i64},
		} {
			v, err := f.fn(f.key)
			errs = append(errs, err)
			*f.dst = v
		}
		rr.expr, err = rc.str("expression")
		errs = append(errs, err)
		fs, err := rc.sub("file_source")
		errs = append(errs, err)
		rr.fileSource = fs != nil
		r.rolling = rr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errDecode
	}
	return r, nil
}

func decodeTarget(t *obj) (*targetReq, error) {
	tr := &targetReq{}
	hosts, err := t.objList("host_list")
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		if h == nil {
			tr.hosts = append(tr.hosts, hostReq{null: true})
			continue
		}
		var hr hostReq
		var errs []error
		hr.hostID, err = h.i64("bk_host_id")
		errs = append(errs, err)
		hr.cloudID, err = h.i64("bk_cloud_id")
		errs = append(errs, err)
		hr.ip, err = h.str("ip")
		errs = append(errs, err)
		for _, k := range []string{"ipv6", "bk_agent_id", "bk_cloud_name"} {
			_, err = h.str(k)
			errs = append(errs, err)
		}
		_, err = h.i32("alive")
		errs = append(errs, err)
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		tr.hosts = append(tr.hosts, hr)
	}
	groups, err := t.objList("host_dynamic_group_list")
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if g == nil {
			tr.groups = append(tr.groups, nil)
			tr.groupNull = append(tr.groupNull, true)
			continue
		}
		id, err := g.str("id")
		if err != nil {
			return nil, err
		}
		tr.groups = append(tr.groups, id)
		tr.groupNull = append(tr.groupNull, false)
	}
	nodes, err := t.objList("host_topo_node_list")
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n == nil {
			tr.topo = append(tr.topo, topoReq{null: true})
			continue
		}
		id, err1 := n.i64("id")
		typ, err2 := n.str("node_type")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		tr.topo = append(tr.topo, topoReq{id: id, nodeType: typ})
	}
	filters, err := t.objList("kube_container_filters")
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		if f == nil {
			tr.kube = append(tr.kube, kubeReq{null: true})
			continue
		}
		k, err := decodeKube(f)
		if err != nil {
			return nil, err
		}
		tr.kube = append(tr.kube, k)
	}
	return tr, nil
}

func decodeListFilter(f *obj, key, listKey string) (listFilter, *obj, error) {
	sub, err := f.sub(key)
	if err != nil || sub == nil {
		return listFilter{}, nil, err
	}
	names, _, err := sub.strList(listKey)
	return listFilter{present: true, names: names}, sub, err
}

func decodeKube(f *obj) (kubeReq, error) {
	var k kubeReq
	var errs []error
	var err error
	k.cluster, _, err = decodeListFilter(f, "kube_cluster_filter", "cluster_uid_list")
	errs = append(errs, err)
	k.ns, _, err = decodeListFilter(f, "kube_namespace_filter", "namespace_name_list")
	errs = append(errs, err)
	var wl *obj
	k.workload, wl, err = decodeListFilter(f, "kube_workload_filter", "workload_name_list")
	errs = append(errs, err)
	if wl != nil {
		k.kind, err = wl.str("kind")
		errs = append(errs, err)
	}
	k.container, _, err = decodeListFilter(f, "kube_container_prop_filter", "container_name_list")
	errs = append(errs, err)
	k.empty, err = f.boolean("is_empty_filter")
	errs = append(errs, err)
	k.anyOne, err = f.boolean("fetch_any_one_container")
	errs = append(errs, err)
	pod, err := f.sub("kube_pod_filter")
	errs = append(errs, err)
	if pod != nil {
		k.pod = true
		k.podNames, _, err = pod.strList("pod_name_list")
		errs = append(errs, err)
		k.expr, err = pod.str("label_selector_expr")
		errs = append(errs, err)
		labels, err := pod.objList("label_selector")
		errs = append(errs, err)
		for _, l := range labels {
			if l == nil {
				k.labels = append(k.labels, labelReq{null: true})
				continue
			}
			var lr labelReq
			lr.key, err = l.str("key")
			errs = append(errs, err)
			lr.op, err = l.str("operator")
			errs = append(errs, err)
			if lr.op != nil && !labelsel.Operator(*lr.op).Valid() {
				errs = append(errs, errDecode)
			}
			lr.values, lr.hasVal, err = l.strList("values")
			errs = append(errs, err)
			k.labels = append(k.labels, lr)
		}
	}
	return k, errors.Join(errs...)
}

func blank(p *string) bool { return p == nil || strings.TrimSpace(*p) == "" }

// checkScope validates bk_scope_type/bk_scope_id (EsbAppScopeReq) and finds the scope.
func (s *Sim) checkScope(o *obj) (scope, *apiError) {
	st, err1 := o.str("bk_scope_type")
	sid, err2 := o.str("bk_scope_id")
	if errors.Join(err1, err2) != nil {
		return scope{}, badRequest()
	}
	return s.scopeOf(st, sid)
}

func (s *Sim) scopeOf(st, sid *string) (scope, *apiError) {
	switch {
	case blank(st):
		return scope{}, validationErr("EmptyScopeType")
	case *st != "biz" && *st != "biz_set":
		return scope{}, validationErr("InvalidValueScopeType")
	case blank(sid):
		return scope{}, validationErr("EmptyScopeId")
	}
	sc, ok := s.idx.scope(*st, strings.TrimSpace(*sid))
	if !ok {
		return scope{}, jobErr(CodeAppNotExist)
	}
	return sc, nil
}

var ipv4Re = regexp.MustCompile(`^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$`)

// validIP mirrors JOB's host IP pattern: each octet is one or two digits (leading zeros allowed) or
// 100–255.
func validIP(ip string) bool {
	if !ipv4Re.MatchString(ip) {
		return false
	}
	for _, oc := range strings.Split(ip, ".") {
		if len(oc) == 3 {
			n, _ := strconv.Atoi(oc)
			if n < 100 || n > 255 {
				return false
			}
		}
	}
	return true
}

// calcOriginBytesLength is JOB's estimate of a base64 string's decoded size.
func calcOriginBytesLength(enc string) int {
	if enc == "" {
		return 0
	}
	fill := 0
	for i := 0; i <= 1 && len(enc)-1-i >= 0; i++ {
		if enc[len(enc)-1-i] != '=' {
			break
		}
		fill++
	}
	return len(enc)*3/4 - fill
}

// lenientBase64 decodes like Apache commons-codec Base64.decodeBase64: characters outside the standard
// and URL-safe alphabets are skipped, decoding stops at '=', and leftover bits are dropped.
func lenientBase64(s string) []byte {
	out := make([]byte, 0, len(s)*3/4)
	var acc uint32
	bits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c >= 'A' && c <= 'Z':
			v = c - 'A'
		case c >= 'a' && c <= 'z':
			v = c - 'a' + 26
		case c >= '0' && c <= '9':
			v = c - '0' + 52
		case c == '+' || c == '-':
			v = 62
		case c == '/' || c == '_':
			v = 63
		case c == '=':
			return out
		default:
			continue
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>uint(bits)))
			acc &= 1<<uint(bits) - 1
		}
	}
	return out
}

// decodeText is Base64Util.decodeContentToStr: nil for empty input, invalid UTF-8 replaced.
func decodeText(p *string) *string {
	if p == nil || *p == "" {
		return nil
	}
	t := strings.ToValidUTF8(string(lenientBase64(*p)), "\uFFFD")
	return &t
}

// validate applies the request's bean validation; the first violation wins.
func (s *Sim) validateSubmit(r *submitReq) *apiError {
	if r.taskName != nil && len(utf16.Encode([]rune(*r.taskName))) > 512 {
		return validationErr("TaskName_outOfLength")
	}
	if r.content != nil && calcOriginBytesLength(*r.content) > 16777215 {
		return validationErr("ContentTooLong")
	}
	if r.accountID == nil && r.alias == nil {
		return validationErr("AccountId_empty")
	}
	if r.versionID == nil && r.scrID == nil && r.content != nil && r.language != nil && (*r.language < 1 || *r.language > 6) {
		return validationErr("ScriptType_illegal")
	}
	if r.param != nil && calcOriginBytesLength(*r.param) > 65535 {
		return validationErr("ParamTooLong")
	}
	if !blank(r.winInterp) && !strings.HasSuffix(strings.TrimSpace(*r.winInterp), ".exe") {
		return validationErr("WinInterpSuffix")
	}
	if r.winInterp != nil && len(utf16.Encode([]rune(*r.winInterp))) > 260 { // MaxLength: Java length, untrimmed
		return validationErr("WinInterpLength")
	}
	if r.timeout != nil {
		if *r.timeout < 1 {
			return validationErr("InvalidJobTimeout_min")
		}
		if *r.timeout > int64(s.opts.MaxTimeout) {
			return validationErr("InvalidJobTimeout_range", strconv.Itoa(s.opts.MaxTimeout))
		}
	}
	if t := r.target; t != nil {
		if len(t.hosts) == 0 && len(t.groups) == 0 && len(t.topo) == 0 && len(t.kube) == 0 {
			return validationErr("ExecuteTarget_empty")
		}
		for _, h := range t.hosts {
			switch {
			case h.null:
			case h.hostID != nil:
				if *h.hostID < 1 {
					return validationErr("BkHostId_invalid")
				}
			case h.cloudID != nil || h.ip != nil:
				if h.cloudID == nil || *h.cloudID < 0 {
					return validationErr("InvalidBkCloudId")
				}
				if h.ip == nil || !validIP(*h.ip) {
					return validationErr("InvalidIp")
				}
			default:
				return validationErr("BkHostId_null")
			}
		}
		for i, g := range t.groups {
			if !t.groupNull[i] && g == nil {
				return validationErr("EmptyDynamicGroupId")
			}
		}
		for _, n := range t.topo {
			if n.null {
				continue
			}
			if n.id == nil {
				return validationErr("TopoNodeId_null")
			}
			if n.nodeType == nil {
				return validationErr("TopoNodeType_null")
			}
		}
		for _, k := range t.kube {
			if !k.null && !k.empty && !k.cluster.present && !k.ns.present && !k.workload.present && !k.pod && !k.container.present {
				return validationErr("KubeFilterEmpty")
			}
		}
	}
	if r.callback && !blank(r.callbackURL) && !validCallbackURL(*r.callbackURL) {
		return validationErr("ValidCallbackUrl")
	}
	if rr := r.rolling; rr != nil {
		if rr.typ != nil && *rr.typ != 1 && *rr.typ != 2 {
			return validationErr("RollingType_illegal")
		}
		if rr.mode != nil && (*rr.mode < 1 || *rr.mode > 3) {
			return validationErr("RollingMode_illegal")
		}
		if rr.execMode != nil && *rr.execMode != 1 && *rr.execMode != 2 {
			return validationErr("RollingExecMode_illegal")
		}
		if rr.execMode != nil && *rr.execMode == 2 { // the Parallel validation group
			for _, w := range []*int64{rr.waitFixed, rr.waitMin, rr.waitMax} {
				if w == nil {
					return validationErr("RollingWait_null")
				}
				if *w < 0 || *w > 3600000 {
					return validationErr("RollingWait_range")
				}
			}
		}
		if (rr.typ == nil || *rr.typ == 1) && blank(rr.expr) {
			return validationErr("RollingExpr_blank")
		}
	}
	return nil
}

var statusNames = map[string][2]string{
	ScriptDraft: {"Draft", "未上线"}, ScriptDisabled: {"Disabled", "已禁用"},
}

func (s *Sim) handleSubmit(rc *reqCtx) (any, *apiError) {
	o, err := parseObject(rc.body, s.opts.LenientTypes)
	if err != nil {
		return nil, badRequest()
	}
	r, err := decodeSubmit(o)
	if err != nil {
		return nil, badRequest()
	}
	sc, aerr := s.scopeOf(r.scopeType, r.scopeID)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.validateSubmit(r); aerr != nil {
		return nil, aerr
	}
	name := "快速执行脚本_" + time.Now().Format("20060102150405.000")
	if rc.en {
		name = "fast_execute_script_" + time.Now().Format("20060102150405.000")
	}
	name = strings.Replace(name, ".", "", 1)
	if !blank(r.taskName) {
		name = *r.taskName
	}
	// buildFastScriptStepInstance: script content, parameter, label selector expressions.
	spec := scriptSpec{sensitive: r.sensitive}
	customContent := (r.versionID == nil || *r.versionID <= 0) && blank(r.scrID) && !blank(r.content)
	if customContent {
		if r.language == nil {
			return nil, internalErr()
		}
		c := decodeText(r.content)
		if c != nil {
			spec.content = *c
		}
		spec.language = int(*r.language)
	}
	if p := decodeText(r.param); p != nil && strings.TrimSpace(*p) != "" {
		spec.param = strings.ReplaceAll(*p, "\n", " ")
	}
	if r.target != nil {
		for i := range r.target.kube {
			k := &r.target.kube[i]
			if k.null || len(k.labels) > 0 || blank(k.expr) {
				continue
			}
			reqs, err := labelsel.ParseExpr(*k.expr)
			if err != nil {
				var le *labelsel.Error
				if errors.As(err, &le) && le.Internal {
					return nil, internalErr()
				}
				return nil, jobErr(CodeInvalidLabel)
			}
			k.exprReqs = reqs
		}
	}
	// executeFastTask: rolling config checks, then the script.
	staggered := r.rolling != nil && r.rolling.execMode != nil && *r.rolling.execMode == 2
	if staggered && (*r.rolling.waitMax < *r.rolling.waitMin || (r.rolling.typ != nil && *r.rolling.typ == 2)) {
		return nil, jobErr(CodeIllegalWithReason, "rolling_config") // validateScatterConfig
	}
	if r.rolling != nil && r.rolling.typ != nil && *r.rolling.typ == 2 {
		return nil, jobErr(CodeNotSupported)
	}
	switch {
	case r.versionID != nil && *r.versionID > 0:
		ref, ok := s.idx.versions[*r.versionID]
		if !ok || !sc.ownsScript(ref.script) {
			return nil, jobErr(CodeScriptNotExist)
		}
		if aerr := scriptExecutable(ref.version, rc.en); aerr != nil {
			return nil, aerr
		}
		spec.content, spec.language = ref.version.Content, ref.version.Language
	case r.scrID != nil && *r.scrID != "":
		sp, ok := s.idx.scripts[*r.scrID]
		if !ok || !sc.ownsScript(sp) {
			return nil, jobErr(CodeScriptNotExist)
		}
		var online *ScriptVersion
		for i := range sp.Versions {
			if sp.Versions[i].Status == ScriptOnline {
				online = &sp.Versions[i]
			}
		}
		if online == nil {
			return nil, jobErr(CodeScriptNotExist)
		}
		spec.content, spec.language = online.Content, online.Language
	case !customContent:
		return nil, internalErr()
	}
	for _, d := range s.danger {
		if d.re.MatchString(spec.content) {
			return nil, jobErr(CodeDangerousScript)
		}
	}
	// Account.
	switch {
	case r.accountID != nil && *r.accountID > 0:
		a, ok := s.idx.accounts[*r.accountID]
		if !ok {
			return nil, jobErr(CodeAccountNotExist, "ID="+strconv.FormatInt(*r.accountID, 10))
		}
		spec.account = a.Account
	case !blank(r.alias):
		var found *Account
		for i := range s.idx.inv.Accounts {
			a := &s.idx.inv.Accounts[i]
			if a.Alias == *r.alias && sc.ownsAccount(a) {
				found = a
				break
			}
		}
		if found == nil {
			return nil, jobErr(CodeAccountNotExist, *r.alias)
		}
		spec.account = found.Account
	default:
		return nil, jobErr(CodeAccountNotExist)
	}
	// Execute objects.
	tasks, aerr := s.resolveTargets(sc, r.target)
	if aerr != nil {
		return nil, aerr
	}
	if len(tasks) == 0 {
		return nil, jobErr(CodeTargetEmpty, name)
	}
	if len(tasks) > s.opts.MaxTargets {
		return nil, jobErr(CodeTooManyTargets, strconv.Itoa(s.opts.MaxTargets))
	}
	if slices.Contains(s.opts.DeniedUsers, rc.user) {
		e := jobErr(CodePermissionDenied, rc.user)
		e.permission = permissionBlock(tasks)
		return nil, e
	}
	timeout := 7200
	if r.timeout != nil {
		timeout = int(*r.timeout)
	}
	j := &job{
		name: name, scope: sc, operator: rc.user, appCode: rc.app, script: spec,
		timeout: time.Duration(timeout) * time.Second, tasks: tasks, mode: 1,
	}
	if r.callback && !blank(r.callbackURL) {
		j.callbackURL = *r.callbackURL
	}
	all := make([]int, len(tasks))
	for i := range all {
		all[i] = i
	}
	j.batches = [][]int{all}
	var rollErr *apiError
	if r.rolling != nil {
		j.rolling, j.expr = true, *r.rolling.expr
		if r.rolling.mode != nil {
			j.mode = int(*r.rolling.mode)
		}
		j.batches, rollErr = rollingBatches(j.expr, len(tasks))
		if staggered && rollErr == nil {
			if len(j.batches) > maxStaggeredBatches { // validateRollingBatchCountForFastJob: before the rows
				return nil, jobErr(CodeIllegalWithReason, "Rolling batch can not be greater than 200")
			}
			j.staggered = true
			j.waitFixed, j.waitMin, j.waitMax = *r.rolling.waitFixed, *r.rolling.waitMin, *r.rolling.waitMax
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rollErr != nil {
		// JOB saves the job instance before it resolves the rolling batches: the job stays at status 1.
		j.orphan = true
		j.batches = nil
		s.newJob(j)
		return nil, rollErr
	}
	s.newJob(j)
	s.scheduleStart(j)
	return map[string]any{"job_instance_id": j.id, "job_instance_name": j.name, "step_instance_id": j.stepID}, nil
}

func scriptExecutable(v *ScriptVersion, en bool) *apiError {
	if v.Status == ScriptOnline || v.Status == ScriptOffline {
		return nil
	}
	n, ok := statusNames[v.Status]
	if !ok {
		n = [2]string{v.Status, v.Status}
	}
	if en {
		return jobErr(CodeScriptNotExecutable, n[0])
	}
	return jobErr(CodeScriptNotExecutable, n[1])
}

// rollingBatches resolves the batches as RollingBatchExecuteObjectsResolver does.
func rollingBatches(expr string, total int) ([][]int, *apiError) {
	e, err := rolling.ParseServer(expr)
	if err != nil {
		var pe *rolling.ParseError
		if errors.As(err, &pe) && pe.Reason == rolling.ReasonRange && overflowsInt32(pe.Token) {
			return nil, internalErr()
		}
		return nil, jobErr(CodeInvalidRolling)
	}
	sizes, err := e.BatchesServer(total)
	switch {
	case errors.Is(err, rolling.ErrTooManyBatches):
		return nil, jobErr(CodeTooManyBatches, strconv.Itoa(rolling.MaxBatches))
	case err != nil:
		return nil, internalErr()
	}
	out := make([][]int, 0, len(sizes))
	next := 0
	for _, n := range sizes {
		b := make([]int, n)
		for i := range b {
			b[i] = next
			next++
		}
		out = append(out, b)
	}
	return out, nil
}

func overflowsInt32(tok string) bool {
	digits := strings.TrimRight(strings.TrimLeft(tok, "+*"), "%")
	n, err := strconv.ParseInt(digits, 10, 64)
	return err != nil || n > 1<<31-1
}

func hostLabel(h *Host) string {
	switch {
	case h.IP != "":
		return fmt.Sprintf("%d:%s", h.CloudID, h.IP)
	case h.IPv6 != "":
		return fmt.Sprintf("%d:[%s]", h.CloudID, h.IPv6)
	default:
		return fmt.Sprintf("host:%d", h.ID)
	}
}

func hostTask(h *Host) *task {
	return &task{t: Target{
		Kind: TargetHost, ResourceID: strconv.FormatInt(h.ID, 10), Label: hostLabel(h), HostID: h.ID,
		CloudID: h.CloudID, IP: h.IP, IPv6: h.IPv6, AgentDown: h.AgentDown,
	}}
}

func (s *Sim) containerTask(c *containerRef) *task {
	t := Target{
		Kind: TargetContainer, ResourceID: strconv.FormatInt(c.c.ID, 10),
		Label:  fmt.Sprintf("container:%s@%d", c.c.Name, c.c.ID),
		HostID: c.c.NodeHostID, ContainerID: c.c.ID, ContainerUID: c.c.ContainerID, Container: c.c.Name,
		Pod: c.pod.Name, Namespace: c.ns.Name, ClusterUID: c.cluster.UID,
	}
	if h := s.idx.hosts[c.c.NodeHostID]; h != nil {
		t.CloudID, t.IP, t.IPv6, t.AgentDown = h.CloudID, h.IP, h.IPv6, h.AgentDown
	}
	return &task{t: t}
}

func printHost(h *Host, id int64, cloud int64, ip string) string {
	if h != nil {
		if h.IP != "" {
			return "(ip:" + h.IP + ")"
		}
		if h.IPv6 != "" {
			return "(ip:" + h.IPv6 + ")"
		}
		return fmt.Sprintf("(host_id:%d)", h.ID)
	}
	if ip != "" {
		return "(ip:" + ip + ")"
	}
	return fmt.Sprintf("(host_id:%d)", id)
}

// resolveTargets turns execute_target into the job's targets: hosts (static, dynamic groups, topology)
// then containers, deduplicated, with JOB's host checks.
func (s *Sim) resolveTargets(sc scope, t *targetReq) ([]*task, *apiError) {
	if t == nil {
		return nil, nil
	}
	if sc.Type == "biz_set" && len(t.kube) > 0 {
		return nil, jobErr(CodeNotSupported)
	}
	var hosts []*Host
	var notExist, notInApp []string
	seen := map[int64]bool{}
	addHost := func(h *Host) {
		if seen[h.ID] {
			return
		}
		seen[h.ID] = true
		if !sc.hasBiz(h.BizID) {
			notInApp = append(notInApp, printHost(h, 0, 0, ""))
			return
		}
		hosts = append(hosts, h)
	}
	for _, hr := range t.hosts {
		if hr.null {
			return nil, internalErr()
		}
		var h *Host
		if hr.hostID != nil {
			h = s.idx.hosts[*hr.hostID]
			if h == nil {
				notExist = append(notExist, printHost(nil, *hr.hostID, 0, ""))
				continue
			}
		} else {
			h = s.idx.hostsByIP[cloudIPKey(*hr.cloudID, *hr.ip)]
			if h == nil {
				notExist = append(notExist, printHost(nil, 0, *hr.cloudID, *hr.ip))
				continue
			}
		}
		addHost(h)
	}
	for i, g := range t.groups {
		if t.groupNull[i] {
			return nil, internalErr()
		}
		dg := s.idx.groups[*g]
		if dg == nil || !sc.hasBiz(dg.BizID) {
			continue
		}
		for _, id := range dg.HostIDs {
			if h := s.idx.hosts[id]; h != nil {
				addHost(h)
			}
		}
	}
	for _, n := range t.topo {
		if n.null {
			return nil, internalErr()
		}
		for _, id := range s.topoHosts(sc, *n.nodeType, *n.id) {
			if h := s.idx.hosts[id]; h != nil {
				addHost(h)
			}
		}
	}
	if len(notExist) > 0 {
		return nil, jobErr(CodeObjectNotExist, strconv.Itoa(len(notExist)), strings.Join(notExist, ","))
	}
	if len(notInApp) > 0 {
		return nil, jobErr(CodeHostInvalid, s.idx.scopeName(sc), strconv.Itoa(len(notInApp)), strings.Join(notInApp, ","))
	}
	tasks := make([]*task, 0, len(hosts))
	for _, h := range hosts {
		tasks = append(tasks, hostTask(h))
	}
	seenC := map[int64]bool{}
	for _, k := range t.kube {
		if k.null {
			return nil, internalErr()
		}
		cs, aerr := s.resolveKube(sc, k)
		if aerr != nil {
			return nil, aerr
		}
		for _, c := range cs {
			if !seenC[c.c.ID] {
				seenC[c.c.ID] = true
				tasks = append(tasks, s.containerTask(c))
			}
		}
	}
	return tasks, nil
}

func (s *Sim) topoHosts(sc scope, nodeType string, id int64) []int64 {
	switch nodeType {
	case "biz":
		if sc.hasBiz(id) {
			return s.idx.bizHostList[id]
		}
	case "set":
		if st := s.idx.sets[id]; st != nil && sc.hasBiz(st.BizID) {
			var out []int64
			for _, m := range st.ModuleIDs {
				if mod := s.idx.modules[m]; mod != nil {
					out = append(out, mod.HostIDs...)
				}
			}
			return out
		}
	case "module":
		if m := s.idx.modules[id]; m != nil && sc.hasBiz(m.BizID) {
			return m.HostIDs
		}
	}
	return nil
}

// resolveKube applies one container filter as ContainerServiceImpl.listContainerByContainerFilter does.
func (s *Sim) resolveKube(sc scope, k kubeReq) ([]*containerRef, *apiError) {
	var cands []*containerRef
	for _, c := range s.idx.containers {
		if sc.hasBiz(c.cluster.BizID) {
			cands = append(cands, c)
		}
	}
	if k.empty {
		return pickOne(cands, k.anyOne), nil
	}
	clusterOK := func(c *containerRef) bool {
		return !k.cluster.present || len(k.cluster.names) == 0 || slices.Contains(k.cluster.names, c.cluster.UID)
	}
	anyCluster := func() bool {
		for _, c := range cands {
			if clusterOK(c) {
				return true
			}
		}
		return false
	}
	switch {
	case k.workload.present:
		if k.cluster.present && !anyCluster() {
			return nil, nil
		}
		nsNamed := k.ns.present && len(k.ns.names) > 0
		if nsNamed {
			found := false
			for _, c := range cands {
				found = found || slices.Contains(k.ns.names, c.ns.Name)
			}
			if !found {
				return nil, nil
			}
		}
		if blank(k.kind) {
			return nil, internalErr()
		}
		cands = filter(cands, func(c *containerRef) bool {
			return c.workload != nil && c.workload.Kind == *k.kind && clusterOK(c) &&
				(!nsNamed || slices.Contains(k.ns.names, c.ns.Name)) &&
				(len(k.workload.names) == 0 || slices.Contains(k.workload.names, c.workload.Name))
		})
	case k.ns.present:
		if k.cluster.present && !anyCluster() {
			return nil, nil
		}
		cands = filter(cands, func(c *containerRef) bool {
			return clusterOK(c) && (len(k.ns.names) == 0 || slices.Contains(k.ns.names, c.ns.Name))
		})
	case k.cluster.present:
		cands = filter(cands, clusterOK)
	}
	if (k.workload.present || k.ns.present || k.cluster.present) && len(cands) == 0 {
		return nil, nil
	}
	if k.pod {
		if len(k.podNames) > 0 {
			cands = filter(cands, func(c *containerRef) bool { return slices.Contains(k.podNames, c.pod.Name) })
		}
		reqs, usable, aerr := labelRules(k)
		if aerr != nil {
			return nil, aerr
		}
		cands = filter(cands, func(c *containerRef) bool { return usable && labelsMatch(reqs, c.pod.Labels) })
	}
	if k.container.present && len(k.container.names) > 0 {
		cands = filter(cands, func(c *containerRef) bool { return slices.Contains(k.container.names, c.c.Name) })
	}
	return pickOne(cands, k.anyOne), nil
}

// labelRules builds the pod label rules; usable is false when a rule can match no pod (a null key, or
// in/not_in without values: JOB would send CMDB a rule on no field). A null operator, or a one-value
// operator without values, fails in JOB with an internal error (1240002).
func labelRules(k kubeReq) ([]labelsel.Requirement, bool, *apiError) {
	if len(k.labels) == 0 {
		return k.exprReqs, true, nil
	}
	usable := true
	reqs := make([]labelsel.Requirement, 0, len(k.labels))
	for _, l := range k.labels {
		if l.null || l.op == nil {
			return nil, false, internalErr()
		}
		op := labelsel.Operator(*l.op)
		switch op {
		case labelsel.Equals, labelsel.NotEquals, labelsel.Gt, labelsel.Lt:
			if len(l.values) == 0 {
				return nil, false, internalErr()
			}
		case labelsel.In, labelsel.NotIn:
			if !l.hasVal {
				usable = false
			}
		}
		if l.key == nil {
			usable = false
			continue
		}
		vals := l.values
		if op == labelsel.Equals || op == labelsel.NotEquals || op == labelsel.Gt || op == labelsel.Lt {
			vals = vals[:1]
		}
		reqs = append(reqs, labelsel.Requirement{Key: *l.key, Operator: op, Values: vals})
	}
	return reqs, usable, nil
}

func filter(in []*containerRef, keep func(*containerRef) bool) []*containerRef {
	out := in[:0:0]
	for _, c := range in {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// pickOne applies fetch_any_one_container: JOB picks at random; the simulator picks the lowest id so
// tests are deterministic.
func pickOne(cs []*containerRef, one bool) []*containerRef {
	if !one || len(cs) <= 1 {
		return cs
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].c.ID < cs[j].c.ID })
	return cs[:1]
}

type dangerRule struct{ re *regexp.Regexp }

func compileDanger(patterns []string) ([]*dangerRule, error) {
	out := make([]*dangerRule, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("dangerous pattern %q: %w", p, err)
		}
		out = append(out, &dangerRule{re: re})
	}
	return out, nil
}

// permissionBlock is the IAM apply-permission block JOB adds to 9900403.
func permissionBlock(tasks []*task) map[string]any {
	var instances [][]map[string]string
	for i, tk := range tasks {
		if i == 20 {
			break
		}
		instances = append(instances, []map[string]string{{"id": tk.t.ResourceID, "type": "host", "type_name": "主机", "name": tk.t.Label}})
	}
	return iamBlock("quick_execute_script", "快速执行脚本", "host", "主机", instances)
}

// iamBlock is the permission block of a JOB error: one bk_job action on CMDB resources of one type.
func iamBlock(actionID, actionName, resType, resTypeName string, instances [][]map[string]string) map[string]any {
	return map[string]any{
		"system_id": "bk_job", "system_name": "作业平台",
		"actions": []map[string]any{{
			"id": actionID, "name": actionName,
			"related_resource_types": []map[string]any{{
				"system_id": "bk_cmdb", "system_name": "配置平台", "type": resType, "type_name": resTypeName,
				"instances": instances,
			}},
		}},
	}
}
