package taskjson

import (
	"strings"
	"testing"
)

const goodForm = `{"execution":{"post":{"postEntryParam":"terminate","postCondition":"canceledOrTimeOut()"}},
"inputGroups":[{"name":"g","label":"G","isExpanded":true}],
"input":{"a":{"type":"vuex-input","default":"","groupName":"g"},"b":{"type":"atom-checkbox","default":false,"rely":{"operation":"AND","expression":[{"key":"a","value":"x"}]}}},
"output":{"o":{"type":"string"},"r":{"type":"report"}}}`

func TestForm(t *testing.T) {
	t.Parallel()
	if errs := Form([]byte(goodForm)); len(errs) != 0 {
		t.Fatalf("good form: %v", errs)
	}
	cases := map[string]struct{ old, new, want string }{
		"group shape":   {`"isExpanded":true`, `"isExpanded":"yes"`, "isExpanded"},
		"unknown group": {`"groupName":"g"`, `"groupName":"h"`, "groupName"},
		"no type":       {`"type":"vuex-input",`, ``, "has no type"},
		"no default":    {`"default":"",`, ``, "input a has no default"},
		"null default":  {`"default":"",`, `"default":null,`, "input a has no default"},
		"rely":          {`"key":"a"`, `"key":"zz"`, "rely on unknown"},
		"output type":   {`"type":"report"`, `"type":"file"`, "output r"},
		"post":          {`canceledOrTimeOut()`, `always()`, "execution.post"},
		"no outputs":    {`"o":{"type":"string"},"r":{"type":"report"}`, ``, "0 outputs"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := strings.Replace(goodForm, tc.old, tc.new, 1)
			errs := Form([]byte(b))
			found := false
			for _, e := range errs {
				found = found || strings.Contains(e.Error(), tc.want)
			}
			if !found {
				t.Errorf("errors %v do not mention %q", errs, tc.want)
			}
		})
	}
	if errs := Form([]byte("{")); len(errs) != 1 {
		t.Errorf("invalid JSON: %v", errs)
	}
}
