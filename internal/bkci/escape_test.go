package bkci

import (
	"strings"
	"testing"
	"unicode/utf8"
)

const z = "\u200b"

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "hello world", "hello world"},
		{"single hash", "# comment", "# comment"},
		{"cpp scope mid line", "std::string x", "std::string x"},
		{"ipv6 mid line", "addr fe80::1", "addr fe80::1"},
		{"hashes mid line", "a ## b", "a ## b"},
		{"error prefix", "##[error]boom", "#" + z + "#[error]boom"},
		{"group prefix", "##[group]x", "#" + z + "#[group]x"},
		{"section anywhere", "text ##[section]x", "text #" + z + "#[section]x"},
		{"subtag anywhere", "a##subTag##h##subTag##b", "a#" + z + "#subTag##h#" + z + "#subTag##b"},
		{"subtag chain", "##subTag##subTag##", "#" + z + "#subTag#" + z + "#subTag##"},
		{"subtag case", "x##SUBTAG##y", "x#" + z + "#SUBTAG##y"},
		{"finish", "##subTagFinish##", "#" + z + "#subTagFinish##"},
		{"triple hash bracket", "###[x", "#" + z + "#" + z + "#[x"},
		{"leading hashes", "## Heading", "#" + z + "# Heading"},
		{"set output", "::set-output name=a::b", ":" + z + ":set-output name=a::b"},
		{"quoted set variable", `"::set-variable name=a::b"`, `":` + z + `:set-variable name=a::b"`},
		{"indented progress", " \t::set-progress-rate 1", " \t:" + z + ":set-progress-rate 1"},
		{"control chars", "\x1b\x00::set-remark x", "\x1b\x00:" + z + ":set-remark x"},
		{"nbsp", "\u00a0::x", "\u00a0:" + z + ":x"},
		{"bom", "\ufeff##[error]", "\ufeff#" + z + "#[error]"},
		{"letter then colons", "a::set-output name=x::y", "a::set-output name=x::y"},
		{"multi line", "ok\n##[error]x\r::set-error a\r\nend", "ok\n#" + z + "#[error]x\r:" + z + ":set-error a\r\nend"},
		{"multi line unchanged", "a\nb\r\nc\r", "a\nb\r\nc\r"},
		{"trailing break then command", "a\n::", "a\n:" + z + ":"},
		{"invalid utf8 lead", "\xff::x", "\xff::x"},
		{"already escaped", "#" + z + "#[error]", "#" + z + "#[error]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Escape(tt.in)
			if got != tt.want {
				t.Fatalf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkEscaped(t, tt.in, got)
		})
	}
}

func TestEscape_NoAllocWhenClean(t *testing.T) {
	line := strings.Repeat("plain log text 10.0.0.1 std::x # ", 4)
	if n := testing.AllocsPerRun(100, func() { _ = Escape(line) }); n != 0 {
		t.Fatalf("Escape allocated %v times for a clean line", n)
	}
	multi := "a\nb\r\nc"
	if n := testing.AllocsPerRun(100, func() { _ = Escape(multi) }); n != 0 {
		t.Fatalf("Escape allocated %v times for clean lines", n)
	}
}

// checkEscaped asserts the properties Escape promises.
func checkEscaped(t *testing.T, in, out string) {
	t.Helper()
	for _, line := range agentLines(out) {
		if !isInert(line) {
			t.Fatalf("Escape(%q): line %q is read by BK-CI as a command: %+v", in, line, parseBKCI(line))
		}
		if !strictlyInert(line) {
			t.Fatalf("Escape(%q): line %q fails the strict rule", in, line)
		}
	}
	if strings.ReplaceAll(out, z, "") != strings.ReplaceAll(in, z, "") {
		t.Fatalf("Escape(%q) = %q changed more than U+200B", in, out)
	}
	if again := Escape(out); again != out {
		t.Fatalf("Escape not idempotent: %q -> %q -> %q", in, out, again)
	}
	if utf8.ValidString(in) && !utf8.ValidString(out) {
		t.Fatalf("Escape(%q) = %q broke UTF-8", in, out)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{
		"", "plain", "##[error]x", "##subTag##h##subTag##line", "##subTag##h##subTag####subTagFinish##",
		"::set-output name=a::b", `"::set-variable name=a::b"`, " ::set-progress-rate 0.5",
		"::set-remark r", "::set-error error_code=800001,error_message=x", "::set-gate-value name=a::1",
		"x##[group]y", "###[x", "####subTag####", "\u00a0\ufeff\u200b##[warning]", "a\r\n##[debug]\r::x\n",
		"\x1b[31m##[error]red", "\xff\xfe##[", "##subtag##", "\"\"::set-output name=a::b",
	} {
		f.Add(s, "tag", "secret")
	}
	f.Fuzz(func(t *testing.T, s, tag, secret string) {
		checkEscaped(t, s, Escape(s))
		checkLog(t, s, tag, secret)
	})
}

// checkLog writes s through every Log method and checks how BK-CI would read each line.
func checkLog(t *testing.T, s, tag, secret string) {
	t.Helper()
	var buf strings.Builder
	l := NewLog(&buf, secret)
	wantTag := l.SanitizeTag(tag)
	if strings.Contains(wantTag, "#") || strings.ContainsAny(wantTag, "\r\n") || wantTag == "" {
		t.Fatalf("SanitizeTag(%q) = %q", tag, wantTag)
	}
	type call struct {
		name  string
		write func()
		check func(p bkciLine) bool
	}
	plain := func(level string) func(p bkciLine) bool {
		return func(p bkciLine) bool {
			return p.setCommand == "" && !p.hasSubTag && p.level == level &&
				!viewerMarker(strings.TrimPrefix(p.message, "##["+level+"]"))
		}
	}
	calls := []call{
		{"Info", func() { l.Info(s) }, plain("")},
		{"Warn", func() { l.Warn(s) }, plain("warning")},
		{"Error", func() { l.Error(s) }, plain("error")},
		{"Command", func() { l.Command(s) }, func(p bkciLine) bool {
			return p.setCommand == "" && !p.hasSubTag && p.level == "" &&
				strings.HasPrefix(p.message, "##[command]") && !viewerMarker(strings.TrimPrefix(p.message, "##[command]"))
		}},
		{"Group", func() { l.Group(s) }, func(p bkciLine) bool {
			return p.setCommand == "" && !p.hasSubTag && p.level == "" &&
				strings.HasPrefix(p.message, "##[group]") && !viewerMarker(strings.TrimPrefix(p.message, "##[group]"))
		}},
		{"SubTag", func() { l.SubTag(tag, s) }, func(p bkciLine) bool {
			return p.setCommand == "" && p.hasSubTag && p.subTag == wantTag && !p.finish && p.level == "" &&
				!viewerMarker(p.message)
		}},
		{"SubTagFinish", func() { l.SubTagFinish(tag) }, func(p bkciLine) bool {
			return p.setCommand == "" && p.hasSubTag && p.subTag == wantTag && p.finish && p.message == ""
		}},
	}
	for _, c := range calls {
		buf.Reset()
		c.write()
		out := buf.String()
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("%s(%q): output %q does not end a line", c.name, s, out)
		}
		for _, line := range agentLines(out) {
			if len(line) > MaxLineBytes {
				t.Fatalf("%s(%q): line of %d bytes", c.name, s, len(line))
			}
			if p := parseBKCI(line); !c.check(p) {
				t.Fatalf("%s(%q, tag %q): line %q parsed as %+v", c.name, s, tag, line, p)
			}
			if leaked(line, secret, wantTag) {
				t.Fatalf("%s: secret %q leaked in %q", c.name, secret, line)
			}
		}
	}
}

// leaked reports whether the text part of a written line (without our own prefix) shows secret.
// Secrets that can be formed by the mask or by escaping are not checked: those containing '*' or
// U+200B, and those that are not valid UTF-8 (they can match part of an inserted U+200B, as
// "0#\xe2" does in "0#\u200b#["). A valid UTF-8 secret without them can only match text that was
// in the input. Secrets too short to be registered are not checked either.
func leaked(line, secret, tag string) bool {
	if utf8.RuneCountInString(secret) < minSecretRunes || strings.ContainsAny(secret, "*\u200b") ||
		!utf8.ValidString(secret) {
		return false
	}
	if line == "##subTag##"+tag+"##subTag####subTagFinish##" { // all our own markup but the tag
		return strings.Contains(tag, secret)
	}
	for _, p := range []string{"##[warning]", "##[error]", "##[command]", "##[group]",
		"##subTag##" + tag + "##subTag##"} {
		if rest, ok := strings.CutPrefix(line, p); ok {
			return strings.Contains(rest, secret) || strings.Contains(tag, secret)
		}
	}
	return strings.Contains(line, secret)
}

var benchLines = []string{
	"2026-08-21 10:00:01 INFO  deploying release 1.2.3 to /data/app (pid 12345)",
	"+ cp -r /tmp/build/output/* /data/app/current/ && systemctl restart app.service",
	"##[error] injected by a target's script",
	"    at com.example.Service.handle(Service.java:142) std::vector<int> fe80::1",
}

func BenchmarkEscape(b *testing.B) {
	var n int
	for _, l := range benchLines {
		n += len(l)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchLines {
			_ = Escape(l)
		}
	}
}

func BenchmarkLogSubTag(b *testing.B) {
	l := NewLog(discardWriter{}, "s3cr3t-app-secret", "another-secret-value")
	var n int
	for _, s := range benchLines {
		n += len(s)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range benchLines {
			l.SubTag("0:10.0.0.1", s)
		}
	}
}

func BenchmarkLogSubTagParallel(b *testing.B) {
	l := NewLog(discardWriter{}, "s3cr3t-app-secret", "another-secret-value")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.SubTag("0:10.0.0.1", benchLines[0])
		}
	})
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
