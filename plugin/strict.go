package plugin

import (
	"path/filepath"
	"strings"
)

// Strict-mode lines (the strictMode input).
const (
	strictBash       = "set -euo pipefail"
	strictSh         = "set -eu"
	strictPowerShell = "$ErrorActionPreference = 'Stop'"
)

// strictScript returns script with strict mode turned on for its language: for shell (1), `set -euo
// pipefail` where the interpreter is bash, `set -eu` for sh/dash/ash, inserted after the shebang; for
// PowerShell (5), `$ErrorActionPreference = 'Stop'` after a leading param(...) block. Other languages,
// and shell scripts for another interpreter (zsh, ksh, …), come back unchanged, with ok false.
//
// A shell script without a shebang is taken as bash: JOB runs it with /bin/bash (bk-job
// src/backend/job-execute/.../engine/executor/ScriptGseTaskStartCommand.java, DEFAULT_SHEBANG
// "#!/bin/bash" where the script's first line is not a shebang; docs/JOB.md#strict-mode).
func strictScript(lang int, script string) (string, bool) {
	bom := ""
	if strings.HasPrefix(script, "\ufeff") {
		bom, script = "\ufeff", script[len("\ufeff"):]
	}
	switch lang {
	case 1:
		first, rest, hasRest := strings.Cut(script, "\n")
		if !strings.HasPrefix(first, "#!") {
			return bom + strictBash + "\n" + script, true
		}
		line := strictLine(shebangInterpreter(first))
		if line == "" {
			return bom + script, false
		}
		nl := "\n"
		if strings.HasSuffix(first, "\r") {
			nl = "\r\n"
		}
		if !hasRest {
			return bom + first + "\n" + line + nl, true
		}
		return bom + first + "\n" + line + nl + rest, true
	case 5:
		at := psParamEnd(script)
		if at == 0 {
			return bom + strictPowerShell + "\n" + script, true
		}
		return bom + script[:at] + "\n" + strictPowerShell + "\n" + strings.TrimPrefix(strings.TrimPrefix(script[at:], "\r"), "\n"), true
	}
	return bom + script, false
}

// strictLine is the strict-mode line for a shell interpreter's base name, "" for one it does not know.
func strictLine(interp string) string {
	switch interp {
	case "bash":
		return strictBash
	case "sh", "dash", "ash":
		return strictSh
	}
	return ""
}

// shebangInterpreter is the base name of the program a shebang line names: "#!/bin/bash -x" and
// "#!/usr/bin/env bash" are both "bash".
func shebangInterpreter(line string) string {
	f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "#!"))
	if len(f) == 0 {
		return ""
	}
	name := filepath.Base(f[0])
	if name != "env" {
		return name
	}
	for _, a := range f[1:] {
		if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
			return filepath.Base(a)
		}
	}
	return ""
}

// psParamEnd is the offset just after a PowerShell script's leading param(...) block (after comments,
// #requires lines and attributes such as [CmdletBinding()]), 0 when there is none.
func psParamEnd(s string) int {
	i := 0
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n':
			i++
		case strings.HasPrefix(s[i:], "<#"):
			j := strings.Index(s[i+2:], "#>")
			if j < 0 {
				return 0
			}
			i += 2 + j + 2
		case s[i] == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return 0
			}
			i += j + 1
		case s[i] == '[':
			j := matchClose(s, i, '[', ']')
			if j < 0 {
				return 0
			}
			i = j + 1
		case len(s)-i >= 5 && strings.EqualFold(s[i:i+5], "param"):
			j := i + 5
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n') {
				j++
			}
			if j >= len(s) || s[j] != '(' {
				return 0
			}
			k := matchClose(s, j, '(', ')')
			if k < 0 {
				return 0
			}
			return k + 1
		default:
			return 0
		}
	}
	return 0
}

// matchClose returns the offset of the bracket closing the one at s[i], skipping quoted strings and
// comments; -1 when there is none.
func matchClose(s string, i int, open, closing byte) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\'' || c == '"':
			k := strings.IndexByte(s[j+1:], c)
			if k < 0 {
				return -1
			}
			j += k + 1
		case c == '#' && (j == 0 || s[j-1] != '<'):
			if k := strings.IndexByte(s[j:], '\n'); k >= 0 {
				j += k
			} else {
				return -1
			}
		case c == open:
			depth++
		case c == closing:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}
