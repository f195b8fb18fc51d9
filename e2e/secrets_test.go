//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobfastexecutescript/tooling/jobsim"
)

// Secret hygiene (issue 8): whatever way a run ends, the app secret and the sensitive parameters appear
// in none of stdout, stderr, output.json, the report, result.json or the state file.

const (
	hzToken    = "S3NSITIVE-TOKEN-4f2a9c1e"
	hzPassword = "PW-SECRET-77aa31c0"
)

// hzParam is the sensitive parameter: a token as its own word and a password as --password=….
const hzParam = "--token " + hzToken + " --password=" + hzPassword + " plain"

// hzLeakyScript prints its parameters, the password alone, the app secret, and turns the token into
// variables both ways: everything a careless script does.
const hzLeakyScript = `#!/bin/bash
echo "args: $*"
echo "token: $2"
for a in "$@"; do case "$a" in --password=*) echo "pw: ${a#--password=}";; esac; done
echo "key: ` + appSecret + `"
echo "::set-output name=tok::$2"
echo "<SOPS_VAR>pw:${3#--password=}</SOPS_VAR>"
`

type hzSecretCase struct {
	name      string
	script    string // default hzLeakyScript
	form      []string
	opts      jobsim.Options
	faults    []jobsim.Fault
	hold      bool // targets run until terminated
	sigterm   bool // SIGTERM once the step polls
	status    string
	jobStatus string // the job_status output ("" for none)
	errorType int
	errorCode int
	jobs      int
	final     int  // the simulated job's status after the run (0: not checked)
	printed   bool // the script ran and its log was printed: the masks must show
}

func TestSecretHygiene(t *testing.T) {
	t.Parallel()
	leak := hzLeakyScript
	cases := []hzSecretCase{
		{name: "success", status: "success", jobStatus: "success", jobs: 1, final: jobsim.StatusSuccess, printed: true},
		{name: "failure", script: leak + "exit 3\n", status: "failure", jobStatus: "failed", errorType: 1, errorCode: 800008, jobs: 1,
			final: jobsim.StatusFail, printed: true},
		{name: "api_error", status: "failure", errorType: 1, errorCode: 800005,
			faults: []jobsim.Fault{{Endpoint: jobsim.EPSubmit, Kind: jobsim.FaultResultFalse, Code: jobsim.CodeHostInvalid}}},
		{name: "permission", opts: jobsim.Options{DeniedUsers: []string{"bob"}}, status: "failure", errorType: 1, errorCode: 800003},
		{name: "ambiguous_submit", status: "failure", errorType: 2, errorCode: 800007,
			faults: []jobsim.Fault{{Endpoint: jobsim.EPSubmit, Kind: jobsim.Fault502}}},
		{name: "cancel", hold: true, sigterm: true, status: "failure", jobStatus: "canceled", errorType: 1, errorCode: 800011, jobs: 1,
			final: jobsim.StatusStopSuccess},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hzRunSecretCase(t, c)
		})
	}
}

func hzRunSecretCase(t *testing.T, c hzSecretCase) {
	sim := startSim(t, c.opts)
	if c.hold {
		gate := jobsim.NewGate()
		sim.SetHold(func(jobsim.Target) *jobsim.Gate { return gate })
		t.Cleanup(gate.Open)
	}
	for _, f := range c.faults {
		sim.Inject(f)
	}
	script := c.script
	if script == "" {
		script = hzLeakyScript
	}
	form := append([]string{"scriptContent", script, "scriptParam", hzParam, "paramSensitive", "true"}, c.form...)
	r := newStep(t, sim, form...)
	var signalWhen func(ctx context.Context) error
	if c.sigterm {
		signalWhen = func(ctx context.Context) error { return hzPolled(ctx, sim) }
	}
	res, _ := hzRun(t, r, signalWhen)
	res.wantStatus(t, c.status, c.errorType, c.jobStatus)
	if got := int(res.out.Get("errorCode").Int()); got != c.errorCode {
		t.Errorf("errorCode = %d, want %d (message: %s)", got, c.errorCode, res.out.Get("message").String())
	}
	wantSubmits(t, sim, c.jobs, 1)
	if c.final != 0 {
		hzWantFinal(t, sim, c.final)
	}
	if c.jobs == 1 {
		hzWantIDs(t, sim, res, 1)
		// The secrets did reach JOB (so the test would see a leak): the parameter is in the request.
		if sub := sim.Requests()[0]; !strings.Contains(string(sub.Body), base64.StdEncoding.EncodeToString([]byte(hzParam))) {
			t.Errorf("the submit does not carry the parameter")
		}
	}
	if c.printed {
		// The script printed the secrets: the log shows masks where they were.
		for _, want := range []string{"token: ******", "pw: ******", "key: ******"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("stdout lacks %q", want)
			}
		}
	}
	texts := map[string]string{"stdout": res.Stdout, "stderr": res.Stderr, "output.json": string(res.Output)}
	hzReadTree(t, filepath.Join(res.ws, ".jobFastExecuteScript"), texts)
	if b, err := os.ReadFile(statePath(res.dataDir)); err == nil {
		texts["state.json"] = string(b)
	}
	if c.jobs == 1 {
		if _, ok := texts["state.json"]; !ok {
			t.Errorf("no state file among %v", hzKeys(texts))
		}
	}
	if c.printed {
		for _, f := range []string{"index.html", "result.json"} {
			if _, ok := texts[filepath.Join("e-task1", "report", f)]; !ok {
				t.Errorf("report file %s missing among %v", f, hzKeys(texts))
			}
		}
	}
	secrets := []string{appSecret, hzToken, hzPassword, base64.StdEncoding.EncodeToString([]byte(hzParam))}
	for name, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q", name, s)
			}
		}
	}
	if t.Failed() {
		t.Logf("message: %s\nstdout:\n%s\nstderr:\n%s", res.out.Get("message").String(), res.Stdout, res.Stderr)
	}
}

// hzReadTree adds every file under root to texts, keyed by its path relative to root.
func hzReadTree(t *testing.T, root string, texts map[string]string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == root {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		texts[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hzKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestSecretHygiene_QuotedAndEscaped: a sensitive parameter quoted for the shell, whose value holds
// "&" and "<", reaches the script as one argument without its quotes; the script prints it plainly,
// HTML-escaped, and as a variable in the HTML-escaped marker form (which the plugin unescapes), and
// prints a short parameter. None of these forms may appear anywhere.
func TestSecretHygiene_QuotedAndEscaped(t *testing.T) {
	t.Parallel()
	const secret = "hunter2 xyz&<q>"
	const param = `--password 'hunter2 xyz&<q>' -k ab_cd9`
	const script = `#!/bin/bash
echo "pw: $2"
esc=$(printf '%s' "$2" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
echo "escaped: $esc"
echo "&lt;SOPS_VAR&gt;pw:${esc}&lt;/SOPS_VAR&gt;"
echo "::set-output name=k::$4"
`
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", script, "scriptParam", param, "paramSensitive", "true").run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	if res.data("pw") != "******" || res.data("k") != "******" {
		t.Errorf("variables pw %q, k %q: want both masked", res.data("pw"), res.data("k"))
	}
	texts := map[string]string{"stdout": res.Stdout, "stderr": res.Stderr, "output.json": string(res.Output)}
	hzReadTree(t, filepath.Join(res.ws, ".jobFastExecuteScript"), texts)
	for name, text := range texts {
		for _, s := range []string{secret, "hunter2 xyz&amp;&lt;q&gt;", "ab_cd9", "hunter2"} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q", name, s)
			}
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", res.Stdout)
	}
}

// TestSecretHygiene_JobErrorMessage (issue 12, item 1): JOB's own error message repeats the
// sensitive parameter. The client cuts a message to 512 bytes and puts it on one line (collapsing
// white space); neither may happen before the secrets are masked, or a cut secret's prefix, or a
// secret whose double space was collapsed, escapes the mask. One row per path out: the failure
// message (output.json and the log's error line), a retry notice and a warning (stdout).
func TestSecretHygiene_JobErrorMessage(t *testing.T) {
	t.Parallel()
	const token = "TOKpart1-TOKpart2-TOKpart3-TOKpart4-TOKpart5"
	const password = "Hunter2  Sekr1t"
	const param = "--token " + token + " --password '" + password + "'"
	// cut: the 512-byte cut falls inside the token; newline: the control character makes the client
	// rewrite white space, which would turn the password into "Hunter2 Sekr1t".
	cut := strings.Repeat("x", 490) + " " + token + " rejected"
	newline := "bad parameter\n--password '" + password + "'"
	for _, c := range []struct {
		name    string
		fault   jobsim.Fault
		status  string
		errType int
		code    int
	}{
		{"submit_cut", jobsim.Fault{Endpoint: jobsim.EPSubmit, Kind: jobsim.FaultResultFalse, Code: jobsim.CodeHostInvalid, Message: cut},
			"failure", 1, 800005},
		{"submit_newline", jobsim.Fault{Endpoint: jobsim.EPSubmit, Kind: jobsim.FaultResultFalse, Code: jobsim.CodeHostInvalid, Message: newline},
			"failure", 1, 800005},
		// 1240002 on a poll is retried (the client's retry notice, stdout).
		{"status_retry_cut", jobsim.Fault{Endpoint: jobsim.EPStatus, Calls: jobsim.Nth(1), Kind: jobsim.FaultResultFalse, Message: cut},
			"success", 0, 0},
		{"status_retry_newline", jobsim.Fault{Endpoint: jobsim.EPStatus, Calls: jobsim.Nth(1), Kind: jobsim.FaultResultFalse, Message: newline},
			"success", 0, 0},
		// A log read JOB refuses every time: the warning "reading logs failed" (stdout), and the report.
		{"logs_warning_cut", jobsim.Fault{Endpoint: jobsim.EPLogs, Kind: jobsim.FaultResultFalse, Code: jobsim.CodeHostInvalid, Message: cut},
			"success", 0, 0},
		{"logs_warning_newline", jobsim.Fault{Endpoint: jobsim.EPLogs, Kind: jobsim.FaultResultFalse, Code: jobsim.CodeHostInvalid, Message: newline},
			"success", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			sim.Inject(c.fault)
			res := newStep(t, sim, "scriptParam", param, "paramSensitive", "true").run()
			if got := res.out.Get("status").String(); got != c.status || int(res.out.Get("errorType").Int()) != c.errType ||
				int(res.out.Get("errorCode").Int()) != c.code {
				t.Fatalf("status %s errorType %d errorCode %d, want %s %d %d\nmessage: %s\nstdout:\n%s", got,
					res.out.Get("errorType").Int(), res.out.Get("errorCode").Int(), c.status, c.errType, c.code,
					res.out.Get("message").String(), res.Stdout)
			}
			// JOB's message did reach the step: its harmless part shows.
			want := "xxxxxxxxxx"
			if strings.Contains(c.fault.Message, "bad parameter") {
				want = "bad parameter"
			}
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("stdout does not show JOB's message (%q)", want)
			}
			texts := map[string]string{"stdout": res.Stdout, "stderr": res.Stderr, "output.json": string(res.Output)}
			hzReadTree(t, filepath.Join(res.ws, ".jobFastExecuteScript"), texts)
			for name, text := range texts {
				// Any part of the secrets: a cut prefix, or the password with its white space changed.
				for _, s := range []string{"TOKpart", "Hunter2", "Sekr1t"} {
					if strings.Contains(text, s) {
						t.Errorf("%s holds %q", name, s)
					}
				}
			}
			if t.Failed() {
				t.Logf("message: %s\nstdout:\n%s", res.out.Get("message").String(), res.Stdout)
			}
		})
	}
}

// TestSecretHygiene_TagsAndLabels (issue 12, item 2): every string from JOB is masked on every path
// out. A container is named after the app secret (its label carries it), and the script sets its
// target's tag (job_success / job_fail) to the sensitive parameter: neither may reach the outputs
// (success_targets, failed_targets), the summary, index.html or result.json in clear.
func TestSecretHygiene_TagsAndLabels(t *testing.T) {
	t.Parallel()
	const token = "TAG-TOKEN-5d1e99b2"
	inv := jobsim.DemoInventory()
	c := &inv.Clusters[0].Namespaces[0].Workloads[0].Pods[0].Containers[0]
	c.Name = "box-" + appSecret
	sim := startSim(t, jobsim.Options{Inventory: inv})
	const script = `#!/bin/bash
if [ "$JOBSIM_TARGET_KIND" = host ]; then job_fail "failed with $2"; fi
job_success "done with $2"
`
	res := newStep(t, sim, "hosts", "0:10.0.0.1", "containerFilters", `[{"is_empty_filter": true}]`,
		"scriptContent", script, "scriptParam", "--token "+token, "paramSensitive", "true").run()
	res.wantStatus(t, "failure", 1, "failed")
	if got := res.data("success_targets"); !strings.Contains(got, "container:box-******@10001") {
		t.Errorf("success_targets = %q, want the container's label masked", got)
	}
	texts := map[string]string{"stdout": res.Stdout, "stderr": res.Stderr, "output.json": string(res.Output)}
	hzReadTree(t, filepath.Join(res.ws, ".jobFastExecuteScript"), texts)
	for _, f := range []string{"index.html", "result.json"} {
		text, ok := texts[filepath.Join("e-task1", "report", f)]
		if !ok {
			t.Fatalf("report file %s missing among %v", f, hzKeys(texts))
		}
		if !strings.Contains(text, "failed with ******") || !strings.Contains(text, "box-******") {
			t.Errorf("%s does not show the masked tag and label", f)
		}
	}
	if !strings.Contains(res.Stdout, "failed with ******") {
		t.Errorf("the summary does not show the failed target's masked tag")
	}
	for name, text := range texts {
		for _, s := range []string{appSecret, token} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q", name, s)
			}
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", res.Stdout)
	}
}
