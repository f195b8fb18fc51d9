package taskjson

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
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

func TestShows(t *testing.T) {
	t.Parallel()
	in := func(rely string) gjson.Result { return gjson.Parse(`{"type":"vuex-input","rely":` + rely + `}`) }
	saved := map[string]string{"src": "inline", "lang": "4", "on": "true", "n": " 0 "}
	for _, tc := range []struct {
		rely string
		want bool
	}{
		{`{"expression":[{"key":"src","value":"inline"},{"key":"lang","value":"4"}]}`, true},
		{`{"operation":"AND","expression":[{"key":"src","value":"inline"},{"key":"lang","value":"3"}]}`, false},
		{`{"operation":"OR","expression":[{"key":"src","value":"file"},{"key":"lang","value":"4"}]}`, true},
		{`{"operation":"OR","expression":[{"key":"src","value":"file"}]}`, false},
		{`{"operation":"NOT","expression":[{"key":"src","value":"file"}]}`, true},
		{`{"operation":"AND","expression":[{"key":"src","value":["file","inline"]}]}`, true},
		{`{"operation":"AND","expression":[{"key":"lang","value":["2","5"]}]}`, false},
		{`{"operation":"AND","expression":[{"key":"on","value":true}]}`, true},
		{`{"operation":"NOT","expression":[{"key":"n","regex":"^\\s*0?\\s*$"}]}`, false},
		{`{"operation":"AND","expression":[{"key":"missing","value":"x"}]}`, false},
	} {
		if got := Shows(in(tc.rely), saved); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.rely, got, tc.want)
		}
	}
	if !Shows(gjson.Parse(`{"type":"vuex-input"}`), saved) {
		t.Error("an input without rely is hidden")
	}
}
