package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/taskjson"
)

// requiredLangs are the store translations the package must carry (docs/CONTRACT.md#languages).
var requiredLangs = []string{"zh_CN", "en_US"}

// platform is one execution.os entry of task.json.
type platform = taskjson.Platform

// sources are the repository files the zip carries besides the binaries.
type sources struct {
	task  []byte            // task.json as in the repository
	files map[string][]byte // zip path → content: i18n/, errorCodes.json, file/
}

// entries lists the non-binary zip entries with task as the root task.json.
func (s sources) entries(task []byte) []entry {
	out := []entry{{name: "task.json", data: task, mode: 0o644}}
	for name, data := range s.files {
		out = append(out, entry{name: name, data: data, mode: 0o644})
	}
	return out
}

// readSources reads task.json, the i18n files, errorCodes.json and the docs under root.
func readSources(root string) (sources, error) {
	s := sources{files: map[string][]byte{}}
	var err error
	if s.task, err = os.ReadFile(filepath.Join(root, "task.json")); err != nil {
		return s, err
	}
	props, err := filepath.Glob(filepath.Join(root, "i18n", "message_*.properties"))
	if err != nil {
		return s, err
	}
	for _, p := range props {
		b, err := os.ReadFile(p)
		if err != nil {
			return s, err
		}
		s.files["i18n/"+filepath.Base(p)] = b
	}
	for _, l := range requiredLangs {
		if _, ok := s.files["i18n/message_"+l+".properties"]; !ok {
			return s, fmt.Errorf("i18n/message_%s.properties is missing", l)
		}
	}
	codes, err := os.ReadFile(filepath.Join(root, "errorCodes.json"))
	if err != nil {
		return s, err
	}
	if err := checkErrorCodes(codes); err != nil {
		return s, fmt.Errorf("errorCodes.json: %w", err)
	}
	s.files["errorCodes.json"] = codes
	if b, err := os.ReadFile(filepath.Join(root, "README.md")); err == nil {
		s.files["file/README.md"] = b
	} else if !errors.Is(err, os.ErrNotExist) {
		return s, err
	}
	return s, nil
}

// checkErrorCodes accepts a JSON array of distinct six-digit codes starting with 8.
func checkErrorCodes(b []byte) error {
	if !gjson.ValidBytes(b) {
		return errors.New("not valid JSON")
	}
	r := gjson.ParseBytes(b)
	if !r.IsArray() {
		return errors.New("not a JSON array")
	}
	seen := map[int64]bool{}
	for _, c := range r.Array() {
		n := c.Int()
		if c.Type != gjson.Number || c.Raw != fmt.Sprint(n) || n < 800000 || n > 899999 {
			return fmt.Errorf("%s is not a six-digit code starting with 8", c.Raw)
		}
		if seen[n] {
			return fmt.Errorf("%d is listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// checkTask checks the parts of task.json the package depends on and returns its platforms
// (taskjson.Execution).
func checkTask(b []byte) ([]platform, error) { return taskjson.Execution(b, agent.BinaryName) }

// selectPlatforms keeps the platforms named os/arch in want, in task.json's order.
func selectPlatforms(all []platform, want []string) ([]platform, error) {
	keep := map[string]bool{}
	for _, w := range want {
		found := false
		for _, p := range all {
			found = found || p.String() == w
		}
		if !found {
			return nil, fmt.Errorf("platform %s is not in task.json's execution.os", w)
		}
		keep[w] = true
	}
	var out []platform
	for _, p := range all {
		if keep[p.String()] {
			out = append(out, p)
		}
	}
	return out, nil
}

// filterTask returns task.json with execution.os holding only keep; every other byte is unchanged.
func filterTask(b []byte, keep []platform) ([]byte, error) {
	osList := gjson.GetBytes(b, "execution.os")
	if !osList.IsArray() || osList.Index <= 0 || osList.Index+len(osList.Raw) > len(b) ||
		string(b[osList.Index:osList.Index+len(osList.Raw)]) != osList.Raw {
		return nil, errors.New("task.json: cannot locate execution.os")
	}
	lineStart := strings.LastIndexByte(string(b[:osList.Index]), '\n') + 1
	line := string(b[lineStart:osList.Index])
	indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	raws := make([]string, len(keep))
	for i, p := range keep {
		raws[i] = p.Raw
	}
	inner := indent + "  "
	list := "[\n" + inner + strings.Join(raws, ",\n"+inner) + "\n" + indent + "]"
	out := make([]byte, 0, len(b))
	out = append(out, b[:osList.Index]...)
	out = append(out, list...)
	out = append(out, b[osList.Index+len(osList.Raw):]...)
	return out, nil
}

// indexFileRe finds ${{indexFile("path")}} references as they appear inside JSON strings.
var indexFileRe = regexp.MustCompile(`indexFile\(\\"([^"\\]*)\\"\)`)

// checkIndexFiles makes sure every ${{indexFile("x")}} in task.json names a file the zip has as file/x.
func checkIndexFiles(task []byte, files map[string][]byte) error {
	var missing []string
	for _, m := range indexFileRe.FindAllSubmatch(task, -1) {
		name := "file/" + path.Clean(string(m[1]))
		if _, ok := files[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("task.json references %s, which the package lacks", strings.Join(missing, ", "))
	}
	return nil
}
