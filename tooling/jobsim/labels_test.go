package jobsim

import (
	"testing"

	"jobfastexecutescript/internal/labelsel"
)

// TestLabelsMatch: the simulator selects pods by label requirements with Kubernetes semantics.
func TestLabelsMatch(t *testing.T) {
	t.Parallel()
	labels := map[string]string{"app": "api", "env": "prod", "n": "5"}
	tests := []struct {
		expr string
		want bool
	}{
		{"app=api", true},
		{"app in (web,api)", true},
		{"app notin (api)", false},
		{"missing notin (x)", true},
		{"missing!=x", true},
		{"!missing", true},
		{"!app", false},
		{"env", true},
		{"n>4,n<6", true},
		{"n>5", false},
		{"app>1", false},
		{"app=api,env=dev", false},
		{"", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			reqs, err := labelsel.ParseExpr(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := labelsMatch(reqs, labels); got != tt.want {
				t.Fatalf("labelsMatch(%q) = %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
	if labelsMatch([]labelsel.Requirement{{Key: "app", Operator: "bogus"}}, labels) {
		t.Fatal("invalid operator matched")
	}
}
