package jobsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// JOB error codes the simulator produces (docs/JOB.md#errors).
const (
	CodeOK                  = 0
	CodeInternal            = 1240002
	CodeBadRequest          = 1240003
	CodeMissingParam        = 1241001
	CodeIllegalParam        = 1241002
	CodeUnsupportedOp       = 1241003
	CodeMissingOrIllegalArg = 1241007
	CodeIllegalParamReason  = 1241010
	CodeNotSupported        = 1241011
	CodeIllegalWithReason   = 1241012
	CodeScriptNotExist      = 1243001
	CodeAppNotExist         = 1243049
	CodeHostInvalid         = 1244002
	CodeAccountNotExist     = 1244003
	CodeTaskNotExist        = 1244006
	CodeStepNotExist        = 1244007
	CodeScriptNotExecutable = 1244018
	CodeDangerousScript     = 1244019
	CodeTooManyTargets      = 1244022
	CodeInvalidRolling      = 1244026
	CodeTooManyBatches      = 1244027
	CodeTargetEmpty         = 1244028
	CodeObjectNotExist      = 1244030
	CodeInvalidLabel        = 1244031
	CodeMissingUser         = 1247002
	CodePermissionDenied    = 9900403
)

// Gateway (bk-apigateway) error codes.
const (
	GWInvalidArgs      = 1640001
	GWAppNoPermission  = 1640301
	GWAPINotFound      = 1640401
	GWBodyTooLarge     = 1641301
	GWRateLimitGlobal  = 1642901
	GWRateLimitStage   = 1642902
	GWRateLimitRes     = 1642903
	GWBadGateway       = 1650200
	GWErrorRequesting  = 1650201
	GWServiceUnavail   = 1650300
	GWBackendTimeout   = 1650401
	gatewayMaxBodySize = 40 << 20
)

// messages holds JOB's message texts (en, zh_CN) for codes and validation keys, from JOB's i18n files.
var messages = map[string][2]string{
	"1240002": {"Internal Server Error", "内部服务器异常"},
	"1240003": {"Bad Request", "错误的请求"},
	"1241001": {"Missing request parameters", "请求参数缺失"},
	"1241002": {"Invalid request parameters", "请求参数不合法"},
	"1241003": {"Unsupported operation", "不支持的操作"},
	"1241007": {"Missing or invalid request parameter [{0}]", "请求参数[{0}]缺失或不合法"},
	"1241012": {"{0}", "{0}"},
	"1241010": {"Invalid request parameter [{0}], reason: {1}", "请求参数[{0}]不合法，原因：{1}"},
	"1241011": {"Not support yet", "尚未支持的功能"},
	"1243001": {"Script not exist", "脚本不存在"},
	"1243049": {"Business/Business Set not exist or archived", "业务/业务集不存在或已被归档"},
	"1244002": {"Hosts invalid. Please check whether the source or target host exists under the business [{0}] of CMDB. Besides, please contact JOB administrator to add them to ip whitelist if you have to use hosts between businesses. Invalid {1} hosts:{2}",
		"主机无效，请检查源或目标主机是否存在于配置平台的业务[{0}]下；另外，主机需跨业务执行请联系作业平台管理员将其添加到主机白名单。无效的{1}台主机：[{2}]"},
	"1244003": {"Account [{0}] does not exist", "账号[{0}]不存在"},
	"1244006": {"Task instance does not exist", "作业实例不存在"},
	"1244007": {"Task step instance does not exist", "作业步骤实例不存在"},
	"1244018": {"Script status [{0}], cannot be executed", "脚本状态[{0}]，不支持执行"},
	"1244019": {"Dangerous script, cannot be executed", "高危脚本，禁止执行"},
	"1244022": {"The number of script task target servers exceeds the limit: {0}", "脚本任务目标服务器数量超过限制：{0}"},
	"1244026": {"Invalid rolling strategy", "非法的滚动策略"},
	"1244027": {"Rolling batch can not be greater than {0}", "滚动批次不能大于{0}"},
	"1244028": {"Step [{0}] target execute object is empty", "步骤 [{0}] 的目标执行对象为空"},
	"1244030": {"Execute object referenced by the job does not exist. Number of non-existent execution objects: {0}, execution object list: [{1}]",
		"作业引用的执行对象不存在。不存在的执行对象个数:{0},执行对象列表[{1}]"},
	"1244031": {"Invalid Label Selector", "Label Selector 不合法"},
	"1247002": {"Missing user info", "缺少有效的用户信息"},
	"9900403": {"User ({0}) permission not allowed, please confirm and apply permission in IAM and try again", "用户({0})权限不足，请前往权限中心确认并申请补充后重试"},

	"EmptyScopeType":          {"The param 'bk_scope_type' cannot be empty", "参数 bk_scope_type 不能为空"},
	"InvalidValueScopeType":   {"The param 'bk_scope_type' must be 'biz' or 'biz_set'", "参数 bk_scope_type 取值只能为 biz 或 biz_set"},
	"EmptyScopeId":            {"The param 'bk_scope_id' cannot be empty", "参数 bk_scope_id 不能为空"},
	"TaskName_outOfLength":    {"Job task name can not exceed 512 characters", "作业名称不能超过 512 个字符"},
	"AccountId_empty":         {"Account id cannot be empty", "账号ID不能为空"},
	"ScriptType_illegal":      {"Illegal script type", "脚本类型非法"},
	"InvalidJobTimeout_min":   {"Job timeout must be greater or equal than 1", "作业超时时间必须大于等于1"},
	"InvalidJobTimeout_range": {"Job timeout must be between 1 and {0}", "作业超时时间必须在1-{0}之间"},
	"ExecuteTarget_empty":     {"Job execute target can not be empty", "作业执行目标不能为空"},
	"KubeFilterEmpty":         {"Job execute target - container filter cannot be empty", "作业执行目标-容器过滤器不能为空"},
	"BkHostId_null":           {"Host id must not be null", "主机 ID 不能为空"},
	"BkHostId_invalid":        {"Invalid host id", "非法的主机 ID"},
	"InvalidBkCloudId":        {"Invalid BK-Net", "管控区域 ID 非法"},
	"InvalidIp":               {"Invalid IP", "IP 非法"},
	"EmptyDynamicGroupId":     {"DynamicGroup ID cannot be empty", "动态分组 ID 不可为空"},
	"TopoNodeId_null":         {"Topo node ID can not be empty", "拓扑节点 ID 不可为空"},
	"TopoNodeType_null":       {"Topo node type can not be empty", "拓扑节点类型不可为空"},
	"ValidCallbackUrl":        {"Callback url is invalid or not in the allowed list, please contact the platform administrator to add it", "回调地址不合法或不在允许列表中，请联系平台管理员添加"},
	"RollingType_illegal":     {"Illegal rolling type", "滚动类型取值不合法"},
	"RollingMode_illegal":     {"Illegal rolling mode", "滚动机制取值不合法"},
	"RollingExecMode_illegal": {"Rolling execution mode value is illegal", "滚动批次执行模式取值不合法"},
	"RollingWait_null":        {"Batch start wait (ms) cannot be null in parallel scatter mode", "并行错峰模式下批次间延迟(毫秒)不可为空"},
	"RollingWait_range":       {"Batch start wait (ms) must be between 0 and 3600000", "批次间延迟(毫秒)必须在0到3600000之间"},
	"RollingExpr_blank":       {"Rolling expression cannot be blank", "目标执行对象滚动分批策略表达式不可为空"},
	"ContentTooLong":          {"script_content Field content too long limit:MEDIUMTEXT", "script_content 字段过长 limit:MEDIUMTEXT"},
	"ParamTooLong":            {"script_paramField content too long limit:TEXT", "script_param字段过长 limit:TEXT"},
	"WinInterpSuffix":         {"windows_interpreter must end with suffix: .exe", "windows_interpreter 必须以指定后缀结尾: .exe"},
	"WinInterpLength":         {"Windows interpreter path length cannot exceed 260 chars", "Windows解释器路径长度不可超过260字符"},
	"InvalidJobInstanceId":    {"Job instance id must be a positive number", "任务实例ID必须为正整数"},
	"InvalidStepInstanceId":   {"Step instance id must be a positive number", "步骤实例ID必须为正整数"},
	"QueryObjectsRange":       {"Query execute objects size must be between 1 and 500", "单次查询执行对象数量范围必须在 1-500 之间"},
}

// apiError is a JOB business error: HTTP 200 with result:false.
type apiError struct {
	code       int
	key        string
	args       []string
	permission any
}

func jobErr(code int, args ...string) *apiError {
	return &apiError{code: code, key: fmt.Sprint(code), args: args}
}

// validationErr is a 1240003 whose message is the first field violation.
func validationErr(key string, args ...string) *apiError {
	return &apiError{code: CodeBadRequest, key: key, args: args}
}

func badRequest() *apiError { return jobErr(CodeBadRequest) }

func internalErr() *apiError { return jobErr(CodeInternal) }

func (e *apiError) message(en bool) string {
	m, ok := messages[e.key]
	if !ok {
		return e.key
	}
	text := m[1]
	if en {
		text = m[0]
	}
	for i, a := range e.args {
		text = strings.ReplaceAll(text, fmt.Sprintf("{%d}", i), a)
	}
	return text
}

// jobEnvelope is EsbResp (class-level NON_NULL).
type jobEnvelope struct {
	Code       int    `json:"code"`
	Result     bool   `json:"result"`
	RequestID  string `json:"job_request_id,omitempty"`
	Message    string `json:"message,omitempty"`
	Data       any    `json:"data,omitempty"`
	Permission any    `json:"permission,omitempty"`
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"code":1240002,"result":false,"message":"Internal Server Error"}`)
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// gatewayError is a bk-apigateway error body; the gateway also sets X-Bkapi-Error-Code/-Message.
type gatewayError struct {
	Code     int    `json:"code"`
	CodeName string `json:"code_name"`
	Data     any    `json:"data"`
	Message  string `json:"message"`
	Result   bool   `json:"result"`
}

func writeGatewayError(w http.ResponseWriter, status, code int, codeName, message string) {
	w.Header().Set("X-Bkapi-Error-Code", fmt.Sprint(code))
	w.Header().Set("X-Bkapi-Error-Message", message)
	writeJSON(w, status, gatewayError{Code: code, CodeName: codeName, Message: message})
}

func gatewayInvalidArgs(w http.ResponseWriter, reason string) {
	writeGatewayError(w, http.StatusBadRequest, GWInvalidArgs, "INVALID_ARGS", fmt.Sprintf("Parameters error [reason=%q]", reason))
}
