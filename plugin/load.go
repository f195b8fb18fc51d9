package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
)

// args are the step's command-line arguments: BK-CI runs the step with none, and its post action with
// --postAction=<postEntryParam> (task.json execution.post).
type args struct {
	version    bool
	help       bool
	postAction string // "" for the step itself
}

func parseArgs(list []string) args {
	var a args
	for _, arg := range list {
		switch {
		case arg == "--version" || arg == "-version":
			a.version = true
		case arg == "--help" || arg == "-help" || arg == "-h":
			a.help = true
		case strings.HasPrefix(arg, "--postAction="):
			a.postAction = strings.TrimPrefix(arg, "--postAction=")
			if a.postAction == "" {
				a.postAction = "terminate"
			}
		case arg == "--postAction":
			a.postAction = "terminate"
		}
	}
	return a
}

// load reads input.json, the private config, the build variables and the form, and validates them.
func (s *step) load(ctx context.Context) (*Config, error) {
	if err := s.loadInput(); err != nil {
		return nil, err
	}
	return s.loadConfig(ctx)
}

// loadInput reads input.json into s.in and takes the language from it when the environment names none.
func (s *step) loadInput() error {
	in, err := bkci.LoadInput(s.env.Getenv)
	if err != nil {
		return &InputError{Lang: s.lang, Problems: []Problem{{Key: "val.input_file", Args: []any{err.Error()}}}}
	}
	s.in = in
	if loc := in.Get("BK_CI_LOCALE_LANGUAGE"); loc != "" && s.env.Getenv("BK_CI_LOCALE_LANGUAGE") == "" {
		s.lang = i18n.ParseLang(loc)
	}
	return nil
}

// loadConfig reads the private config, the build variables and the form from s.in, and validates
// them. When only the form is invalid (an *InputError), the returned Config still holds the language,
// the private config and the build variables, with OnCancel "terminate": all the post action needs.
func (s *step) loadConfig(ctx context.Context) (*Config, error) {
	env := envLookuper(s.env.Getenv)
	var api map[string]string
	if !s.in.HasPrivateConfig() {
		api = s.privateConfigFromBuildAPI(ctx)
	}
	priv, missing, err := bkci.LoadPrivateConfig(ctx, s.in, api, env)
	if err != nil {
		return nil, fmt.Errorf("private config: %w", err)
	}
	s.log.AddSecret(priv.Secrets()...)
	var form Form
	if err := decode(ctx, &form, s.in.Lookuper()); err != nil {
		return nil, err
	}
	form.adoptScriptContent(s.in.Has)
	var b Build
	if err := decode(ctx, &b, envconfig.MultiLookuper(s.in.Lookuper(), env)); err != nil {
		return nil, err
	}
	b.Elapsed = time.Since(bkci.TimerStarted(s.in.DataDir, s.in.InputPath, time.Now()))
	cfg, ps := Parse(form, b, priv, missing, s.lang)
	for _, w := range ps.Warnings {
		s.log.Warn(w.Text(s.lang))
	}
	if cfg == nil {
		base := &Config{Lang: s.lang, Private: priv, Build: b, OnCancel: CancelTerminate}
		return base, &InputError{Lang: s.lang, Problems: ps.Errors}
	}
	if cfg.ParamSensitive && strings.TrimSpace(cfg.ScriptParam) != "" {
		s.log.AddSecret(paramSecrets(cfg.ScriptParam)...)
	}
	return cfg, nil
}

func (s *step) newClient(cfg *Config) (*jobapi.Client, error) {
	c, err := jobapi.New(jobapi.Config{
		BaseURL:   cfg.Private.JobAPIURL,
		AppCode:   cfg.Private.AppCode,
		AppSecret: cfg.Private.AppSecret,
		Username:  cfg.Operator,
		TenantID:  cfg.Private.TenantID,
		Language:  s.lang.HTTPLanguage(),
		UserAgent: AtomCode + "/" + Version,
		CACertPEM: cfg.Private.CACert,
		// Every secret the step knows is masked in JOB's text before the client cuts it.
		Redact: s.log.Redact,
		OnRetry: func(op string, attempt int, err error, wait time.Duration) {
			if e, ok := jobapi.As(err); ok && e.QuotaRefused() {
				// No job was created: JOB runs as many jobs as its quota allows; wait for some to end.
				s.log.Warn(s.t("msg.retrying_quota", e.Code, s.apiErrorText(err), wait.Round(time.Second), attempt))
				return
			}
			s.log.Info(s.t("msg.retrying", op, attempt, s.apiErrorText(err), wait.Round(time.Millisecond)))
		},
	})
	if err != nil {
		return nil, &InputError{Lang: s.lang, Problems: []Problem{{Field: "", Key: "val.client", Args: []any{s.log.Redact(err.Error())}}}}
	}
	return c, nil
}

// envLookuper looks keys up in the process environment, treating empty values as unset.
func envLookuper(getenv func(string) string) envconfig.Lookuper {
	return envconfig.LookuperFunc(func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	})
}
