package bkci

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestLog_Lines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(l *Log)
		want  string
	}{
		{"info", func(l *Log) { l.Info("hello") }, "hello\n"},
		{"info empty", func(l *Log) { l.Info("") }, "\n"},
		{"info multi line", func(l *Log) { l.Info("a\r\nb\rc\nd\n") }, "a\nb\nc\nd\n"},
		{"info escapes", func(l *Log) { l.Info("##[error]x\n::set-output name=a::b") },
			"#" + z + "#[error]x\n:" + z + ":set-output name=a::b\n"},
		{"infof", func(l *Log) { l.Infof("%d targets, %s", 3, "##[x") }, "3 targets, #" + z + "#[x\n"},
		{"warn every line", func(l *Log) { l.Warn("a\nb") }, "##[warning]a\n##[warning]b\n"},
		{"warnf", func(l *Log) { l.Warnf("n=%d", 1) }, "##[warning]n=1\n"},
		{"error", func(l *Log) { l.Error("boom") }, "##[error]boom\n"},
		{"errorf", func(l *Log) { l.Errorf("code %d", 7) }, "##[error]code 7\n"},
		{"error escapes content", func(l *Log) { l.Error("##[warning]x") }, "##[error]#" + z + "#[warning]x\n"},
		{"command", func(l *Log) { l.Command("POST /api") }, "##[command]POST /api\n"},
		{"group", func(l *Log) { l.Group("Failed\ntargets") }, "##[group]Failed targets\n"},
		{"group escapes", func(l *Log) { l.Group("##[endgroup]") }, "##[group]#" + z + "#[endgroup]\n"},
		{"endgroup", func(l *Log) { l.EndGroup() }, "##[endgroup]\n"},
		{"subtag", func(l *Log) { l.SubTag("0:10.0.0.1", "line 1\nline 2") },
			"##subTag##0:10.0.0.1##subTag##line 1\n##subTag##0:10.0.0.1##subTag##line 2\n"},
		{"subtag escapes line", func(l *Log) { l.SubTag("h", "##subTagFinish##") },
			"##subTag##h##subTag###" + z + "#subTagFinish##\n"},
		{"subtag escapes tag", func(l *Log) { l.SubTag("a##subTag##b\nc", "x") },
			"##subTag##a＃＃subTag＃＃b c##subTag##x\n"},
		{"subtag empty tag", func(l *Log) { l.SubTag(" ", "x") }, "##subTag##-##subTag##x\n"},
		{"subtag finish", func(l *Log) { l.SubTagFinish("0:10.0.0.1") }, "##subTag##0:10.0.0.1##subTag####subTagFinish##\n"},
		{"progress", func(l *Log) { l.Progress(0.42) }, "::set-progress-rate 0.42\n"},
		{"progress round", func(l *Log) { l.Progress(1.0 / 3) }, "::set-progress-rate 0.3333\n"},
		{"progress zero", func(l *Log) { l.Progress(0) }, "::set-progress-rate 0\n"},
		{"progress negative zero", func(l *Log) { l.Progress(math.Copysign(0, -1)) }, "::set-progress-rate 0\n"},
		{"progress tiny", func(l *Log) { l.Progress(-0.00001) }, "::set-progress-rate 0\n"},
		{"progress over", func(l *Log) { l.Progress(1.7) }, "::set-progress-rate 1\n"},
		{"progress nan", func(l *Log) { l.Progress(math.NaN()) }, "::set-progress-rate 0\n"},
		{"progress inf", func(l *Log) { l.Progress(math.Inf(1)) }, "::set-progress-rate 1\n"},
		{"redact", func(l *Log) { l.Info("token=s3cr3t end") }, "token=****** end\n"},
		{"redact tag", func(l *Log) { l.SubTag("host-s3cr3t", "s3cr3t") }, "##subTag##host-******##subTag##******\n"},
		{"redact group", func(l *Log) { l.Group("s3c\nr3t") }, "##[group]s3c r3t\n"},
		{"add secret", func(l *Log) { l.AddSecret("later"); l.Warn("later s3cr3t") }, "##[warning]****** ******\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			l := NewLog(&b, "s3cr3t")
			tt.write(l)
			if got := b.String(); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLog_LongLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(l *Log, s string)
		text  string
		pfx   string
	}{
		{"ascii info", func(l *Log, s string) { l.Info(s) }, strings.Repeat("a", 40000), ""},
		{"cjk subtag", func(l *Log, s string) { l.SubTag("0:10.0.0.1", s) }, strings.Repeat("日志", 9000),
			"##subTag##0:10.0.0.1##subTag##"},
		{"emoji warn", func(l *Log, s string) { l.Warn(s) }, strings.Repeat("😀", 9000), "##[warning]"},
		// A cut right before "##x" or "::" would start the next part with a command-like prefix.
		{"cut before hashes", func(l *Log, s string) { l.Info(s) },
			strings.Repeat("a", MaxLineBytes-1) + "##[x" + strings.Repeat("b", 100) + "::" + strings.Repeat(":", 40000), ""},
		{"cut before colons", func(l *Log, s string) { l.Error(s) },
			strings.Repeat("a", MaxLineBytes-len("##[error]")) + "::set-output name=a::b", "##[error]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			l := NewLog(&b)
			tt.write(l, tt.text)
			lines := agentLines(b.String())
			if len(lines) < 2 {
				t.Fatalf("expected the line to be split, got %d lines", len(lines))
			}
			var joined strings.Builder
			for _, line := range lines {
				if len(line) > MaxLineBytes {
					t.Fatalf("line of %d bytes > %d", len(line), MaxLineBytes)
				}
				if !utf8.ValidString(line) {
					t.Fatalf("line cut inside a UTF-8 sequence")
				}
				rest, ok := strings.CutPrefix(line, tt.pfx)
				if !ok {
					t.Fatalf("part %q... lost its prefix %q", line[:min(len(line), 40)], tt.pfx)
				}
				if !isInert(rest) || !strictlyInert(rest) {
					t.Fatalf("part starts with a command: %q", rest[:min(len(rest), 40)])
				}
				joined.WriteString(rest)
			}
			if got := strings.ReplaceAll(joined.String(), z, ""); got != tt.text {
				t.Fatalf("parts do not join back to the text (%d vs %d bytes)", len(got), len(tt.text))
			}
		})
	}
}

func TestLog_LongGroupTitleIsCut(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	NewLog(&b).Group(strings.Repeat("t", 3*MaxLineBytes))
	lines := agentLines(b.String())
	if len(lines) != 1 || len(lines[0]) != MaxLineBytes {
		t.Fatalf("got %d lines, first %d bytes", len(lines), len(lines[0]))
	}
}

func TestLog_LongTagIsCut(t *testing.T) {
	t.Parallel()
	l := NewLog(nil)
	if got := l.SanitizeTag(strings.Repeat("é", 300)); len(got) > maxTagBytes || !utf8.ValidString(got) {
		t.Fatalf("tag of %d bytes, valid=%v", len(got), utf8.ValidString(got))
	}
}

// recordWriter records every Write call separately.
type recordWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *recordWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestLog_ConcurrentWritesStayWhole(t *testing.T) {
	t.Parallel()
	w := &recordWriter{}
	l := NewLog(w, "secret-value")
	const goroutines, perG = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			tag := fmt.Sprintf("host-%d", g)
			for i := range perG {
				switch i % 4 {
				case 0:
					l.SubTag(tag, fmt.Sprintf("line %d\nsecond %d", i, i))
				case 1:
					l.Warn("secret-value here")
				case 2:
					l.AddSecret(fmt.Sprintf("added-%d-%d", g, i))
				default:
					l.Progress(float64(i) / perG)
				}
			}
		})
	}
	wg.Wait()
	count := 0
	for _, wr := range w.writes {
		if !strings.HasSuffix(wr, "\n") {
			t.Fatalf("write %q does not end with a line feed", wr)
		}
		if strings.Contains(wr, "secret-value") {
			t.Fatalf("secret leaked: %q", wr)
		}
		if strings.HasPrefix(wr, "##subTag##") {
			lines := agentLines(wr)
			if len(lines) != 2 || parseBKCI(lines[0]).subTag != parseBKCI(lines[1]).subTag {
				t.Fatalf("sub-tag write split or mixed: %q", wr)
			}
		}
		count++
	}
	if want := goroutines * perG * 3 / 4; count != want {
		t.Fatalf("%d writes, want %d", count, want)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, fmt.Errorf("write %d: %w", f.n, errBroken)
}

var errBroken = errors.New("broken pipe")

func TestLog_ErrKeepsFirstError(t *testing.T) {
	t.Parallel()
	fw := &failWriter{}
	l := NewLog(fw)
	l.Info("a")
	l.Info("b")
	err := l.Err()
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "write 1") || fw.n != 2 {
		t.Fatalf("Err() = %v after %d writes", err, fw.n)
	}
}

func TestLog_NilWriterDiscards(t *testing.T) {
	t.Parallel()
	l := NewLog(nil)
	l.Info("x")
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
	if l.Redactor() == nil || l.Redact("abc") != "abc" {
		t.Fatal("redactor not usable")
	}
}
