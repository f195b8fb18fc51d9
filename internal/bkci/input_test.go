package bkci

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// envOf returns a getenv function over m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeInput writes content as dir/name and returns a getenv pointing at it.
func writeInput(t testing.TB, content, name string) (string, func(string) string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, envOf(map[string]string{EnvDataDir: dir, EnvDataInput: name})
}

const sampleInput = `{
  "BK_CI_PROJECT_NAME": "demo",
  "BK_CI_BUILD_NUM": "42",
  "pipeline.build.id": "b-9f8e",
  "a*b?c|d#e@f": "odd",
  "hosts": "0:10.0.0.1\n0:10.0.0.2",
  "targets": "[ \"a\", \"b\" ]",
  "rawList": [1, "x"],
  "rawObj": {"k": "v"},
  "num": 1.50,
  "flag": true,
  "nothing": null,
  "empty": "",
  "unicode": "\u65e5\u5fd7 \ud83d\ude00",
  "bkSensitiveConfInfo": {"BK_APP_SECRET": "s3cr3t", "BK_JOB_API_URL": "https://gw", "n": 5, "z": null}
}`

func TestLoadInput(t *testing.T) {
	t.Parallel()
	dir, getenv := writeInput(t, sampleInput, "input.json")
	in, err := LoadInput(getenv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, want string
		has       bool
	}{
		{"BK_CI_PROJECT_NAME", "demo", true},
		{"BK_CI_BUILD_NUM", "42", true},
		{"pipeline.build.id", "b-9f8e", true},
		{"a*b?c|d#e@f", "odd", true},
		{"hosts", "0:10.0.0.1\n0:10.0.0.2", true},
		{"targets", `[ "a", "b" ]`, true},
		{"rawList", `[1, "x"]`, true},
		{"rawObj", `{"k": "v"}`, true},
		{"num", "1.50", true},
		{"flag", "true", true},
		{"nothing", "", true},
		{"empty", "", true},
		{"unicode", "日志 😀", true},
		{"missing", "", false},
		{"pipeline", "", false},
		{SensitiveConfKey, "", false},
	}
	for _, tt := range tests {
		if got := in.Get(tt.key); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.key, got, tt.want)
		}
		if got := in.Has(tt.key); got != tt.has {
			t.Errorf("Has(%q) = %v, want %v", tt.key, got, tt.has)
		}
	}
	keys := in.Keys()
	if !slices.IsSorted(keys) || len(keys) != 13 || slices.Contains(keys, SensitiveConfKey) {
		t.Errorf("Keys() = %q", keys)
	}
	sens := in.Sensitive()
	want := map[string]string{"BK_APP_SECRET": "s3cr3t", "BK_JOB_API_URL": "https://gw", "n": "5", "z": ""}
	if len(sens) != len(want) {
		t.Fatalf("Sensitive() = %v", len(sens))
	}
	for k, v := range want {
		if sens[k] != v {
			t.Errorf("Sensitive()[%q] = %q, want %q", k, sens[k], v)
		}
	}
	sens["BK_APP_SECRET"] = "changed"
	if in.Sensitive()["BK_APP_SECRET"] != "s3cr3t" {
		t.Error("Sensitive() does not return a copy")
	}
	if in.DataDir != dir || in.InputPath != filepath.Join(dir, "input.json") ||
		in.OutputPath != filepath.Join(dir, "output.json") {
		t.Errorf("paths: %q %q %q", in.DataDir, in.InputPath, in.OutputPath)
	}
}

func TestLoadInput_Paths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.json"), []byte(`{"a":"1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(t.TempDir(), "abs.json")
	if err := os.WriteFile(abs, []byte(`{"a":"2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		env            map[string]string
		wantA, wantOut string
	}{
		{"custom names", map[string]string{EnvDataDir: dir, EnvDataInput: "in.json", EnvDataOutput: "out.json"},
			"1", filepath.Join(dir, "out.json")},
		{"absolute input", map[string]string{EnvDataDir: dir, EnvDataInput: abs}, "2", filepath.Join(dir, "output.json")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := LoadInput(envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if in.Get("a") != tt.wantA || in.OutputPath != tt.wantOut {
				t.Fatalf("a=%q out=%q", in.Get("a"), in.OutputPath)
			}
		})
	}
}

// TestLoadInput_DefaultDir changes the working directory, so it is not parallel.
func TestLoadInput_DefaultDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input.json"), []byte(`{"k":"cwd"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	in, err := LoadInput(nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Get("k") != "cwd" {
		t.Fatalf("Get(k) = %q", in.Get("k"))
	}
	wd, _ := os.Getwd()
	if in.DataDir != wd {
		t.Fatalf("DataDir = %q, want %q", in.DataDir, wd)
	}
}

func TestLoadInput_Errors(t *testing.T) {
	t.Parallel()
	secretish := "TOPSECRETVALUE"
	tests := []struct {
		name    string
		content string
		is      error
	}{
		{"truncated", `{"a":"` + secretish, ErrInputInvalid},
		{"html", "<html>502 " + secretish + "</html>", ErrInputInvalid},
		{"array", `["` + secretish + `"]`, ErrInputInvalid},
		{"string", `"` + secretish + `"`, ErrInputInvalid},
		{"empty", "", ErrInputInvalid},
		{"trailing garbage", `{"a":"b"} x` + secretish, ErrInputInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, getenv := writeInput(t, tt.content, "input.json")
			_, err := LoadInput(getenv)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), "input.json") {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), secretish) {
				t.Errorf("error %q echoes the content", err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := LoadInput(envOf(map[string]string{EnvDataDir: dir}))
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "input.json")) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		p := filepath.Join(dir, "input.json")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		// A sparse file: valid-looking start, then MaxInputSize+1 bytes in total.
		if _, err := f.WriteString(`{"a":"`); err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(MaxInputSize + 1); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		_, err = LoadInput(envOf(map[string]string{EnvDataDir: dir}))
		if !errors.Is(err, ErrInputTooLarge) || !strings.Contains(err.Error(), p) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestInput_NilSafe(t *testing.T) {
	t.Parallel()
	var in *Input
	if in.Get("a") != "" || in.Has("a") || in.Keys() != nil || len(in.Sensitive()) != 0 {
		t.Fatal("nil Input not empty")
	}
	if _, ok := in.Lookuper().Lookup("a"); ok {
		t.Fatal("nil Input lookuper found a key")
	}
}

func TestInput_Lookuper(t *testing.T) {
	t.Parallel()
	_, getenv := writeInput(t, `{"timeout":"","wait":"callback","n":3,"bkSensitiveConfInfo":{"BK_APP_SECRET":"x"}}`, "input.json")
	in, err := LoadInput(getenv)
	if err != nil {
		t.Fatal(err)
	}
	var args struct {
		Timeout int    `env:"timeout, default=7200"`
		Wait    string `env:"wait, default=poll"`
		N       int    `env:"n"`
		Secret  string `env:"BK_APP_SECRET"`
	}
	if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &args, Lookuper: in.Lookuper()}); err != nil {
		t.Fatal(err)
	}
	if args.Timeout != 7200 || args.Wait != "callback" || args.N != 3 || args.Secret != "" {
		t.Fatalf("args = %+v", args)
	}
}

func FuzzLoadInput(f *testing.F) {
	for _, s := range []string{
		sampleInput, "", "{}", "[]", "null", `{"a":`, `{"bkSensitiveConfInfo":"{\"k\":\"v\"}"}`,
		`{"bkSensitiveConfInfo":[1,2]}`, `{"a":"\ud800"}`, `{"a":1e999}`, `{"a.b":{"c":[{}]}}`,
		"{\"a\":\"\xff\"}", `{"a":"1","a":"2"}`, `{"":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "input.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := LoadInput(envOf(map[string]string{EnvDataDir: dir}))
		if err != nil {
			if in != nil {
				t.Fatal("non-nil Input with an error")
			}
			if len(b) >= 8 && strings.Contains(err.Error(), string(b)) {
				t.Fatalf("error echoes the content: %v", err)
			}
			return
		}
		for _, k := range in.Keys() {
			_ = in.Get(k)
			if !in.Has(k) {
				t.Fatalf("Keys() lists %q but Has is false", k)
			}
		}
		_ = in.Sensitive()
		_, _, _ = LoadPrivateConfig(context.Background(), in, nil, nil)
	})
}
