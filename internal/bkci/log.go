package bkci

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Log command prefixes understood by BK-CI (worker Constants.kt, LoggerService.kt, log-colour docs).
const (
	prefixWarning  = "##[warning]"
	prefixDebug    = "##[debug]" // worker-common Constants.kt LOG_DEBUG_FLAG: shown only with debug logs
	prefixError    = "##[error]"
	prefixCommand  = "##[command]"
	prefixGroup    = "##[group]"
	prefixEndGroup = "##[endgroup]"
	subTagFlag     = "##subTag##"
	subTagFinish   = "##subTagFinish##"
	progressPrefix = "::set-progress-rate "
)

// MaxLineBytes is the longest line Log writes, in bytes and without the line feed. BK-CI cuts log
// messages into chunks of 16*1024 UTF-16 units (LOG_MESSAGE_LENGTH_LIMIT); a UTF-8 byte count is
// never smaller than the UTF-16 length, so lines of at most MaxLineBytes bytes are never cut by
// BK-CI. Longer lines are split by Log at UTF-8 boundaries, each part keeping the line's prefix.
const MaxLineBytes = 16000

// maxTagBytes bounds a sub-tag name, so that a line's prefix always leaves room for text.
const maxTagBytes = 256

// Log writes BK-CI log lines to an io.Writer (the plugin's stdout). All text passed to it is
// treated as coming from outside: secrets are masked (see Redactor), multi-line text becomes one
// log line per line, and every line is escaped (see Escape) so that it can never be read as a log
// command. Each call writes all its lines with one Write under a lock, so lines of concurrent
// callers never mix. Log is safe for concurrent use; create it with NewLog (the zero value is
// not usable).
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	err error
	red *Redactor
}

// NewLog returns a Log writing to w (io.Discard when nil) that masks the given secrets.
func NewLog(w io.Writer, secrets ...string) *Log {
	if w == nil {
		w = io.Discard
	}
	return &Log{w: w, red: NewRedactor(secrets...)}
}

// AddSecret registers more secrets to mask in every later line (see Redactor.Add).
func (l *Log) AddSecret(secrets ...string) { l.red.Add(secrets...) }

// Redactor returns the Log's redactor, to mask the same secrets elsewhere (reports, messages).
func (l *Log) Redactor() *Redactor { return l.red }

// Redact masks the Log's secrets in s.
func (l *Log) Redact(s string) string { return l.red.Redact(s) }

// Err returns the first error returned by the underlying writer, if any.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Info writes s as normal log lines.
func (l *Log) Info(s string) { l.lines("", s) }

// Infof formats like fmt.Sprintf and writes the result as Info.
func (l *Log) Infof(format string, args ...any) { l.lines("", fmt.Sprintf(format, args...)) }

// Debug writes s as debug lines, which BK-CI shows only when the user asks for debug logs.
func (l *Log) Debug(s string) { l.lines(prefixDebug, s) }

// Warn writes s as warning lines (`##[warning]`, yellow); every line gets the prefix.
func (l *Log) Warn(s string) { l.lines(prefixWarning, s) }

// Warnf formats like fmt.Sprintf and writes the result as Warn.
func (l *Log) Warnf(format string, args ...any) { l.lines(prefixWarning, fmt.Sprintf(format, args...)) }

// Error writes s as error lines (`##[error]`, red) to the Log's writer (stdout, not stderr).
func (l *Log) Error(s string) { l.lines(prefixError, s) }

// Errorf formats like fmt.Sprintf and writes the result as Error.
func (l *Log) Errorf(format string, args ...any) { l.lines(prefixError, fmt.Sprintf(format, args...)) }

// Command writes s as command lines (`##[command]`, blue).
func (l *Log) Command(s string) { l.lines(prefixCommand, s) }

// Group starts a folded section titled title (`##[group]`). Line breaks in the title become
// spaces; a title too long for one line is cut.
func (l *Log) Group(title string) {
	title = l.red.Redact(strings.Join(splitLines(l.red.Redact(title)), " "))
	title = escapeLine(title)
	title = title[:cutAt(title, MaxLineBytes-len(prefixGroup))]
	b := getBuf()
	*b = append(*b, prefixGroup...)
	*b = append(*b, title...)
	*b = append(*b, '\n')
	l.write(b)
}

// EndGroup ends the section started by the last Group (`##[endgroup]`).
func (l *Log) EndGroup() {
	b := getBuf()
	*b = append(*b, prefixEndGroup+"\n"...)
	l.write(b)
}

// SubTag writes line to the log tab named tag (`##subTag##<tag>##subTag##<line>`); multi-line
// text gives one tagged line per line. See SanitizeTag for how tag is cleaned.
func (l *Log) SubTag(tag, line string) {
	l.lines(subTagFlag+l.sanitizeTag(tag)+subTagFlag, line)
}

// SubTagFinish marks the log tab named tag as finished
// (`##subTag##<tag>##subTag####subTagFinish##`, BK-CI LoggerService: a sub-tag message starting
// with "##subTagFinish##" finishes that sub-tag; the marker itself is removed from the message).
func (l *Log) SubTagFinish(tag string) {
	b := getBuf()
	*b = append(*b, subTagFlag...)
	*b = append(*b, l.sanitizeTag(tag)...)
	*b = append(*b, subTagFlag+subTagFinish+"\n"...)
	l.write(b)
}

// Progress reports the step's progress (`::set-progress-rate 0.42`). rate is clamped to 0..1
// (NaN counts as 0) and written with at most 4 decimals, the precision BK-CI keeps.
func (l *Log) Progress(rate float64) {
	b := getBuf()
	*b = append(*b, progressPrefix...)
	*b = strconv.AppendFloat(*b, clampRate(rate), 'f', -1, 64)
	*b = append(*b, '\n')
	l.write(b)
}

func clampRate(r float64) float64 {
	switch {
	case math.IsNaN(r) || r <= 0:
		return 0
	case r >= 1:
		return 1
	}
	r = math.Round(r*1e4) / 1e4
	if r == 0 { // avoid "-0"
		return 0
	}
	return r
}

// SanitizeTag returns the sub-tag name Log uses for tag: secrets masked, every '#' replaced by
// U+FF03 '＃' (so the tag can never contain or complete "##subTag##"), control characters and
// line breaks replaced by spaces, surrounding space trimmed, cut to 256 bytes; "-" if empty.
func (l *Log) SanitizeTag(tag string) string { return l.sanitizeTag(tag) }

func (l *Log) sanitizeTag(tag string) string {
	tag = l.red.Redact(tag)
	clean := true
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; c == '#' || c < ' ' || c == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		tag = strings.Map(func(r rune) rune {
			switch {
			case r == '#':
				return '＃'
			case r < ' ' || r == 0x7f:
				return ' '
			}
			return r
		}, tag)
	}
	tag = strings.TrimSpace(l.red.Redact(tag)) // again: the replacements may have formed a secret
	tag = tag[:cutAt(tag, maxTagBytes)]
	if tag == "" {
		return "-"
	}
	return tag
}

// lines writes text as log lines, each starting with prefix (already safe).
func (l *Log) lines(prefix, text string) {
	text = l.red.Redact(text)
	b := getBuf()
	for { // the same lines as splitLines, without building a slice
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			*b = appendLine(*b, prefix, escapeLine(text))
			break
		}
		*b = appendLine(*b, prefix, escapeLine(text[:i]))
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		if text = text[i+1:]; text == "" {
			break
		}
	}
	l.write(b)
}

// appendLine appends prefix+line, split into several lines of at most MaxLineBytes bytes.
func appendLine(b []byte, prefix, line string) []byte {
	budget := MaxLineBytes - len(prefix)
	for first := true; ; first = false {
		limit := budget
		if !first {
			// A later part may start with "##" or "::" (or white space and one of them):
			// escape it again, leaving room for the one U+200B that can add.
			limit -= len(zwsp)
		}
		n := cutAt(line, limit)
		part := line[:n]
		if !first {
			part = escapeLine(part)
		}
		b = append(append(append(b, prefix...), part...), '\n')
		if line = line[n:]; line == "" {
			return b
		}
	}
}

// cutAt returns the largest n <= limit such that s[:n] ends at a UTF-8 boundary (or limit when s is
// not valid UTF-8 there); len(s) when s fits.
func cutAt(s string, limit int) int {
	if len(s) <= limit {
		return len(s)
	}
	if limit <= 0 {
		return 0
	}
	for i := limit; i > 0 && i > limit-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return limit
}

func (l *Log) write(b *[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock() // a writer that panics must not leave the log locked for the panic's own report
	_, err := l.w.Write(*b)
	if err != nil && l.err == nil {
		l.err = err
	}
	putBuf(b)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte {
	b := bufPool.Get().(*[]byte)
	*b = (*b)[:0]
	return b
}

func putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return
	}
	bufPool.Put(b)
}
