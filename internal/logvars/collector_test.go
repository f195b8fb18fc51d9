package logvars

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

var reservedNames = map[string]bool{"job_status": true, "job_instance_id": true, "failed_targets": true}

func isReserved(name string) bool { return reservedNames[name] }

func TestCollector(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("界", MaxValueLen+1)
	exact := strings.Repeat("界", MaxValueLen)
	type add struct{ label, log string }
	tests := []struct {
		name string
		adds []add
		want Result
	}{
		{
			name: "nothing",
			adds: []add{{"0:10.0.0.1", "plain log\n"}},
			want: Result{Values: map[string]string{}, PerTarget: map[string]map[string]string{}},
		},
		{
			name: "both forms, last occurrence in a target wins",
			adds: []add{{"0:10.0.0.1", "::set-output name=A::1\n<SOPS_VAR>B:x</SOPS_VAR>\n::set-output name=A::2\n"}},
			want: Result{
				Values:    map[string]string{"A": "2", "B": "x"},
				PerTarget: map[string]map[string]string{"0:10.0.0.1": {"A": "2", "B": "x"}},
			},
		},
		{
			name: "first target in label order wins, conflicts listed",
			adds: []add{
				{"0:10.0.0.3", "::set-output name=V::three\n::set-output name=SAME::s\n"},
				{"0:10.0.0.1", "::set-output name=V::one\n::set-output name=SAME::s\n"},
				{"0:10.0.0.2", "::set-output name=V::two\n::set-output name=ONLY2::x\n"},
				{"0:10.0.0.10", "::set-output name=V::one\n"},
			},
			want: Result{
				Values: map[string]string{"V": "one", "SAME": "s", "ONLY2": "x"},
				PerTarget: map[string]map[string]string{
					"0:10.0.0.1":  {"V": "one", "SAME": "s"},
					"0:10.0.0.10": {"V": "one"},
					"0:10.0.0.2":  {"V": "two", "ONLY2": "x"},
					"0:10.0.0.3":  {"V": "three", "SAME": "s"},
				},
				Conflicts: []Conflict{{Name: "V", Label: "0:10.0.0.1", Value: "one", Others: []string{"0:10.0.0.2", "0:10.0.0.3"}}},
			},
		},
		{
			name: "skipped names",
			adds: []add{
				{"host:2", "::set-output name=job_status::x\n::set-output name=BK_CI_X::1\n::set-output name=a-b::1\n<SOPS_VAR>key\n2:v</SOPS_VAR>\n"},
				{"host:1", "::set-output name=BK_CI_X::2\n::set-output name=1st::1\n::set-output name=ok::1\n"},
			},
			want: Result{
				Values: map[string]string{"ok": "1"},
				PerTarget: map[string]map[string]string{
					"host:1": {"BK_CI_X": "2", "ok": "1"},
					"host:2": {"job_status": "x", "BK_CI_X": "1"},
				},
				Skipped: []Skip{
					{Name: "1st", Reason: ReasonInvalidName, Labels: []string{"host:1"}},
					{Name: "BK_CI_X", Reason: ReasonBKCIPrefix, Labels: []string{"host:1", "host:2"}},
					{Name: "a-b", Reason: ReasonInvalidName, Labels: []string{"host:2"}},
					{Name: "job_status", Reason: ReasonReserved, Labels: []string{"host:2"}},
					{Name: "key\n2", Reason: ReasonInvalidName, Labels: []string{"host:2"}},
				},
			},
		},
		{
			name: "too long value left out of values, kept per target",
			adds: []add{
				{"a", "<SOPS_VAR>L:" + long + "</SOPS_VAR>\n<SOPS_VAR>X:" + exact + "</SOPS_VAR>"},
				{"b", "::set-output name=L::short\n"},
			},
			want: Result{
				Values: map[string]string{"X": exact},
				PerTarget: map[string]map[string]string{
					"a": {"L": long, "X": exact},
					"b": {"L": "short"},
				},
				Conflicts: []Conflict{{Name: "L", Label: "a", Value: long, Others: []string{"b"}}},
				Skipped:   []Skip{{Name: "L", Reason: ReasonTooLong, Labels: []string{"a"}}},
			},
		},
		{
			name: "same label added twice merges",
			adds: []add{{"x", "::set-output name=A::1\n::set-output name=B::1\n"}, {"x", "::set-output name=A::2\n"}},
			want: Result{
				Values:    map[string]string{"A": "2", "B": "1"},
				PerTarget: map[string]map[string]string{"x": {"A": "2", "B": "1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewCollector(isReserved)
			for _, a := range tt.adds {
				c.Add(a.label, a.log)
			}
			got := c.Result()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Result()\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestCollector_nilReservedAndLongInvalidName(t *testing.T) {
	t.Parallel()
	c := NewCollector(nil)
	junk := strings.Repeat("é", 300) // 600 bytes
	c.Add("t", "::set-output name=job_status::1\n<SOPS_VAR>"+junk+":v</SOPS_VAR>")
	res := c.Result()
	if res.Values["job_status"] != "1" {
		t.Errorf("without a reserved func job_status should pass, got %v", res.Values)
	}
	if len(res.Skipped) != 1 {
		t.Fatalf("skipped = %#v", res.Skipped)
	}
	name := res.Skipped[0].Name
	if !strings.HasSuffix(name, "…") || len(name) > maxSkippedNameLen+len("…") || !strings.HasPrefix(junk, strings.TrimSuffix(name, "…")) {
		t.Errorf("shortened name %q", name)
	}
}

func TestCollector_resultIsACopy(t *testing.T) {
	t.Parallel()
	c := NewCollector(nil)
	c.Add("a", "::set-output name=A::1\n")
	r1 := c.Result()
	r1.PerTarget["a"]["A"] = "changed"
	r1.Values["A"] = "changed"
	if r2 := c.Result(); r2.PerTarget["a"]["A"] != "1" || r2.Values["A"] != "1" {
		t.Errorf("Result shares state: %#v", r2)
	}
}

// TestCollector_concurrentOrderIndependent adds many targets from many goroutines in
// different orders and expects the same result every time.
func TestCollector_concurrentOrderIndependent(t *testing.T) {
	t.Parallel()
	const n = 200
	logs := make([]string, n)
	for i := range logs {
		logs[i] = fmt.Sprintf("[2024-01-01 00:00:00][PID:%d] ::set-output name=V::%d\n<SOPS_VAR>SAME:s</SOPS_VAR>\n", i, i%3)
	}
	run := func(reverse bool) Result {
		c := NewCollector(isReserved)
		var wg sync.WaitGroup
		for i := range n {
			idx := i
			if reverse {
				idx = n - 1 - i
			}
			wg.Go(func() { c.Add(fmt.Sprintf("0:10.0.%d.%d", idx/256, idx%256), logs[idx]) })
		}
		wg.Wait()
		return c.Result()
	}
	a, b := run(false), run(true)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("result depends on the order of Add calls")
	}
	if a.Values["V"] != "0" || a.Values["SAME"] != "s" || len(a.PerTarget) != n {
		t.Errorf("values %v, %d targets", a.Values, len(a.PerTarget))
	}
	if len(a.Conflicts) != 1 || a.Conflicts[0].Name != "V" || a.Conflicts[0].Label != "0:10.0.0.0" {
		t.Fatalf("conflicts %#v", a.Conflicts)
	}
	others := a.Conflicts[0].Others
	for i := 1; i < len(others); i++ {
		if others[i-1] >= others[i] {
			t.Fatalf("others not sorted: %q >= %q", others[i-1], others[i])
		}
	}
}

// TestCollector_keepsNoLog checks that no kept string points into a log's memory.
func TestCollector_keepsNoLog(t *testing.T) {
	t.Parallel()
	log := strings.Repeat("x", 1<<16) + "\n::set-output name=A::1\n<SOPS_VAR> B :2</SOPS_VAR>\n::set-output name=bad-name::3\n" +
		"&lt;SOPS_VAR&gt;C:4&lt;/SOPS_VAR&gt;"
	c := NewCollector(nil)
	c.Add("t", log)
	start := uintptr(unsafe.Pointer(unsafe.StringData(log)))
	end := start + uintptr(len(log))
	inLog := func(s string) bool {
		if s == "" {
			return false
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return p >= start && p < end
	}
	res := c.Result()
	if len(res.PerTarget["t"]) != 3 || len(res.Skipped) != 1 {
		t.Fatalf("result %#v", res)
	}
	for name, value := range res.PerTarget["t"] {
		if inLog(name) || inLog(value) {
			t.Errorf("%q=%q points into the log", name, value)
		}
	}
	for _, s := range res.Skipped {
		if inLog(s.Name) {
			t.Errorf("skipped %q points into the log", s.Name)
		}
	}
	runtime.KeepAlive(log)
}

// TestCollector_Redact: names and values are masked after extraction, where the HTML-escaped form of
// a marker has been unescaped (the masked log only held the escaped secret).
func TestCollector_Redact(t *testing.T) {
	t.Parallel()
	c := NewCollector(nil)
	c.Redact = func(s string) string { return strings.ReplaceAll(s, "p@ss<w0rd&x", "******") }
	c.Add("a", "&lt;SOPS_VAR&gt;PW:p@ss&lt;w0rd&amp;x&lt;/SOPS_VAR&gt;\n&lt;SOPS_VAR&gt;bad p@ss&lt;w0rd&amp;x:1&lt;/SOPS_VAR&gt;\n")
	r := c.Result()
	if r.Values["PW"] != "******" || r.PerTarget["a"]["PW"] != "******" {
		t.Errorf("values %v, per target %v", r.Values, r.PerTarget)
	}
	for _, sk := range r.Skipped {
		if strings.Contains(sk.Name, "p@ss") {
			t.Errorf("skipped name %q shows the secret", sk.Name)
		}
	}
}

// TestCollector_ValueLengthInUTF16: BK-CI counts a value's length in UTF-16 code units (an emoji
// counts twice): 2001 emoji are too long, 2000 are not.
func TestCollector_ValueLengthInUTF16(t *testing.T) {
	t.Parallel()
	c := NewCollector(nil)
	c.Add("a", "::set-output name=LONG::"+strings.Repeat("😀", MaxValueLen/2+1)+"\n::set-output name=OK::"+strings.Repeat("😀", MaxValueLen/2)+"\n")
	r := c.Result()
	if _, ok := r.Values["LONG"]; ok {
		t.Error("a value of 4002 UTF-16 units was kept")
	}
	if _, ok := r.Values["OK"]; !ok {
		t.Error("a value of 4000 UTF-16 units was skipped")
	}
	if len(r.Skipped) != 1 || r.Skipped[0].Name != "LONG" || r.Skipped[0].Reason != ReasonTooLong {
		t.Errorf("skipped %+v", r.Skipped)
	}
}
