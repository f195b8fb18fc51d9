package bkci

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Private config keys (docs/CONTRACT.md#private-config), as set by the administrator in the plugin's private
// config (bkSensitiveConfInfo) or, as a fallback, in the environment.
const (
	KeyJobAPIURL      = "BK_JOB_API_URL" // required: API gateway base URL
	KeyAppCode        = "BK_APP_CODE"    // required: app code
	KeyAppCodeAlias   = "BK_APP_ID"      // alias of BK_APP_CODE (older JOB plugins)
	KeyAppSecret      = "BK_APP_SECRET"  // required: app secret
	KeyJobWebURL      = "BK_JOB_WEB_URL" // JOB web UI root
	KeyJobWebURLAlias = "JOB_HOST"       // alias of BK_JOB_WEB_URL (older JOB plugins)
	KeyUsername       = "BK_USERNAME"    // fixed operator
	KeyTenantID       = "BK_TENANT_ID"   // X-Bk-Tenant-Id
	KeyCACert         = "BK_JOB_CA_CERT" // extra trusted PEM bundle
)

// configAliases maps a canonical key to the alias accepted for it.
var configAliases = map[string]string{
	KeyAppCode:   KeyAppCodeAlias,
	KeyJobWebURL: KeyJobWebURLAlias,
}

// PrivateConfig is the administrator's configuration of the plugin. Printing it with fmt
// (any verb), log/slog or encoding/json masks AppSecret; only AppSecret is secret.
type PrivateConfig struct {
	JobAPIURL string `env:"BK_JOB_API_URL"` // BK_JOB_API_URL
	AppCode   string `env:"BK_APP_CODE"`    // BK_APP_CODE, alias BK_APP_ID
	AppSecret string `env:"BK_APP_SECRET"`  // BK_APP_SECRET (secret)
	JobWebURL string `env:"BK_JOB_WEB_URL"` // BK_JOB_WEB_URL, alias JOB_HOST
	Username  string `env:"BK_USERNAME"`    // BK_USERNAME
	TenantID  string `env:"BK_TENANT_ID"`   // BK_TENANT_ID
	CACert    string `env:"BK_JOB_CA_CERT"` // BK_JOB_CA_CERT (PEM)
}

// LoadPrivateConfig reads the private config from in's bkSensitiveConfInfo or, when that holds
// no value at all, from api (what BK-CI's build API gave for it: an agent started with
// BK_CI_ATOM_PRIVATE_CONFIG_WRITE_SWITCH=false leaves it out of input.json, docs/BKCI.md#the-build-api)
// or, when that holds no value either (local runs and tests), from env (any may be nil). The environment is never
// mixed in once an administrator has set private config: under BK-CI every pipeline variable is
// exported to the plugin, so a variable named BK_USERNAME must not choose the operator. Within
// the source the canonical key is tried before its alias. Values are trimmed of surrounding white
// space and an empty value counts as unset. The canonical names of missing required keys
// (BK_JOB_API_URL, BK_APP_CODE, BK_APP_SECRET) are returned in that order; the error is only
// for failures of envconfig itself.
func LoadPrivateConfig(ctx context.Context, in *Input, api map[string]string, env envconfig.Lookuper) (PrivateConfig, []string, error) {
	var cfg PrivateConfig
	l := &configLookuper{}
	if sens := in.Sensitive(); anyValue(sens) {
		l.sources = append(l.sources, envconfig.MapLookuper(sens))
	} else if anyValue(api) {
		l.sources = append(l.sources, envconfig.MapLookuper(api))
	} else if env != nil {
		l.sources = append(l.sources, env)
	}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &cfg, Lookuper: l}); err != nil {
		return PrivateConfig{}, nil, fmt.Errorf("read private config: %w", err)
	}
	var missing []string
	for _, req := range []struct{ key, val string }{
		{KeyJobAPIURL, cfg.JobAPIURL},
		{KeyAppCode, cfg.AppCode},
		{KeyAppSecret, cfg.AppSecret},
	} {
		if req.val == "" {
			missing = append(missing, req.key)
		}
	}
	return cfg, missing, nil
}

// HasPrivateConfig reports whether input.json's bkSensitiveConfInfo holds a value.
func (in *Input) HasPrivateConfig() bool { return anyValue(in.Sensitive()) }

// anyValue reports whether m has a value that is not white space.
func anyValue(m map[string]string) bool {
	for _, v := range m {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// configLookuper looks a key up in each source in turn, trying the key's alias right after the
// key within one source and skipping empty values. envconfig.MultiLookuper cannot do this: it
// knows no aliases and stops at the first source that has the key, even when it is empty.
type configLookuper struct {
	sources []envconfig.Lookuper
}

// Lookup implements envconfig.Lookuper.
func (c *configLookuper) Lookup(key string) (string, bool) {
	names := []string{key}
	if alias, ok := configAliases[key]; ok {
		names = append(names, alias)
	}
	for _, src := range c.sources {
		for _, name := range names {
			if v, ok := src.Lookup(name); ok {
				if v = strings.TrimSpace(v); v != "" {
					return v, true
				}
			}
		}
	}
	return "", false
}

// Secrets returns the values that must never be shown (for Log.AddSecret).
func (c PrivateConfig) Secrets() []string {
	if c.AppSecret == "" {
		return nil
	}
	return []string{c.AppSecret}
}

func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return Mask
}

func certSummary(s string) string {
	if s == "" {
		return ""
	}
	return "<" + strconv.Itoa(len(s)) + " bytes>"
}

// String returns the config with AppSecret masked and CACert summarised.
func (c PrivateConfig) String() string {
	return fmt.Sprintf("{JobAPIURL:%s AppCode:%s AppSecret:%s JobWebURL:%s Username:%s TenantID:%s CACert:%s}",
		c.JobAPIURL, c.AppCode, maskSecret(c.AppSecret), c.JobWebURL, c.Username, c.TenantID, certSummary(c.CACert))
}

// GoString returns a Go-syntax form with AppSecret masked and CACert summarised.
func (c PrivateConfig) GoString() string {
	return fmt.Sprintf("bkci.PrivateConfig{JobAPIURL:%q, AppCode:%q, AppSecret:%q, JobWebURL:%q, Username:%q, TenantID:%q, CACert:%q}",
		c.JobAPIURL, c.AppCode, maskSecret(c.AppSecret), c.JobWebURL, c.Username, c.TenantID, certSummary(c.CACert))
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %q, %x, ...) prints the
// masked form: %#v gives GoString, every other verb formats String.
func (c PrivateConfig) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(plainState{f}, verb), c.String())
}

// plainState hides the '#' and '+' flags from fmt.FormatString (they are meaningless for the
// masked string) while keeping width, precision and the other flags.
type plainState struct{ fmt.State }

func (p plainState) Flag(c int) bool { return c != '#' && c != '+' && p.State.Flag(c) }

// LogValue implements slog.LogValuer with AppSecret masked.
func (c PrivateConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("JobAPIURL", c.JobAPIURL),
		slog.String("AppCode", c.AppCode),
		slog.String("AppSecret", maskSecret(c.AppSecret)),
		slog.String("JobWebURL", c.JobWebURL),
		slog.String("Username", c.Username),
		slog.String("TenantID", c.TenantID),
		slog.String("CACert", certSummary(c.CACert)),
	)
}

// MarshalJSON implements json.Marshaler with AppSecret masked, so the config cannot leak into a
// report or output file by accident.
func (c PrivateConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		JobAPIURL, AppCode, AppSecret, JobWebURL, Username, TenantID, CACert string
	}{c.JobAPIURL, c.AppCode, maskSecret(c.AppSecret), c.JobWebURL, c.Username, c.TenantID, certSummary(c.CACert)})
}
