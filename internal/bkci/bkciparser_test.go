package bkci

import (
	"regexp"
	"strings"
	"unicode"
)

// This file models how BK-CI reads one stdout line of a plugin (bk-ci @94743cb4, worker-common
// utils/CommandLineUtils.kt processLine and logger/LoggerService.kt addNormalLine), plus a
// stricter predicate. Deviations from BK-CI are all on the conservative side (they report a
// command where BK-CI might not).

// bkciLine is what BK-CI makes of one line.
type bkciLine struct {
	setCommand string // name of a ::set-… command detected (incl. "progress-rate"), or ""
	hasSubTag  bool
	subTag     string
	finish     bool   // the sub-tag was marked finished
	level      string // "debug", "error", "warning" or "" (normal)
	message    string // the message stored, after sub-tag processing
}

var (
	// CommandLineUtils.reportProgressRate: Pattern.find on line.trim(). Java's `.*$` would fail on
	// U+0085/U+2028/U+2029 inside the rest of the line; ignored here (conservative).
	reProgress = regexp.MustCompile(`^"?::set-progress-rate`)
	// appendVariableToFile/appendOutputToFile/appendGateToFile/appendRemarkToFile/
	// appendSetErrorToFile: Pattern.matches on the untrimmed line; `\s` is Java's [ \t\n\x0B\f\r].
	reSetCommand = regexp.MustCompile(`^"?::set-(variable[ \t\n\x0B\f\r]name=|output[ \t\n\x0B\f\r]name=|gate-value[ \t\n\x0B\f\r]name=|remark[ \t\n\x0B\f\r]|error[ \t\n\x0B\f\r])`)
)

// javaTrim is String.trim(): strips chars <= U+0020 from both ends.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

func parseBKCI(line string) bkciLine {
	var p bkciLine
	if m := reProgress.FindString(javaTrim(line)); m != "" {
		p.setCommand = "progress-rate"
	} else if m := reSetCommand.FindStringSubmatch(line); m != nil {
		p.setCommand = strings.TrimRight(m[1], " \t\n\x0B\f\r=")
	}
	msg := line
	const flag, finish = "##subTag##", "##subTagFinish##"
	if strings.Contains(line, flag) {
		prefix, after, _ := strings.Cut(line, flag)
		list := strings.Split(after, flag)
		p.hasSubTag = true
		p.subTag = list[0]
		real := list[len(list)-1]
		if strings.HasPrefix(real, finish) {
			p.finish = true
			real = strings.TrimPrefix(real, finish)
		}
		msg = prefix + real
	}
	switch {
	case strings.HasPrefix(msg, "##[debug]"):
		p.level = "debug"
	case strings.HasPrefix(msg, "##[error]"):
		p.level = "error"
	case strings.HasPrefix(msg, "##[warning]"):
		p.level = "warning"
	}
	p.message = msg
	return p
}

// viewerMarker reports whether the web log viewer could take msg for a rendering command
// (`##[group]`, `##[command]`, `##[section]`, ...). Its source is not public: assume anywhere.
func viewerMarker(msg string) bool { return strings.Contains(msg, "##[") }

// isInert reports whether BK-CI (and the viewer) would see line as plain text.
func isInert(line string) bool {
	p := parseBKCI(line)
	return p.setCommand == "" && !p.hasSubTag && !p.finish && p.level == "" && !viewerMarker(p.message)
}

// strictlyInert is our own, stricter rule: after leading junk no "##" or "::", and nowhere a
// "##[" or "##subtag" (any case).
func strictlyInert(line string) bool {
	lower := strings.ToLower(line)
	if strings.Contains(lower, "##[") || strings.Contains(lower, "##subtag") {
		return false
	}
	rest := strings.TrimLeftFunc(line, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '"' || r == '\'' || r == '`' || unicode.IsSpace(r) ||
			r == '\u200b' || r == '\ufeff'
	})
	// Invalid bytes decode as U+FFFD, which is not trimmed: the same as leadingPairAt.
	return !strings.HasPrefix(rest, "##") && !strings.HasPrefix(rest, "::")
}

// agentLines splits written output like commons-exec LogOutputStream: at '\n' and '\r', with
// "\r\n" counting once; a trailing break ends the last line.
func agentLines(out string) []string {
	lines := splitLines(out)
	if out == "" {
		return nil
	}
	return lines
}
