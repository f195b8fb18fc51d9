package plugin

import (
	"slices"
	"strings"
	"testing"
)

func TestShellWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a  b\tc\n", []string{"a", "b", "c"}},
		{`--password 'hunter2 xyz' -k ab_cd`, []string{"--password", "hunter2 xyz", "-k", "ab_cd"}},
		{`--token="a b \"c\" \$x \n"`, []string{`--token=a b "c" $x \n`}},
		{`a\ b c\\d`, []string{"a b", `c\d`}},
		{`'it''s' ""`, []string{"its", ""}},
		{`'unterminated rest`, []string{"unterminated rest"}},
		{`"unterminated \"x`, []string{`unterminated "x`}},
		{`trailing\`, []string{"trailing"}},
		{`$HOME *.txt`, []string{"$HOME", "*.txt"}},
	} {
		if got := shellWords(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("shellWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParamSecrets(t *testing.T) {
	t.Parallel()
	param := `--password 'hunter2 xyz' -k ab_cd --token="a b" user:s3cr3t -v`
	got := paramSecrets(param)
	for _, want := range []string{param, "hunter2 xyz", "ab_cd", "a b", "user:s3cr3t", "s3cr3t"} {
		if !slices.Contains(got, want) {
			t.Errorf("paramSecrets lacks %q: %q", want, got)
		}
	}
	for _, not := range []string{"--password", "-k", "-v", "'hunter2"} {
		if slices.Contains(got, not) {
			t.Errorf("paramSecrets masks the option %q", not)
		}
	}
}

// FuzzShellWords: never panics, and text without quotes or backslashes splits like strings.Fields
// (blanks being space, tab, CR and LF).
func FuzzShellWords(f *testing.F) {
	for _, s := range []string{"", "a b", `'a b' "c\"d" e\ f`, `'`, `"`, `\`, "a\tb\nc\rd", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := shellWords(s)
		if strings.ContainsAny(s, `'"\`) {
			return
		}
		want := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' })
		if !slices.Equal(words, want) && !(len(words) == 0 && len(want) == 0) {
			t.Fatalf("shellWords(%q) = %q, want %q", s, words, want)
		}
	})
}
