package report

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"jobfastexecutescript/internal/atomicfile"
)

// Caps of the full logs kept beside the page: the end of each log is kept (the end is where a
// failure shows), and once the folder holds MaxLogFilesBytes of logs the other targets keep their
// tails only.
const (
	MaxLogFileBytes  = 1 << 20  // one target's log file
	MaxLogFilesBytes = 50 << 20 // all log files of a report
	LogDir           = "logs"   // the logs' folder inside the report folder
)

// CutLog returns the last MaxLogFileBytes of log (from a line start when one is near, else from a
// UTF-8 boundary), preceded by a line saying how much was cut; a shorter log is returned as is.
func CutLog(log string) string {
	if len(log) <= MaxLogFileBytes {
		return log
	}
	const room = MaxLogFileBytes - 128 // for the marker line
	rest := log[len(log)-room:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 && i < 4096 {
		rest = rest[i+1:]
	}
	for len(rest) > 0 && !utf8.RuneStart(rest[0]) {
		rest = rest[1:]
	}
	return "[… the first " + strconv.Itoa(len(log)-len(rest)) + " of " + strconv.Itoa(len(log)) +
		" bytes are cut: the whole log is in JOB …]\n" + rest
}

// Logs writes targets' full logs into a report folder's logs/ as they are read, so that no log is
// held in memory: each is cut by CutLog, and after MaxLogFilesBytes in all the rest are not written.
// It is safe for concurrent use.
type Logs struct {
	dir   string
	mu    sync.Mutex
	total int
	n     int
	err   error
}

// NewLogs returns a Logs writing into reportDir/logs.
func NewLogs(reportDir string) *Logs { return &Logs{dir: filepath.Join(reportDir, LogDir)} }

// Add writes a target's log and returns its path relative to the report folder, for
// Target.LogFile; "" when the caps are reached, the log is empty or writing failed (Err).
func (l *Logs) Add(label, log string) string {
	if l == nil || log == "" {
		return ""
	}
	log = CutLog(log)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil || l.total+len(log) > MaxLogFilesBytes {
		return ""
	}
	if l.n == 0 {
		if l.err = os.MkdirAll(l.dir, 0o755); l.err != nil {
			return ""
		}
	}
	l.n++
	name := strconv.Itoa(l.n) + "-" + fileSafe(label) + ".log"
	l.err = atomicfile.Write(filepath.Join(l.dir, name), 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, log)
		return err
	})
	if l.err != nil {
		return ""
	}
	l.total += len(log)
	return LogDir + "/" + name
}

// Err is the first error writing a log.
func (l *Logs) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// removeStaleLogs removes the files of dir/logs that no target names (an earlier run's).
func removeStaleLogs(dir string, targets []Target) error {
	logDir := filepath.Join(dir, LogDir)
	entries, err := os.ReadDir(logDir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for i := range targets {
		if targets[i].LogFile != "" {
			keep[targets[i].LogFile] = true
		}
	}
	for _, e := range entries {
		if !keep[LogDir+"/"+e.Name()] {
			if err := os.RemoveAll(filepath.Join(logDir, e.Name())); err != nil {
				return err
			}
		}
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
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '-' && c != '_' {
			b[i] = '_'
		}
	}
	s := strings.Trim(string(b), ".")
	if s == "" {
		return "target"
	}
	return s
}
