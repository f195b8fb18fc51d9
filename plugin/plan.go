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
	default:
		s.log.Info(s.t("plan.script_inline", s.t("lang."+strconv.Itoa(c.ScriptLanguage)), strings.Count(c.ScriptContent, "\n")+1, len(c.ScriptContent)))
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
	s.log.Info(s.t("plan.targets", len(t.Hosts), len(t.DynamicGroups), len(t.TopoNodes), len(t.ContainerFilters)))
	if c.Rolling != nil {
		if n, known := t.KnownCount(); known {
			sizes, _ := c.Rolling.Expr.Batches(n)
			s.log.Info(s.t("plan.rolling_known", c.Rolling.Expr.String(), s.t("rolling.mode."+strconv.Itoa(c.Rolling.Mode)), len(sizes), batchList(sizes)))
		} else {
			s.log.Info(s.t("plan.rolling", c.Rolling.Expr.String(), s.t("rolling.mode."+strconv.Itoa(c.Rolling.Mode))))
		}
	}
	s.log.Info(s.t("plan.wait", c.Wait, c.EffectiveWait().Round(time.Second), c.OnCancel))
	s.log.Info(s.t("plan.operator", c.Operator, c.OperatorMode))
	s.log.Info(s.t("plan.task_name", c.TaskName))
	s.log.Info(s.t("plan.results", c.FailureTolerance.String(), c.LogMode, c.ExtractVars))
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
