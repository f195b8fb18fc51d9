package rolling

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"jobfastexecutescript/tooling/vectors"
)

// rollingVector is one expression as JOB's own RollingBatchExecuteObjectsResolver resolved it for several
// target counts (testdata/job_rolling.jsonl.gz; docs/CONFORMANCE.md).
type rollingVector struct {
	Expr    string `json:"expr"`
	Results []struct {
		N       int    `json:"n"`
		Batches []int  `json:"batches"`
		Code    int    `json:"code"`
		Exc     string `json:"exception"`
	} `json:"results"`
}

// JOB's codes for a rolling expression the engine refuses.
const (
	codeInternal     = 1240002 // NumberFormatException, IllegalArgumentException: any Throwable
	codeInvalidExpr  = 1244026 // RollingExprParseException
	codeTooManyBatch = 1244027 // EXCEED_MAX_ALLOWED_BATCH_SIZE
)

// serverResult is what the plugin's model of JOB's engine gives for expr and n targets: the batches, or
// the code JOB answers.
func serverResult(expr string, n int) ([]int, int) {
	e, err := ParseServer(expr)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && pe.Overflow() {
			return nil, codeInternal
		}
		return nil, codeInvalidExpr
	}
	b, err := e.BatchesServer(n)
	switch {
	case errors.Is(err, ErrTooManyBatches):
		return nil, codeTooManyBatch
	case err != nil:
		return nil, codeInternal
	}
	return b, 0
}

func loadRollingVectors(t *testing.T) ([]vectors.Line, []rollingVector) {
	t.Helper()
	return vectors.Load[rollingVector](t, "testdata/job_rolling.jsonl.gz")
}

// rollingDiffs lists every (expression, target count) where the plugin and JOB disagree, naming it.
func rollingDiffs(lines []vectors.Line, vs []rollingVector) []string {
	var diffs []string
	for i, v := range vs {
		for _, r := range v.Results {
			got, code := serverResult(v.Expr, r.N)
			if code != r.Code || !slices.Equal(got, r.Batches) {
				diffs = append(diffs, fmt.Sprintf("line %d: expr %q, %d targets: JOB %s, plugin %s",
					lines[i].N, v.Expr, r.N, describe(r.Batches, r.Code), describe(got, code)))
			}
		}
	}
	return diffs
}

func describe(b []int, code int) string {
	if code != 0 {
		return fmt.Sprintf("refuses with %d", code)
	}
	if len(b) > 8 {
		return fmt.Sprintf("%d batches %v…", len(b), b[:8])
	}
	return fmt.Sprintf("batches %v", b)
}

// TestJOBVectors: the plugin's model of JOB's rolling engine (ParseServer + BatchesServer) gives JOB's
// verdict, error code and batch sizes for every recorded (expression, target count).
func TestJOBVectors(t *testing.T) {
	lines, vs := loadRollingVectors(t)
	cases, batches500 := 0, 0
	for _, v := range vs {
		cases += len(v.Results)
		for _, r := range v.Results {
			if len(r.Batches) >= 500 {
				batches500++
			}
		}
	}
	if len(vs) < 3000 || cases < 30000 || batches500 == 0 {
		t.Fatalf("only %d expressions, %d cases, %d with 500+ batches: the vector file is truncated", len(vs), cases, batches500)
	}
	if diffs := rollingDiffs(lines, vs); len(diffs) > 0 {
		t.Errorf("%d of %d cases differ from JOB:\n%s", len(diffs), cases, strings.Join(diffs, "\n"))
	}
}

// TestJOBVectors_ChangedVectorIsNamed: a vector changed by hand (here in memory) is reported, by line
// and expression.
func TestJOBVectors_ChangedVectorIsNamed(t *testing.T) {
	lines, vs := loadRollingVectors(t)
	for i := len(vs) / 2; i < len(vs); i++ {
		for j := range vs[i].Results {
			if r := &vs[i].Results[j]; r.Code == 0 && len(r.Batches) > 1 {
				r.Batches[0]++
				diffs := rollingDiffs(lines, vs)
				want := fmt.Sprintf("line %d: expr %q, %d targets", lines[i].N, vs[i].Expr, r.N)
				if len(diffs) != 1 || !strings.HasPrefix(diffs[0], want) {
					t.Fatalf("diffs = %q, want one naming %s", diffs, want)
				}
				return
			}
		}
	}
	t.Fatal("no vector with batches")
}

// TestJOBVectors_PluginNormalisation: an expression the plugin accepts (whitespace-tolerant Parse) is sent
// normalised; wherever JOB's result for the normalised text was recorded, JOB parses it (never 1244026)
// and the plugin's check (BatchesServer, plugin/config.go) gives JOB's batches or refusal.
func TestJOBVectors_PluginNormalisation(t *testing.T) {
	_, vs := loadRollingVectors(t)
	byExpr := map[string]rollingVector{}
	for _, v := range vs {
		byExpr[v.Expr] = v
	}
	checked := 0
	for _, v := range vs {
		e, err := Parse(v.Expr)
		if err != nil {
			continue
		}
		sent, ok := byExpr[e.String()]
		if !ok {
			continue
		}
		for _, r := range sent.Results {
			got, err := e.BatchesServer(r.N)
			code := 0
			if errors.Is(err, ErrTooManyBatches) {
				code = codeTooManyBatch
			} else if err != nil {
				code = codeInternal
			}
			if r.Code == codeInvalidExpr || code != r.Code || !slices.Equal(got, r.Batches) {
				t.Errorf("expr %q sent as %q, %d targets: JOB %s, plugin plan %s", v.Expr, e.String(), r.N,
					describe(r.Batches, r.Code), describe(got, code))
			}
			checked++
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d cases checked", checked)
	}
}
