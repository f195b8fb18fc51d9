package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"jobfastexecutescript/internal/atomicfile"
)

// Caps of the full logs written beside the page: the end of each log is kept (the end is where a
// failure shows), and once the folder holds MaxLogFilesBytes of logs the other targets keep their tails only.
const (
	MaxLogFileBytes  = 1 << 20  // one target's log file
	MaxLogFilesBytes = 50 << 20 // all log files of a report
	LogDir           = "logs"   // the logs' folder inside the report folder
)

// CutLog returns the last MaxLogFileBytes of log (cut at a line start when one is near, else at a
// UTF-8 boundary), preceded by a line saying how much was cut; a shorter log is returned as is.
// The result is a copy, so the full log can be freed.
func CutLog(log string) string {
	if len(log) <= MaxLogFileBytes {
		return strings.Clone(log)
	}
	marker := "[… " + strconv.Itoa(len(log)) + " bytes of log; the first " // completed below
	room := MaxLogFileBytes - len(marker) - 64
	rest := log[len(log)-room:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 && i < 4096 {
		rest = rest[i+1:]
	}
	for len(rest) > 0 && !utf8.RuneStart(rest[0]) {
		rest = rest[1:]
	}
	return marker + strconv.Itoa(len(log)-len(rest)) + " bytes are cut …]\n" + rest
}

// writeLogs writes the FullLog of targets into dir/logs, one file each, until MaxLogFilesBytes is
// reached, and sets their LogFile. Logs of an earlier run in the same folder are removed first.
func writeLogs(dir string, targets []Target) error {
	logDir := filepath.Join(dir, LogDir)
	if err := os.RemoveAll(logDir); err != nil {
		return err
	}
	total, made := 0, false
	for i := range targets {
		tg := &targets[i]
		tg.LogFile = ""
		if tg.FullLog == "" {
			continue
		}
		content := tg.FullLog
		if len(content) > MaxLogFileBytes {
			content = CutLog(content)
		}
		if total+len(content) > MaxLogFilesBytes {
			continue
		}
		if !made {
			if err := os.MkdirAll(logDir, 0o755); err != nil {
				return err
			}
			made = true
		}
		name := fmt.Sprintf("%05d-%s.log", i+1, fileSafe(tg.Label))
		err := atomicfile.Write(filepath.Join(logDir, name), 0o644, func(w io.Writer) error {
			_, err := io.WriteString(w, content)
			return err
		})
		if err != nil {
			return err
		}
		total += len(content)
		tg.LogFile = LogDir + "/" + name
	}
	return nil
}

// fileSafe keeps letters, digits, '.', '-' and '_' of a label (others become '_'), at most 64 bytes.
func fileSafe(label string) string {
	b := []byte(label)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	s := strings.Trim(string(b), ".")
	if s == "" {
		return "target"
	}
	return s
}
