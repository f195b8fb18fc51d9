// Package i18n holds the plugin's translations: the task.json form texts that BK-CI's store reads from
// message_<lang>.properties, and every runtime message, embedded in the binary.
package i18n

import (
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Lang is a runtime language as BK-CI names it (BK_CI_LOCALE_LANGUAGE).
type Lang string

// The supported languages. ZhCN is the default.
const (
	ZhCN Lang = "zh_CN"
	EnUS Lang = "en_US"
)

// Langs lists every supported language.
var Langs = []Lang{ZhCN, EnUS}

//go:embed message_zh_CN.properties message_en_US.properties
var files embed.FS

var (
	loadOnce sync.Once
	tables   map[Lang]map[string]string
	loadErr  error
)

func load() {
	tables = make(map[Lang]map[string]string, len(Langs))
	for _, l := range Langs {
		name := "message_" + string(l) + ".properties"
		b, err := files.ReadFile(name)
		if err != nil {
			loadErr = fmt.Errorf("read %s: %w", name, err)
			return
		}
		m, err := ParseProperties(string(b))
		if err != nil {
			loadErr = fmt.Errorf("parse %s: %w", name, err)
			return
		}
		tables[l] = m
	}
}

// ParseLang maps a BK_CI_LOCALE_LANGUAGE value (zh_CN, en_US, en, zh-cn, ...) to a supported language,
// defaulting to ZhCN.
func ParseLang(s string) Lang {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.ReplaceAll(s, "-", "_")
	if strings.HasPrefix(s, "en") {
		return EnUS
	}
	return ZhCN
}

// HTTPLanguage is the Blueking-Language header value for l.
func (l Lang) HTTPLanguage() string {
	if l == EnUS {
		return "en"
	}
	return "zh-cn"
}

// Table returns a copy of the messages of l (for consistency tests).
func Table(l Lang) (map[string]string, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	out := make(map[string]string, len(tables[l]))
	for k, v := range tables[l] {
		out[k] = v
	}
	return out, nil
}

// Keys returns the sorted keys of l.
func Keys(l Lang) []string {
	m, _ := Table(l)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// T returns the message key in language l with {0}, {1}, ... replaced by args. A missing key yields the
// key itself (consistency tests make sure none is missing), so a message is never silently empty.
func (l Lang) T(key string, args ...any) string {
	loadOnce.Do(load)
	msg, ok := tables[l][key]
	if !ok {
		msg, ok = tables[ZhCN][key]
	}
	if !ok {
		msg = key
		if len(args) > 0 {
			msg += " {0}"
		}
	}
	return Format(msg, args...)
}

// Translator returns l.T as a function value, the shape other packages accept.
func (l Lang) Translator() func(key string, args ...any) string { return l.T }

// Format replaces {n} placeholders in msg with args[n].
func Format(msg string, args ...any) string {
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg) + 16)
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '{' {
			if j := strings.IndexByte(msg[i:], '}'); j > 1 {
				if n, err := strconv.Atoi(msg[i+1 : i+j]); err == nil && n >= 0 && n < len(args) {
					fmt.Fprint(&b, args[n])
					i += j
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ParseProperties parses the subset of Java .properties syntax BK-CI uses: UTF-8, `key=value` or
// `key: value`, `#`/`!` comments, backslash line continuation and the escapes \n \t \\ \= \: \uXXXX.
func ParseProperties(s string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		start := i + 1
		for endsWithOddBackslashes(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		sep := -1
		for j := 0; j < len(line); j++ {
			if line[j] == '\\' {
				j++
				continue
			}
			if line[j] == '=' || line[j] == ':' {
				sep = j
				break
			}
		}
		if sep < 0 {
			return nil, fmt.Errorf("line %d: no '=' separator", start)
		}
		key, err := unescape(strings.TrimSpace(line[:sep]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		val, err := unescape(strings.TrimLeft(line[sep+1:], " \t\f"))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", start, key)
		}
		out[key] = val
	}
	return out, nil
}

func endsWithOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("short \\u escape")
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
			if err != nil {
				return "", fmt.Errorf("bad \\u escape: %w", err)
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
