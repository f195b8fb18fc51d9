package jobapi

import (
	"strconv"
	"strings"
	"time"
)

// Execute object types used by JOB in status and log responses.
const (
	// ObjectTypeHost marks an execute object that is a CMDB host.
	ObjectTypeHost = 1
	// ObjectTypeContainer marks an execute object that is a container.
	ObjectTypeContainer = 2
)

// Operation codes and JOB error codes the caller may need to branch on.
const (
	// OpTerminateJob is operate_job_instance operation_code 1 (terminate).
	OpTerminateJob = 1
	// OpStepContinueRolling is operate_step_instance operation_code 13 (continue a paused rolling step).
	OpStepContinueRolling = 13
	// OpStepRetryFailed is operate_step_instance operation_code 2 (run the step's failed targets again
	// in the same job; accepted when the step ended 4, 9 or 11).
	OpStepRetryFailed = 2

	// CodeInternal is JOB's "Internal Server Error".
	CodeInternal = 1240002
	// CodeBadRequest is JOB's validation failure; the message names the first bad field.
	CodeBadRequest = 1240003
	// CodeUnsupportedOperation is returned when terminating a job that is not running or waiting.
	CodeUnsupportedOperation = 1241003
	// CodeJobNotFound means the job instance does not exist in this scope.
	CodeJobNotFound = 1244006
	// CodeStepNotFound means the step instance does not exist.
	CodeStepNotFound = 1244007
	// CodePermissionDenied is JOB's IAM denial; Error.Permission is filled in.
	CodePermissionDenied = 9900403
)

// Scope is the JOB resource scope of a request (bk_scope_type, bk_scope_id).
type Scope struct {
	Type string // bk_scope_type: "biz" or "biz_set"
	ID   string // bk_scope_id
}

// Submitted is the answer of a successful bkci_plugin_fast_execute_script call.
type Submitted struct {
	JobInstanceID   int64  // data.job_instance_id
	JobInstanceName string // data.job_instance_name (a string, whatever the doc says)
	StepInstanceID  int64  // data.step_instance_id (0 when JOB left it out)
	RequestID       string // job_request_id, or X-Bkapi-Request-Id when JOB sent none
}

// JobStatus is the data of bkci_plugin_get_job_instance_status.
type JobStatus struct {
	Finished bool           // data.finished (derived from the job status when absent)
	Job      JobInstance    // data.job_instance
	Steps    []StepInstance // data.step_instance_list
}

// JobInstance is a job instance as reported by the status endpoint. Times are epoch milliseconds,
// durations milliseconds; nil means JOB reported null or nothing.
type JobInstance struct {
	ID         int64  // job_instance_id
	Name       string // name
	Status     int    // status (RunStatusEnum)
	CreateTime *int64 // create_time
	StartTime  *int64 // start_time
	EndTime    *int64 // end_time
	TotalTime  *int64 // total_time
}

// StepInstance is one step of a job instance.
type StepInstance struct {
	ID           int64          // step_instance_id
	Name         string         // name
	Type         int            // type: 1 script, 2 file, 3 manual confirm, 4 SQL
	Status       int            // status (RunStatusEnum)
	ExecuteCount int            // execute_count
	CreateTime   *int64         // create_time
	StartTime    *int64         // start_time
	EndTime      *int64         // end_time
	TotalTime    *int64         // total_time
	Results      []ObjectResult // execute_object_result_list (only with results requested)
}

// ObjectResult is the result of one execute object (host or container) in a step.
type ObjectResult struct {
	Object    ExecuteObject // execute_object
	Status    int           // status (ExecuteObjectTaskStatusEnum)
	Tag       string        // tag
	ExitCode  *int          // exit_code; nil until the script ended
	ErrorCode *int          // error_code
	StartTime *int64        // start_time
	EndTime   *int64        // end_time
	TotalTime *int64        // total_time
}

// ExecuteObject is a target of a step: a host (Type 1) or a container (Type 2).
type ExecuteObject struct {
	Type       int        // type: ObjectTypeHost or ObjectTypeContainer
	ResourceID string     // resource_id: bk_host_id for hosts, CMDB container id for containers
	Host       *Host      // host, for Type 1
	Container  *Container // container, for Type 2
}

// Host is the host part of an execute object.
type Host struct {
	HostID    int64  // bk_host_id
	CloudID   int64  // bk_cloud_id
	IP        string // ip
	IPv6      string // ipv6
	CloudName string // bk_cloud_name
	AgentID   string // bk_agent_id
}

// Container is the container part of an execute object.
type Container struct {
	ID          int64  // id (CMDB container id)
	ContainerID string // container_id, e.g. "docker://0f65…"
	NodeHostID  int64  // node_host_id
	Name        string // name
}

// ObjectKey identifies an execute object the way the log endpoint does: (type, resource_id).
type ObjectKey struct {
	Type       int    // ObjectTypeHost or ObjectTypeContainer
	ResourceID string // resource_id
}

// Valid reports whether the log endpoint can be asked for k: a host or a container, with a
// resource id.
func (k ObjectKey) Valid() bool {
	return (k.Type == ObjectTypeHost || k.Type == ObjectTypeContainer) && strings.TrimSpace(k.ResourceID) != ""
}

// Key returns the object's (type, resource_id) key. When JOB left resource_id out, it falls back to
// the host's bk_host_id or the container's id.
func (o ExecuteObject) Key() ObjectKey {
	k := ObjectKey{Type: o.Type, ResourceID: o.ResourceID}
	if k.ResourceID != "" {
		return k
	}
	switch {
	case o.Type == ObjectTypeHost && o.Host != nil && o.Host.HostID > 0:
		k.ResourceID = strconv.FormatInt(o.Host.HostID, 10)
	case o.Type == ObjectTypeContainer && o.Container != nil && o.Container.ID > 0:
		k.ResourceID = strconv.FormatInt(o.Container.ID, 10)
	}
	return k
}

// ObjectLog is the script log of one execute object.
type ObjectLog struct {
	Key     ObjectKey // the requested key
	Content string    // log_content ("" when null or absent)
	Present bool      // JOB returned an entry for this object (false: no entry at all)
}

// ListQuery filters get_job_instance_list. CreateTimeStart and CreateTimeEnd are required. Zero
// values of the other fields mean "not set" (so Type 0, "plan", cannot be asked for).
type ListQuery struct {
	CreateTimeStart time.Time // create_time_start (sent as epoch ms)
	CreateTimeEnd   time.Time // create_time_end (sent as epoch ms)
	Name            string    // name (JOB matches it fuzzily)
	Operator        string    // operator (exact)
	Type            int       // type: 1 script, 2 file
	Start           int       // start: offset for paging
	Length          int       // length: page size, at most 1000 (JOB's default is 20)
}

// JobSummary is one entry of get_job_instance_list.
type JobSummary struct {
	ID         int64  // id (job instance id)
	Name       string // name
	Operator   string // operator
	Status     int    // task_status
	CreateTime int64  // create_time, epoch ms
	Type       int    // task_type: 0 plan, 1 script, 2 file
	LaunchMode int    // launch_mode: 1 web, 2 API, 3 cron
}

// Permission is the IAM "apply for permission" block JOB adds to a denial (code 9900403).
type Permission struct {
	SystemID   string             // system_id
	SystemName string             // system_name
	Actions    []PermissionAction // actions
}

// PermissionAction is one missing IAM action.
type PermissionAction struct {
	ID                   string                // id, e.g. "quick_execute_script"
	Name                 string                // name
	RelatedResourceTypes []RelatedResourceType // related_resource_types
}

// RelatedResourceType is a resource type an action applies to, with the concrete instances.
type RelatedResourceType struct {
	SystemID   string                 // system_id
	SystemName string                 // system_name
	Type       string                 // type, e.g. "host"
	TypeName   string                 // type_name
	Instances  [][]PermissionInstance // instances: each inner list is one resource path
}

// PermissionInstance is one node of a resource instance path.
type PermissionInstance struct {
	ID       string // id
	Type     string // type
	TypeName string // type_name
	Name     string // name
}
