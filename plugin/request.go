package plugin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/wait"
)

// submitBody is the exact bkci_plugin_fast_execute_script request (bkjob-api.md §2). Field order is the
// order of the JSON written.
type submitBody struct {
	ScopeType        string         `json:"bk_scope_type"`
	ScopeID          string         `json:"bk_scope_id"`
	ScriptVersionID  int64          `json:"script_version_id,omitempty"`
	ScriptID         string         `json:"script_id,omitempty"`
	ScriptContent    string         `json:"script_content,omitempty"`
	ScriptLanguage   int            `json:"script_language,omitempty"`
	ScriptParam      string         `json:"script_param,omitempty"`
	IsParamSensitive bool           `json:"is_param_sensitive"`
	Timeout          int            `json:"timeout"`
	AccountID        int64          `json:"account_id,omitempty"`
	AccountAlias     string         `json:"account_alias,omitempty"`
	TaskName         string         `json:"task_name"`
	ExecuteTarget    executeTarget  `json:"execute_target"`
	Callback         *callbackBody  `json:"callback,omitempty"`
	RollingConfig    *rollingConfig `json:"rolling_config,omitempty"`
}

type executeTarget struct {
	Hosts         []HostRef         `json:"host_list,omitempty"`
	DynamicGroups []dynamicGroup    `json:"host_dynamic_group_list,omitempty"`
	TopoNodes     []TopoNode        `json:"host_topo_node_list,omitempty"`
	Containers    []ContainerFilter `json:"kube_container_filters,omitempty"`
}

type dynamicGroup struct {
	ID string `json:"id"`
}

type callbackBody struct {
	URL string `json:"url"`
}

type rollingConfig struct {
	Expression string `json:"expression"`
	Mode       int    `json:"mode"`
}

// BuildRequest returns the JSON body of the submit. callbackURL is the URL JOB calls back (the plugin's
// listener in callback mode, else the user's callbackUrl, else none).
func BuildRequest(c *Config, callbackURL string) ([]byte, error) {
	return encodeBody(newSubmitBody(c, callbackURL), "")
}

func newSubmitBody(c *Config, callbackURL string) submitBody {
	b := submitBody{
		ScopeType:        c.ScopeType,
		ScopeID:          c.ScopeID,
		IsParamSensitive: c.ParamSensitive,
		Timeout:          c.Timeout,
		TaskName:         c.TaskName,
	}
	switch c.ScriptSource {
	case "scriptVersionId":
		b.ScriptVersionID = c.ScriptVersionID
	case "scriptId":
		b.ScriptID = c.ScriptID
	default:
		b.ScriptContent = base64.StdEncoding.EncodeToString([]byte(c.ScriptContent))
		b.ScriptLanguage = c.ScriptLanguage
	}
	if c.ScriptParam != "" {
		b.ScriptParam = base64.StdEncoding.EncodeToString([]byte(c.ScriptParam))
	}
	if c.AccountID > 0 {
		b.AccountID = c.AccountID
	} else {
		b.AccountAlias = c.AccountAlias
	}
	t := c.Targets
	b.ExecuteTarget = executeTarget{Hosts: t.Hosts, TopoNodes: t.TopoNodes, Containers: t.ContainerFilters}
	for _, g := range t.DynamicGroups {
		b.ExecuteTarget.DynamicGroups = append(b.ExecuteTarget.DynamicGroups, dynamicGroup{ID: g})
	}
	if callbackURL != "" {
		b.Callback = &callbackBody{URL: callbackURL}
	}
	if c.Rolling != nil {
		b.RollingConfig = &rollingConfig{Expression: c.Rolling.Expr.String(), Mode: c.Rolling.Mode}
	}
	return b
}

func encodeBody(b submitBody, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// maskedRequest is the body as a dry run shows it: indented, sensitive parameters and the callback URL's
// secret path part masked.
func maskedRequest(c *Config, callbackURL string) (string, error) {
	b := newSubmitBody(c, callbackURL)
	if c.ParamSensitive && b.ScriptParam != "" {
		b.ScriptParam = bkci.Mask
	}
	if b.Callback != nil && c.Wait == "callback" {
		b.Callback.URL = wait.MaskedURL(c.CallbackBaseURL)
	}
	out, err := encodeBody(b, "  ")
	return string(out), err
}
