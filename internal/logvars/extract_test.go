package logvars

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	so := func(n, v string) Var { return Var{Name: n, Value: v, Form: FormSetOutput} }
	sv := func(n, v string) Var { return Var{Name: n, Value: v, Form: FormSOPS} }
	se := func(n, v string) Var { return Var{Name: n, Value: v, Form: FormSOPSEscaped} }
	tests := []struct {
		name string
		log  string
		want []Var
	}{
		{name: "empty", log: "", want: nil},
		{name: "no markers", log: "hello\nworld\n", want: nil},
		{name: "set-output", log: "::set-output name=VERSION::1.2.3\n", want: []Var{so("VERSION", "1.2.3")}},
		{name: "set-output without newline", log: "::set-output name=a::b", want: []Var{so("a", "b")}},
		{name: "set-output after JOB prefix",
			log:  "[2024-01-01 00:00:00][PID:1] job_start\n[2024-01-01 00:00:01][PID:1] ::set-output name=IP::10.0.0.1\n",
			want: []Var{so("IP", "10.0.0.1")}},
		{name: "set-output empty value", log: "::set-output name=E::\n", want: []Var{so("E", "")}},
		{name: "set-output value keeps colons and spaces", log: "::set-output name=U:: http://x:80/a::b \n",
			want: []Var{so("U", " http://x:80/a::b ")}},
		{name: "set-output CRLF", log: "::set-output name=A::1\r\n::set-output name=B::2\r\n",
			want: []Var{so("A", "1"), so("B", "2")}},
		{name: "set-output one per line", log: "::set-output name=A::1 ::set-output name=B::2\n",
			want: []Var{so("A", "1 ::set-output name=B::2")}},
		{name: "set-output without separator", log: "::set-output name=A\n::set-output name=B::2\n",
			want: []Var{so("B", "2")}},
		{name: "set-output empty name", log: "::set-output name=::v\n", want: nil},
		{name: "set-output invalid name kept for the collector", log: "::set-output name=a-b::v\n",
			want: []Var{so("a-b", "v")}},
		{name: "set-output repeated", log: "::set-output name=A::1\n::set-output name=A::2\n",
			want: []Var{so("A", "1"), so("A", "2")}},
		{name: "sops", log: "<SOPS_VAR>key1:value1</SOPS_VAR>\n", want: []Var{sv("key1", "value1")}},
		{name: "sops several per line",
			log:  "<SOPS_VAR>key1:value1</SOPS_VAR> gsectl -rwxr-xr-x 1 root<SOPS_VAR>key2:value2</SOPS_VAR>",
			want: []Var{sv("key1", "value1"), sv("key2", "value2")}},
		{name: "sops value keeps spaces, key trimmed",
			log:  "<SOPS_VAR> key1 : value1 </SOPS_VAR>",
			want: []Var{sv("key1", " value1 ")}},
		{name: "sops multi-line value", log: "\n<SOPS_VAR>key1:\nvalue1</SOPS_VAR>\nabcd\n",
			want: []Var{sv("key1", "\nvalue1")}},
		{name: "sops multi-line key is invalid later", log: "<SOPS_VAR>key\n2:value2</SOPS_VAR>\n",
			want: []Var{sv("key\n2", "value2")}},
		{name: "sops block", log: "<SOPS_VAR>\nkey1: value1\nkey2: value2\n</SOPS_VAR>\n",
			want: []Var{sv("key1", " value1\nkey2: value2\n")}},
		{name: "sops CRLF inside value", log: "<SOPS_VAR> key1: value1\r\nkey2:value2 </SOPS_VAR>",
			want: []Var{sv("key1", " value1\nkey2:value2 ")}},
		{name: "sops value with colons", log: "<SOPS_VAR>URL:http://h:8080/x</SOPS_VAR>",
			want: []Var{sv("URL", "http://h:8080/x")}},
		{name: "sops without colon", log: "<SOPS_VAR>novalue</SOPS_VAR><SOPS_VAR>a:1</SOPS_VAR>",
			want: []Var{sv("a", "1")}},
		{name: "sops empty key", log: "<SOPS_VAR>:v</SOPS_VAR><SOPS_VAR> :v</SOPS_VAR>", want: nil},
		{name: "sops empty content", log: "<SOPS_VAR></SOPS_VAR><SOPS_VAR>a:1</SOPS_VAR>",
			want: []Var{sv("a", "1")}},
		{name: "sops unclosed", log: "<SOPS_VAR>a:1\n<SOPS_VAR>b:2", want: nil},
		{name: "sops unclosed then closed is one marker", log: "<SOPS_VAR>x <SOPS_VAR>b:2</SOPS_VAR>",
			want: []Var{sv("x <SOPS_VAR>b", "2")}},
		{name: "sops closing tag before opening", log: "</SOPS_VAR><SOPS_VAR>a:1</SOPS_VAR>",
			want: []Var{sv("a", "1")}},
		{name: "sops case sensitive", log: "<sops_var>a:1</sops_var>", want: nil},
		{name: "sops escaped", log: "&lt;SOPS_VAR&gt;key2:value2&lt;/SOPS_VAR&gt;",
			want: []Var{se("key2", "value2")}},
		{name: "sops escaped value unescaped", log: "&lt;SOPS_VAR&gt;Q:a &amp;&amp; b &lt;c&gt; &quot;d&quot;&lt;/SOPS_VAR&gt;",
			want: []Var{se("Q", `a && b <c> "d"`)}},
		{name: "sops mixed tags do not pair", log: "<SOPS_VAR>a:1&lt;/SOPS_VAR&gt;", want: nil},
		{name: "sops after JOB prefix", log: "[2024-01-01 00:00:00][PID:7] <SOPS_VAR>IP:1.1.1.1</SOPS_VAR>\n",
			want: []Var{sv("IP", "1.1.1.1")}},
		{name: "order of appearance across forms",
			log: "&lt;SOPS_VAR&gt;E:1&lt;/SOPS_VAR&gt;\n::set-output name=S::2\n<SOPS_VAR>R:3</SOPS_VAR>\n" +
				"<SOPS_VAR>R2:4</SOPS_VAR>&lt;SOPS_VAR&gt;E2:5&lt;/SOPS_VAR&gt;\n",
			want: []Var{se("E", "1"), so("S", "2"), sv("R", "3"), sv("R2", "4"), se("E2", "5")}},
		{name: "sops inside set-output value",
			log:  "::set-output name=A::<SOPS_VAR>B:1</SOPS_VAR>\n",
			want: []Var{so("A", "<SOPS_VAR>B:1</SOPS_VAR>"), sv("B", "1")}},
		{name: "unicode", log: "<SOPS_VAR>名字:值</SOPS_VAR>::set-output name=V::中文\n",
			want: []Var{sv("名字", "值"), so("V", "中文")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Extract(tt.log)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Extract(%q)\n got %#v\nwant %#v", tt.log, got, tt.want)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"A": true, "_": true, "a_1": true, "_9": true, "ABC_def_123": true,
		"": false, "1a": false, "a-b": false, "a b": false, " a": false, "a.b": false, "名字": false, "a\n": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFormString(t *testing.T) {
	t.Parallel()
	for f, want := range map[Form]string{
		FormSetOutput: "set-output", FormSOPS: "SOPS_VAR", FormSOPSEscaped: "SOPS_VAR (HTML-escaped)", Form(0): "unknown",
	} {
		if got := f.String(); got != want {
			t.Errorf("Form(%d).String() = %q, want %q", f, got, want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"",
		"::set-output name=A::1\n",
		"[2024-01-01 00:00:00][PID:1] ::set-output name=A::1\r\n",
		"::set-output name=a:::b",
		"<SOPS_VAR>k:v</SOPS_VAR><SOPS_VAR>k2:v2</SOPS_VAR>",
		"<SOPS_VAR>\nk: v\n</SOPS_VAR>",
		"&lt;SOPS_VAR&gt;k:a&amp;b&lt;/SOPS_VAR&gt;",
		"&lt;SOPS_VAR&gt;k&#58;x:v&lt;/SOPS_VAR&gt;",
		"<SOPS_VAR><SOPS_VAR>:</SOPS_VAR></SOPS_VAR>",
		"::set-output name=::\n<SOPS_VAR>",
		"\xff<SOPS_VAR>\xfe:\xfd</SOPS_VAR>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, log string) {
		vars := Extract(log)
		for _, v := range vars {
			if v.Name == "" {
				t.Fatalf("empty name in %q", log)
			}
			switch v.Form {
			case FormSetOutput:
				if strings.Contains(v.Name, "::") || strings.ContainsAny(v.Name, "\n") || strings.ContainsAny(v.Value, "\n") {
					t.Fatalf("set-output var %q=%q from %q", v.Name, v.Value, log)
				}
				if strings.HasSuffix(v.Value, "\r") {
					t.Fatalf("set-output value %q keeps a CR", v.Value)
				}
				if !strings.Contains(log, setOutputMarker+v.Name+"::"+v.Value) {
					t.Fatalf("set-output var %q=%q not in %q", v.Name, v.Value, log)
				}
			case FormSOPS, FormSOPSEscaped:
				if strings.Contains(v.Name, ":") || v.Name != strings.TrimSpace(v.Name) {
					t.Fatalf("SOPS name %q from %q", v.Name, log)
				}
				if strings.Contains(v.Value, "\r\n") {
					t.Fatalf("SOPS value %q keeps CRLF", v.Value)
				}
				if v.Form == FormSOPS && !strings.Contains(log, v.Name) {
					t.Fatalf("SOPS name %q not in %q", v.Name, log)
				}
			default:
				t.Fatalf("unknown form %d", v.Form)
			}
		}
		if !strings.Contains(log, "SOPS_VAR") && !strings.Contains(log, setOutputMarker) && len(vars) != 0 {
			t.Fatalf("vars %v from a log without markers", vars)
		}
		// The collector must not panic either, and only keep valid names.
		c := NewCollector(func(n string) bool { return n == "job_status" })
		c.Add("t", log)
		res := c.Result()
		for name, value := range res.Values {
			if !ValidName(name) || utf8.RuneCountInString(value) > MaxValueLen {
				t.Fatalf("bad output %q=%q", name, value)
			}
		}
	})
}

func BenchmarkExtractNoMarkers(b *testing.B) {
	log := strings.Repeat("[2024-01-01 00:00:00][PID:1] some ordinary output line of a script: ok\n", 20000)
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		if Extract(log) != nil {
			b.Fatal("unexpected vars")
		}
	}
}

func BenchmarkExtractMarkers(b *testing.B) {
	log := strings.Repeat("line\n::set-output name=A::1\n<SOPS_VAR>B:2</SOPS_VAR>\n", 2000)
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		Extract(log)
	}
}
