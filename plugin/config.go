package plugin

import (
	"errors"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/callbackurl"
	"jobfastexecutescript/internal/logvars"
	"jobfastexecutescript/internal/rolling"
	"jobfastexecutescript/internal/wait"
)

// Limits of the form (docs/CONTRACT.md#inputs, docs/JOB.md#limits).
const (
	maxParamRunes      = 5000
	maxTaskNameRunes   = 512
	maxTimeoutSeconds  = 259200
	maxScriptBytes     = 16777215
	maxInterpreterLen  = 260 // UTF-16 units (docs/JOB.md#windows-interpreter)
	maxWaitTimeout     = 7 * 24 * time.Hour
	autoLogTargetLimit = 20
	defaultStepTimeout = 900 * time.Minute
	waitMarginPerBatch = 30 * time.Second
	waitMarginBase     = 2 * time.Minute
)

// Config is the validated, typed form plus the runtime facts the step needs. Nothing past Parse looks at
// raw strings again.
type Config struct {
	Lang    i18n.Lang
	Private bkci.PrivateConfig
	Build   Build

	ScopeType, ScopeID string

	ScriptSource   ScriptSource
	ScriptLanguage int
	// ScriptContent is the script sent (inline and file sources), strict mode applied.
	ScriptContent string
	// ScriptFile is the workspace path the script was read from (the file source), as written.
	ScriptFile string
	// StrictMode is the strictMode input; StrictApplied tells whether it changed the script.
	StrictMode, StrictApplied bool
	ScriptID                  string
	ScriptVersionID           int64
	ScriptParam               string
	// WindowsInterpreter is sent as windows_interpreter: inline Bat/PowerShell only, trimmed.
	WindowsInterpreter string
	ParamSensitive     bool
	Timeout            int
	AccountAlias       string
	AccountID          int64
	TaskName           string // with the run's marker (runMarker)
	Run                Run

	Targets Targets
	Rolling *Rolling

	Wait            WaitMode
	CallbackListen  string
	CallbackBaseURL string
	CallbackURL     string
	WaitTimeout     time.Duration
	StepDeadline    time.Duration

	OnCancel         CancelPolicy
	OperatorMode     string
	Operator         string
	FailureTolerance Tolerance
	// RetryFailed is how many times the failed targets are run again in the same job (retry.go);
	// RetryInterval is the pause before each retry.
	RetryFailed   int
	RetryInterval time.Duration
	// FailFast terminates the job as soon as more targets failed than FailureTolerance allows
	// (failfast.go).
	FailFast    bool
	LogMode     LogMode
	ExtractVars bool
	// AllowedVariables are the names a target may set although they would change later steps'
	// environment (logvars.SteersEnvironment).
	AllowedVariables map[string]bool
	DryRun           bool

	Warnings []Problem
}

// Rolling is an enabled rolling plan.
type Rolling struct {
	Expr rolling.Expr
	Mode int
	// Staggered is execution_mode 2 (docs/JOB.md#staggered-rolling): batches start Stagger plus a
	// random JitterMin..JitterMax seconds after the previous batch started, without waiting for it.
	Staggered                     bool
	Stagger, JitterMin, JitterMax int
}

// Staggered rolling limits (docs/JOB.md#staggered-rolling).
const (
	maxStaggerSeconds   = 3600 // JOB: each wait 0..3,600,000 ms
	maxStaggeredBatches = 200  // JOB: job.execute.rolling.scatter.max-batch
)

// Tolerance is the failureTolerance input: N targets or N percent of the total.
type Tolerance struct {
	N       int
	Percent bool
}

// Allowed returns the number of failed targets allowed among total.
func (t Tolerance) Allowed(total int) int {
	if t.Percent {
		return total * t.N / 100
	}
	return t.N
}

func (t Tolerance) String() string {
	if t.Percent {
		return strconv.Itoa(t.N) + "%"
	}
	return strconv.Itoa(t.N)
}

var (
	digitsRe      = regexp.MustCompile(`^[0-9]+$`)
	unresolvedRe  = regexp.MustCompile(`\$\{\{[^}]*\}\}|\$\{[^}]*\}`)
	enumScope     = []string{"biz", "biz_set"}
	enumOperator  = []string{"lastModifier", "starter"}
	enumRollMode  = []string{"1", "2", "3"}
	enumRollExec  = []string{"serial", "staggered"}
	enumLanguages = []string{"1", "2", "3", "4", "5"}
)

// Parse validates the form and the runtime facts and returns the typed Config, or every problem found.
func Parse(f Form, b Build, priv bkci.PrivateConfig, missingPrivate []string, lang i18n.Lang) (*Config, *Problems) {
	ps := &Problems{}
	c := &Config{Lang: lang, Private: priv, Build: b}

	for _, key := range missingPrivate {
		ps.add("", "val.private_missing", key)
	}
	f = f.forVersion(ps, fieldsSince)
	f = f.withoutHidden()
	checkUnresolved(ps, f)

	c.ScopeType = parseEnum(ps, "scopeType", f.ScopeType, enumScope)
	c.ScopeID = strings.TrimSpace(f.ScopeID)
	switch {
	case c.ScopeID == "":
		ps.add("scopeId", "val.required")
	case !digitsRe.MatchString(c.ScopeID):
		ps.add("scopeId", "val.digits", c.ScopeID)
	}

	parseScript(ps, c, f)

	c.Timeout = parseIntRange(ps, "timeout", f.Timeout, 1, maxTimeoutSeconds)
	c.AccountAlias = strings.TrimSpace(f.AccountAlias)
	if s := strings.TrimSpace(f.AccountID); s != "" {
		c.AccountID = parsePositive(ps, "accountId", s)
	} else if c.AccountAlias == "" {
		ps.add("accountAlias", "val.account_required")
	}

	c.Targets = parseTargets(ps, f, b, lang)
	parseRolling(ps, c, f)
	parseWaiting(ps, c, f, b)

	c.OnCancel = parseMode(ps, "onCancel", f.OnCancel, cancelModes)
	c.OperatorMode = parseEnum(ps, "operator", f.Operator, enumOperator)
	c.Operator = strings.TrimSpace(priv.Username)
	if c.Operator == "" {
		if c.OperatorMode == "starter" {
			c.Operator = strings.TrimSpace(b.StartUser)
		} else {
			c.Operator = strings.TrimSpace(b.UpdateUser)
		}
	}
	if c.Operator == "" && c.OperatorMode != "" {
		ps.add("operator", "val.operator_empty")
	}
	c.FailureTolerance = parseTolerance(ps, f.FailureTolerance)
	parseRetry(ps, c, f)
	c.FailFast = parseBool(ps, "failFast", f.FailFast)
	if c.FailFast && c.Wait == WaitNone {
		ps.warn("failFast", "warn.failfast_no_wait")
	}
	c.LogMode = parseMode(ps, "logMode", f.LogMode, logModes)
	c.ExtractVars = parseBool(ps, "extractVars", f.ExtractVars)
	c.AllowedVariables = parseAllowedVariables(ps, f.AllowedVars)
	c.DryRun = parseBool(ps, "dryRun", f.DryRun)

	c.Run = Run{BuildID: b.BuildID, TaskID: b.TaskID, Retry: b.RetryCount}
	c.TaskName = taskName(ps, f, b, c.Run)
	c.Warnings = ps.Warnings
	if len(ps.Errors) > 0 {
		return nil, ps
	}
	return c, ps
}

// parseAllowedVariables reads allowedVariables: variable names separated by commas (white space
// around them ignored). A name that is not a variable name is an error; one that would not be refused
// anyway is a warning (a misspelling such as "Path" would leave PATH refused).
func parseAllowedVariables(ps *Problems, v string) map[string]bool {
	var out map[string]bool
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case !logvars.ValidName(name):
			ps.add("allowedVariables", "val.allowed_var_name", name)
			continue
		case !logvars.SteersEnvironment(name):
			ps.warn("allowedVariables", "val.allowed_var_unneeded", name)
		}
		if out == nil {
			out = map[string]bool{}
		}
		out[name] = true
	}
	return out
}

// unresolvedExempt are the fields whose text may hold `${…}` for the script itself (shell syntax).
var unresolvedExempt = map[string]bool{"scriptContent": true, "scriptContentBat": true, "scriptContentPerl": true,
	"scriptContentPython": true, "scriptContentPowershell": true, "scriptParam": true}

// checkUnresolved reports every field (but the script and its parameters) that still holds a
// variable reference BK-CI could not resolve, naming each reference once.
func checkUnresolved(ps *Problems, f Form) {
	v := reflect.ValueOf(f)
	for i := range v.NumField() {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("env"), ",")
		if key == "" || unresolvedExempt[key] {
			continue
		}
		var refs []string
		for _, m := range unresolvedRe.FindAllString(v.Field(i).String(), -1) {
			if !slices.Contains(refs, m) {
				refs = append(refs, m)
			}
		}
		if len(refs) > 0 {
			ps.addUnresolved(key, refs)
		}
	}
}

func parseEnum(ps *Problems, field, v string, allowed []string) string {
	v = strings.TrimSpace(v)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	ps.add(field, "val.enum", v, strings.Join(allowed, ", "))
	return ""
}

func parseBool(ps *Problems, field, v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true
	case "false", "":
		return false
	}
	ps.add(field, "val.bool", v)
	return false
}

func parseIntRange(ps *Problems, field, v string, lo, hi int) int {
	v = strings.TrimSpace(v)
	n, err := strconv.Atoi(v)
	if err != nil || !digitsRe.MatchString(v) {
		ps.add(field, "val.int_range", v, lo, hi)
		return 0
	}
	if n < lo || n > hi {
		ps.add(field, "val.int_range", v, lo, hi)
		return 0
	}
	return n
}

func parsePositive(ps *Problems, field, v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || !digitsRe.MatchString(v) {
		ps.add(field, "val.positive", v)
		return 0
	}
	return n
}

func parseScript(ps *Problems, c *Config, f Form) {
	c.ScriptSource = parseMode(ps, "scriptSource", f.ScriptSource, scriptSources)
	switch c.ScriptSource {
	case SourceInline:
		lang := parseEnum(ps, "scriptLanguage", f.ScriptLanguage, enumLanguages)
		c.ScriptLanguage, _ = strconv.Atoi(lang)
		if c.ScriptLanguage == 0 {
			break // the language is wrong: which editor holds the script is unknown
		}
		// Only the chosen language's editor: BK-CI saves the others too, with their templates.
		field := scriptEditors[c.ScriptLanguage]
		script := f.script(c.ScriptLanguage)
		c.ScriptContent = script
		switch {
		case strings.TrimSpace(script) == "":
			ps.add(field, "val.required")
		case len(script) > maxScriptBytes:
			ps.add(field, "val.too_long_bytes", maxScriptBytes)
		case !utf8.ValidString(script):
			ps.add(field, "val.utf8")
		}
	case SourceFile:
		lang := parseEnum(ps, "scriptLanguage", f.ScriptLanguage, enumLanguages)
		c.ScriptLanguage, _ = strconv.Atoi(lang)
		c.ScriptFile = strings.TrimSpace(f.ScriptFile)
		if c.ScriptFile == "" {
			ps.add("scriptFile", "val.required")
			break
		}
		// Read now, before any request: BK-CI substitutes no ${…} inside the file.
		if b, ok := readWorkspaceFile(ps, "scriptFile", c.Build.workspace(), c.ScriptFile, maxScriptBytes); ok {
			c.ScriptContent = string(b)
			if strings.TrimSpace(c.ScriptContent) == "" {
				ps.add("scriptFile", "val.ws_empty", c.ScriptFile)
			}
		}
	case SourceScriptID:
		c.ScriptID = strings.TrimSpace(f.ScriptID)
		if c.ScriptID == "" {
			ps.add("scriptId", "val.required")
		} else if strings.ContainsAny(c.ScriptID, " \t\r\n") {
			ps.add("scriptId", "val.no_space", c.ScriptID)
		}
	case SourceScriptVersionID:
		if s := strings.TrimSpace(f.ScriptVersionID); s == "" {
			ps.add("scriptVersionId", "val.required")
		} else {
			c.ScriptVersionID = parsePositive(ps, "scriptVersionId", s)
		}
	}
	c.StrictMode = parseBool(ps, "strictMode", f.StrictMode)
	if c.StrictMode && (c.ScriptSource == SourceInline || c.ScriptSource == SourceFile) && c.ScriptContent != "" {
		c.ScriptContent, c.StrictApplied = strictScript(c.ScriptLanguage, c.ScriptContent)
		if len(c.ScriptContent) > maxScriptBytes {
			ps.add(scriptField(c.ScriptSource, c.ScriptLanguage), "val.too_long_bytes", maxScriptBytes)
		}
	}
	c.ParamSensitive = parseBool(ps, "paramSensitive", f.ParamSensitive)
	c.ScriptParam = f.ScriptParam
	if n := utf8.RuneCountInString(f.ScriptParam); n > maxParamRunes {
		ps.add("scriptParam", "val.too_long", n, maxParamRunes)
	}
	if strings.ContainsAny(f.ScriptParam, "\r\n") {
		ps.warn("scriptParam", "warn.param_newline")
	}
	parseWindowsInterpreter(ps, c, f)
}

// scriptField is the field holding the script of an inline or file source.
func scriptField(src ScriptSource, lang int) string {
	if src == SourceFile {
		return "scriptFile"
	}
	return scriptEditors[lang]
}

// scriptEditors maps each script language to the form's editor for it: the form shows one editor
// per language (rely on scriptLanguage), each with a template in its language. scriptContent is the
// Shell editor, and the script of any language in a step that has no editor of its own for it
// (adoptScriptContent).
var scriptEditors = map[int]string{1: "scriptContent", 2: "scriptContentBat", 3: "scriptContentPerl",
	4: "scriptContentPython", 5: "scriptContentPowershell"}

// script returns the text of the editor for language lang.
func (f Form) script(lang int) string {
	switch lang {
	case 2:
		return f.ScriptBat
	case 3:
		return f.ScriptPerl
	case 4:
		return f.ScriptPython
	case 5:
		return f.ScriptPowerShell
	}
	return f.ScriptContent
}

// parseWindowsInterpreter checks windowsInterpreter as JOB does (docs/JOB.md#windows-interpreter): blank
// is none; otherwise it must end in ".exe" (case-sensitive) and be at most 260 UTF-16 units. The form
// shows it for inline Bat (2) and PowerShell (5) only; a value left in the hidden field otherwise is
// not sent.
func parseWindowsInterpreter(ps *Problems, c *Config, f Form) {
	v := strings.TrimSpace(f.WinInterpreter)
	if v == "" || (c.ScriptSource != SourceInline && c.ScriptSource != SourceFile) || (c.ScriptLanguage != 2 && c.ScriptLanguage != 5) {
		return
	}
	if !strings.HasSuffix(v, ".exe") {
		ps.add("windowsInterpreter", "val.win_interpreter_exe", v)
	}
	if n := utf16Len(v); n > maxInterpreterLen {
		ps.add("windowsInterpreter", "val.too_long_utf16", n, maxInterpreterLen)
	}
	c.WindowsInterpreter = v
}

func parseRolling(ps *Problems, c *Config, f Form) {
	if !parseBool(ps, "rollingEnabled", f.RollingEnabled) {
		return
	}
	mode := parseEnum(ps, "rollingMode", f.RollingMode, enumRollMode)
	if strings.TrimSpace(f.RollingExpr) == "" {
		ps.add("rollingExpression", "val.required")
		return
	}
	expr, err := rolling.Parse(f.RollingExpr)
	if err != nil {
		var pe *rolling.ParseError
		reason := rolling.ReasonSyntax
		token := strings.TrimSpace(f.RollingExpr)
		if errors.As(err, &pe) {
			reason = pe.Reason
			if pe.Token != "" {
				token = pe.Token
			}
		}
		ps.add("rollingExpression", "val.rolling_"+reason, token)
		return
	}
	for _, w := range expr.PortabilityWarnings() {
		ps.warn("rollingExpression", "warn.rolling_"+w, expr.String())
	}
	if n, known := c.Targets.KnownCount(); known {
		// Counted as JOB counts (32-bit): an expression that overflows there fails JOB internally.
		switch _, err := expr.BatchesServer(n); {
		case errors.Is(err, rolling.ErrServerInternal):
			ps.add("rollingExpression", "val.rolling_overflow", expr.String(), n)
		case err != nil:
			ps.add("rollingExpression", "val.rolling_batches", expr.String(), n, rolling.MaxBatches)
		}
	}
	m, _ := strconv.Atoi(mode)
	c.Rolling = &Rolling{Expr: expr, Mode: m}
	if parseEnum(ps, "rollingExecution", f.RollingExec, enumRollExec) != "staggered" {
		return
	}
	r := c.Rolling
	r.Staggered = true
	r.Stagger = parseIntRange(ps, "rollingStaggerSeconds", f.RollingStagger, 0, maxStaggerSeconds)
	r.JitterMin = parseIntRange(ps, "rollingJitterMinSeconds", f.RollingJitterMin, 0, maxStaggerSeconds)
	r.JitterMax = parseIntRange(ps, "rollingJitterMaxSeconds", f.RollingJitterMax, 0, maxStaggerSeconds)
	if r.JitterMin > r.JitterMax {
		ps.add("rollingJitterMaxSeconds", "val.rolling_jitter_order", r.JitterMin, r.JitterMax)
	}
	if n, known := c.Targets.KnownCount(); known {
		if bs, err := expr.Batches(n); err == nil && len(bs) > maxStaggeredBatches {
			ps.add("rollingExpression", "val.rolling_staggered_batches", expr.String(), n, maxStaggeredBatches)
		}
	}
}

func parseWaiting(ps *Problems, c *Config, f Form, b Build) {
	c.Wait = parseMode(ps, "wait", f.Wait, waitModes)
	if u := strings.TrimSpace(f.CallbackURL); u != "" {
		if checkHTTPURL(ps, "callbackUrl", u) {
			c.CallbackURL = u
		}
	}
	if c.Wait == WaitCallback {
		parseCallback(ps, c, f)
	}
	if s := strings.TrimSpace(f.WaitTimeout); s != "" {
		n := parseIntRange(ps, "waitTimeout", s, 1, int(maxWaitTimeout/time.Second))
		c.WaitTimeout = time.Duration(n) * time.Second
	}
	c.StepDeadline = stepDeadline(b.AtomTimeout, b.Elapsed)
}

// parseCallback reads the callback mode's base URL and listen address.
func parseCallback(ps *Problems, c *Config, f Form) {
	base := strings.TrimRight(strings.TrimSpace(f.CallbackBaseURL), "/")
	c.CallbackListen = strings.TrimSpace(f.CallbackListen)
	switch {
	case base == "":
		ps.add("callbackBaseUrl", "val.callback_base_required")
	case checkHTTPURL(ps, "callbackBaseUrl", base):
		c.CallbackBaseURL = base
		if u, _ := url.Parse(base); u.RawQuery != "" || u.Fragment != "" {
			ps.add("callbackBaseUrl", "val.url_no_query", base)
		}
		// The default listen address comes from the base URL's port, which must be one (1–65535).
		if listen, err := wait.DefaultListenAddr(base); err != nil {
			ps.add("callbackBaseUrl", "val.url_port", base)
		} else if c.CallbackListen == "" {
			c.CallbackListen = listen
		}
	}
	if c.CallbackListen == "" {
		return
	}
	host, port, err := net.SplitHostPort(c.CallbackListen)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 || (host != "" && net.ParseIP(host) == nil && !validHostname(host)) {
		ps.add("callbackListen", "val.listen", c.CallbackListen)
	}
}

// stepTimeout is BK-CI's timer for the step: BK_CI_ATOM_TIMEOUT minutes, which the worker takes from
// the same setting as its timer (worker-common .../utils/TaskUtil.kt getTimeOut); 0 is BK-CI's 7 days,
// a missing or unreadable value its default of 900 minutes.
func stepTimeout(minutes string) time.Duration {
	d := defaultStepTimeout
	if n, err := strconv.Atoi(strings.TrimSpace(minutes)); err == nil && n >= 0 {
		d = maxWaitTimeout
		if n > 0 && n < int(maxWaitTimeout/time.Minute) {
			d = time.Duration(n) * time.Minute
		}
	}
	return d
}

// stepDeadline is how long the step may run from now: BK-CI's timer (stepTimeout), less what it
// counted before the plugin started (elapsed: the download, among others; bkci.TimerStarted), less a
// margin. At its timeout BK-CI signals only the shell that started the plugin (worker-common
// .../utils/CommandLineExecutor.kt), so the plugin, never told, must end by itself; the margin leaves
// time to look up a job whose submit was cut (lookupGrace), terminate it (terminateGrace) and write
// output.json, and covers the worker's two API calls before the earliest file TimerStarted reads.
func stepDeadline(minutes string, elapsed time.Duration) time.Duration {
	d := stepTimeout(minutes)
	margin := min(max(d/20, 30*time.Second), time.Minute)
	left := d - max(elapsed, 0)
	if left <= 2*margin {
		return max(left/2, 0)
	}
	return left - margin
}

// EffectiveWait is how long the plugin waits for the job: waitTimeout when set, else the script timeout
// times the rolling batches plus margins, and the retries (retry.go); never beyond the step's own
// deadline.
func (c *Config) EffectiveWait() time.Duration {
	w := c.WaitTimeout
	switch {
	case w != 0:
	case c.Rolling != nil && c.Rolling.Mode == 3 && !c.Rolling.Staggered:
		w = c.StepDeadline
	default:
		w = c.firstAttemptWait() + c.retryAllowance(c.RetryFailed)
	}
	if c.StepDeadline > 0 && w > c.StepDeadline {
		w = c.StepDeadline
	}
	return w
}

// firstAttemptWait is how long the job's first run may take: the script timeout times the rolling
// batches plus margins; a staggered job's span. A rolling job waiting for confirmations (mode 3) is
// counted as if nobody took time to confirm.
func (c *Config) firstAttemptWait() time.Duration {
	if c.Rolling != nil && c.Rolling.Staggered {
		return c.staggeredSpan() + waitMarginBase
	}
	per := time.Duration(c.Timeout)*time.Second + waitMarginPerBatch
	return time.Duration(c.batches())*per + waitMarginBase
}

// staggeredSpan is how long a staggered job's batches may run: the last one starts at most
// (batches-1) × (fixed + largest random) seconds after the first, then runs for at most the script
// timeout (docs/JOB.md#staggered-rolling). JOB ignores the rolling mode here, so no batch waits for a
// confirmation.
func (c *Config) staggeredSpan() time.Duration {
	n := c.batches()
	if n == rolling.MaxBatches { // the number of targets is known only once JOB resolves them
		n = maxStaggeredBatches
	}
	gap := time.Duration(c.Rolling.Stagger+c.Rolling.JitterMax) * time.Second
	return time.Duration(n-1)*gap + time.Duration(c.Timeout)*time.Second + waitMarginPerBatch
}

// batches is the number of rolling batches the job runs in: 1 without rolling, JOB's maximum when the
// number of targets is not known before the job resolves them.
func (c *Config) batches() int {
	if c.Rolling == nil {
		return 1
	}
	n, known := c.Targets.KnownCount()
	if !known {
		return rolling.MaxBatches
	}
	if bs, err := c.Rolling.Expr.Batches(n); err == nil && len(bs) > 0 {
		return len(bs)
	}
	return 1
}

func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// urlRefused are the characters JOB's URL check (Java's URI) refuses and Go's url.Parse lets through.
const urlRefused = " \t\r\n\"<>\\^`{|}"

func checkHTTPURL(ps *Problems, field, s string) bool {
	u, err := url.Parse(s)
	if err != nil || strings.ContainsAny(s, urlRefused) || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" || u.Hostname() == "" {
		ps.add(field, "val.url", s)
		return false
	}
	if u.User != nil {
		ps.add(field, "val.url_userinfo")
		return false
	}
	// JOB parses the callback URL with java.net.URI and refuses the submit when Java finds no host in it
	// (an underscore, a leading hyphen, a numeric last label, a non-ASCII name): refuse it here instead,
	// before a job exists (internal/callbackurl).
	if err := callbackurl.Check(s); err != nil {
		ps.add(field, "val.url_host", s)
		return false
	}
	return true
}

func parseTolerance(ps *Problems, v string) Tolerance {
	v = strings.TrimSpace(v)
	if v == "" {
		return Tolerance{}
	}
	pct := strings.HasSuffix(v, "%")
	num := strings.TrimSuffix(v, "%")
	n, err := strconv.Atoi(num)
	if err != nil || !digitsRe.MatchString(num) || (pct && n > 100) {
		ps.add("failureTolerance", "val.tolerance", v)
		return Tolerance{}
	}
	return Tolerance{N: n, Percent: pct}
}

// taskName returns the job's name: the form's, else a default, each with the run's marker appended
// (runMarker), so that the step and its post action can find this run's job, and only it, by its name.
// JOB's limit of 512 counts UTF-16 code units (Java), so a character outside the BMP, an emoji say,
// counts twice there.
func taskName(ps *Problems, f Form, b Build, run Run) string {
	marker := runMarker(run)
	limit := maxTaskNameRunes - runMarkerLen
	if name := strings.TrimSpace(f.TaskName); name != "" {
		if n := utf8.RuneCountInString(name); n > limit {
			ps.add("taskName", "val.too_long", n, limit)
		} else if u := utf16Len(name); u > limit {
			ps.add("taskName", "val.too_long_utf16", u, limit)
		}
		return name + marker
	}
	step := b.StepID
	if step == "" {
		step = b.TaskID
	}
	pipeline := b.PipelineName
	if pipeline == "" {
		pipeline = AtomCode
	}
	suffix := marker
	if step != "" {
		suffix = "-" + step + suffix
	}
	if b.BuildNum != "" {
		suffix = "-#" + b.BuildNum + suffix
	}
	if utf16Len(suffix) >= maxTaskNameRunes { // an absurdly long step id: keep what makes it unique
		suffix = marker
	}
	return cutUTF16(pipeline, maxTaskNameRunes-utf16Len(suffix)) + suffix
}

// utf16Len is the length of s in UTF-16 code units, as JOB (Java) counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// cutUTF16 returns the longest prefix of s, whole characters only, of at most n UTF-16 code units.
func cutUTF16(s string, n int) string {
	used := 0
	for i, r := range s {
		if used += utf16.RuneLen(r); used > n {
			return s[:i]
		}
	}
	return s
}
