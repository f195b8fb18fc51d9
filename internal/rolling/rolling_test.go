package rolling

import (
	"errors"
	"reflect"
	"testing"
)

func TestBatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		expr  string
		total int
		want  []int
	}{
		{name: "one ten percent rest", expr: "1 10% 100%", total: 100, want: []int{1, 10, 89}},
		{name: "plus ten", expr: "5 +10", total: 100, want: []int{5, 15, 25, 35, 20}},
		{name: "times two", expr: "*2", total: 40, want: []int{2, 4, 8, 16, 10}},
		{name: "fixed three", expr: "3", total: 10, want: []int{3, 3, 3, 1}},
		{name: "percent ceil", expr: "10%", total: 7, want: []int{1, 1, 1, 1, 1, 1, 1}},
		{name: "percent ceil 34", expr: "34%", total: 10, want: []int{4, 4, 2}},
		{name: "plus first", expr: "+3", total: 12, want: []int{3, 6, 3}},
		{name: "times after count", expr: "2 *3", total: 30, want: []int{2, 6, 18, 4}},
		{name: "hundred percent middle", expr: "1 100% 5", total: 4, want: []int{1, 3}},
		{name: "zero total", expr: "3", total: 0, want: nil},
		{name: "exactly 501 batches accepted", expr: "1", total: 501, want: ones(501)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			got, err := e.Batches(tt.total)
			if err != nil {
				t.Fatalf("Batches: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Batches(%d) = %v, want %v", tt.total, got, tt.want)
			}
			srv, err := e.BatchesServer(tt.total)
			if err != nil || !reflect.DeepEqual(srv, tt.want) {
				t.Fatalf("BatchesServer(%d) = %v, %v, want %v", tt.total, srv, err, tt.want)
			}
		})
	}
}

func ones(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func TestBatchesTooMany(t *testing.T) {
	t.Parallel()
	e, err := Parse("1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Batches(502); !errors.Is(err, ErrTooManyBatches) {
		t.Fatalf("502 targets: err = %v, want ErrTooManyBatches", err)
	}
	if _, err := e.BatchesServer(502); !errors.Is(err, ErrTooManyBatches) {
		t.Fatalf("server 502 targets: err = %v, want ErrTooManyBatches", err)
	}
}

func TestBatchesServerOverflow(t *testing.T) {
	t.Parallel()
	e, err := Parse("2 *2000000000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.BatchesServer(100); !errors.Is(err, ErrServerInternal) {
		t.Fatalf("err = %v, want ErrServerInternal", err)
	}
	got, err := e.Batches(100)
	if err != nil || !reflect.DeepEqual(got, []int{2, 98}) {
		t.Fatalf("Batches = %v, %v", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, token, reason string
		server                    bool
	}{
		{name: "empty", expr: "", reason: ReasonEmpty},
		{name: "blank", expr: "   ", reason: ReasonEmpty},
		{name: "plus suffix", expr: "30%+", token: "30%+", reason: ReasonSyntax},
		{name: "zero", expr: "0", token: "0", reason: ReasonRange},
		{name: "zero percent", expr: "0%", token: "0%", reason: ReasonRange},
		{name: "over hundred", expr: "101%", token: "101%", reason: ReasonRange},
		{name: "overflow", expr: "99999999999", token: "99999999999", reason: ReasonRange},
		{name: "negative", expr: "-1", token: "-1", reason: ReasonSyntax},
		{name: "word", expr: "1 abc", token: "abc", reason: ReasonSyntax},
		{name: "unicode digit", expr: "١", token: "١", reason: ReasonSyntax},
		{name: "server leading space", expr: " 1", reason: ReasonEmpty, server: true},
		{name: "server double space", expr: "1  2", reason: ReasonEmpty, server: true},
		{name: "server empty", expr: "", reason: ReasonEmpty, server: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parse := Parse
			if tt.server {
				parse = ParseServer
			}
			_, err := parse(tt.expr)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.Token != tt.token || pe.Reason != tt.reason {
				t.Fatalf("got {%q %q}, want {%q %q}", pe.Token, pe.Reason, tt.token, tt.reason)
			}
		})
	}
}

func TestParseAccepted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, want string
		server           bool
	}{
		{name: "normalised spaces", expr: "  1   10%\t100% ", want: "1 10% 100%"},
		{name: "server trailing space", expr: "1 10% ", want: "1 10%", server: true},
		{name: "server tab trimmed", expr: "1\t 2", want: "1 2", server: true},
		{name: "leading zero canonical", expr: "010", want: "10"},
		{name: "java dollar before line separator", expr: "5\u2028", want: "5", server: true},
		{name: "increments", expr: "+2 *3", want: "+2 *3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parse := Parse
			if tt.server {
				parse = ParseServer
			}
			e, err := parse(tt.expr)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.expr, err)
			}
			if got := e.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPortabilityWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{expr: "1 10% 100%", want: nil},
		{expr: "5 +10", want: nil},
		{expr: "+1 5", want: []string{WarnIncrementNotLast}},
		{expr: "*2 5", want: []string{WarnIncrementNotLast}},
		{expr: "100% 1", want: []string{WarnFullPercentNotLast}},
		{expr: "05 +010", want: []string{WarnLeadingZero}},
		{expr: "+01 100% 3", want: []string{WarnIncrementNotLast, WarnFullPercentNotLast, WarnLeadingZero}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.PortabilityWarnings(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("PortabilityWarnings() = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseBatches(f *testing.F) {
	for _, s := range []string{"1 10% 100%", "5 +10", "*2", "3", "10%", " 1", "1  2", "0", "+0", "2 *2000000000", "abc", "100% 1"} {
		f.Add(s, 100)
	}
	f.Fuzz(func(t *testing.T, s string, total int) {
		total %= 20000
		for _, parse := range []func(string) (Expr, error){Parse, ParseServer} {
			e, err := parse(s)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("error %v is not a *ParseError", err)
				}
				continue
			}
			// ParseServer takes a blank expression apart into no parts, as JOB's Java does (its batches
			// then fail): nothing to print back.
			if len(e.Parts) == 0 {
				continue
			}
			if _, err := Parse(e.String()); err != nil {
				t.Fatalf("String() %q does not re-parse: %v", e.String(), err)
			}
			_ = e.PortabilityWarnings()
			for _, batches := range []func(int) ([]int, error){e.Batches, e.BatchesServer} {
				got, err := batches(total)
				if err != nil {
					continue
				}
				sum := 0
				for _, b := range got {
					if b < 0 {
						t.Fatalf("negative batch in %v", got)
					}
					sum += b
				}
				if total > 0 && sum != total {
					t.Fatalf("batches %v sum to %d, want %d", got, sum, total)
				}
			}
			got, err := e.Batches(total)
			if err == nil {
				for _, b := range got {
					if b < 1 {
						t.Fatalf("batch < 1 in %v", got)
					}
				}
				if len(got) > MaxBatches+1 {
					t.Fatalf("%d batches", len(got))
				}
			}
		}
	})
}
