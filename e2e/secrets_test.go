package e2e

import (
	"context"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jobfastexecutescript/internal/jobsim"
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
	hold      bool   // targets run until terminated
	sigterm   bool   // SIGTERM once the step polls
	panicAt   string // JOBFAST_TEST_PANIC stage
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
		{name: "panic_load", panicAt: "load", status: "failure", errorType: 3, errorCode: 800014},
		{name: "panic_submitted", panicAt: "submitted", hold: true, status: "failure", errorType: 3, errorCode: 800014,
			jobs: 1, final: jobsim.StatusStopSuccess},
		{name: "panic_poll", panicAt: "poll", hold: true, status: "failure", errorType: 3, errorCode: 800014,
			jobs: 1, final: jobsim.StatusStopSuccess},
		{name: "panic_poll_leave", panicAt: "poll", hold: true, form: []string{"onCancel", "leave"}, status: "failure",
			errorType: 3, errorCode: 800014, jobs: 1, final: jobsim.StatusRunning},
		{name: "panic_logs", panicAt: "logs", status: "failure", errorType: 3, errorCode: 800014, jobs: 1,
			final: jobsim.StatusSuccess},
		{name: "panic_results", panicAt: "results", status: "failure", errorType: 3, errorCode: 800014, jobs: 1,
			final: jobsim.StatusSuccess, printed: true},
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
	if c.panicAt != "" {
		r.step.Env["JOBFAST_TEST_PANIC"] = c.panicAt
	}
	var signalWhen func(ctx context.Context) error
	if c.sigterm {
		signalWhen = func(ctx context.Context) error { return hzPolled(ctx, sim) }
	}
	res, _ := hzRun(t, r, signalWhen)
	res.wantStatus(t, c.status, c.errorType, c.jobStatus)
	if got := int(res.out.Get("errorCode").Int()); got != c.errorCode {
		t.Errorf("errorCode = %d, want %d (message: %s)", got, c.errorCode, res.out.Get("message").String())
	}
	wantSubmits(t, sim, c.jobs, map[bool]int{true: 0, false: 1}[c.panicAt == "load"])
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
	if c.jobs == 1 && c.panicAt != "load" {
		if _, ok := texts["state.json"]; !ok {
			t.Errorf("no state file among %v", hzKeys(texts))
		}
	}
	if c.printed && c.panicAt == "" {
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
	if c.errorType == 3 && !strings.Contains(res.Stderr, "forced panic at stage "+c.panicAt) {
		t.Errorf("stderr does not show the panic:\n%s", res.Stderr)
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
