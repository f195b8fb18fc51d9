package plugin

import (
	"encoding/json"
	"strings"
	"testing"

	"jobfastexecutescript/tooling/vectors"
)

// TestCallbackURL_JOBVectors: every URL JOB's CallbackUrlValidateServiceImpl refused (recorded from JOB's
// own class: internal/callbackurl/testdata, docs/CONFORMANCE.md) is refused by the form, in callbackUrl
// and in callbackBaseUrl, naming the field, so the step never submits a job JOB refuses after the
// pipeline waited. Every URL JOB accepted passes the host check (the form may still refuse it for
// reasons of its own, such as a query in callbackBaseUrl or a port above 65535).
func TestCallbackURL_JOBVectors(t *testing.T) {
	t.Parallel()
	lines, err := vectors.Read("../internal/callbackurl/testdata/job_callback_urls.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, l := range lines {
		var v struct {
			URL   string `json:"url"`
			Valid bool   `json:"valid"`
		}
		if err := json.Unmarshal(l.Raw, &v); err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(v.URL) == "" || strings.TrimSpace(v.URL) != v.URL {
			continue // the form trims its fields: JOB never sees these texts as written
		}
		for _, field := range []string{"callbackUrl", "callbackBaseUrl"} {
			in := base("callbackUrl", v.URL)
			if field == "callbackBaseUrl" {
				if strings.HasSuffix(v.URL, "/") {
					continue // the form drops a trailing slash of the base
				}
				in = base("wait", "callback", "callbackBaseUrl", v.URL, "callbackListen", "127.0.0.1:0")
			}
			_, ps := parseInputs(t, in)
			var keys []string
			for _, p := range ps.Errors {
				if p.Field == field {
					keys = append(keys, p.Key)
				}
			}
			switch {
			case !v.Valid && len(keys) == 0:
				t.Errorf("line %d: %s %q: JOB refuses it, the form accepts it", l.N, field, v.URL)
			case v.Valid && strings.Contains(strings.Join(keys, ","), "val.url_host"):
				t.Errorf("line %d: %s %q: JOB accepts it, the form says %v", l.N, field, v.URL, keys)
			}
			if !v.Valid && len(keys) > 0 {
				refused++
			}
		}
	}
	if refused < 300 {
		t.Fatalf("only %d refusals checked", refused)
	}
}
