package plugin

// The plugin's error codes (errorCodes.json; translated in i18n/ under the code itself).
const (
	codeMissingConfig   = 800001
	codeInvalidInput    = 800002
	codePermission      = 800003
	codeNotFound        = 800004
	codeRejected        = 800005
	codeUnavailable     = 800006
	codeSubmitUnknown   = 800007
	codeJobFailed       = 800008
	codeTerminated      = 800009
	codeAbnormal        = 800010
	codeCanceled        = 800011
	codeTimeout         = 800012
	codeNoTargets       = 800013
	codeInternal        = 800014
	codePostUnreachable = 800015
	codeAuth            = 800016
	codeNeverStarted    = 800017
	codeFailFast        = 800018
)

// errorCodes lists every code, for the consistency tests.
var errorCodes = []int{
	codeMissingConfig, codeInvalidInput, codePermission, codeNotFound, codeRejected, codeUnavailable,
	codeSubmitUnknown, codeJobFailed, codeTerminated, codeAbnormal, codeCanceled, codeTimeout,
	codeNoTargets, codeInternal, codePostUnreachable, codeAuth, codeNeverStarted,
	codeFailFast,
}
