// Package rolling implements BlueKing JOB's rolling-execution expression: its grammar (as JOB's server
// parses it, and a whitespace-tolerant variant for the plugin), the batch sizes it yields for a number of
// targets, and the stricter rules of JOB's web UI (docs/JOB.md#rolling).
package rolling

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxBatches is JOB's limit on serial rolling batches (RollingBatchExecuteObjectsResolver).
const MaxBatches = 500

// PartKind is the form of one part of an expression.
type PartKind int

// Part forms, in the order JOB's server tries them.
const (
	// Percent is "N%": ceil(total × N / 100) targets, 1 ≤ N ≤ 100.
	Percent PartKind = iota + 1
	// Count is "N": N targets, N ≥ 1.
	Count
	// Plus is "+N": the previous batch size plus N (N for the first batch).
	Plus
	// Times is "*N": the previous batch size times N (N for the first batch).
	Times
)

// String returns the kind's name.
func (k PartKind) String() string {
	switch k {
	case Percent:
		return "percent"
	case Count:
		return "count"
	case Plus:
		return "plus"
	case Times:
		return "times"
	default:
		return "unknown"
	}
}

// Part is one space-separated part of an expression.
type Part struct {
	Kind PartKind
	N    int
}

// String renders the part in JOB's syntax.
func (p Part) String() string {
	switch p.Kind {
	case Percent:
		return strconv.Itoa(p.N) + "%"
	case Plus:
		return "+" + strconv.Itoa(p.N)
	case Times:
		return "*" + strconv.Itoa(p.N)
	default:
		return strconv.Itoa(p.N)
	}
}

// Expr is a parsed rolling expression. Part i is used for batch i; the last part repeats.
type Expr struct {
	Parts []Part

	// tokens are the original part texts, kept for PortabilityWarnings.
	tokens []string
}

// Reasons carried by ParseError.
const (
	// ReasonEmpty means the expression (or one part of it) is empty.
	ReasonEmpty = "empty"
	// ReasonSyntax means a part matches none of the forms N%, N, +N, *N.
	ReasonSyntax = "syntax"
	// ReasonRange means a number is out of range: 0, a percentage above 100, or above 2^31-1.
	ReasonRange = "range"
)

// ParseError reports an invalid expression. Token is the offending part ("" when the expression is empty);
// Reason is one of ReasonEmpty, ReasonSyntax, ReasonRange.
type ParseError struct {
	Token  string
	Reason string
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Token == "" {
		return "rolling expression: " + e.Reason
	}
	return fmt.Sprintf("rolling expression part %q: %s", e.Token, e.Reason)
}

// ErrTooManyBatches is returned by Batches when the expression needs more batches than JOB accepts
// (JOB error 1244027).
var ErrTooManyBatches = errors.New("rolling expression needs more than 500 batches")

// ErrServerInternal is returned by BatchesServer where JOB's server would fail with an internal error
// (a Java int overflow that yields a negative batch size).
var ErrServerInternal = errors.New("rolling expression overflows the server's integer arithmetic")

// Parse parses s after normalising its whitespace (strings.Fields), so leading, trailing and repeated
// spaces are accepted. Each part must be valid by the server's grammar.
func Parse(s string) (Expr, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return Expr{}, &ParseError{Reason: ReasonEmpty}
	}
	return parseParts(fields)
}

// ParseServer parses s exactly as JOB's server does: s is split on single spaces (Java's String.split(" "),
// which drops trailing empty parts), each part is trimmed of characters up to U+0020, and an empty part is an
// error. So a leading or a double space is invalid, a trailing one is not. A text of spaces only splits
// into no parts at all: JOB accepts it and then fails on the first batch (BatchesServer: ErrServerInternal).
func ParseServer(s string) (Expr, error) {
	if s == "" {
		return Expr{}, &ParseError{Reason: ReasonEmpty}
	}
	parts := strings.Split(s, " ")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 0 {
		return Expr{}, nil
	}
	trimmed := make([]string, len(parts))
	for i, p := range parts {
		trimmed[i] = javaTrim(p)
	}
	return parseParts(trimmed)
}

func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

func parseParts(tokens []string) (Expr, error) {
	e := Expr{Parts: make([]Part, 0, len(tokens)), tokens: tokens}
	for _, tok := range tokens {
		p, err := parsePart(tok)
		if err != nil {
			return Expr{}, err
		}
		e.Parts = append(e.Parts, p)
	}
	return e, nil
}

// parsePart mirrors the server's regexes ^(\d+)%$, ^(\d+)$, ^\+(\d+)$, ^\*(\d+)$ (Java: \d is ASCII, and
// $ also matches before one final line terminator).
func parsePart(tok string) (Part, error) {
	if tok == "" {
		return Part{}, &ParseError{Token: tok, Reason: ReasonEmpty}
	}
	body := stripFinalLineTerminator(tok)
	kind := Count
	switch {
	case strings.HasSuffix(body, "%"):
		kind, body = Percent, body[:len(body)-1]
	case strings.HasPrefix(body, "+"):
		kind, body = Plus, body[1:]
	case strings.HasPrefix(body, "*"):
		kind, body = Times, body[1:]
	}
	if body == "" || !allASCIIDigits(body) {
		return Part{}, &ParseError{Token: tok, Reason: ReasonSyntax}
	}
	n, err := strconv.ParseInt(body, 10, 64)
	if err != nil || n > math.MaxInt32 {
		return Part{}, &ParseError{Token: tok, Reason: ReasonRange}
	}
	if n <= 0 || (kind == Percent && n > 100) {
		return Part{}, &ParseError{Token: tok, Reason: ReasonRange}
	}
	return Part{Kind: kind, N: int(n)}, nil
}

func stripFinalLineTerminator(s string) string {
	for _, t := range []string{"\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029"} {
		if strings.HasSuffix(s, t) {
			return s[:len(s)-len(t)]
		}
	}
	return s
}

func allASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String renders the expression normalised: canonical numbers, parts joined by single spaces.
func (e Expr) String() string {
	out := make([]string, len(e.Parts))
	for i, p := range e.Parts {
		out[i] = p.String()
	}
	return strings.Join(out, " ")
}

// Batches returns the batch sizes for total targets, with the server's semantics: part i sizes batch i,
// the last part repeats, each batch is capped by the targets left. It returns ErrTooManyBatches exactly
// where the server fails: once 501 batches exist and targets remain (so 501 batches are accepted).
// total ≤ 0 gives nil, nil. Arithmetic saturates instead of overflowing (see BatchesServer).
func (e Expr) Batches(total int) ([]int, error) {
	if total <= 0 || len(e.Parts) == 0 {
		return nil, nil
	}
	var out []int
	remaining := total
	prev := 0
	for remaining > 0 {
		if len(out) > MaxBatches {
			return nil, ErrTooManyBatches
		}
		p := e.Parts[min(len(e.Parts), len(out)+1)-1]
		size := partSize(p, prev, total, len(out) == 0)
		size = max(1, min(size, remaining))
		out = append(out, size)
		remaining -= size
		prev = size
	}
	return out, nil
}

func partSize(p Part, prev, total int, first bool) int {
	n := int64(p.N)
	var v int64
	switch p.Kind {
	case Percent:
		v = (int64(total)*n + 99) / 100
	case Plus:
		if first {
			v = n
		} else {
			v = int64(prev) + n
		}
	case Times:
		if first {
			v = n
		} else {
			v = int64(prev) * n
		}
	default:
		v = n
	}
	if v > int64(total) {
		return total
	}
	return int(v)
}

// BatchesServer is Batches with the server's 32-bit integer arithmetic: a size that wraps to zero adds an
// empty batch (and so may end in ErrTooManyBatches), one that wraps negative is ErrServerInternal (JOB
// answers 1240002), and so is an expression without parts (JOB's list index -1). For realistic inputs it
// equals Batches.
func (e Expr) BatchesServer(total int) ([]int, error) {
	if total <= 0 {
		return nil, nil
	}
	if len(e.Parts) == 0 {
		return nil, ErrServerInternal
	}
	var out []int
	remaining := int32(min(total, math.MaxInt32))
	total32 := remaining
	for remaining > 0 {
		if len(out) > MaxBatches {
			return nil, ErrTooManyBatches
		}
		p := e.Parts[min(len(e.Parts), len(out)+1)-1]
		n := int32(p.N)
		var size int32
		switch p.Kind {
		case Percent:
			size = (total32*n + 100 - 1) / 100
		case Plus:
			if len(out) == 0 {
				size = n
			} else {
				size = int32(out[len(out)-1]) + n
			}
		case Times:
			if len(out) == 0 {
				size = n
			} else {
				size = int32(out[len(out)-1]) * n
			}
		default:
			size = n
		}
		size = min(size, remaining)
		if size < 0 {
			return nil, ErrServerInternal
		}
		out = append(out, int(size))
		remaining -= size
	}
	return out, nil
}

// Portability warnings: rules JOB's web UI enforces but its server does not.
const (
	// WarnIncrementNotLast: a +N or *N part is not the last part.
	WarnIncrementNotLast = "increment_not_last"
	// WarnFullPercentNotLast: a 100% part is not the last part.
	WarnFullPercentNotLast = "full_percent_not_last"
	// WarnLeadingZero: a number is written with a leading zero.
	WarnLeadingZero = "leading_zero"
)

// PortabilityWarnings lists the UI-only rules the expression breaks, each once, in a fixed order.
func (e Expr) PortabilityWarnings() []string {
	var incr, full, zero bool
	for i, p := range e.Parts {
		last := i == len(e.Parts)-1
		if !last && (p.Kind == Plus || p.Kind == Times) {
			incr = true
		}
		if !last && p.Kind == Percent && p.N == 100 {
			full = true
		}
		if i < len(e.tokens) && hasLeadingZero(e.tokens[i]) {
			zero = true
		}
	}
	var out []string
	if incr {
		out = append(out, WarnIncrementNotLast)
	}
	if full {
		out = append(out, WarnFullPercentNotLast)
	}
	if zero {
		out = append(out, WarnLeadingZero)
	}
	return out
}

func hasLeadingZero(tok string) bool {
	tok = strings.TrimLeft(tok, "+*")
	return len(tok) > 1 && tok[0] == '0' && tok[1] >= '0' && tok[1] <= '9'
}

// Overflow reports whether the offending part's number does not fit Java's int: JOB's Integer.parseInt then
// throws NumberFormatException and the submit fails with 1240002 (Internal Server Error) rather than
// 1244026.
func (e *ParseError) Overflow() bool {
	body := strings.TrimLeft(strings.TrimSuffix(stripFinalLineTerminator(e.Token), "%"), "+*")
	if e.Reason != ReasonRange || body == "" || !allASCIIDigits(body) {
		return false
	}
	n, err := strconv.ParseInt(body, 10, 64)
	return err != nil || n > math.MaxInt32
}
