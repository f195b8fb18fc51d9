package bkci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// inputWithSensitive builds an Input whose bkSensitiveConfInfo is sens.
func inputWithSensitive(t *testing.T, sens map[string]string) *Input {
	t.Helper()
	b, err := json.Marshal(map[string]any{SensitiveConfKey: sens, "BK_CI_BUILD_ID": "b-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, getenv := writeInput(t, string(b), "input.json")
	in, err := LoadInput(getenv)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestLoadPrivateConfig(t *testing.T) {
	t.Parallel()
	full := map[string]string{
		KeyJobAPIURL: "https://gw/api/bk-job/prod", KeyAppCode: "bk_ci", KeyAppSecret: "s3cr3t",
		KeyJobWebURL: "https://job", KeyUsername: "admin", KeyTenantID: "t1", KeyCACert: "PEM",
	}
	tests := []struct {
		name        string
		sens        map[string]string // nil: no input at all
		env         map[string]string // nil: no env lookuper
		api         map[string]string // what the build API gave
		want        PrivateConfig
		wantMissing []string
	}{
		{
			name: "all from sensitive conf", sens: full,
			want: PrivateConfig{JobAPIURL: "https://gw/api/bk-job/prod", AppCode: "bk_ci", AppSecret: "s3cr3t",
				JobWebURL: "https://job", Username: "admin", TenantID: "t1", CACert: "PEM"},
		},
		{
			name: "env fallback", sens: map[string]string{}, env: full,
			want: PrivateConfig{JobAPIURL: "https://gw/api/bk-job/prod", AppCode: "bk_ci", AppSecret: "s3cr3t",
				JobWebURL: "https://job", Username: "admin", TenantID: "t1", CACert: "PEM"},
		},
		{
			// Under BK-CI pipeline variables are in the environment: none may fill a key the
			// administrator left out, such as the operator.
			name: "set private config: the environment is not read",
			sens: map[string]string{KeyJobAPIURL: "https://sens", KeyAppCode: "sens", KeyAppSecret: "sens-secret"},
			env: map[string]string{KeyJobAPIURL: "https://env", KeyAppCode: "env", KeyAppSecret: "env-secret", KeyUsername: "env-user",
				KeyJobWebURL: "https://evil", KeyTenantID: "t", KeyCACert: "PEM"},
			want: PrivateConfig{JobAPIURL: "https://sens", AppCode: "sens", AppSecret: "sens-secret"},
		},
		{
			name: "private config of empty values: the environment is read",
			sens: map[string]string{KeyJobAPIURL: "", KeyAppSecret: " "},
			env:  full,
			want: PrivateConfig{JobAPIURL: "https://gw/api/bk-job/prod", AppCode: "bk_ci", AppSecret: "s3cr3t",
				JobWebURL: "https://job", Username: "admin", TenantID: "t1", CACert: "PEM"},
		},
		{
			name: "aliases",
			sens: map[string]string{KeyJobAPIURL: "u", KeyAppCodeAlias: "old-app", KeyAppSecret: "sss", KeyJobWebURLAlias: "https://old-job"},
			want: PrivateConfig{JobAPIURL: "u", AppCode: "old-app", AppSecret: "sss", JobWebURL: "https://old-job"},
		},
		{
			name: "canonical over alias in one source",
			sens: map[string]string{KeyJobAPIURL: "u", KeyAppCode: "new", KeyAppCodeAlias: "old", KeyAppSecret: "sss",
				KeyJobWebURL: "https://new", KeyJobWebURLAlias: "https://old"},
			want: PrivateConfig{JobAPIURL: "u", AppCode: "new", AppSecret: "sss", JobWebURL: "https://new"},
		},
		{
			name: "alias in sensitive conf wins over canonical in env",
			sens: map[string]string{KeyJobAPIURL: "u", KeyAppCodeAlias: "sens-alias", KeyAppSecret: "sss"},
			env:  map[string]string{KeyAppCode: "env-canonical"},
			want: PrivateConfig{JobAPIURL: "u", AppCode: "sens-alias", AppSecret: "sss"},
		},
		{
			name: "empty values count as missing",
			sens: map[string]string{KeyJobAPIURL: "", KeyAppCode: "  ", KeyAppCodeAlias: "alias", KeyAppSecret: ""},
			env:  map[string]string{KeyJobAPIURL: "https://env", KeyAppSecret: " env-secret\n"},
			want: PrivateConfig{AppCode: "alias"}, wantMissing: []string{KeyJobAPIURL, KeyAppSecret},
		},
		{
			name: "env values are trimmed", env: map[string]string{KeyJobAPIURL: "", KeyAppCode: "a", KeyAppSecret: " env-secret\n"},
			want: PrivateConfig{AppCode: "a", AppSecret: "env-secret"}, wantMissing: []string{KeyJobAPIURL},
		},
		{
			name: "all required missing", sens: map[string]string{KeyUsername: "u"},
			want:        PrivateConfig{Username: "u"},
			wantMissing: []string{KeyJobAPIURL, KeyAppCode, KeyAppSecret},
		},
		{
			name: "alias only in env", sens: nil, env: map[string]string{KeyAppCodeAlias: "x"},
			want: PrivateConfig{AppCode: "x"}, wantMissing: []string{KeyJobAPIURL, KeyAppSecret},
		},
		{
			name: "build API when input.json has none", sens: map[string]string{KeyUsername: " "}, api: full,
			env: map[string]string{KeyUsername: "from-a-pipeline-variable"},
			want: PrivateConfig{JobAPIURL: full[KeyJobAPIURL], AppCode: "bk_ci", AppSecret: "s3cr3t",
				JobWebURL: "https://job", Username: "admin", TenantID: "t1", CACert: "PEM"},
		},
		{
			name: "input.json wins over the build API", sens: map[string]string{KeyAppCode: "in"}, api: full,
			want: PrivateConfig{AppCode: "in"}, wantMissing: []string{KeyJobAPIURL, KeyAppSecret},
		},
		{
			name: "empty build API answer: env", api: map[string]string{KeyAppCode: ""}, env: map[string]string{KeyAppCode: "e"},
			want: PrivateConfig{AppCode: "e"}, wantMissing: []string{KeyJobAPIURL, KeyAppSecret},
		},
		{
			name: "nothing at all", wantMissing: []string{KeyJobAPIURL, KeyAppCode, KeyAppSecret},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in *Input
			if tt.sens != nil {
				in = inputWithSensitive(t, tt.sens)
			}
			var env envconfig.Lookuper
			if tt.env != nil {
				env = envconfig.MapLookuper(tt.env)
			}
			got, missing, err := LoadPrivateConfig(context.Background(), in, tt.api, env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %#v\nwant     %#v (secrets masked)", got, tt.want)
				if got.AppSecret != tt.want.AppSecret {
					t.Errorf("AppSecret differs")
				}
			}
			if !slices.Equal(missing, tt.wantMissing) {
				t.Errorf("missing = %q, want %q", missing, tt.wantMissing)
			}
		})
	}
}

func TestPrivateConfig_NeverPrintsSecret(t *testing.T) {
	t.Parallel()
	const secret = "VERY-SECRET-VALUE"
	cfg := PrivateConfig{JobAPIURL: "https://gw", AppCode: "app", AppSecret: secret, CACert: "-----BEGIN CERTIFICATE-----"}
	type wrapper struct {
		Cfg PrivateConfig
		Ptr *PrivateConfig
	}
	var outs []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10.3v", "%-40s", "%d", "%T %v"} {
		outs = append(outs,
			fmt.Sprintf(format, cfg),
			fmt.Sprintf(format, &cfg),
			fmt.Sprintf(format, wrapper{cfg, &cfg}),
			fmt.Sprintf(format, []PrivateConfig{cfg}),
			fmt.Sprintf(format, map[string]PrivateConfig{"k": cfg}),
		)
	}
	outs = append(outs, fmt.Sprint(cfg), fmt.Sprintln(cfg), cfg.String(), cfg.GoString())
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "cfg", cfg)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "cfg", cfg, "ptr", &cfg)
	outs = append(outs, buf.String())
	js, err := json.Marshal(wrapper{cfg, &cfg})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(js))
	for _, out := range outs {
		if strings.Contains(out, secret) || strings.Contains(out, "BEGIN CERTIFICATE") {
			t.Fatalf("secret printed: %s", out)
		}
	}
	if got := fmt.Sprintf("%+v", cfg); !strings.Contains(got, "AppSecret:"+Mask) || !strings.Contains(got, "JobAPIURL:https://gw") {
		t.Errorf("%%+v = %s", got)
	}
	if got := fmt.Sprintf("%#v", cfg); !strings.HasPrefix(got, "bkci.PrivateConfig{") || !strings.Contains(got, `AppSecret:"******"`) {
		t.Errorf("%%#v = %s", got)
	}
	if got := fmt.Sprintf("%v", PrivateConfig{}); strings.Contains(got, Mask) {
		t.Errorf("empty secret shown as set: %s", got)
	}
	if s := cfg.Secrets(); len(s) != 1 || s[0] != secret {
		t.Errorf("Secrets() = %d values", len(s))
	}
	if s := (PrivateConfig{}).Secrets(); s != nil {
		t.Errorf("Secrets() of empty config = %d values", len(s))
	}
}
