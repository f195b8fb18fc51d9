// Package jobstatus is JOB's status model (docs/JOB.md#job-status, docs/JOB.md#target-status): job, step and execute-object (target)
// status codes, which of them are finished, and what each means for the step.
package jobstatus

// Class is what a status means for the plugin.
type Class int

// The classes of a status.
const (
	Running     Class = iota // not finished, JOB is working
	WaitingUser              // not finished, JOB waits for a human (rolling mode 3 pause)
	Success                  // finished well
	Failure                  // finished badly
)

// Job (and step) statuses (RunStatusEnum).
const (
	JobBlank          = 1
	JobRunning        = 2
	JobSuccess        = 3
	JobFail           = 4
	JobSkipped        = 5
	JobIgnoreError    = 6
	JobWaitingUser    = 7
	JobTerminated     = 8
	JobAbnormal       = 9
	JobStopping       = 10
	JobStopSuccess    = 11
	JobStopFail       = 12
	JobConfirmTerm    = 13
	JobAbandoned      = 14
	JobRollingWaiting = 15
)

// Target (execute object) statuses that the plugin treats specially (ExecuteObjectTaskStatusEnum).
const (
	TargetLastSuccess = 3
	TargetWaiting     = 5
	TargetRunning     = 7
	TargetSucceeded   = 9
	TargetNonZeroExit = 104
	TargetTerminated  = 403 // the script was killed by a terminate of the job
)

// JobCodes lists every job status code the plugin names (for translations).
var JobCodes = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// TargetCodes lists every execute-object status code the plugin names (for translations).
var TargetCodes = []int{0, 1, 2, 3, 5, 7, 9, 11, 12, 13, 15, 16, 17, 18, 101, 102, 103, 104, 202, 203,
	301, 303, 310, 311, 312, 320, 321, 329, 399, 403, 404, 500}

// JobFinished reports whether a job status is final (RunStatusEnum.isFinishedStatus).
func JobFinished(code int) bool {
	switch code {
	case 3, 4, 5, 6, 8, 9, 11, 13, 14, 12:
		return true
	}
	return false
}

// JobClass classifies a job status.
func JobClass(code int) Class {
	switch code {
	case JobSuccess:
		return Success
	case JobWaitingUser:
		return WaitingUser
	case JobBlank, JobRunning, JobStopping, JobRollingWaiting:
		return Running
	}
	if JobFinished(code) {
		return Failure
	}
	// An unknown code: keep waiting; JOB's finished flag decides.
	return Running
}

// Verdict is the job_status output for a finished job status (docs/CONTRACT.md#verdict), before the failed
// targets are weighed against the tolerance.
func Verdict(code int) string {
	switch code {
	case JobSuccess:
		return "success"
	case JobTerminated, JobStopSuccess, JobConfirmTerm:
		return "terminated"
	case JobAbnormal, JobStopFail, JobAbandoned:
		return "abnormal"
	}
	return "failed"
}

// TargetFinished reports whether a target status is final: everything but waiting (5) and running (7).
func TargetFinished(code int) bool { return code != TargetWaiting && code != TargetRunning }

// TargetSuccess reports whether a target status is a success (9, or 3: succeeded in an earlier attempt).
func TargetSuccess(code int) bool { return code == TargetSucceeded || code == TargetLastSuccess }

// TargetClass classifies a target status.
func TargetClass(code int) Class {
	switch {
	case TargetSuccess(code):
		return Success
	case !TargetFinished(code):
		return Running
	}
	return Failure
}
