package logvars

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxValueLen is the longest value that BK-CI keeps as an output (docs/CONTRACT.md#variables: longer values are
// dropped), in UTF-16 code units as BK-CI (Kotlin's String.length) counts: a character outside the
// basic plane, an emoji say, counts twice. Longer values are skipped with [ReasonTooLong].
const MaxValueLen = 4000

// maxSkippedNameLen bounds the bytes of an invalid name kept in a [Skip] (a stray marker can
// capture a long stretch of log before its colon).
const maxSkippedNameLen = 200

// Reasons for skipping a variable.
const (
	ReasonInvalidName = "invalid_name" // not [A-Za-z_][A-Za-z0-9_]*
	ReasonReserved    = "reserved"     // one of the plugin's own outputs
	ReasonBKCIPrefix  = "bk_ci_prefix" // starts with BK_CI_
	ReasonTooLong     = "too_long"     // value longer than MaxValueLen UTF-16 code units
	// ReasonSteersEnv is declared in steer.go.
)

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// ValidName reports whether name matches [A-Za-z_][A-Za-z0-9_]*.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Collector merges the variables of many targets. Add may be called from several goroutines
// and in any order; the outcome depends only on the labels and logs, not on the call order
// (except when one label is added twice, see Add). It keeps the variables, never the logs.
type Collector struct {
	reserved func(name string) bool

	// Redact, when set, masks secrets in every extracted name and value before it is kept. The log
	// was masked already, but an HTML-escaped marker's value is unescaped here, and a secret with
	// "<", "&" or a quote only shows in its clear form after that.
	Redact func(string) string

	// Allowed lists names a target may set although they steer later steps' environment
	// (SteersEnvironment): the step's allowedVariables input. Other such names are skipped with
	// ReasonSteersEnv.
	Allowed map[string]bool

	// Compare orders target labels ("first in label order" wins a conflict; lists are sorted by it).
	// Nil: strings.Compare.
	Compare func(a, b string) int

	mu      sync.Mutex
	targets map[string]map[string]string // label -> valid name -> last value
	invalid map[string]map[string]bool   // invalid (shortened) name -> labels
}

// NewCollector returns a Collector. reserved reports names that must not become outputs (the
// plugin's own output names); nil means none.
func NewCollector(reserved func(name string) bool) *Collector {
	return &Collector{
		reserved: reserved,
		targets:  make(map[string]map[string]string),
		invalid:  make(map[string]map[string]bool),
	}
}

// Add extracts the variables from the log of the target labelled label. Within one log the last
// occurrence of a name wins. Adding the same label again merges into what it already has, the
// later call's values winning. A target without variables leaves no trace.
func (c *Collector) Add(label string, log string) {
	vars := Extract(log)
	if len(vars) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tv := c.targets[label]
	for _, v := range vars {
		if c.Redact != nil {
			v.Name, v.Value = c.Redact(v.Name), c.Redact(v.Value)
		}
		// Clone: the strings are slices of log, which must not stay alive.
		if !ValidName(v.Name) {
			name := strings.Clone(shorten(v.Name))
			labels := c.invalid[name]
			if labels == nil {
				labels = make(map[string]bool)
				c.invalid[name] = labels
			}
			labels[label] = true
			continue
		}
		if tv == nil {
			tv = make(map[string]string)
			c.targets[label] = tv
		}
		if old, ok := tv[v.Name]; !ok || old != v.Value {
			tv[strings.Clone(v.Name)] = strings.Clone(v.Value)
		}
	}
}

// Result is the merged outcome of a Collector.
type Result struct {
	// Values holds the outputs: per name, the value of the first target in label order that has
	// it. Labels are ordered by Collector.Compare (by default lexicographically by bytes), the order
	// of the plugin's target lists. Skipped names are not in it.
	Values map[string]string
	// PerTarget holds every validly named variable of every target (label -> name -> value),
	// including reserved, BK_CI_ and too long ones: this is what result.json shows.
	PerTarget map[string]map[string]string
	// Conflicts lists, sorted by name, the output names whose targets disagree.
	Conflicts []Conflict
	// Skipped lists, sorted by name and reason, the names that did not become outputs.
	Skipped []Skip
}

// Conflict is an output name whose value differs between targets.
type Conflict struct {
	Name   string   `json:"name"`
	Label  string   `json:"label"`        // the target whose value won
	Value  string   `json:"value"`        // the winning value
	Others []string `json:"other_labels"` // targets with a different value, sorted
}

// Skip is a name that did not become an output, and why.
type Skip struct {
	Name   string   `json:"name"` // invalid names longer than 200 bytes are cut and end in "…"
	Reason string   `json:"reason"`
	Labels []string `json:"labels"` // the targets that had it, sorted
}

// sortLabels sorts labels by Compare (nil: strings.Compare).
func (c *Collector) sortLabels(labels []string) {
	if c.Compare == nil {
		sort.Strings(labels)
		return
	}
	slices.SortFunc(labels, c.Compare)
}

// Result merges what was added so far. It may be called more than once; the returned maps and
// slices are the caller's own.
func (c *Collector) Result() Result {
	c.mu.Lock()
	defer c.mu.Unlock()

	labels := make([]string, 0, len(c.targets))
	for l := range c.targets {
		labels = append(labels, l)
	}
	c.sortLabels(labels)

	res := Result{
		Values:    make(map[string]string),
		PerTarget: make(map[string]map[string]string, len(c.targets)),
	}
	type winner struct {
		label, value string
		others       []string
	}
	winners := make(map[string]*winner)
	skipped := make(map[[2]string][]string) // {name, reason} -> labels in label order

	for _, l := range labels {
		tv := c.targets[l]
		cp := make(map[string]string, len(tv))
		for name, value := range tv {
			cp[name] = value
			if reason := c.skipReason(name); reason != "" {
				k := [2]string{name, reason}
				skipped[k] = append(skipped[k], l)
				continue
			}
			w := winners[name]
			if w == nil {
				winners[name] = &winner{label: l, value: value}
				continue
			}
			if value != w.value {
				w.others = append(w.others, l)
			}
		}
		res.PerTarget[l] = cp
	}

	tooLong := make(map[string][]string)
	for name, w := range winners {
		if len(w.others) > 0 {
			res.Conflicts = append(res.Conflicts, Conflict{Name: name, Label: w.label, Value: w.value, Others: w.others})
		}
		if utf16Len(w.value) > MaxValueLen {
			tooLong[name] = append(tooLong[name], w.label)
			continue
		}
		res.Values[name] = w.value
	}
	sort.Slice(res.Conflicts, func(i, j int) bool { return res.Conflicts[i].Name < res.Conflicts[j].Name })

	for k, ls := range skipped {
		res.Skipped = append(res.Skipped, Skip{Name: k[0], Reason: k[1], Labels: ls})
	}
	for name, ls := range tooLong {
		res.Skipped = append(res.Skipped, Skip{Name: name, Reason: ReasonTooLong, Labels: ls})
	}
	for name, set := range c.invalid {
		ls := make([]string, 0, len(set))
		for l := range set {
			ls = append(ls, l)
		}
		c.sortLabels(ls)
		res.Skipped = append(res.Skipped, Skip{Name: name, Reason: ReasonInvalidName, Labels: ls})
	}
	sort.Slice(res.Skipped, func(i, j int) bool {
		a, b := res.Skipped[i], res.Skipped[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Reason < b.Reason
	})
	return res
}

// skipReason says why a valid name cannot become an output, or "" when it can.
func (c *Collector) skipReason(name string) string {
	switch {
	case strings.HasPrefix(name, "BK_CI_"):
		return ReasonBKCIPrefix
	case c.reserved != nil && c.reserved(name):
		return ReasonReserved
	case SteersEnvironment(name) && !c.Allowed[name]:
		return ReasonSteersEnv
	default:
		return ""
	}
}

// shorten cuts s to at most maxSkippedNameLen bytes on a rune boundary, marking a cut with "…".
func shorten(s string) string {
	if len(s) <= maxSkippedNameLen {
		return s
	}
	cut := maxSkippedNameLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
