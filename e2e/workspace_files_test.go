//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScriptFileRunsOnTargets: scriptSource=file sends the workspace file's content (strict mode line
// added) and it runs on every target; the dry run shows the final script and its SHA-256.
func TestScriptFileRunsOnTargets(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	r := newStep(t, sim, "scriptSource", "file", "scriptFile", "ci/deploy.sh", "scriptContent", "")
	writeFile(t, filepath.Join(r.step.Workspace, "ci/deploy.sh"), "#!/bin/bash\necho \"file-script on $JOBSIM_TARGET_LABEL\"\n")
	res := r.run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	body := gjson.ParseBytes(sim.Requests()[0].Body)
	if got := body.Get("script_content").String(); got != "IyEvYmluL2Jhc2gKc2V0IC1ldW8gcGlwZWZhaWwKZWNobyAiZmlsZS1zY3JpcHQgb24gJEpPQlNJTV9UQVJHRVRfTEFCRUwiCg==" {
		t.Errorf("script_content %s", got)
	}
	if n := strings.Count(res.Stdout, "file-script on "); n < 3 {
		t.Errorf("the script's output shows %d times, want 3:\n%s", n, res.Stdout)
	}

	dry := newStep(t, sim, "scriptSource", "file", "scriptFile", "ci/deploy.sh", "scriptContent", "", "dryRun", "true")
	writeFile(t, filepath.Join(dry.step.Workspace, "ci/deploy.sh"), "#!/bin/bash\necho \"file-script on $JOBSIM_TARGET_LABEL\"\n")
	out := dry.run()
	out.wantStatus(t, "success", 0, "dry_run")
	wantLine(t, out.Stdout, "set -euo pipefail")
	wantLine(t, out.Stdout, "SHA-256 of the script sent: ")
	wantLine(t, out.Stdout, "ci/deploy.sh")
	wantSubmits(t, sim, 1, 1)
}

// TestScriptFileOutsideWorkspaceRefused: "..", an absolute path elsewhere and a symlink out of the
// workspace are refused, naming the path, and nothing is sent.
func TestScriptFileOutsideWorkspaceRefused(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "secret.sh")
	writeFile(t, outside, "echo secret\n")
	for _, tc := range []struct{ name, path string }{
		{"dotdot", "../secret.sh"},
		{"absolute", outside},
		{"symlink", "link.sh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			r := newStep(t, sim, "scriptSource", "file", "scriptFile", tc.path)
			writeFile(t, filepath.Join(filepath.Dir(r.step.Workspace), "secret.sh"), "echo secret\n")
			if err := os.Symlink(outside, filepath.Join(r.step.Workspace, "link.sh")); err != nil {
				t.Fatal(err)
			}
			res := r.run()
			res.wantStatus(t, "failure", 1, "")
			msg := res.out.Get("message").String()
			if !strings.Contains(msg, tc.path) || !strings.Contains(msg, "outside the workspace") {
				t.Errorf("message: %s", msg)
			}
			if n := len(sim.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

// TestTargetsFileBadLinesSendNothing: a targets file of 1,000 hosts with two bad lines reports both
// line numbers and sends nothing.
func TestTargetsFileBadLinesSendNothing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	r := newStep(t, sim, "targetsFile", "hosts.txt")
	var sb strings.Builder
	sb.WriteString("# a thousand hosts\n")
	for i := range 1000 {
		switch i {
		case 100:
			sb.WriteString("0:10.0.1.300\n") // line 102
		case 700:
			sb.WriteString("cloud:10.0.7.1\n") // line 702
		default:
			fmt.Fprintf(&sb, "0:10.%d.%d.%d\n", i/65536%256, i/256%256, i%256)
		}
	}
	writeFile(t, filepath.Join(r.step.Workspace, "hosts.txt"), sb.String())
	res := r.run()
	res.wantStatus(t, "failure", 1, "")
	msg := res.out.Get("message").String()
	for _, want := range []string{"hosts.txt line 102: ", "10.0.1.300", "hosts.txt line 702: ", "cloud:10.0.7.1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not hold %q:\n%s", want, msg)
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestTargetsFileMergedWithHosts: the file's hosts join the form's, duplicates dropped.
func TestTargetsFileMergedWithHosts(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	r := newStep(t, sim, "hosts", "0:10.0.0.1", "targetsFile", "hosts.txt")
	writeFile(t, filepath.Join(r.step.Workspace, "hosts.txt"), "# more\n0:10.0.0.1 0:10.0.0.2\n0:10.0.0.3\n")
	res := r.run()
	res.wantStatus(t, "success", 0, "success")
	body := gjson.ParseBytes(sim.Requests()[0].Body)
	if n := body.Get("execute_target.host_list.#").Int(); n != 3 {
		t.Errorf("host_list %s", body.Get("execute_target.host_list").Raw)
	}
}

// TestStrictModeFailsOnFailingCommand: a script whose middle command fails fails on the target with
// strict mode (the default), and passes with it off.
func TestStrictModeFailsOnFailingCommand(t *testing.T) {
	t.Parallel()
	script := "#!/bin/bash\necho before\nfalse\necho after\n"
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", script).run()
	res.wantStatus(t, "failure", 1, "failed")
	off := newStep(t, sim, "scriptContent", script, "strictMode", "false").run()
	off.wantStatus(t, "success", 0, "success")
}

// TestStrictModePowerShellParamFirst: a PowerShell script's param() block stays first (PowerShell
// requires it); strict mode's $ErrorActionPreference goes right after it, in the script JOB receives.
func TestStrictModePowerShellParamFirst(t *testing.T) {
	t.Parallel()
	script := "param(\n  [string]$Version = '1.0'\n)\nWrite-Output \"deploying $Version\"\n"
	sim := startSim(t, jobsim.Options{})
	// The simulator runs scripts with the machine's shells, not PowerShell: what matters is the
	// script JOB receives.
	newStep(t, sim, "scriptLanguage", "5", "scriptContentPowershell", script).run()
	b64 := gjson.GetBytes(sim.Requests()[0].Body, "script_content").String()
	sent, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	want := "param(\n  [string]$Version = '1.0'\n)\n$ErrorActionPreference = 'Stop'\nWrite-Output \"deploying $Version\"\n"
	if string(sent) != want {
		t.Errorf("script sent:\n%s\nwant:\n%s", sent, want)
	}
}
