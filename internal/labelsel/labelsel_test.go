package labelsel

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseExpr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		expr string
		want []Requirement
	}{
		{name: "empty", expr: "", want: nil},
		{name: "blank", expr: "  \t", want: nil},
		{name: "mixed", expr: "app in (api,web),env!=dev,!canary,tier,x=y,x==y,n>3,m<10,z notin (a)", want: []Requirement{
			{Key: "app", Operator: In, Values: []string{"api", "web"}},
			{Key: "env", Operator: NotEquals, Values: []string{"dev"}},
			{Key: "canary", Operator: NotExists},
			{Key: "tier", Operator: Exists},
			{Key: "x", Operator: Equals, Values: []string{"y"}},
			{Key: "x", Operator: Equals, Values: []string{"y"}},
			{Key: "n", Operator: Gt, Values: []string{"3"}},
			{Key: "m", Operator: Lt, Values: []string{"10"}},
			{Key: "z", Operator: NotIn, Values: []string{"a"}},
		}},
		{name: "keyword as key", expr: "in=1,notin", want: []Requirement{
			{Key: "in", Operator: Equals, Values: []string{"1"}},
			{Key: "notin", Operator: Exists},
		}},
		{name: "prefixed key", expr: "example.com/app=web", want: []Requirement{{Key: "example.com/app", Operator: Equals, Values: []string{"web"}}}},
		{name: "empty value", expr: "a=,b", want: []Requirement{{Key: "a", Operator: Equals, Values: []string{""}}, {Key: "b", Operator: Exists}}},
		{name: "empty list members", expr: "a in (,x,)", want: []Requirement{{Key: "a", Operator: In, Values: []string{"", "x", ""}}}},
		{name: "java trailing slash key", expr: "a/=1", want: []Requirement{{Key: "a/", Operator: Equals, Values: []string{"1"}}}},
		{name: "spaces", expr: "  a  in  ( b , c )  ", want: []Requirement{{Key: "a", Operator: In, Values: []string{"b", "c"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseExpr(tt.expr)
			if err != nil {
				t.Fatalf("ParseExpr(%q): %v", tt.expr, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseExpr(%q) = %#v, want %#v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, part string
		internal         bool
	}{
		{name: "bad key", expr: "-a=b", part: "-a"},
		{name: "bad value", expr: "a=b c", part: "c"},
		{name: "empty in", expr: "a in ()", part: "a"},
		{name: "gt not int", expr: "a>b", part: "b"},
		{name: "missing paren", expr: "a in b", part: "b"},
		{name: "double comma", expr: "a,,b", part: ","},
		{name: "trailing comma", expr: "a=b,", part: ""},
		{name: "bang value", expr: "!a=b", part: "="},
		{name: "error token", expr: "a=b,(", part: "("},
		{name: "unclosed list", expr: "a in (x,", internal: true},
		{name: "java quirk double comma in list", expr: "a in (,x,,)", part: ","},
		{name: "invalid value chars", expr: "a=b_", part: "b_"},
		{name: "too long key", expr: strings.Repeat("k", 64), part: strings.Repeat("k", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseExpr(tt.expr)
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("ParseExpr(%q) err = %v, want *Error", tt.expr, err)
			}
			if le.Internal != tt.internal {
				t.Fatalf("Internal = %v, want %v (%v)", le.Internal, tt.internal, err)
			}
			if !tt.internal && le.Part != tt.part {
				t.Fatalf("Part = %q, want %q (%v)", le.Part, tt.part, err)
			}
		})
	}
}

func TestValidateRequirement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Requirement
		ok   bool
	}{
		{name: "in", req: Requirement{Key: "app", Operator: In, Values: []string{"api", "web"}}, ok: true},
		{name: "equals one", req: Requirement{Key: "app", Operator: Equals, Values: []string{"api"}}, ok: true},
		{name: "equals two", req: Requirement{Key: "app", Operator: Equals, Values: []string{"a", "b"}}},
		{name: "not_equals none", req: Requirement{Key: "app", Operator: NotEquals}},
		{name: "not_in empty", req: Requirement{Key: "app", Operator: NotIn, Values: []string{}}},
		{name: "exists", req: Requirement{Key: "app", Operator: Exists}, ok: true},
		{name: "exists with value", req: Requirement{Key: "app", Operator: Exists, Values: []string{"x"}}},
		{name: "not_exists", req: Requirement{Key: "example.com/app", Operator: NotExists}, ok: true},
		{name: "gt int", req: Requirement{Key: "n", Operator: Gt, Values: []string{"3"}}, ok: true},
		{name: "lt word", req: Requirement{Key: "n", Operator: Lt, Values: []string{"x"}}},
		{name: "bad operator", req: Requirement{Key: "n", Operator: "=="}},
		{name: "empty key", req: Requirement{Key: "", Operator: Exists}},
		{name: "trailing slash key", req: Requirement{Key: "a/", Operator: Exists}},
		{name: "uppercase prefix", req: Requirement{Key: "Example.com/a", Operator: Exists}},
		{name: "bad value", req: Requirement{Key: "a", Operator: In, Values: []string{"ok", "not ok"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateRequirement(tt.req)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateRequirement(%+v) = %v, ok want %v", tt.req, err, tt.ok)
			}
			var le *Error
			if err != nil && !errors.As(err, &le) {
				t.Fatalf("error %v is not *Error", err)
			}
		})
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"app in (api,web),env!=dev,!canary,tier,x=y,x==y,n>3,notin", "a in (x,", "a=b,(", "!", "a in (,,)", "a\x00b", "a/b/c=d", "((=!=))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		reqs, err := ParseExpr(s)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not *Error", err)
			}
			return
		}
		for _, r := range reqs {
			if !r.Operator.Valid() {
				t.Fatalf("invalid operator %q from %q", r.Operator, s)
			}
			if err := checkValues(r.Key, r.Operator, r.Values); err != nil {
				t.Fatalf("parsed requirement %+v fails value rules: %v", r, err)
			}
		}
	})
}
