package callbackurl

import (
	"fmt"
	"strings"
	"testing"

	"jobfastexecutescript/tooling/vectors"
)

// urlVector is one URL as JOB's CallbackUrlValidateServiceImpl.isValid judged it (allow-list off), with
// the host java.net.URI gave (testdata/job_callback_urls.jsonl; docs/CONFORMANCE.md).
type urlVector struct {
	URL   string  `json:"url"`
	Valid bool    `json:"valid"`
	Host  *string `json:"host"`
}

func urlDiffs(lines []vectors.Line, vs []urlVector) []string {
	var diffs []string
	for i, v := range vs {
		err := Check(v.URL)
		host := "<none>"
		if p, perr := Parse(v.URL); perr == nil && p.Host != "" {
			host = p.Host
		}
		want := "<none>"
		if v.Host != nil {
			want = *v.Host
		}
		if (err == nil) != v.Valid || host != want {
			diffs = append(diffs, fmt.Sprintf("line %d: %q: JOB valid=%v host %s, plugin err=%v host %s",
				lines[i].N, v.URL, v.Valid, want, err, host))
		}
	}
	return diffs
}

func loadURLVectors(t *testing.T) ([]vectors.Line, []urlVector) {
	t.Helper()
	return vectors.Load[urlVector](t, "testdata/job_callback_urls.jsonl")
}

// TestJOBVectors: Check accepts exactly the URLs JOB accepted, and Parse finds the host java.net.URI found.
func TestJOBVectors(t *testing.T) {
	lines, vs := loadURLVectors(t)
	if len(vs) < 250 {
		t.Fatalf("only %d URLs: the vector file is truncated", len(vs))
	}
	if diffs := urlDiffs(lines, vs); len(diffs) > 0 {
		t.Errorf("%d of %d URLs differ from JOB:\n%s", len(diffs), len(vs), strings.Join(diffs, "\n"))
	}
}

// TestJOBVectors_ChangedVectorIsNamed: a verdict changed by hand (here in memory) is reported by line and URL.
func TestJOBVectors_ChangedVectorIsNamed(t *testing.T) {
	lines, vs := loadURLVectors(t)
	i := len(vs) / 2
	vs[i].Valid = !vs[i].Valid
	diffs := urlDiffs(lines, vs)
	want := fmt.Sprintf("line %d: %q", lines[i].N, vs[i].URL)
	if len(diffs) != 1 || !strings.HasPrefix(diffs[0], want) {
		t.Fatalf("diffs = %q, want one naming %s", diffs, want)
	}
}
