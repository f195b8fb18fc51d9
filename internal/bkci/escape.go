package bkci

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// How BK-CI reads a plugin's stdout (bk-ci master @94743cb4, 2026-08-21; paths under
// src/backend/ci/core/worker/worker-common/src/main/kotlin/com/tencent/devops/worker/common/):
//
//   - utils/CommandLineUtils.kt feeds stdout through commons-exec LogOutputStream, which cuts lines
//     at '\n' and at '\r' ("\r\n" counts once) and decodes each line in the agent's charset.
//   - Before logging, every line is checked for stdout commands:
//     `::set-progress-rate` with Pattern.find on line.trim() (Java trim strips every char <= U+0020
//     from both ends) against `^"?::set-progress-rate\s*(.*)$`;
//     `::set-variable`, `::set-output`, `::set-gate-value` (`\sname=`), `::set-remark\s` and
//     `::set-error\s` with Pattern.matches on the untrimmed line, each allowing one leading '"'.
//     So the `::` commands are detected only at the very start of a line.
//   - logger/LoggerService.kt addNormalLine: if the line contains "##subTag##" ANYWHERE, the text
//     before the first flag is the prefix, the text after it is split on the flag, the first part is
//     the sub-tag and the last part the message; a message starting with "##subTagFinish##" closes
//     that sub-tag and the flag is removed; the message becomes prefix + message. The log level is
//     then taken with startsWith("##[debug]" / "##[error]" / "##[warning]") on that message.
//   - Messages are cut into chunks of LOG_MESSAGE_LENGTH_LIMIT = 16*1024 UTF-16 units (worker
//     Constants.kt) before upload; the level is decided before the cut.
//   - `##[group]`, `##[endgroup]`, `##[command]`, `##[info]`, `##[section]` are rendered by the web
//     log viewer (@blueking/log, not in the repository); whether it looks only at the start of a
//     message is not visible, so we assume "anywhere".
//
// Escape therefore neutralises, by inserting U+200B ZERO WIDTH SPACE between the two characters:
//   - every "##" that is followed by '[' or by "subtag" (ASCII case-insensitive), anywhere in a line;
//     this covers "##[...]", "##subTag##" and "##subTagFinish##";
//   - a "##" or "::" at the start of a line after optional leading "junk": bytes <= U+0020, DEL,
//     quotes ('"', '\'', '`'), Unicode white space, U+200B and U+FEFF. This is stricter than BK-CI
//     (which allows at most one '"' and, for the progress rate only, Java-trimmed space) and also
//     covers `::set-…` commands not yet known.
//
// U+200B was chosen over lookalike characters because it is invisible in the web log, keeps the
// text readable and is removed again by deleting every U+200B; a reader who copies such a line
// copies the U+200B too. Every escape splits a "##"/"::" pair, so no substring of an escaped line
// can contain "##[" or "##subTag", whatever way it is later cut.

// zwsp is U+200B ZERO WIDTH SPACE, the character Escape inserts.
const zwsp = "\u200b"

// Escape makes text from outside (JOB log lines, user values) inert for BK-CI's log parser: no
// line of the result can be read by BK-CI as a log command (`##[…]`, `##subTag##`,
// `##subTagFinish##`, `::set-…`). Line breaks ("\r\n", "\r", "\n") are kept; every line is
// escaped on its own. Escape only inserts U+200B, so removing all U+200B from the result gives
// back the input with its own U+200B removed. Escape is idempotent and returns s itself (no
// allocation) when nothing needs escaping.
func Escape(s string) string {
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		return escapeLine(s)
	}
	var b strings.Builder
	changed := false
	for start := 0; start <= len(s); {
		end := strings.IndexAny(s[start:], "\r\n")
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		e := escapeLine(s[start:end])
		if !changed && len(e) != end-start {
			changed = true
			b.Grow(len(s) + 16)
			b.WriteString(s[:start])
		}
		if changed {
			b.WriteString(e)
			if end < len(s) {
				b.WriteByte(s[end])
			}
		}
		start = end + 1
	}
	if !changed {
		return s
	}
	return b.String()
}

// escapeLine escapes one line that holds no '\r' or '\n'.
func escapeLine(s string) string {
	lead := leadingPairAt(s)
	first := dangerousPairAt(s, 0)
	if lead < 0 && first < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*len(zwsp))
	last := 0
	insert := func(at int) { // at is the index of the second character of the pair
		b.WriteString(s[last:at])
		b.WriteString(zwsp)
		last = at
	}
	next := first
	if lead >= 0 && (next < 0 || lead < next) {
		insert(lead + 1)
	}
	for next >= 0 {
		if next+1 != last { // not already split by the leading rule
			insert(next + 1)
		}
		next = dangerousPairAt(s, next+1)
	}
	b.WriteString(s[last:])
	return b.String()
}

// leadingPairAt returns the index of a "##" or "::" that starts the line after leading junk, or -1.
func leadingPairAt(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#' || c == ':':
			if i+1 < len(s) && s[i+1] == c {
				return i
			}
			return -1
		case c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '`':
			i++
		case c < utf8.RuneSelf:
			return -1
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError || (!unicode.IsSpace(r) && r != '\u200b' && r != '\ufeff') {
				return -1
			}
			i += size
		}
	}
	return -1
}

// dangerousPairAt returns the index (>= from) of the next "##" followed by '[' or "subtag"
// (ASCII case-insensitive), or -1.
func dangerousPairAt(s string, from int) int {
	for from < len(s) {
		j := strings.Index(s[from:], "##")
		if j < 0 {
			return -1
		}
		p := from + j
		if rest := s[p+2:]; strings.HasPrefix(rest, "[") || hasPrefixFoldASCII(rest, "subtag") {
			return p
		}
		from = p + 1
	}
	return -1
}

// hasPrefixFoldASCII reports whether s starts with lowerPrefix, ignoring ASCII case.
func hasPrefixFoldASCII(s, lowerPrefix string) bool {
	if len(s) < len(lowerPrefix) {
		return false
	}
	for i := 0; i < len(lowerPrefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lowerPrefix[i] {
			return false
		}
	}
	return true
}
