package i18n

import (
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	t.Parallel()
	got, err := ParseProperties("# comment\n! also\n a = b \nkey:value\nlong=one \\\n    two\nesc=\\ \\ x\\n\\u4e2d\\=\nempty=\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "b ", "key": "value", "long": "one two", "esc": "  x\n中=", "empty": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{"novalue\n", "a=1\na=2\n", "x=\\u12\n"} {
		if _, err := ParseProperties(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFormatAndLang(t *testing.T) {
	t.Parallel()
	if got := Format("{1} and {0}, {2} {x}", "a", 7); got != "7 and a, {2} {x}" {
		t.Errorf("Format = %q", got)
	}
	for in, want := range map[string]Lang{"": ZhCN, "zh_CN": ZhCN, "en_US": EnUS, "en": EnUS, "EN-us": EnUS, "ja_JP": ZhCN} {
		if got := ParseLang(in); got != want {
			t.Errorf("ParseLang(%q) = %s", in, got)
		}
	}
	if EnUS.HTTPLanguage() != "en" || ZhCN.HTTPLanguage() != "zh-cn" {
		t.Error("HTTPLanguage")
	}
	if got := EnUS.T("val.field", "Hosts", "bad"); got != "Hosts: bad" {
		t.Errorf("T = %q", got)
	}
	if got := ZhCN.T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key = %q", got)
	}
}

// TestLocalesHaveSameKeys: both files hold exactly the same keys, and every placeholder of a message
// exists in both languages.
func TestLocalesHaveSameKeys(t *testing.T) {
	t.Parallel()
	zh, err := Table(ZhCN)
	if err != nil {
		t.Fatal(err)
	}
	en, err := Table(EnUS)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range zh {
		e, ok := en[k]
		if !ok {
			t.Errorf("en_US lacks %s", k)
			continue
		}
		for i := 0; i < 6; i++ {
			ph := "{" + string(rune('0'+i)) + "}"
			if strings.Contains(v, ph) != strings.Contains(e, ph) {
				t.Errorf("%s: placeholder %s in one language only", k, ph)
			}
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh_CN lacks %s", k)
		}
	}
}
