package labelsel

import (
	"fmt"
	"strconv"
	"strings"
)

type token int

const (
	tokError token = iota
	tokEOS
	tokClosedPar
	tokComma
	tokDoesNotExist
	tokDoubleEquals
	tokEquals
	tokGreaterThan
	tokIdentifier
	tokIn
	tokLessThan
	tokNotEquals
	tokNotIn
	tokOpenPar
)

var string2token = map[string]token{
	")":     tokClosedPar,
	",":     tokComma,
	"!":     tokDoesNotExist,
	"==":    tokDoubleEquals,
	"=":     tokEquals,
	">":     tokGreaterThan,
	"in":    tokIn,
	"<":     tokLessThan,
	"!=":    tokNotEquals,
	"notin": tokNotIn,
	"(":     tokOpenPar,
}

type item struct {
	tok token
	lit string
}

// lexer is a byte-wise port of JOB's Lexer. All special symbols and whitespace are ASCII, so scanning bytes
// is equivalent to Java's UTF-16 chars, including NUL ending the input (Java's read() returns 0 at the end).
type lexer struct {
	s   string
	pos int
}

func (l *lexer) read() byte {
	var ch byte
	if l.pos < len(l.s) {
		ch = l.s[l.pos]
		l.pos++
	}
	return ch
}

func (l *lexer) unread() { l.pos-- }

func isWhitespace(ch byte) bool { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' }

func isSpecial(ch byte) bool {
	switch ch {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

func (l *lexer) lex() item {
	ch := l.read()
	for isWhitespace(ch) {
		ch = l.read()
	}
	if ch == 0 {
		return item{tokEOS, ""}
	}
	l.unread()
	if isSpecial(ch) {
		return l.scanSpecial()
	}
	return l.scanIdentifier()
}

func (l *lexer) scanIdentifier() item {
	start := l.pos
	for {
		ch := l.read()
		if ch == 0 {
			break
		}
		if isSpecial(ch) || isWhitespace(ch) {
			l.unread()
			break
		}
	}
	s := l.s[start:l.pos]
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if t, ok := string2token[s]; ok {
		return item{t, s}
	}
	return item{tokIdentifier, s}
}

func (l *lexer) scanSpecial() item {
	var buf []byte
	last := item{tok: -1}
	for {
		ch := l.read()
		if ch == 0 {
			break
		}
		if !isSpecial(ch) {
			l.unread()
			break
		}
		buf = append(buf, ch)
		if t, ok := string2token[string(buf)]; ok {
			last = item{t, string(buf)}
		} else if last.tok != -1 {
			l.unread()
			break
		}
	}
	if last.tok == -1 {
		return item{tokError, ""}
	}
	return last
}

type parser struct {
	items []item
	pos   int
}

// errInternal marks a position past the scanned items, where JOB's parser throws IndexOutOfBounds.
var errInternal = &Error{Reason: "unexpected end of input", Internal: true}

func (p *parser) at(i int, values bool) (item, error) {
	if i < 0 || i >= len(p.items) {
		return item{}, errInternal
	}
	it := p.items[i]
	if values && (it.tok == tokIn || it.tok == tokNotIn) {
		it.tok = tokIdentifier
	}
	return it, nil
}

func (p *parser) lookahead(values bool) (item, error) { return p.at(p.pos, values) }

func (p *parser) consume(values bool) (item, error) {
	p.pos++
	return p.at(p.pos-1, values)
}

func (p *parser) litAt(i int) string {
	if i >= 0 && i < len(p.items) {
		return p.items[i].lit
	}
	return ""
}

const operatorSymbols = "!, =, ==, in, !=, notin, exists, gt, lt"

func syntaxErr(lit, expected string) error {
	return &Error{Part: lit, Reason: fmt.Sprintf("found '%s', expected: %s", lit, expected)}
}

// ParseExpr parses a Kubernetes label-selector expression into requirements exactly as JOB does
// (Equals and DoubleEquals become "equals", "!key" becomes not_exists, a bare key exists). An empty or
// blank expression yields no requirements. Errors are *Error; Internal marks the few inputs where JOB
// itself fails with an internal error instead of 1244031.
func ParseExpr(s string) ([]Requirement, error) {
	l := &lexer{s: s}
	p := &parser{}
	for {
		it := l.lex()
		p.items = append(p.items, it)
		if it.tok == tokEOS {
			break
		}
	}
	var reqs []Requirement
	for {
		it, err := p.lookahead(true)
		if err != nil {
			return nil, err
		}
		switch it.tok {
		case tokIdentifier, tokDoesNotExist:
			r, err := p.parseRequirement()
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, r)
			next, err := p.consume(true)
			if err != nil {
				return nil, err
			}
			switch next.tok {
			case tokEOS:
				return reqs, nil
			case tokComma:
				n2, err := p.lookahead(true)
				if err != nil {
					return nil, err
				}
				if n2.tok != tokIdentifier && n2.tok != tokDoesNotExist {
					return nil, syntaxErr(n2.lit, "identifier after ','")
				}
			default:
				return nil, syntaxErr(next.lit, "',' or 'end of string'")
			}
		case tokEOS:
			return reqs, nil
		default:
			return nil, syntaxErr(p.litAt(p.pos), "!, identifier, or 'end of string'")
		}
	}
}

type rawOp int

const (
	opDoesNotExist rawOp = iota + 1
	opEquals
	opDoubleEquals
	opIn
	opNotEquals
	opNotIn
	opExists
	opGreaterThan
	opLessThan
)

func (o rawOp) public() Operator {
	switch o {
	case opEquals, opDoubleEquals:
		return Equals
	case opIn:
		return In
	case opNotIn:
		return NotIn
	case opExists:
		return Exists
	case opDoesNotExist:
		return NotExists
	case opNotEquals:
		return NotEquals
	case opGreaterThan:
		return Gt
	default:
		return Lt
	}
}

func (p *parser) parseRequirement() (Requirement, error) {
	key, op, err := p.parseKeyAndInferOperator()
	if err != nil {
		return Requirement{}, err
	}
	if op == opExists || op == opDoesNotExist {
		return newRequirement(key, op, nil)
	}
	op, err = p.parseOperator()
	if err != nil {
		return Requirement{}, err
	}
	var values []string
	switch op {
	case opIn, opNotIn:
		values, err = p.parseValues()
	default:
		values, err = p.parseExactValue()
	}
	if err != nil {
		return Requirement{}, err
	}
	return newRequirement(key, op, values)
}

func (p *parser) parseKeyAndInferOperator() (string, rawOp, error) {
	var op rawOp
	it, err := p.consume(true)
	if err != nil {
		return "", 0, err
	}
	if it.tok == tokDoesNotExist {
		op = opDoesNotExist
		if it, err = p.consume(true); err != nil {
			return "", 0, err
		}
	}
	if it.tok != tokIdentifier {
		return "", 0, syntaxErr(it.lit, "identifier")
	}
	if msg := validateKey(it.lit, true); msg != "" {
		return "", 0, &Error{Part: it.lit, Reason: "invalid label key: " + msg}
	}
	next, err := p.lookahead(true)
	if err != nil {
		return "", 0, err
	}
	if (next.tok == tokEOS || next.tok == tokComma) && op != opDoesNotExist {
		op = opExists
	}
	return it.lit, op, nil
}

func (p *parser) parseOperator() (rawOp, error) {
	it, err := p.consume(false)
	if err != nil {
		return 0, err
	}
	switch it.tok {
	case tokIn:
		return opIn, nil
	case tokEquals:
		return opEquals, nil
	case tokDoubleEquals:
		return opDoubleEquals, nil
	case tokGreaterThan:
		return opGreaterThan, nil
	case tokLessThan:
		return opLessThan, nil
	case tokNotIn:
		return opNotIn, nil
	case tokNotEquals:
		return opNotEquals, nil
	default:
		return 0, syntaxErr(it.lit, operatorSymbols)
	}
}

func (p *parser) parseValues() ([]string, error) {
	it, err := p.consume(true)
	if err != nil {
		return nil, err
	}
	if it.tok != tokOpenPar {
		return nil, &Error{Part: it.lit, Reason: fmt.Sprintf("found '%s' expected: '('", it.lit)}
	}
	la, err := p.lookahead(true)
	if err != nil {
		return nil, err
	}
	switch la.tok {
	case tokIdentifier, tokComma:
		values, err := p.parseIdentifiersList()
		if err != nil {
			return nil, err
		}
		closing, err := p.consume(true)
		if err != nil {
			return nil, err
		}
		if closing.tok != tokClosedPar {
			// JOB reports the token seen before the list here.
			return nil, syntaxErr(la.lit, "')'")
		}
		return values, nil
	case tokClosedPar:
		if _, err := p.consume(true); err != nil {
			return nil, err
		}
		return []string{}, nil
	default:
		return nil, syntaxErr(p.litAt(p.pos), "',', ')' or identifier")
	}
}

func (p *parser) parseIdentifiersList() ([]string, error) {
	values := []string{}
	for {
		it, err := p.consume(true)
		if err != nil {
			return nil, err
		}
		switch it.tok {
		case tokIdentifier:
			values = append(values, it.lit)
			la, err := p.lookahead(true)
			if err != nil {
				return nil, err
			}
			switch la.tok {
			case tokComma:
				continue
			case tokClosedPar:
				return values, nil
			default:
				return nil, syntaxErr(la.lit, "',' or ')'")
			}
		case tokComma:
			if len(values) == 0 {
				values = append(values, "")
			}
			la, err := p.lookahead(true)
			if err != nil {
				return nil, err
			}
			if la.tok == tokClosedPar {
				return append(values, ""), nil
			}
			if la.tok == tokComma {
				if _, err := p.consume(true); err != nil {
					return nil, err
				}
				values = append(values, "")
			}
		default:
			return values, nil
		}
	}
}

func (p *parser) parseExactValue() ([]string, error) {
	la, err := p.lookahead(true)
	if err != nil {
		return nil, err
	}
	if la.tok == tokEOS || la.tok == tokComma {
		return []string{""}, nil
	}
	it, err := p.consume(true)
	if err != nil {
		return nil, err
	}
	if it.tok == tokIdentifier {
		return []string{it.lit}, nil
	}
	return nil, syntaxErr(p.litAt(p.pos), "identifier")
}

// newRequirement checks the values for the operator; parseKeyAndInferOperator has validated key.
func newRequirement(key string, op rawOp, values []string) (Requirement, error) {
	switch op {
	case opIn, opNotIn:
		if len(values) == 0 {
			return Requirement{}, &Error{Part: key, Reason: "for 'in', 'notin' operators, values set can't be empty"}
		}
	case opEquals, opDoubleEquals, opNotEquals:
		if len(values) != 1 {
			return Requirement{}, &Error{Part: key, Reason: "exact-match compatibility requires one single value"}
		}
	case opExists, opDoesNotExist:
		if len(values) != 0 {
			return Requirement{}, &Error{Part: key, Reason: "values set must be empty for exists and does not exist"}
		}
	case opGreaterThan, opLessThan:
		if len(values) != 1 {
			return Requirement{}, &Error{Part: key, Reason: "for 'Gt', 'Lt' operators, exactly one value is required"}
		}
		for _, v := range values {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return Requirement{}, &Error{Part: v, Reason: "for 'Gt', 'Lt' operators, the value must be an integer"}
			}
		}
	}
	for _, v := range values {
		if msg := validateValue(v); msg != "" {
			return Requirement{}, &Error{Part: v, Reason: "invalid label value: " + msg}
		}
	}
	return Requirement{Key: key, Operator: op.public(), Values: values}, nil
}
