package plugin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Form holds the step's inputs exactly as BK-CI delivers them: every value a string. Each field's env tag
// is its task.json input key and its default is task.json's default (a consistency test checks both).
// Parsing and validation happen once, in Parse.
type Form struct {
	ScopeType      string `env:"scopeType, default=biz"`
	ScopeID        string `env:"scopeId"`
	ScriptSource   string `env:"scriptSource, default=inline"`
	ScriptLanguage string `env:"scriptLanguage, default=1"`
	// ScriptContent is the Shell editor; each other language has its own editor (scriptEditors).
	// No default here: each editor's default is the form's template in its language.
	ScriptContent    string `env:"scriptContent"`
	ScriptBat        string `env:"scriptContentBat"`
	ScriptPerl       string `env:"scriptContentPerl"`
	ScriptPython     string `env:"scriptContentPython"`
	ScriptPowerShell string `env:"scriptContentPowershell"`
	ScriptFile       string `env:"scriptFile"`
	StrictMode       string `env:"strictMode, default=true"`
	ScriptID         string `env:"scriptId"`
	ScriptVersionID  string `env:"scriptVersionId"`
	ScriptParam      string `env:"scriptParam"`
	WinInterpreter   string `env:"windowsInterpreter"`
	ParamSensitive   string `env:"paramSensitive, default=false"`
	Timeout          string `env:"timeout, default=7200"`
	AccountAlias     string `env:"accountAlias, default=root"`
	AccountID        string `env:"accountId"`
	TaskName         string `env:"taskName"`
	Hosts            string `env:"hosts"`
	TargetsFile      string `env:"targetsFile"`
	DynamicGroups    string `env:"dynamicGroups"`
	TopoNodes        string `env:"topoNodes"`
	ContainerFilters string `env:"containerFilters"`
	RollingEnabled   string `env:"rollingEnabled, default=false"`
	RollingExpr      string `env:"rollingExpression"`
	RollingMode      string `env:"rollingMode, default=1"`
	RollingExec      string `env:"rollingExecution, default=serial"`
	RollingStagger   string `env:"rollingStaggerSeconds, default=0"`
	RollingJitterMin string `env:"rollingJitterMinSeconds, default=0"`
	RollingJitterMax string `env:"rollingJitterMaxSeconds, default=0"`
	Wait             string `env:"wait, default=poll"`
	CallbackListen   string `env:"callbackListen"`
	CallbackBaseURL  string `env:"callbackBaseUrl"`
	CallbackURL      string `env:"callbackUrl"`
	WaitTimeout      string `env:"waitTimeout"`
	OnCancel         string `env:"onCancel, default=terminate"`
	Operator         string `env:"operator, default=lastModifier"`
	FailureTolerance string `env:"failureTolerance, default=0"`
	RetryFailed      string `env:"retryFailed, default=0"`
	RetryInterval    string `env:"retryInterval, default=10"`
	FailFast         string `env:"failFast, default=false"`
	LogMode          string `env:"logMode, default=auto"`
	ExtractVars      string `env:"extractVars, default=true"`
	AllowedVars      string `env:"allowedVariables"`
	DryRun           string `env:"dryRun, default=false"`
	// FormVersion is the form version the step was saved with (formversion.go). No default here: a
	// step saved before the input existed has no key, which is version 1, whatever task.json's
	// default (the current version) says.
	FormVersion string `env:"formVersion"`
}

// Build holds the BK-CI build variables the step uses.
type Build struct {
	PipelineName string `env:"BK_CI_PIPELINE_NAME"`
	BuildNum     string `env:"BK_CI_BUILD_NUM"`
	StartUser    string `env:"BK_CI_START_USER_ID"`
	UpdateUser   string `env:"BK_CI_PIPELINE_UPDATE_USER"`
	TaskID       string `env:"BK_CI_BUILD_TASK_ID"`
	BuildID      string `env:"BK_CI_BUILD_ID"`
	RetryCount   string `env:"BK_CI_RETRY_COUNT"` // set on a retried build only
	StepID       string `env:"BK_CI_STEP_ID"`
	AtomTimeout  string `env:"BK_CI_ATOM_TIMEOUT"`
	Workspace    string `env:"bkWorkspace"`
	WorkspaceEnv string `env:"WORKSPACE"`
	// Elapsed is how long BK-CI's step timer had run when the step started (bkci.TimerStarted).
	Elapsed time.Duration
}

// decode fills a struct tagged with env keys from l (input.json first, then the environment).
func decode(ctx context.Context, target any, l envconfig.Lookuper) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: target, Lookuper: l}); err != nil {
		return fmt.Errorf("decode inputs: %w", err)
	}
	return nil
}

// adoptScriptContent takes scriptContent as the script of the chosen language when the step has no key
// for that language's editor: a step written in pipeline YAML or through the API that gives its
// script in scriptContent whatever the language, as the contract's scriptContent always allowed. A
// step saved by the web form has every editor's key (BK-CI saves each field's default), so there
// only the chosen language's editor counts.
func (f *Form) adoptScriptContent(has func(key string) bool) {
	lang, err := strconv.Atoi(strings.TrimSpace(f.ScriptLanguage))
	key, ok := scriptEditors[lang]
	if err != nil || !ok || lang == 1 {
		return
	}
	if has(key) { // present, even empty: an emptied editor is an error, not the Shell editor's text
		return
	}
	switch lang {
	case 2:
		f.ScriptBat = f.ScriptContent
	case 3:
		f.ScriptPerl = f.ScriptContent
	case 4:
		f.ScriptPython = f.ScriptContent
	case 5:
		f.ScriptPowerShell = f.ScriptContent
	}
}
