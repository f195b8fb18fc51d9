package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobfastexecutescript/i18n"
)

// parseInWorkspace runs Parse with the build's workspace ws.
func parseInWorkspace(t *testing.T, ws string, in map[string]string) (*Config, *Problems) {
	t.Helper()
	b := testBuild
	b.WorkspaceEnv = ws
	return parseWithBuild(t, b, in)
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParse_ScriptFile: the file's content is the script (strict mode applied); a path leading out of the
// workspace, a missing file, a directory or one over JOB's limit is refused, naming the path.
func TestParse_ScriptFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ws := filepath.Join(root, "ws")
	write(t, filepath.Join(ws, "scripts/run.sh"), "#!/bin/bash\necho ${NOT_SUBSTITUTED}\n")
	write(t, filepath.Join(root, "secret.sh"), "echo secret\n")
	write(t, filepath.Join(ws, "empty.sh"), " \n")
	if err := os.Symlink(filepath.Join(root, "secret.sh"), filepath.Join(ws, "out.sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("scripts/run.sh", filepath.Join(ws, "in.sh")); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(ws, "big.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(maxScriptBytes + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()

	for _, p := range []string{"scripts/run.sh", "in.sh", filepath.Join(ws, "scripts/run.sh"), "scripts/../scripts/run.sh"} {
		c, ps := parseInWorkspace(t, ws, base("scriptSource", "file", "scriptFile", p, "scriptContent", ""))
		if c == nil {
			t.Fatalf("%s: %+v", p, ps.Errors)
		}
		if want := "#!/bin/bash\nset -euo pipefail\necho ${NOT_SUBSTITUTED}\n"; c.ScriptContent != want || c.ScriptLanguage != 1 || c.ScriptFile != p {
			t.Errorf("%s: script %q, language %d", p, c.ScriptContent, c.ScriptLanguage)
		}
	}
	for _, tc := range []struct{ path, key string }{
		{"../secret.sh", "val.ws_outside"},
		{filepath.Join(root, "secret.sh"), "val.ws_outside"},
		{"out.sh", "val.ws_outside"},
		{"scripts/../../secret.sh", "val.ws_outside"},
		{"nope.sh", "val.ws_not_found"},
		{"scripts", "val.ws_dir"},
		{"big.sh", "val.ws_too_big"},
		{"empty.sh", "val.ws_empty"},
		{"", "val.required"},
	} {
		c, ps := parseInWorkspace(t, ws, base("scriptSource", "file", "scriptFile", tc.path))
		if c != nil || len(ps.Errors) != 1 || ps.Errors[0].Field != "scriptFile" || ps.Errors[0].Key != tc.key {
			t.Errorf("%q: %+v, want scriptFile/%s", tc.path, ps.Errors, tc.key)
			continue
		}
		if text := ps.Errors[0].Text(i18n.EnUS); tc.path != "" && !strings.Contains(text, tc.path) {
			t.Errorf("%q: message %q does not name the path", tc.path, text)
		}
	}
	if _, ps := parseInWorkspace(t, "", base("scriptSource", "file", "scriptFile", "run.sh")); len(ps.Errors) != 1 || ps.Errors[0].Key != "val.ws_none" {
		t.Errorf("no workspace: %+v", ps.Errors)
	}
}

// TestParse_TargetsFile: the file's hosts are merged with the form's, duplicates dropped, comments
// skipped; every bad entry is reported with its line number.
func TestParse_TargetsFile(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	write(t, filepath.Join(ws, "hosts.txt"), "# web servers\n0:10.0.0.1, 10.0.0.2\n\n  #101\n# #102 commented out\n#10.0.0.9 commented\nhost:103 0:10.0.0.2\n")
	c, ps := parseInWorkspace(t, ws, base("hosts", "10.0.0.1", "targetsFile", "hosts.txt"))
	if c == nil {
		t.Fatalf("%+v", ps.Errors)
	}
	var got []string
	for _, h := range c.Targets.Hosts {
		if h.HostID > 0 {
			got = append(got, fmt.Sprintf("#%d", h.HostID))
		} else {
			got = append(got, fmt.Sprintf("%d:%s", *h.CloudID, h.IP))
		}
	}
	if strings.Join(got, " ") != "0:10.0.0.1 0:10.0.0.2 #101 #103" {
		t.Errorf("hosts %v", got)
	}
	write(t, filepath.Join(ws, "bad.txt"), "10.0.0.1\n10.0.0.300\n10.0.0.3\n#x\nfoo:1.2.3.4\n")
	_, ps = parseInWorkspace(t, ws, base("targetsFile", "bad.txt"))
	var texts []string
	for _, p := range ps.Errors {
		texts = append(texts, p.Text(i18n.EnUS))
	}
	if len(ps.Errors) != 2 || !strings.Contains(texts[0], "bad.txt line 2: ") || !strings.Contains(texts[0], "10.0.0.300") ||
		!strings.Contains(texts[1], "bad.txt line 5: ") {
		t.Errorf("problems %q", texts)
	}
	var many strings.Builder
	for i := range 30 {
		fmt.Fprintf(&many, "bad%d\n", i)
	}
	write(t, filepath.Join(ws, "many.txt"), many.String())
	if _, ps = parseInWorkspace(t, ws, base("targetsFile", "many.txt")); len(ps.Errors) != maxTargetsFileProblems+1 ||
		ps.Errors[maxTargetsFileProblems].Key != "val.targets_file_more" {
		t.Errorf("%d problems", len(ps.Errors))
	}
	if _, ps = parseInWorkspace(t, ws, base("targetsFile", "../x.txt")); len(ps.Errors) != 1 || ps.Errors[0].Key != "val.ws_outside" {
		t.Errorf("outside: %+v", ps.Errors)
	}
}

// BenchmarkParseTargetsFile: 30,000 host entries, one a line (BENCHMARKS.md).
func BenchmarkParseTargetsFile(b *testing.B) {
	var sb strings.Builder
	for i := range 30000 {
		fmt.Fprintf(&sb, "%d:10.%d.%d.%d\n", i%3, i/65536%256, i/256%256, i%256)
	}
	text := sb.String()
	b.ResetTimer()
	for range b.N {
		ps := &Problems{}
		h := newHostSet()
		parseTargetsFile(ps, i18n.EnUS, h, "hosts.txt", text)
		if len(ps.Errors) > 0 || len(h.out) != 30000 {
			b.Fatalf("%d hosts, %d problems", len(h.out), len(ps.Errors))
		}
	}
}
