package plugin

import (
	"strconv"
	"strings"
	"time"
)

// printPlan writes the short plan the log starts with (docs/CONTRACT.md#what-the-user-sees). Never the app secret, the
// sensitive parameters or the raw input.
func (s *step) printPlan() {
	c := s.cfg
	s.log.Group(s.t("plan.title"))
	s.log.Info(s.t("plan.scope", c.ScopeType, c.ScopeID))
	switch c.ScriptSource {
	case "scriptId":
		s.log.Info(s.t("plan.script_id", c.ScriptID))
	case "scriptVersionId":
		s.log.Info(s.t("plan.script_version", c.ScriptVersionID))
	case SourceFile:
		s.log.Info(s.t("plan.script_file", c.ScriptFile, s.t("lang."+strconv.Itoa(c.ScriptLanguage)), strings.Count(c.ScriptContent, "\n")+1, len(c.ScriptContent)))
	default:
		s.log.Info(s.t("plan.script_inline", s.t("lang."+strconv.Itoa(c.ScriptLanguage)), strings.Count(c.ScriptContent, "\n")+1, len(c.ScriptContent)))
	}
	if c.StrictApplied {
		s.log.Info(s.t("plan.strict_mode"))
	}
	switch {
	case c.ScriptParam == "":
		s.log.Info(s.t("plan.params_none"))
	case c.ParamSensitive:
		s.log.Info(s.t("plan.params_sensitive"))
	default:
		s.log.Info(s.t("plan.params", c.ScriptParam))
	}
	account := c.AccountAlias
	if c.AccountID > 0 {
		account = "#" + strconv.FormatInt(c.AccountID, 10)
	}
	s.log.Info(s.t("plan.account_timeout", account, c.Timeout))
	t := c.Targets
	var kinds []string
	for _, k := range []struct {
		n          int
		one, other string
	}{
		{len(t.Hosts), "plan.n_host_one", "plan.n_host"},
		{len(t.DynamicGroups), "plan.n_group_one", "plan.n_group"},
		{len(t.TopoNodes), "plan.n_node_one", "plan.n_node"},
		{len(t.ContainerFilters), "plan.n_filter_one", "plan.n_filter"},
	} {
		if k.n > 0 {
			kinds = append(kinds, s.tn(k.n, k.one, k.other, k.n))
		}
	}
	s.log.Info(s.t("plan.targets", strings.Join(kinds, s.t("plan.list_sep"))))
	if c.Rolling != nil {
		if n, known := t.KnownCount(); known {
			sizes, _ := c.Rolling.Expr.Batches(n)
			s.log.Info(s.t("plan.rolling_known", c.Rolling.Expr.String(), s.t("rolling.mode."+strconv.Itoa(c.Rolling.Mode)), len(sizes), batchList(sizes)))
		} else {
			s.log.Info(s.t("plan.rolling", c.Rolling.Expr.String(), s.t("rolling.mode."+strconv.Itoa(c.Rolling.Mode))))
		}
	}
	s.log.Info(s.t("plan.wait", s.planValue("wait", string(c.Wait)), c.EffectiveWait().Round(time.Second), s.waitLimitSource(), s.planValue("onCancel", string(c.OnCancel))))
	s.log.Info(s.t("plan.operator", c.Operator, s.planValue("operator", c.OperatorMode)))
	s.log.Info(s.t("plan.task_name", c.TaskName))
	s.log.Info(s.t("plan.results", c.FailureTolerance.String(), s.planValue("logMode", string(c.LogMode)), s.planValue("extractVars", strconv.FormatBool(c.ExtractVars))))
	s.planRetry()
	if c.FailFast {
		s.log.Info(s.t("plan.failfast", c.FailureTolerance.String()))
	}
	s.log.EndGroup()
}

// batchList shows batch sizes compactly: "1, 10, 89" or "5, 15, 25, … (12 batches)".
func batchList(sizes []int) string {
	const show = 8
	parts := make([]string, 0, show+1)
	for i, n := range sizes {
		if i == show {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, strconv.Itoa(n))
	}
	return strings.Join(parts, ", ")
}

// planValues are the messages naming the form's values in the plan (the form's value, in the run's
// language).
var planValues = map[string]string{
	"wait:poll": "plan.v_wait_poll", "wait:callback": "plan.v_wait_callback", "wait:none": "plan.v_wait_none",
	"onCancel:terminate": "plan.v_terminate", "onCancel:leave": "plan.v_leave",
	"operator:lastModifier": "plan.v_last_modifier", "operator:starter": "plan.v_starter",
	"logMode:auto": "plan.v_logs_auto", "logMode:all": "plan.v_logs_all", "logMode:failed": "plan.v_logs_failed",
	"logMode:none":     "plan.v_logs_none",
	"extractVars:true": "plan.v_yes", "extractVars:false": "plan.v_no",
}

// planValue names a form field's value in the run's language; an unknown one as it is.
func (s *step) planValue(field, v string) string {
	if key, ok := planValues[field+":"+v]; ok {
		return s.t(key)
	}
	return v
}

// waitLimitSource says where the plan's "at most" comes from: waitTimeout, the step's own timer (which
// also bounds waitTimeout), or timeout × batches plus margins (Config.EffectiveWait).
func (s *step) waitLimitSource() string {
	c := s.cfg
	stepBound := c.StepDeadline > 0 && c.EffectiveWait() == c.StepDeadline
	switch {
	case c.WaitTimeout > 0 && !(stepBound && c.WaitTimeout > c.StepDeadline):
		return s.t("plan.wait_from_input")
	case stepBound:
		return s.t("plan.wait_from_step")
	}
	return s.tn(c.batches(), "plan.wait_from_timeout_one", "plan.wait_from_timeout", c.batches(), c.Timeout,
		int(waitMarginPerBatch/time.Second), int(waitMarginBase/time.Minute))
}
