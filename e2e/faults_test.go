//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// The fault matrix (issue 8, docs/FAULTS.md): every fault kind of the simulator at every call site of
// the plugin, through the real binary. Each row asserts the jobs created, the verdict, the ids written
// and that the run ended inside its bound.

// hzFirstJob is the simulator's first job instance id (jobsim.Options.FirstJobID default).
const hzFirstJob = 10001

// hzLog is every target's log: a variable marker and a plain line.
const hzLog = "::set-output name=ver::1.2.3\nline2\n"

// hzPermission is a JOB IAM permission block as 9900403 carries it.
var hzPermission = map[string]any{
	"system_id": "bk_job", "system_name": "JOB",
	"actions": []any{map[string]any{"id": "quick_execute_script", "name": "Quick execute script",
		"related_resource_types": []any{}}},
}

// hzKind is one fault kind of the simulator, as injected (Endpoint and Calls are set per call site).
type hzKind struct {
	name  string
	fault jobsim.Fault
}

var hzKinds = []hzKind{
	{"delay", jobsim.Fault{Kind: jobsim.FaultDelay, Delay: 300 * time.Millisecond}},
	{"429", jobsim.Fault{Kind: jobsim.FaultRateLimit, RetryAfter: 1}},
	{"502", jobsim.Fault{Kind: jobsim.Fault502}},
	{"503", jobsim.Fault{Kind: jobsim.Fault503}},
	{"504", jobsim.Fault{Kind: jobsim.Fault504}},
	{"reset", jobsim.Fault{Kind: jobsim.FaultReset}},
	{"truncated", jobsim.Fault{Kind: jobsim.FaultTruncated}},
	{"truncated_eof", jobsim.Fault{Kind: jobsim.FaultTruncatedEOF}},
	{"html", jobsim.Fault{Kind: jobsim.FaultHTML}},
	{"job_internal", jobsim.Fault{Kind: jobsim.FaultResultFalse}}, // 1240002, JOB's own failure
	{"permission", jobsim.Fault{Kind: jobsim.FaultResultFalse, Code: jobsim.CodePermissionDenied, Permission: hzPermission}},
	{"hosts_invalid", jobsim.Fault{Kind: jobsim.FaultResultFalse, Code: jobsim.CodeHostInvalid}},
	{"created_lost", jobsim.Fault{Kind: jobsim.FaultCreatedLost}},
	{"created_hang", jobsim.Fault{Kind: jobsim.FaultCreatedHang, Delay: time.Second}},
}

// permanent reports whether a kind fails every repetition the same way (JOB's result:false).
func (k hzKind) permanent() bool { return k.fault.Kind == jobsim.FaultResultFalse }

// hzWant is what a row expects.
type hzWant struct {
	jobs      int    // jobs created
	status    string // output.json status
	errorType int
	errorCode int
	jobStatus string // job_status output
	final     int    // the simulated job's status after the run (0: not checked)
	noVar     bool   // the log variable is not expected (logs unreadable)
	submits   int    // submit requests the simulator receives (0: exactly 1)
	msgHas    string // text the message must hold ("": not checked)
}

var (
	hzOK        = hzWant{jobs: 1, status: "success", jobStatus: "success", final: jobsim.StatusSuccess}
	hzResubmit  = hzWant{jobs: 1, status: "success", jobStatus: "success", final: jobsim.StatusSuccess, submits: 2}
	hzOKNoVar   = hzWant{jobs: 1, status: "success", jobStatus: "success", final: jobsim.StatusSuccess, noVar: true}
	hzUnknown   = hzWant{jobs: 0, status: "failure", errorType: 2, errorCode: 800007}
	hzUnavail   = hzWant{jobs: 0, status: "failure", errorType: 2, errorCode: 800006}
	hzDenied    = hzWant{jobs: 0, status: "failure", errorType: 1, errorCode: 800003}
	hzRejected  = hzWant{jobs: 0, status: "failure", errorType: 1, errorCode: 800005}
	hzTimeout   = hzWant{jobs: 1, status: "failure", errorType: 1, errorCode: 800012, jobStatus: "timeout", final: jobsim.StatusStopSuccess}
	hzCanceled  = hzWant{jobs: 1, status: "failure", errorType: 1, errorCode: 800011, jobStatus: "canceled", final: jobsim.StatusStopSuccess}
	hzPollPerm  = hzWant{jobs: 1, status: "failure", errorType: 1, errorCode: 800003, final: jobsim.StatusStopSuccess}
	hzPollBiz   = hzWant{jobs: 1, status: "failure", errorType: 1, errorCode: 800005, final: jobsim.StatusStopSuccess}
	hzTermStuck = jobsim.StatusRunning
)

// hzCase is one row of the matrix.
type hzCase struct {
	name     string
	faults   []jobsim.Fault
	cbFaults []jobsim.CallbackFault
	form     []string      // form overrides
	duration time.Duration // each target's run time (default 1.5 s)
	hold     bool          // targets run until the job is terminated
	sigterm  bool          // SIGTERM once the job exists (held) or once it runs
	callback bool          // wait=callback with a listener on 127.0.0.1
	want     hzWant
	within   time.Duration // the binary's exit bound (default 45 s)
}

// hzSite injects a kind at one call site.
type hzSite struct {
	name   string
	inject func(k hzKind) []jobsim.Fault
	row    hzCase // template: form, hold, sigterm, callback
	want   map[string]hzWant
}

func hzAt(ep jobsim.Endpoint, calls jobsim.Calls, k hzKind) jobsim.Fault {
	f := k.fault
	f.Endpoint, f.Calls = ep, calls
	return f
}

func hzSites() []hzSite {
	submitWant := map[string]hzWant{
		"delay": hzOK, "429": hzResubmit, "502": hzUnknown, "503": hzUnknown, "504": hzUnknown, "reset": hzUnknown,
		"truncated": hzOK, "truncated_eof": hzOK, "html": hzUnknown, "job_internal": hzUnavail,
		"permission": hzDenied, "hosts_invalid": hzRejected, "created_lost": hzOK, "created_hang": hzOK,
	}
	pollWant := map[string]hzWant{
		"delay": hzOK, "429": hzOK, "502": hzOK, "503": hzOK, "504": hzOK, "reset": hzOK, "truncated": hzOK,
		"truncated_eof": hzOK, "html": hzOK, "job_internal": hzOK, "permission": hzPollPerm, "hosts_invalid": hzPollBiz,
		"created_lost": hzOK, "created_hang": hzOK,
	}
	logsWant := map[string]hzWant{
		"delay": hzOK, "429": hzOK, "502": hzOK, "503": hzOK, "504": hzOK, "reset": hzOK, "truncated": hzOK,
		"truncated_eof": hzOK, "html": hzOK, "job_internal": hzOKNoVar, "permission": hzOKNoVar, "hosts_invalid": hzOKNoVar,
		"created_lost": hzOK, "created_hang": hzOK,
	}
	termWant := func(base hzWant) map[string]hzWant {
		// The message says what the terminate did (issue 12): confirmed, or failed with JOB's error.
		base.msgHas = "terminated, JOB confirmed the end (terminated)"
		stuck := base
		stuck.final = hzTermStuck
		stuck.msgHas = "terminating it failed, the job may still be running"
		m := map[string]hzWant{}
		for _, k := range hzKinds {
			m[k.name] = base
		}
		m["job_internal"], m["permission"], m["hosts_invalid"] = stuck, stuck, stuck
		return m
	}
	return []hzSite{
		{name: "submit", want: submitWant, inject: func(k hzKind) []jobsim.Fault {
			return []jobsim.Fault{hzAt(jobsim.EPSubmit, jobsim.Nth(1), k)}
		}},
		{name: "first_poll", want: pollWant, inject: func(k hzKind) []jobsim.Fault {
			return []jobsim.Fault{hzAt(jobsim.EPStatus, jobsim.Nth(1), k)}
		}},
		{name: "later_polls", want: pollWant, inject: func(k hzKind) []jobsim.Fault {
			if k.permanent() {
				return []jobsim.Fault{hzAt(jobsim.EPStatus, jobsim.Nth(2), k)}
			}
			return []jobsim.Fault{hzAt(jobsim.EPStatus, jobsim.Range(2, 3), k)}
		}},
		{name: "logs", want: logsWant, inject: func(k hzKind) []jobsim.Fault {
			if k.permanent() {
				return []jobsim.Fault{hzAt(jobsim.EPLogs, jobsim.Every(), k)}
			}
			return []jobsim.Fault{hzAt(jobsim.EPLogs, jobsim.Range(1, 2), k)}
		}},
		{name: "terminate_deadline", want: termWant(hzTimeout), row: hzCase{hold: true, form: []string{"waitTimeout", "2"}, within: 30 * time.Second},
			inject: func(k hzKind) []jobsim.Fault {
				return []jobsim.Fault{hzAt(jobsim.EPOperateJob, jobsim.Nth(1), k)}
			}},
		{name: "terminate_sigterm", want: termWant(hzCanceled), row: hzCase{hold: true, sigterm: true},
			inject: func(k hzKind) []jobsim.Fault {
				return []jobsim.Fault{hzAt(jobsim.EPOperateJob, jobsim.Nth(1), k)}
			}},
	}
}

// hzExtraRows are the rows outside the kind × site product: callbacks, whole outages, hangs that only
// a deadline or a signal ends.
func hzExtraRows() []hzCase {
	cb := func(name string, f jobsim.CallbackFault, extra ...jobsim.Fault) hzCase {
		return hzCase{name: "callback/" + name, callback: true, cbFaults: []jobsim.CallbackFault{f}, faults: extra,
			duration: 300 * time.Millisecond, want: hzOK}
	}
	return []hzCase{
		cb("drop", jobsim.CallbackFault{Calls: jobsim.Nth(1), Kind: jobsim.CallbackDrop}),
		cb("duplicate", jobsim.CallbackFault{Calls: jobsim.Nth(1), Kind: jobsim.CallbackDuplicate}),
		cb("delay", jobsim.CallbackFault{Calls: jobsim.Nth(1), Kind: jobsim.CallbackDelay, Delay: time.Second}),
		cb("duplicate_then_502", jobsim.CallbackFault{Calls: jobsim.Nth(1), Kind: jobsim.CallbackDuplicate},
			jobsim.Fault{Endpoint: jobsim.EPStatus, Calls: jobsim.Nth(1), Kind: jobsim.Fault502}),
		{name: "submit/created_hang_until_deadline", form: []string{"waitTimeout", "3"},
			faults: []jobsim.Fault{{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedHang}},
			hold:   true, want: hzTimeout, within: 40 * time.Second},
		{name: "submit/created_hang_sigterm", sigterm: true,
			faults: []jobsim.Fault{{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultCreatedHang}},
			hold:   true, want: hzCanceled, within: 40 * time.Second},
		{name: "status/down_until_deadline", form: []string{"waitTimeout", "3"},
			faults: []jobsim.Fault{{Endpoint: jobsim.EPStatus, Calls: jobsim.Every(), Kind: jobsim.Fault503}},
			hold:   true, want: hzTimeout, within: 40 * time.Second},
		{name: "status/hang_until_deadline", form: []string{"waitTimeout", "3"},
			faults: []jobsim.Fault{{Endpoint: jobsim.EPStatus, Calls: jobsim.Every(), Kind: jobsim.FaultCreatedHang}},
			hold:   true, want: hzTimeout, within: 40 * time.Second},
	}
}

func hzRows() []hzCase {
	var rows []hzCase
	for _, site := range hzSites() {
		for _, k := range hzKinds {
			row := site.row
			row.name = site.name + "/" + k.name
			row.faults = site.inject(k)
			w, ok := site.want[k.name]
			if !ok {
				panic("no expectation for " + row.name)
			}
			row.want = w
			rows = append(rows, row)
		}
	}
	return append(rows, hzExtraRows()...)
}

// hzParallel is how many rows run at once: they mostly wait on timers, so more than the CPUs.
const hzParallel = 10

func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	rows := hzRows()
	sem := make(chan struct{}, hzParallel)
	var wg sync.WaitGroup
	for _, row := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// Subtests run from several goroutines at once (t.Run allows it), so the matrix is not
			// throttled to -parallel rows.
			t.Run(row.name, func(t *testing.T) { hzRunCase(t, row) })
		}()
	}
	wg.Wait()
}

func hzRunCase(t *testing.T, c hzCase) {
	d := c.duration
	if d == 0 {
		d = 1500 * time.Millisecond
	}
	sim := startSim(t, jobsim.Options{Exec: jobsim.Synthetic(func(jobsim.Target) jobsim.Outcome {
		return jobsim.Outcome{Duration: d, Log: hzLog}
	})})
	if c.hold {
		gate := jobsim.NewGate()
		sim.SetHold(func(jobsim.Target) *jobsim.Gate { return gate })
		t.Cleanup(gate.Open)
	}
	for _, f := range c.faults {
		sim.Inject(f)
	}
	for _, f := range c.cbFaults {
		sim.InjectCallback(f)
	}
	form := append([]string(nil), c.form...)
	if c.callback {
		port := freePort(t)
		form = append(form, "wait", "callback", "callbackListen", "127.0.0.1:"+port,
			"callbackBaseUrl", "http://127.0.0.1:"+port)
	}
	r := newStep(t, sim, form...)
	var signalWhen func(ctx context.Context) error
	if c.sigterm {
		signalWhen = func(ctx context.Context) error {
			if len(c.faults) > 0 && c.faults[0].Endpoint == jobsim.EPSubmit {
				// The submit hangs: signal once JOB has created the job.
				_, err := sim.WaitJobStatus(ctx, hzFirstJob, jobsim.StatusBlank, jobsim.StatusRunning)
				return err
			}
			if err := sim.WaitRunning(ctx, hzFirstJob, 3); err != nil {
				return err
			}
			// The plugin knows its job once it asks for its status.
			return hzPolled(ctx, sim)
		}
	}
	res, dur := hzRun(t, r, signalWhen)
	within := c.within
	if within == 0 {
		within = 45 * time.Second
	}
	t.Logf("ran %v", dur.Round(time.Millisecond))
	if dur > within {
		t.Errorf("the run took %v, bound %v", dur.Round(time.Millisecond), within)
	}
	w := c.want
	res.wantStatus(t, w.status, w.errorType, w.jobStatus)
	if got := int(res.out.Get("errorCode").Int()); got != w.errorCode {
		t.Errorf("errorCode = %d, want %d (message: %s)", got, w.errorCode, res.out.Get("message").String())
	}
	if got := sim.JobsCreated(); got != w.jobs {
		t.Errorf("jobs created = %d, want %d", got, w.jobs)
	}
	if got, want := sim.Count(jobsim.EPSubmit), max(w.submits, 1); got != want {
		t.Errorf("submit requests = %d, want %d", got, want)
	}
	hzWantIDs(t, sim, res, w.jobs)
	if w.status == "success" && !w.noVar && res.data("ver") != "1.2.3" {
		t.Errorf("variable ver = %q, want 1.2.3", res.data("ver"))
	}
	if w.errorCode == 800007 && !strings.Contains(res.out.Get("message").String(), "deploy-#7-e-task1-") {
		t.Errorf("the ambiguous-submit message does not name the task name: %s", res.out.Get("message").String())
	}
	if w.final != 0 && w.jobs == 1 {
		hzWantFinal(t, sim, w.final)
	}
	if msg := res.out.Get("message").String(); w.msgHas != "" && !strings.Contains(msg, w.msgHas) {
		t.Errorf("message %q lacks %q", msg, w.msgHas)
	}
	if t.Failed() {
		t.Logf("message: %s\nstdout:\n%s\nstderr:\n%s", res.out.Get("message").String(), res.Stdout, res.Stderr)
	}
}

// hzWantFinal checks the status the run's job ended at; a terminate JOB is still carrying out
// (status 10) is given a few seconds to end.
func hzWantFinal(t *testing.T, sim *jobsim.Sim, want int) {
	t.Helper()
	snap, _ := sim.Job(hzFirstJob)
	if want == jobsim.StatusStopSuccess && snap.Status == jobsim.StatusStopping {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		snap, _ = sim.WaitFinished(ctx, hzFirstJob)
		cancel()
	}
	if snap.Status != want {
		t.Errorf("the job ended at status %d, want %d", snap.Status, want)
	}
}

// hzWantIDs checks that a known job id is in output.json and in the state file, and that no id is
// claimed when no job exists (the state file written before the submit holds no id).
func hzWantIDs(t *testing.T, sim *jobsim.Sim, res *result, jobs int) {
	t.Helper()
	st, err := os.ReadFile(statePath(res.dataDir))
	if jobs == 0 {
		if id := res.data("job_instance_id"); id != "" {
			t.Errorf("job_instance_id = %q without a job", id)
		}
		// The state file is written before the submit (task name, no id): it must never claim a job.
		if err == nil && gjson.GetBytes(st, "job_instance_id").Int() != 0 {
			t.Errorf("the state file claims a job that does not exist: %s", st)
		}
		return
	}
	want := fmt.Sprint(sim.Jobs()[0].ID)
	if got := res.data("job_instance_id"); got != want {
		t.Errorf("output job_instance_id = %q, want %s", got, want)
	}
	if err != nil {
		t.Errorf("state file: %v", err)
	} else if got := gjson.GetBytes(st, "job_instance_id").String(); got != want {
		t.Errorf("state job_instance_id = %q, want %s", got, want)
	}
}

// hzPolled waits until the plugin made a status request: it knows its job from then on.
func hzPolled(ctx context.Context, sim *jobsim.Sim) error {
	for sim.Count(jobsim.EPStatus) == 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// hzRun starts the binary and waits for its exit. When signalWhen is set, the run gets SIGTERM as soon
// as signalWhen returns nil. It returns the checked result and the run's duration.
func hzRun(t *testing.T, r *stepRun, signalWhen func(ctx context.Context) error) (*result, time.Duration) {
	t.Helper()
	p := r.startRun()
	if signalWhen != nil {
		ctx, stop := context.WithCancel(context.Background())
		go func() {
			select {
			case <-p.done:
				stop()
			case <-ctx.Done():
			}
		}()
		if err := signalWhen(ctx); err == nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		} else if ctx.Err() == nil {
			t.Errorf("waiting to signal: %v", err)
		}
		stop()
	}
	res := p.wait()
	return res, res.Duration
}

// TestCallbackListenerAbuse: in callback mode, requests to the plugin's listener that are not JOB's
// callback for its job are refused cheaply with the codes of docs/CONTRACT.md#waiting, a flood of 1,000 at once
// included, while the job is held; the outcome stays the job's and the plugin's memory stays bounded.
func TestCallbackListenerAbuse(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{Exec: jobsim.Synthetic(func(jobsim.Target) jobsim.Outcome {
		return jobsim.Outcome{Log: hzLog}
	})})
	gate := jobsim.NewGate()
	sim.SetHold(func(jobsim.Target) *jobsim.Gate { return gate })
	t.Cleanup(gate.Open)
	port := freePort(t)
	base := "http://127.0.0.1:" + port
	r := newStep(t, sim, "wait", "callback", "callbackListen", "127.0.0.1:"+port, "callbackBaseUrl", base)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := r.startRun()
	done, stdout, stderr, cmd := p.done, p.stdout, p.stderr, p.cmd
	// The plugin expects its job once it printed the id.
	for !strings.Contains(stdout.String(), fmt.Sprintf("submitted job %d", hzFirstJob)) {
		select {
		case <-done:
			t.Fatalf("the step ended early\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		case <-ctx.Done():
			t.Fatal("the job was never submitted")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := sim.WaitRunning(ctx, hzFirstJob, 3); err != nil {
		t.Fatal(err)
	}
	snap, _ := sim.Job(hzFirstJob)
	cbURL := snap.CallbackURL
	if !strings.HasPrefix(cbURL, base+"/jobcb/") {
		t.Fatalf("callback URL %q", cbURL)
	}
	pid := cmd.Process.Pid
	rssBefore := hzProcKB(t, pid, "VmRSS")

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: 0}}
	t.Cleanup(client.CloseIdleConnections)
	post := func(url, ctype, body string) (int, time.Duration) {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, 0
		}
		req.Header.Set("Content-Type", ctype)
		return hzDo(t, client, req)
	}
	const jsonType = "application/json; charset=UTF-8"
	forged := fmt.Sprintf(`{"job_instance_id":%d,"status":3,"step_instances":[{"step_instance_id":1,"status":3}]}`, hzFirstJob+99)
	ours := fmt.Sprintf(`{"job_instance_id":%d,"status":3,"step_instances":[{"step_instance_id":%d,"status":3}]}`, hzFirstJob, snap.StepID)
	big := `{"job_instance_id":` + fmt.Sprint(hzFirstJob) + `,"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	get := func(method, url string) (int, time.Duration) {
		req, _ := http.NewRequest(method, url, nil)
		return hzDo(t, client, req)
	}
	// Oversized bodies are sent whole before the answer is read (over a raw connection), so that the
	// listener's early refusal cannot race the client still writing.
	cbPath := strings.TrimPrefix(cbURL, base)
	oversized := func() (int, time.Duration) {
		return hzRaw(t, "127.0.0.1:"+port, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
			cbPath, jsonType, len(big), big))
	}
	chunked := func() (int, time.Duration) {
		// No Content-Length: the listener must stop reading at its limit.
		return hzRaw(t, "127.0.0.1:"+port, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
			cbPath, jsonType, len(big), big))
	}
	singles := []struct {
		name string
		do   func() (int, time.Duration)
		want int
	}{
		{"wrong path", func() (int, time.Duration) { return post(base+"/jobcb/"+strings.Repeat("0", 32), jsonType, ours) }, 404},
		{"root path", func() (int, time.Duration) { return post(base+"/", jsonType, ours) }, 404},
		{"wrong method GET", func() (int, time.Duration) { return get(http.MethodGet, cbURL) }, 405},
		{"wrong method PUT", func() (int, time.Duration) { return get(http.MethodPut, cbURL) }, 405},
		{"foreign job", func() (int, time.Duration) { return post(cbURL, jsonType, forged) }, 409},
		{"forged id zero", func() (int, time.Duration) { return post(cbURL, jsonType, `{"job_instance_id":0,"status":3}`) }, 400},
		{"not json", func() (int, time.Duration) { return post(cbURL, jsonType, `<html>`) }, 400},
		{"oversized", oversized, 400},
		{"oversized chunked", chunked, 400},
		// Our own job id while the job runs: accepted (JOB retries anything else) but only a wake-up.
		{"claims our job finished", func() (int, time.Duration) { return post(cbURL, jsonType, ours) }, 200},
	}
	for _, s := range singles {
		code, d := s.do()
		if code != s.want {
			t.Errorf("%s: HTTP %d, want %d", s.name, code, s.want)
		}
		if d > 5*time.Second {
			t.Errorf("%s: answered after %v", s.name, d)
		}
	}

	// Slow headers: a connection that never finishes its headers is closed by the listener, and does
	// not hold up others meanwhile.
	slow, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("POST " + cbPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: appl")); err != nil {
		t.Fatal(err)
	}
	slowStart := time.Now()
	if code, _ := post(cbURL, jsonType, forged); code != 409 {
		t.Errorf("during a slow request: HTTP %d, want 409", code)
	}
	_ = slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(slow); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("the slow connection was still open after %v", time.Since(slowStart).Round(time.Millisecond))
		}
	}
	slowClosed := time.Since(slowStart)

	// The flood: 1,000 requests at once, of every kind.
	kinds := []func() (int, time.Duration){
		func() (int, time.Duration) { return post(base+"/jobcb/nope", jsonType, ours) },
		func() (int, time.Duration) { return get(http.MethodGet, cbURL) },
		func() (int, time.Duration) { return post(cbURL, jsonType, forged) },
		func() (int, time.Duration) { return post(cbURL, jsonType, big) },
		func() (int, time.Duration) { return post(cbURL, jsonType, ours) },
	}
	const flood = 1000
	pollsBefore := sim.Count(jobsim.EPStatus)
	codes := make([]int, flood)
	durs := make([]time.Duration, flood)
	var wg sync.WaitGroup
	startFlood := make(chan struct{})
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startFlood
			codes[i], durs[i] = kinds[i%len(kinds)]()
		}()
	}
	floodStart := time.Now()
	close(startFlood)
	wg.Wait()
	floodTook := time.Since(floodStart)
	count := map[int]int{}
	var slowest time.Duration
	for i, c := range codes {
		count[c]++
		slowest = max(slowest, durs[i])
		allowed := map[int]bool{503: true, [5]int{404, 405, 409, 400, 200}[i%len(kinds)]: true}
		if i%len(kinds) == 3 {
			// An oversized body is refused before it is read: the connection may close under the
			// client still sending it.
			allowed[0] = true
		}
		if !allowed[c] {
			t.Errorf("flood request %d (kind %d): HTTP %d", i, i%len(kinds), c)
		}
	}
	rssAfter := hzProcKB(t, pid, "VmRSS")
	hwm := hzProcKB(t, pid, "VmHWM")
	polls := sim.Count(jobsim.EPStatus) - pollsBefore
	t.Logf("slow headers closed after %v; flood of %d took %v (slowest answer %v), codes %v; status polls during the flood %d; VmRSS %d KiB before, %d KiB after, peak %d KiB",
		slowClosed.Round(time.Millisecond), flood, floodTook.Round(time.Millisecond), slowest.Round(time.Millisecond), count, polls, rssBefore, rssAfter, hwm)
	if rssAfter-rssBefore > 64<<10 || hwm > 256<<10 {
		t.Errorf("memory grew from %d KiB to %d KiB (peak %d KiB)", rssBefore, rssAfter, hwm)
	}
	if polls > 100 {
		t.Errorf("%d status polls for one flood: wake-ups are not coalesced", polls)
	}
	select {
	case <-done:
		t.Fatalf("the step ended while its job was held\nstdout:\n%s", stdout.String())
	default:
	}

	gate.Open()
	out := p.wait()
	out.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	if out.data("ver") != "1.2.3" {
		t.Errorf("variable ver = %q", out.data("ver"))
	}
}

// hzDo sends req and returns the status code (0 on a transport error) and how long the answer took.
func hzDo(t *testing.T, client *http.Client, req *http.Request) (int, time.Duration) {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		// A listener may close a connection whose body it refused before reading it all.
		return 0, time.Since(start)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// hzRaw sends a raw HTTP/1.1 request over a new connection, all of it, then reads the answer's status.
func hzRaw(t *testing.T, addr, request string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return 0, 0
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Errorf("write: %v", err)
		return 0, time.Since(start)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("read the answer: %v", err)
		return 0, time.Since(start)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// hzProcKB reads a "<key>: <n> kB" line of /proc/<pid>/status.
func hzProcKB(t *testing.T, pid int, key string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			var n int
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &n); err == nil {
				return n
			}
		}
	}
	t.Fatalf("%s not in /proc/%d/status", key, pid)
	return 0
}

// TestTerminateSaysWhatHappened (issue 12, item 5): the outcome of a cancel, a timeout and the post
// action says what happened to the job: terminated with JOB's confirmation, sent but not confirmed
// (JOB keeps the job terminating), or failed with JOB's error; never "termination requested" for a
// terminate that failed.
func TestTerminateSaysWhatHappened(t *testing.T) {
	t.Parallel()
	refused := jobsim.Fault{Endpoint: jobsim.EPOperateJob, Calls: jobsim.Every(), Kind: jobsim.FaultResultFalse}
	cases := []struct {
		name      string
		post      bool // SIGKILL, then the post action
		form      []string
		refuse    bool
		stopDelay time.Duration
		notStart  bool // the job stays at status 1 (not started) longer than the plugin waits for it
		status    string
		jobStatus string
		has       []string
	}{
		{name: "cancel_confirmed", status: "failure", jobStatus: "canceled", has: []string{"terminated, JOB confirmed the end (terminated)"}},
		{name: "cancel_failed", refuse: true, status: "failure", jobStatus: "canceled",
			has: []string{"terminating it failed, the job may still be running", "1240002"}},
		{name: "cancel_unconfirmed", stopDelay: 30 * time.Second, status: "failure", jobStatus: "canceled",
			has: []string{"termination sent, JOB has not confirmed the end", "terminating"}},
		{name: "cancel_not_started", notStart: true, status: "failure", jobStatus: "canceled",
			has: []string{"not terminated: JOB terminates only running or waiting jobs, and this one is"}},
		{name: "timeout_failed", form: []string{"waitTimeout", "2"}, refuse: true, status: "failure", jobStatus: "timeout",
			has: []string{"terminating it failed, the job may still be running", "1240002"}},
		{name: "post_confirmed", post: true, status: "success", has: []string{"terminated job 10001, JOB confirmed the end (terminated)"}},
		{name: "post_failed", post: true, refuse: true, status: "failure", has: []string{"could not terminate job 10001", "1240002"}},
		{name: "post_unconfirmed", post: true, stopDelay: 30 * time.Second, status: "success",
			has: []string{"termination of job 10001 sent, JOB has not confirmed the end", "terminating"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opts := jobsim.Options{StopDelay: c.stopDelay}
			if c.notStart {
				opts.StartDelay = time.Minute
			}
			sim := startSim(t, opts)
			if c.refuse {
				sim.Inject(refused)
			}
			h := holdTargets(t, sim, "0:10.0.0.1")
			r := newStep(t, sim, c.form...)
			p := r.startRun()
			id := int64(hzFirstJob)
			if !c.notStart {
				id = h.job(t)
			}
			p.until("the state file with the job id", func() bool {
				b, err := os.ReadFile(statePath(r.step.DataDir))
				return err == nil && gjson.GetBytes(b, "job_instance_id").Int() == id
			})
			var res *result
			switch {
			case c.post:
				p.signal(syscall.SIGKILL)
				p.waitKilled()
				res = postStep(t, sim, r).run("--postAction=terminate")
			case c.jobStatus == "canceled":
				p.untilPolled(1)
				p.signal(syscall.SIGTERM)
				res = p.wait()
			default:
				res = p.wait()
			}
			msg := res.out.Get("message").String()
			if got := res.out.Get("status").String(); got != c.status || res.data("job_status") != c.jobStatus {
				t.Errorf("status %s, job_status %q; want %s, %q (message: %s)", got, res.data("job_status"), c.status, c.jobStatus, msg)
			}
			for _, want := range c.has {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "already ended") && c.notStart {
				t.Errorf("message %q says a job that never started had ended", msg)
			}
			if c.refuse && (strings.Contains(msg, "termination requested") || strings.Contains(msg, "terminated job")) {
				t.Errorf("message %q claims a termination that failed", msg)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s", res.Stdout)
			}
		})
	}
}

// TestSubmit_GatewayRefusesFor5s (issue 17, item 5): the gateway refuses connections for 5 s (a
// restart); the submit never reached JOB, so it is sent again with backoff until the gateway is back:
// one submit reaches JOB, one job, success.
func TestSubmit_GatewayRefusesFor5s(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	target, err := url.Parse(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t) // nothing listens there yet: connections are refused
	proxy := &http.Server{Addr: "127.0.0.1:" + port, Handler: httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host}),
		ReadHeaderTimeout: 10 * time.Second}
	up := make(chan error, 1)
	timer := time.AfterFunc(5*time.Second, func() { up <- proxy.ListenAndServe() })
	t.Cleanup(func() { timer.Stop(); _ = proxy.Close() })
	start := time.Now()
	res := newStep(t, sim).private("BK_JOB_API_URL", "http://127.0.0.1:"+port+target.Path).run()
	took := time.Since(start)
	select {
	case err := <-up:
		t.Fatalf("the gateway did not come up: %v", err)
	default:
	}
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 1)
	if took < 5*time.Second {
		t.Errorf("the step ended after %v, before the gateway came up", took)
	}
	if n := strings.Count(res.Stdout, "submit job: attempt"); n < 2 {
		t.Errorf("%d retries of the submit logged:\n%s", n, res.Stdout)
	}
	wantLine(t, res.Stdout, "submit job: attempt", "connection refused", "retrying in")
}

// TestSubmit_QuotaRefusalsWaitedOut (issue 17, item 5): JOB refuses the submit twice under its
// running-job quota (1244032, 1244034: no job created); the step waits them out with backoff, says
// why, and the third submit creates the one job.
func TestSubmit_QuotaRefusalsWaitedOut(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(1), Kind: jobsim.FaultResultFalse, Code: 1244032,
		Message: "running job count of the business exceeds its quota"})
	sim.Inject(jobsim.Fault{Endpoint: jobsim.EPSubmit, Calls: jobsim.Nth(2), Kind: jobsim.FaultResultFalse, Code: 1244034,
		Message: "running job count of the system exceeds its quota"})
	res := newStep(t, sim).run()
	res.wantStatus(t, "success", 0, "success")
	wantSubmits(t, sim, 1, 3)
	wantLine(t, res.Stdout, "##[warning]", "running-job quota is full (code 1244032", "no job was created", "attempt 1")
	wantLine(t, res.Stdout, "##[warning]", "running-job quota is full (code 1244034", "attempt 2")
}
