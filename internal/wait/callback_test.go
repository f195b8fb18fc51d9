package wait

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		wantID int64
		ok     bool
	}{
		{name: "job's key", body: `{"job_instance_id": 123, "status": 3, "step_instances": [{"step_instance_id": 456, "status": 3}]}`, wantID: 123, ok: true},
		{name: "documented key", body: `{"job_instance_id":123,"status":4,"step_instance_list":[{"step_instance_id":456,"status":4}]}`, wantID: 123, ok: true},
		{name: "both keys", body: `{"job_instance_id":7,"status":4,"step_instances":[],"step_instance_list":[]}`, wantID: 7, ok: true},
		{name: "null steps", body: `{"job_instance_id":7,"status":4,"step_instances":null}`, wantID: 7, ok: true},
		{name: "no status nor steps", body: `{"job_instance_id":9}`, wantID: 9, ok: true},
		{name: "whitespace around", body: " \n{ \"job_instance_id\" : 9 , \"status\" : 11 }\n", wantID: 9, ok: true},
		{name: "extra keys", body: `{"job_instance_id":9,"status":14,"extra":{"a":[1]}}`, wantID: 9, ok: true},
		{name: "max int64", body: `{"job_instance_id":9223372036854775807}`, wantID: 9223372036854775807, ok: true},
		{name: "empty", body: ``},
		{name: "not json", body: `hello`},
		{name: "form encoded", body: `job_instance_id=123&status=3`},
		{name: "array", body: `[{"job_instance_id":1}]`},
		{name: "null", body: `null`},
		{name: "truncated", body: `{"job_instance_id":123,"status":3`},
		{name: "trailing data", body: `{"job_instance_id":123} {}`},
		{name: "missing id", body: `{"status":3,"step_instances":[]}`},
		{name: "string id", body: `{"job_instance_id":"123"}`},
		{name: "float id", body: `{"job_instance_id":1.5}`},
		{name: "exponent id", body: `{"job_instance_id":1e3}`},
		{name: "zero id", body: `{"job_instance_id":0}`},
		{name: "negative id", body: `{"job_instance_id":-4}`},
		{name: "overflowing id", body: `{"job_instance_id":9223372036854775808}`},
		{name: "null id", body: `{"job_instance_id":null}`},
		{name: "string status", body: `{"job_instance_id":1,"status":"3"}`},
		{name: "steps object", body: `{"job_instance_id":1,"step_instances":{}}`},
		{name: "steps string", body: `{"job_instance_id":1,"step_instance_list":"[]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb, err := parseCallback([]byte(tt.body))
			if tt.ok {
				if err != nil || cb.jobInstanceID != tt.wantID {
					t.Fatalf("parseCallback = %+v, %v; want id %d", cb, err, tt.wantID)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseCallback = %+v, want an error", cb)
			}
			if !errors.Is(err, errBadCallback) {
				t.Errorf("error %v does not wrap errBadCallback", err)
			}
		})
	}
}

func FuzzCallbackBody(f *testing.F) {
	for _, seed := range []string{
		`{"job_instance_id": 123, "status": 4, "step_instances": [{"step_instance_id": 456, "status": 4}]}`,
		`{"job_instance_id":1,"step_instance_list":null}`,
		`{"job_instance_id":"1"}`,
		`{"job_instance_id":1e400}`,
		`job_instance_id=1`,
		`[]`, `null`, `{}`, ``, "\xff\xfe{",
		`{"job_instance_id":1,"status":99999999999}`,
		strings.Repeat(`[`, 10000),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := parseCallback(body)
		if err == nil && cb.jobInstanceID <= 0 {
			t.Fatalf("accepted job id %d", cb.jobInstanceID)
		}
		if err != nil && cb != (callback{}) {
			t.Fatalf("error %v with a non-zero result %+v", err, cb)
		}
	})
}

func TestJoinURL(t *testing.T) {
	t.Parallel()
	const p = "/jobcb/abc"
	tests := []struct{ base, want string }{
		{"http://10.0.0.5:19091", "http://10.0.0.5:19091/jobcb/abc"},
		{"http://10.0.0.5:19091/", "http://10.0.0.5:19091/jobcb/abc"},
		{"https://ci.example.com/hooks/", "https://ci.example.com/hooks/jobcb/abc"},
		{"https://ci.example.com/hooks", "https://ci.example.com/hooks/jobcb/abc"},
		{"https://ci.example.com/a%20b/", "https://ci.example.com/a%20b/jobcb/abc"},
		{"http://h:1/x?k=v#frag", "http://h:1/x/jobcb/abc?k=v"},
		{"  http://h:1  ", "http://h:1/jobcb/abc"},
		{"not a url/", "not a url/jobcb/abc"},
		{"", "/jobcb/abc"},
	}
	for _, tt := range tests {
		if got := joinURL(tt.base, p); got != tt.want {
			t.Errorf("joinURL(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestMaskedURL(t *testing.T) {
	t.Parallel()
	if got, want := MaskedURL("http://10.0.0.5:19091/"), "http://10.0.0.5:19091/jobcb/********"; got != want {
		t.Errorf("MaskedURL = %q, want %q", got, want)
	}
}

func TestDefaultListenAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, want string
		wantErr    bool
	}{
		{base: "http://10.0.0.5:19091", want: "0.0.0.0:19091"},
		{base: "http://10.0.0.5", want: "0.0.0.0:80"},
		{base: "https://ci.example.com/hooks", want: "0.0.0.0:443"},
		{base: "HTTPS://ci.example.com:8443/", want: "0.0.0.0:8443"},
		{base: "http://[::1]:19091", want: "0.0.0.0:19091"},
		{base: "http://h:019091", want: "0.0.0.0:19091"},
		{base: "ftp://h:21", wantErr: true},
		{base: "10.0.0.5:19091", wantErr: true},
		{base: "http://:19091", wantErr: true},
		{base: "http://h:0", wantErr: true},
		{base: "http://h:70000", wantErr: true},
		{base: "http://h:x", wantErr: true},
		{base: "", wantErr: true},
		{base: "http://u:secret@h:1/%zz", wantErr: true},
	}
	for _, tt := range tests {
		got, err := DefaultListenAddr(tt.base)
		if tt.wantErr {
			if err == nil {
				t.Errorf("DefaultListenAddr(%q) = %q, want an error", tt.base, got)
			} else if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the url: %v", err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DefaultListenAddr(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}
