package bkci

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"none registered", nil, "abc", "abc"},
		{"no match", []string{"secret"}, "nothing here", "nothing here"},
		{"every occurrence", []string{"secret"}, "secret a secret", "****** a ******"},
		{"too short ignored", []string{"ab", ""}, "ab ab", "ab ab"},
		{"three runes", []string{"密码一"}, "x密码一y", "x******y"},
		{"longest first", []string{"abc", "abcdef"}, "abcdefg abc", "******g ******"},
		{"overlap leftmost", []string{"cdefgh", "abcdef"}, "abcdefgh", "******gh"},
		{"adjacent", []string{"xyz"}, "xyzxyz", "************"},
		{"mask not rescanned", []string{"***"}, "***", "******"},
		{"multi-line secret whole", []string{"line-one\nline-two"}, "a line-one\nline-two b", "a ****** b"},
		{"multi-line secret by line", []string{"line-one\r\nline-two"}, "x line-two", "x ******"},
		{"duplicate secrets", []string{"dup", "dup"}, "dup", "******"},
		{"html-escaped", []string{`p@ss<w0rd&"x'`}, `a p@ss&lt;w0rd&amp;&#34;x&#39; b`, "a ****** b"},
		{"html-escaped, named entities", []string{`p@ss<w0rd&"x'`}, `p@ss&lt;w0rd&amp;&quot;x&apos;`, "******"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRedactor(tt.secrets...)
			if got := r.Redact(tt.in); got != tt.want {
				t.Fatalf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactor_ZeroAndNil(t *testing.T) {
	t.Parallel()
	var r Redactor
	if r.Redact("abc") != "abc" {
		t.Fatal("zero Redactor changed text")
	}
	r.Add("abc")
	if r.Redact("abc") != Mask {
		t.Fatal("zero Redactor did not accept a secret")
	}
	var nilR *Redactor
	if nilR.Redact("abc") != "abc" {
		t.Fatal("nil Redactor changed text")
	}
}

func TestRedactor_NoAllocWithoutMatch(t *testing.T) {
	r := NewRedactor("s3cr3t-app-secret", "other-secret")
	line := strings.Repeat("ordinary log output ", 5)
	if n := testing.AllocsPerRun(100, func() { _ = r.Redact(line) }); n != 0 {
		t.Fatalf("Redact allocated %v times without a match", n)
	}
}

func TestSplitLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{""}},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"\n", []string{""}},
		{"a\r\nb\rc\nd", []string{"a", "b", "c", "d"}},
		{"a\n\nb", []string{"a", "", "b"}},
		{"a\r\n\r\n", []string{"a", ""}},
		{"\r\r", []string{"", ""}},
	}
	for _, tt := range tests {
		got := splitLines(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
