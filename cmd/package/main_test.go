package main

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// miniTask is a small valid task.json; tests replace its parts.
const miniTask = `{
  "atomCode": "jobFastExecuteScript",
  "execution": {
    "language": "golang",
    "packagePath": "bin/linux_amd64/jobFastExecuteScript",
    "os": [
      { "osName": "linux", "osArch": "amd64", "packagePath": "bin/linux_amd64/jobFastExecuteScript",
        "target": "./jobFastExecuteScript", "demands": ["chmod +x jobFastExecuteScript"], "defaultFlag": true },
      { "osName": "linux", "osArch": "arm64", "packagePath": "bin/linux_arm64/jobFastExecuteScript",
        "target": "./jobFastExecuteScript", "demands": ["chmod +x jobFastExecuteScript"], "defaultFlag": false },
      { "osName": "windows", "osArch": "386", "packagePath": "bin/windows_386/jobFastExecuteScript.exe",
        "target": "jobFastExecuteScript.exe", "demands": [], "defaultFlag": true }
    ]
  },
  "input": { "note": { "label": "${{indexFile(\"README.md\")}}", "type": "tips" } }
}`

func TestCheckTask(t *testing.T) {
	t.Parallel()
	rep := func(old, new string) string {
		if !strings.Contains(miniTask, old) {
			t.Fatalf("miniTask lacks %q", old)
		}
		return strings.Replace(miniTask, old, new, 1)
	}
	tests := []struct {
		name, task, wantErr string
	}{
		{"valid", miniTask, ""},
		{"not json", "{", "not valid JSON"},
		{"atomCode", rep(`"atomCode": "jobFastExecuteScript"`, `"atomCode": "other"`), "atomCode"},
		{"language", rep(`"golang"`, `"python"`), "language"},
		{"no os", rep(`"os": [`, `"oss": [`), "no platform"},
		{"packagePath", rep(`"packagePath": "bin/linux_arm64/jobFastExecuteScript"`, `"packagePath": "bin/arm/jobFastExecuteScript"`), "packagePath"},
		{"exe suffix", rep(`bin/windows_386/jobFastExecuteScript.exe"`, `bin/windows_386/jobFastExecuteScript"`), "packagePath"},
		{"target", rep(`"target": "jobFastExecuteScript.exe"`, `"target": "bin/windows_386/jobFastExecuteScript.exe"`), "basename"},
		{"chmod", rep(`"demands": ["chmod +x jobFastExecuteScript"], "defaultFlag": true`, `"demands": [], "defaultFlag": true`), "chmod +x"},
		{"two defaults", rep(`"defaultFlag": false`, `"defaultFlag": true`), "2 defaultFlag"},
		{"no default", rep(`"jobFastExecuteScript.exe", "demands": [], "defaultFlag": true`, `"jobFastExecuteScript.exe", "demands": [], "defaultFlag": false`), "0 defaultFlag"},
		{"flag type", rep(`"defaultFlag": false`, `"defaultFlag": "false"`), "true or false"},
		{"duplicate", rep(`"osArch": "arm64", "packagePath": "bin/linux_arm64/`, `"osArch": "amd64", "packagePath": "bin/linux_amd64/`), "twice"},
		{"windows amd64", rep(`"osArch": "386", "packagePath": "bin/windows_386/`, `"osArch": "amd64", "packagePath": "bin/windows_amd64/`), "386 only"},
		{"odd arch", rep(`"osArch": "arm64"`, `"osArch": "../x"`), "plain names"},
		{"top-level path", rep(`"packagePath": "bin/linux_amd64/jobFastExecuteScript",
    "os"`, `"packagePath": "bin/jobFastExecuteScript",
    "os"`), "execution.packagePath"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plats, err := checkTask([]byte(tc.task))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(plats) != 3 || plats[0].String() != "linux/amd64" || !plats[2].Default {
					t.Errorf("platforms = %v", plats)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

// TestCheckTask_Repository checks the repository's task.json and its release matrix.
func TestCheckTask_Repository(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../task.json")
	if err != nil {
		t.Fatal(err)
	}
	plats, err := checkTask(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range plats {
		got = append(got, p.String())
	}
	want := "linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/386"
	if strings.Join(got, " ") != want {
		t.Errorf("platforms %v, want %s", got, want)
	}
	src, err := readSources("../..")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkIndexFiles(b, src.files); err != nil {
		t.Error(err)
	}
}

func TestFilterTask(t *testing.T) {
	t.Parallel()
	all, err := checkTask([]byte(miniTask))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		want    []string
		wantErr string
	}{
		{want: []string{"linux/amd64"}},
		{want: []string{"windows/386", "linux/amd64"}},
		{want: []string{"linux/arm64"}, wantErr: "0 defaultFlag"},
		{want: []string{"windows/386"}, wantErr: "execution.packagePath"},
		{want: []string{"darwin/arm64"}, wantErr: "not in task.json"},
	} {
		t.Run(strings.Join(tc.want, ","), func(t *testing.T) {
			t.Parallel()
			plats, err := selectPlatforms(all, tc.want)
			var out []byte
			if err == nil {
				out, err = filterTask([]byte(miniTask), plats)
			}
			if err == nil {
				_, err = checkTask(out)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := gjson.GetBytes(out, "execution.os.#.osArch").Raw
			if n := len(gjson.GetBytes(out, "execution.os").Array()); n != len(tc.want) {
				t.Errorf("%d entries kept (%s), want %d", n, got, len(tc.want))
			}
			// Everything outside execution.os is byte for byte the same.
			for _, k := range []string{"atomCode", "input", "execution.packagePath"} {
				if gjson.GetBytes(out, k).Raw != gjson.Get(miniTask, k).Raw {
					t.Errorf("%s changed", k)
				}
			}
			if !strings.HasPrefix(string(out), miniTask[:strings.Index(miniTask, `"os": [`)]) {
				t.Error("the text before execution.os changed")
			}
		})
	}
}

func TestCheckErrorCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		wantErr bool
	}{
		{"[800001, 800002]", false},
		{"[]", false},
		{"[800001, 800001]", true},
		{"[700001]", true},
		{"[80001]", true},
		{"[800001.5]", true},
		{`["800001"]`, true},
		{"{}", true},
		{"[", true},
	} {
		if err := checkErrorCodes([]byte(tc.in)); (err != nil) != tc.wantErr {
			t.Errorf("checkErrorCodes(%s) = %v", tc.in, err)
		}
	}
}

func TestCheckIndexFiles(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{"file/README.md": nil}
	if err := checkIndexFiles([]byte(miniTask), files); err != nil {
		t.Error(err)
	}
	err := checkIndexFiles([]byte(miniTask), map[string][]byte{})
	if err == nil || !strings.Contains(err.Error(), "file/README.md") {
		t.Errorf("err = %v", err)
	}
}

func TestWriteZip(t *testing.T) {
	t.Parallel()
	entries := []entry{
		{name: "task.json", data: []byte("{}"), mode: 0o644},
		{name: "bin/linux_amd64/jobFastExecuteScript", data: []byte("ELF"), mode: 0o755},
		{name: "i18n/message_en_US.properties", data: []byte("a=b\n"), mode: 0o644},
	}
	var a, b bytes.Buffer
	if err := writeZip(&a, entries); err != nil {
		t.Fatal(err)
	}
	reversed := []entry{entries[2], entries[1], entries[0]}
	if err := writeZip(&b, reversed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the zip depends on the entries' order")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(zipTime) {
			t.Errorf("%s: time %v", f.Name, f.Modified)
		}
		want := fs.FileMode(0o644)
		switch {
		case strings.HasSuffix(f.Name, "/"):
			want = fs.ModeDir | 0o755
		case strings.HasPrefix(f.Name, "bin/"):
			want = 0o755
		}
		if f.Mode() != want {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), want)
		}
		if !f.Mode().IsDir() {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			for _, e := range entries {
				if e.name == f.Name && !bytes.Equal(e.data, got) {
					t.Errorf("%s: content %q", f.Name, got)
				}
			}
		}
	}
	want := "bin/ bin/linux_amd64/ bin/linux_amd64/jobFastExecuteScript i18n/ i18n/message_en_US.properties task.json"
	if strings.Join(names, " ") != want {
		t.Errorf("entries %v, want %s", names, want)
	}

	for _, bad := range [][]entry{
		{{name: "../x"}}, {{name: "/abs"}}, {{name: `a\b`}}, {{name: "a/./b"}}, {{name: ""}},
		{{name: "a"}, {name: "a"}}, {{name: "a"}, {name: "a/b"}},
	} {
		if err := writeZip(io.Discard, bad); err == nil {
			t.Errorf("writeZip accepted %v", bad)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"-out", "x", "-version", "1.2.3-rc.1", "-platforms", "linux/amd64, windows/386", "-j", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.out != "x" || o.version != "1.2.3-rc.1" || strings.Join(o.platforms, " ") != "linux/amd64 windows/386" || o.jobs != 1 {
		t.Errorf("options = %+v", o)
	}
	for _, args := range [][]string{{"-version", "1 2"}, {"-version", `1"`}, {"-out", ""}, {"extra"}, {"-nope"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// FuzzCheckTask: any task.json is checked without a panic, and a task.json that passes keeps passing
// after filtering to all of its platforms.
func FuzzCheckTask(f *testing.F) {
	f.Add([]byte(miniTask))
	f.Add([]byte(`{"atomCode":"jobFastExecuteScript","execution":{"language":"golang","os":[{}]}}`))
	f.Add([]byte(`[]`))
	if b, err := os.ReadFile("../../task.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		plats, err := checkTask(b)
		if err != nil {
			return
		}
		out, err := filterTask(b, plats)
		if err != nil {
			return // execution.os written in a way filterTask declines (e.g. escaped keys)
		}
		if _, err := checkTask(out); err != nil {
			t.Errorf("filtered task.json fails: %v\n%s", err, out)
		}
	})
}
