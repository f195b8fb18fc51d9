package labelsel

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"jobfastexecutescript/tooling/vectors"
)

// selectorVector is one selector expression as JOB's own LabelSelectorParse.parseToLabelSelectExprList
// read it: the requirements, or the code JOB answers (testdata/job_labelsel.jsonl.gz; docs/CONFORMANCE.md).
type selectorVector struct {
	Selector     string        `json:"selector"`
	Requirements []Requirement `json:"requirements"`
	Code         int           `json:"code"`
	Exc          string        `json:"exception"`
}

const (
	codeInternal        = 1240002 // any exception but LabelSelectorParseException
	codeInvalidSelector = 1244031 // LabelSelectorParseException
)

func pluginParse(s string) ([]Requirement, int) {
	reqs, err := ParseExpr(s)
	if err != nil {
		var le *Error
		if errors.As(err, &le) && le.Internal {
			return nil, codeInternal
		}
		return nil, codeInvalidSelector
	}
	return reqs, 0
}

func sameRequirements(a, b []Requirement) bool {
	return slices.EqualFunc(a, b, func(x, y Requirement) bool {
		return x.Key == y.Key && x.Operator == y.Operator && slices.Equal(x.Values, y.Values)
	})
}

func loadSelectorVectors(t *testing.T) ([]vectors.Line, []selectorVector) {
	t.Helper()
	return vectors.Load[selectorVector](t, "testdata/job_labelsel.jsonl.gz")
}

func selectorDiffs(lines []vectors.Line, vs []selectorVector) []string {
	var diffs []string
	for i, v := range vs {
		got, code := pluginParse(v.Selector)
		if code != v.Code || !sameRequirements(got, v.Requirements) {
			diffs = append(diffs, fmt.Sprintf("line %d: selector %q: JOB %s, plugin %s",
				lines[i].N, v.Selector, describe(v.Requirements, v.Code), describe(got, code)))
		}
	}
	return diffs
}

func describe(r []Requirement, code int) string {
	if code != 0 {
		return fmt.Sprintf("refuses with %d", code)
	}
	return fmt.Sprintf("%+v", r)
}

// TestJOBVectors: ParseExpr reads every recorded selector as JOB's parser does: the same requirements
// (key, operator, values in order), or the same refusal code.
func TestJOBVectors(t *testing.T) {
	lines, vs := loadSelectorVectors(t)
	ok := 0
	for _, v := range vs {
		if v.Code == 0 {
			ok++
		}
	}
	if len(vs) < 3000 || ok < 500 {
		t.Fatalf("only %d selectors (%d accepted): the vector file is truncated", len(vs), ok)
	}
	if diffs := selectorDiffs(lines, vs); len(diffs) > 0 {
		t.Errorf("%d of %d selectors differ from JOB:\n%s", len(diffs), len(vs), strings.Join(diffs, "\n"))
	}
}

// TestJOBVectors_ChangedVectorIsNamed: a vector changed by hand (here in memory) is reported by line and
// selector.
func TestJOBVectors_ChangedVectorIsNamed(t *testing.T) {
	lines, vs := loadSelectorVectors(t)
	for i := len(vs) / 2; i < len(vs); i++ {
		if v := &vs[i]; v.Code == 0 && len(v.Requirements) > 0 {
			v.Requirements[0].Key += "x"
			diffs := selectorDiffs(lines, vs)
			want := fmt.Sprintf("line %d: selector %q", lines[i].N, v.Selector)
			if len(diffs) != 1 || !strings.HasPrefix(diffs[0], want) {
				t.Fatalf("diffs = %q, want one naming %s", diffs, want)
			}
			return
		}
	}
	t.Fatal("no accepted selector")
}
