package agent

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// The rules below copy, in Go, what BK-CI's worker does to the values it hands a plugin. Each names
// the bk-ci source it follows (TencentBlueKing/bk-ci, src/backend/ci/core/...).

// varRef is a variable reference as common-api .../util/EnvUtils.kt parseEnv finds it: ${name} or
// ${{name}}, the name free of $, ^, { and }.
var varRef = regexp.MustCompile(`\$\{([^$^{}]+)\}|\$\{\{([^$^{}]+)\}\}`)

// ResolveInput is a saved input's value as the plugin receives it (common-api
// .../util/ObjectReplaceEnvVarUtil.java handleNormalEnvVar): a value that, trimmed, is a JSON object or
// array has the references in its strings resolved and is re-printed pretty (Jackson's default pretty
// printer); any other value has its references resolved in place.
func ResolveInput(v string, vars map[string]string) string {
	t := strings.TrimSpace(v)
	if ((strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}")) || (strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"))) && gjson.Valid(t) {
		var b bytes.Buffer
		writePretty(&b, gjson.Parse(t), 0, vars)
		return b.String()
	}
	return resolveRefs(v, vars, 1)
}

// resolveRefs replaces each reference to a known variable by its value; an unknown one stays as
// written. A value that holds references itself is resolved depth more times (EnvUtils: once).
func resolveRefs(s string, vars map[string]string, depth int) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1]
		if strings.HasPrefix(m, "${{") {
			name = sub[2]
		}
		v, ok := vars[strings.TrimSpace(name)]
		if !ok {
			return m
		}
		if depth > 0 && strings.Contains(v, "${") {
			return resolveRefs(v, vars, depth-1)
		}
		return v
	})
}

// writePretty prints r as Jackson's DefaultPrettyPrinter does (common-api .../util/JsonUtil.kt, with
// INDENT_OUTPUT): objects one member a line, indented two spaces a level, "key" : value; arrays on one
// line, [ a, b ]; empty ones { } and [ ]; no final newline. Arrays do not add a level.
func writePretty(b *bytes.Buffer, r gjson.Result, level int, vars map[string]string) {
	switch {
	case r.IsObject():
		n := 0
		r.ForEach(func(k, v gjson.Result) bool {
			if n == 0 {
				b.WriteString("{\n")
			} else {
				b.WriteString(",\n")
			}
			n++
			b.WriteString(strings.Repeat("  ", level+1))
			writeString(b, k.String())
			b.WriteString(" : ")
			writePretty(b, v, level+1, vars)
			return true
		})
		if n == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("\n" + strings.Repeat("  ", level) + "}")
	case r.IsArray():
		n := 0
		r.ForEach(func(_, v gjson.Result) bool {
			if n == 0 {
				b.WriteString("[ ")
			} else {
				b.WriteString(", ")
			}
			n++
			writePretty(b, v, level, vars)
			return true
		})
		if n == 0 {
			b.WriteString("[ ]")
			return
		}
		b.WriteString(" ]")
	case r.Type == gjson.String:
		writeString(b, resolveRefs(r.String(), vars, 1))
	case r.Type == gjson.Number:
		b.WriteString(javaNumber(r.Raw))
	default: // true, false, null
		b.WriteString(r.Raw)
	}
}

// writeString writes s as a JSON string the way Jackson escapes it: quotes, backslashes and control
// characters only.
func writeString(b *bytes.Buffer, s string) {
	var e bytes.Buffer
	enc := json.NewEncoder(&e)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(e.String(), "\n")
	out = strings.ReplaceAll(out, `\u2028`, "\u2028")
	out = strings.ReplaceAll(out, `\u2029`, "\u2029")
	b.WriteString(out)
}

// javaNumber is a JSON number as Jackson reads and writes it back: an integer as written, a number with
// a fraction or an exponent as a Java double (1.50 -> 1.5, 1e3 -> 1000.0, 1e7 -> 1.0E7).
func javaNumber(raw string) string {
	if !strings.ContainsAny(raw, ".eE") {
		return raw
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsInf(f, 0) {
		return raw
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// exportRefused matches the variable names the worker's wrapper script does not export
// (worker-common .../utils/ShellUtil.kt specialEnv): a CJK ideograph, an ASCII |, or full-width
// punctuation; names with . or - are dropped too.
var exportRefused = regexp.MustCompile(`[\x{4E00}-\x{9FA5}|！，。（）《》“”？：；【】]`)

// ExportedVars are the build variables as the worker's wrapper script exports them (ShellUtil.kt): a
// name with '.', '-' or exportRefused's characters is left out; every ' and newline is removed from a
// value.
func ExportedVars(vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars))
	clean := strings.NewReplacer("'", "", "\n", "")
	for k, v := range vars {
		if strings.ContainsAny(k, ".-") || exportRefused.MatchString(k) {
			continue
		}
		out[k] = clean.Replace(v)
	}
	return out
}
