// Package labelsel handles Kubernetes pod label selectors as BlueKing JOB takes them in
// execute_target.kube_container_filters[].kube_pod_filter (docs/JOB.md#containers): requirement lists
// ({key, operator, values}) and k8s selector expressions ("app in (api,web),env!=dev").
//
// ParseExpr follows JOB's own port of the Kubernetes parser (job-execute util/label/selector), so what it
// accepts and rejects is what JOB accepts and rejects (JOB answers 1244031 where ParseExpr fails).
package labelsel

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Operator is a label requirement operator as JOB's OpenAPI spells it.
type Operator string

// Operators accepted by JOB (LabelSelectorOperatorEnum).
const (
	Equals    Operator = "equals"
	NotEquals Operator = "not_equals"
	In        Operator = "in"
	NotIn     Operator = "not_in"
	Exists    Operator = "exists"
	NotExists Operator = "not_exists"
	Gt        Operator = "gt"
	Lt        Operator = "lt"
)

// Operators lists every valid operator.
var Operators = []Operator{Equals, NotEquals, In, NotIn, Exists, NotExists, Gt, Lt}

// Valid reports whether o is one of JOB's operators.
func (o Operator) Valid() bool {
	return slices.Contains(Operators, o)
}

// Requirement is one label requirement: {key, operator, values}.
type Requirement struct {
	Key      string   `json:"key"`
	Operator Operator `json:"operator"`
	Values   []string `json:"values"`
}

// Error is a validation or parse error. Part names the offending part: a key, a value, an operator or the
// token where parsing stopped.
type Error struct {
	Part   string
	Reason string
	// Internal is set where JOB's parser would fail with an internal error (1240002) rather than 1244031.
	Internal bool
}

// Error implements error.
func (e *Error) Error() string {
	if e.Part == "" {
		return "label selector: " + e.Reason
	}
	return fmt.Sprintf("label selector %q: %s", e.Part, e.Reason)
}

var (
	dns1123SubdomainRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	qualifiedNameRe    = regexp.MustCompile(`^([a-zA-Z0-9][-A-Za-z0-9_.]*)?[a-zA-Z0-9]$`)
	labelValueRe       = regexp.MustCompile(`^(([a-zA-Z0-9][-A-Za-z0-9_.]*)?[a-zA-Z0-9])?$`)
)

const (
	qualifiedNameMaxLength = 63
	labelValueMaxLength    = 63
	dnsSubdomainMaxLength  = 253
)

// validateKey checks a label key: a qualified name with an optional DNS-subdomain prefix and '/'.
// javaSplit selects Java's String.split("/") semantics (trailing empty parts dropped), which JOB's parser uses.
func validateKey(key string, javaSplit bool) string {
	parts := strings.Split(key, "/")
	if javaSplit {
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) == 0 {
			parts = []string{""}
		}
	}
	var name string
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		prefix := parts[0]
		name = parts[1]
		if prefix == "" {
			return "prefix part must be non-empty"
		}
		if len(prefix) > dnsSubdomainMaxLength {
			return fmt.Sprintf("prefix part must be no more than %d characters", dnsSubdomainMaxLength)
		}
		if !dns1123SubdomainRe.MatchString(prefix) {
			return "prefix part must be a lowercase RFC 1123 subdomain"
		}
	default:
		return "a qualified name may contain at most one '/'"
	}
	if name == "" {
		return "name part must be non-empty"
	}
	if len(name) > qualifiedNameMaxLength {
		return fmt.Sprintf("name part must be no more than %d characters", qualifiedNameMaxLength)
	}
	if !qualifiedNameRe.MatchString(name) {
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	}
	return ""
}

func validateValue(v string) string {
	if len(v) > labelValueMaxLength {
		return fmt.Sprintf("must be no more than %d characters", labelValueMaxLength)
	}
	if !labelValueRe.MatchString(v) {
		return "a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	}
	return ""
}

// ValidateRequirement checks a list-form requirement with Kubernetes' rules: the key's syntax, the operator,
// and the values (equals/not_equals exactly one; in/not_in at least one; exists/not_exists none; gt/lt exactly
// one integer), each a valid label value. JOB itself does not check list-form requirements; this is for
// clients that want to fail early.
func ValidateRequirement(r Requirement) error {
	if msg := validateKey(r.Key, false); msg != "" {
		return &Error{Part: r.Key, Reason: "invalid key: " + msg}
	}
	if !r.Operator.Valid() {
		return &Error{Part: string(r.Operator), Reason: "unknown operator"}
	}
	return checkValues(r.Key, r.Operator, r.Values)
}

func checkValues(key string, op Operator, values []string) error {
	switch op {
	case Equals, NotEquals:
		if len(values) != 1 {
			return &Error{Part: key, Reason: fmt.Sprintf("operator %s needs exactly one value, got %d", op, len(values))}
		}
	case In, NotIn:
		if len(values) == 0 {
			return &Error{Part: key, Reason: fmt.Sprintf("operator %s needs at least one value", op)}
		}
	case Exists, NotExists:
		if len(values) != 0 {
			return &Error{Part: key, Reason: fmt.Sprintf("operator %s takes no values", op)}
		}
	case Gt, Lt:
		if len(values) != 1 {
			return &Error{Part: key, Reason: fmt.Sprintf("operator %s needs exactly one value, got %d", op, len(values))}
		}
		if _, err := strconv.ParseInt(values[0], 10, 64); err != nil {
			return &Error{Part: values[0], Reason: fmt.Sprintf("operator %s needs an integer value", op)}
		}
	}
	for _, v := range values {
		if msg := validateValue(v); msg != "" {
			return &Error{Part: v, Reason: "invalid value: " + msg}
		}
	}
	return nil
}
