package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCutLog: a log over 1 MiB keeps its end, from a line start, under a line saying how much was cut.
func TestCutLog(t *testing.T) {
	t.Parallel()
	short := "a\nb\n"
	if CutLog(short) != short {
		t.Errorf("a short log changed")
	}
	long := strings.Repeat("第一行 line of output\n", 100_000) + "THE END\n" // about 2.6 MB
	got := CutLog(long)
	if len(got) > MaxLogFileBytes || !strings.HasSuffix(got, "\nTHE END\n") || !utf8.ValidString(got) {
		t.Fatalf("cut log: %d bytes, end %q", len(got), got[len(got)-20:])
	}
	first, rest, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(first, "[… the first ") || !strings.Contains(first, " bytes are cut") || !strings.HasPrefix(rest, "第一行") {
		t.Errorf("marker %q, then %.30q", first, rest)
	}
	oneLine := strings.Repeat("é", MaxLogFileBytes) // no newline to cut at: a UTF-8 boundary
	if got := CutLog(oneLine); !utf8.ValidString(got) || len(got) > MaxLogFileBytes {
		t.Errorf("a log without newlines: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

// TestLogs: logs are files under logs/ named by label, each at most 1 MiB, and no more once 50 MiB
// are written; Write removes files no target names.
func TestLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := NewLogs(dir)
	if got := l.Add("x", ""); got != "" {
		t.Errorf("an empty log was written: %q", got)
	}
	first := l.Add("0:10.0.0.1", "boom\n")
	if first != "logs/1-0_10.0.0.1.log" {
		t.Errorf("file %q", first)
	}
	if b, err := os.ReadFile(filepath.Join(dir, first)); err != nil || string(b) != "boom\n" {
		t.Errorf("content %q %v", b, err)
	}
	big := strings.Repeat("x", 2*MaxLogFileBytes)
	written := 0
	for i := range 60 {
		if f := l.Add("container:web/../../"+strings.Repeat("a", i), big); f != "" {
			written++
			if strings.Contains(f[len(LogDir)+1:], "/") {
				t.Fatalf("a label escaped the folder: %q", f)
			}
		}
	}
	if written != 50 { // each cut log is a little under 1 MiB: 50 of them and the small one fit in 50 MiB
		t.Errorf("%d large logs written, want 50 (50 MiB cap)", written)
	}
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
	var total int64
	entries, _ := os.ReadDir(filepath.Join(dir, LogDir))
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
	}
	if total > MaxLogFilesBytes || len(entries) != 51 {
		t.Errorf("%d files, %d bytes", len(entries), total)
	}
	// The next run names only its own logs: the others go.
	r := sampleResult()
	r.Targets[2].LogFile = first
	if err := Write(dir, r, translator("en_US")); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(filepath.Join(dir, LogDir))
	if len(entries) != 1 || entries[0].Name() != "1-0_10.0.0.1.log" {
		t.Errorf("after Write: %d log files", len(entries))
	}
	page, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	if rows, _ := pageData(t, string(page)); rows[0].F != first {
		t.Errorf("the failed row links %q", rows[0].F)
	}
}
