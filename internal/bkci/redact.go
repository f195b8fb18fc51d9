package bkci

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Mask replaces every secret in redacted text (the same mask BK-CI uses).
const Mask = "******"

// minSecretRunes is the shortest secret that is masked; shorter ones would mask ordinary text.
const minSecretRunes = 3

// Redactor masks known secrets in text. It is safe for concurrent use; adding secrets while other
// goroutines redact is allowed. The zero value is ready to use and masks nothing.
type Redactor struct {
	mu      sync.Mutex
	secrets atomic.Pointer[[]string] // immutable snapshot, longest first
}

// NewRedactor returns a Redactor that masks the given secrets (see Add).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// htmlEscapers write a secret the ways an HTML-escaped log may show it (a target's script that
// escapes its output, a marker in its HTML-escaped form).
var htmlEscapers = []*strings.Replacer{
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;"),
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;"),
}

// Add registers secrets. Secrets shorter than 3 characters are ignored. A secret that spans
// several lines is registered whole and also line by line, so it is masked when printed either
// way; one with "&", "<", ">" or a quote also in its HTML-escaped forms.
func (r *Redactor) Add(secrets ...string) {
	var add []string
	for _, s := range secrets {
		add = appendSecret(add, s)
		if strings.ContainsAny(s, "&<>\"'") {
			for _, e := range htmlEscapers {
				add = appendSecret(add, e.Replace(s))
			}
		}
		if strings.ContainsAny(s, "\r\n") {
			for _, line := range splitLines(s) {
				add = appendSecret(add, line)
			}
		}
	}
	if len(add) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var cur []string
	if p := r.secrets.Load(); p != nil {
		cur = *p
	}
	next := slices.Clone(cur)
	for _, s := range add {
		if !slices.Contains(next, s) {
			next = append(next, s)
		}
	}
	if len(next) == len(cur) {
		return
	}
	// Longest first: at equal positions the longer secret wins, so a secret that contains
	// another one is masked whole.
	slices.SortStableFunc(next, func(a, b string) int { return len(b) - len(a) })
	r.secrets.Store(&next)
}

func appendSecret(list []string, s string) []string {
	if utf8.RuneCountInString(s) < minSecretRunes {
		return list
	}
	return append(list, s)
}

// Redact returns s with every occurrence of every registered secret replaced by Mask, in one
// left-to-right pass (leftmost match first, the longest secret at equal positions; the masks
// themselves are never searched again). It returns s itself when no secret occurs.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	p := r.secrets.Load()
	if p == nil || len(*p) == 0 || s == "" {
		return s
	}
	secrets := *p
	// Fast path: one substring search per secret; nothing is allocated when none occurs.
	var idx []int
	for k, sec := range secrets {
		if i := strings.Index(s, sec); i >= 0 {
			if idx == nil {
				idx = make([]int, len(secrets))
				for j := range k {
					idx[j] = -1
				}
			}
			idx[k] = i
		} else if idx != nil {
			idx[k] = -1
		}
	}
	if idx == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for {
		best := -1
		for k, i := range idx {
			if i >= 0 && (best < 0 || i < idx[best]) {
				best = k
			}
		}
		if best < 0 {
			break
		}
		at := idx[best]
		b.WriteString(s[pos:at])
		b.WriteString(Mask)
		pos = at + len(secrets[best])
		for k, i := range idx {
			if i >= 0 && i < pos {
				if j := strings.Index(s[pos:], secrets[k]); j >= 0 {
					idx[k] = pos + j
				} else {
					idx[k] = -1
				}
			}
		}
	}
	b.WriteString(s[pos:])
	return b.String()
}

// splitLines splits s at "\r\n", "\r" and "\n" (the line breaks BK-CI's agent recognises).
// A single trailing line break does not start another line; "" is one empty line.
func splitLines(s string) []string {
	var lines []string
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return append(lines, s)
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
		if s == "" {
			return lines
		}
	}
}
