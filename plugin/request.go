package plugin

import (
	"encoding/base64"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/wait"
)

// BuildRequest returns the JSON body of the submit, as the client sends it. callbackURL is the URL JOB
// calls back (the plugin's listener in callback mode, else the user's callbackUrl, else none).
func BuildRequest(c *Config, callbackURL string) ([]byte, error) {
	return newSubmitRequest(c, callbackURL).Encode("")
}

// newSubmitRequest is the submit for c. callbackURL is as for BuildRequest.
func newSubmitRequest(c *Config, callbackURL string) *jobapi.SubmitRequest {
	r := &jobapi.SubmitRequest{
		ScopeType:        c.ScopeType,
		ScopeID:          c.ScopeID,
		IsParamSensitive: c.ParamSensitive,
		Timeout:          c.Timeout,
		TaskName:         c.TaskName,
	}
	switch c.ScriptSource {
	case "scriptVersionId":
		r.ScriptVersionID = c.ScriptVersionID
	case "scriptId":
		r.ScriptID = c.ScriptID
	default:
		r.ScriptContent = base64.StdEncoding.EncodeToString([]byte(c.ScriptContent))
		r.ScriptLanguage = c.ScriptLanguage
	}
	if c.ScriptParam != "" {
		r.ScriptParam = base64.StdEncoding.EncodeToString([]byte(c.ScriptParam))
	}
	r.WindowsInterpreter = c.WindowsInterpreter
	if c.AccountID > 0 {
		r.AccountID = c.AccountID
	} else {
		r.AccountAlias = c.AccountAlias
	}
	t := c.Targets
	r.ExecuteTarget = jobapi.ExecuteTarget{Hosts: t.Hosts, TopoNodes: t.TopoNodes, Containers: t.ContainerFilters}
	for _, g := range t.DynamicGroups {
		r.ExecuteTarget.DynamicGroups = append(r.ExecuteTarget.DynamicGroups, jobapi.DynamicGroup{ID: g})
	}
	if callbackURL != "" {
		r.Callback = &jobapi.Callback{URL: callbackURL}
	}
	if c.Rolling != nil {
		r.RollingConfig = &jobapi.RollingConfig{Expression: c.Rolling.Expr.String(), Mode: c.Rolling.Mode}
		if c.Rolling.Staggered {
			ms := func(s int) *int64 { v := int64(s) * 1000; return &v }
			r.RollingConfig.ExecutionMode = 2
			r.RollingConfig.WaitFixedMs = ms(c.Rolling.Stagger)
			r.RollingConfig.WaitRandomMinMs = ms(c.Rolling.JitterMin)
			r.RollingConfig.WaitRandomMaxMs = ms(c.Rolling.JitterMax)
		}
	}
	return r
}

// maskedRequest is the body as a dry run shows it: indented, sensitive parameters and the callback URL's
// secret path part masked.
func maskedRequest(c *Config, callbackURL string) (string, error) {
	r := newSubmitRequest(c, callbackURL)
	if c.ParamSensitive && r.ScriptParam != "" {
		r.ScriptParam = bkci.Mask
	}
	if r.Callback != nil && c.Wait == "callback" {
		r.Callback.URL = wait.MaskedURL(c.CallbackBaseURL)
	}
	out, err := r.Encode("  ")
	return string(out), err
}
