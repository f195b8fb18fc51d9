package jobsim

import (
	"slices"
	"strconv"

	"jobfastexecutescript/internal/labelsel"
)

// labelsMatch reports whether labels satisfy every requirement (AND), with Kubernetes semantics: not_equals,
// not_in and not_exists match a pod without the key; gt/lt need the key and an integer value. A requirement
// with an invalid operator matches nothing.
func labelsMatch(reqs []labelsel.Requirement, labels map[string]string) bool {
	for _, r := range reqs {
		if !labelMatches(r, labels) {
			return false
		}
	}
	return true
}

func labelMatches(r labelsel.Requirement, labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Operator {
	case labelsel.Equals, labelsel.In:
		return ok && slices.Contains(r.Values, v)
	case labelsel.NotEquals, labelsel.NotIn:
		return !ok || !slices.Contains(r.Values, v)
	case labelsel.Exists:
		return ok
	case labelsel.NotExists:
		return !ok
	case labelsel.Gt, labelsel.Lt:
		if !ok || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == labelsel.Gt {
			return have > want
		}
		return have < want
	default:
		return false
	}
}
