package plugin

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// panicWriter is the step's stdout that panics the first time a write holds trigger: a bug at the
// point of the run that prints it. Main must still write output.json (errorType 3), handle the job
// per onCancel, and leak no secret.
type panicWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	fired   bool
}

func (w *panicWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.fired && bytes.Contains(p, []byte(w.trigger)) {
		w.fired = true
		panic("forced panic at " + w.trigger)
	}
	return len(p), nil
}

func (w *panicWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestMain_PanicAnywhere: a panic at any stage of the run (after loading, after the submit, while
// polling, while reading the logs, while writing the results) ends with output.json saying errorType 3
// and code 800014, the job terminated (or left running with onCancel=leave, or left to end when it
// had ended), and no secret in the output.
func TestMain_PanicAnywhere(t *testing.T) {
	t.Parallel()
	const param = "--token PANIC-TOKEN-4f2a"
	failOn2 := "echo \"run on $JOBSIM_TARGET_LABEL\"\n[ \"$JOBSIM_TARGET_LABEL\" != 0:10.0.0.2 ] || exit 3\n"
	for _, tc := range []struct {
		name, trigger string
		kv            []string
		hold          bool
		jobs          int
		final         int // the simulated job's status after the run (0: none)
	}{
		{"loaded", "job name:", nil, false, 0, 0},
		{"submitted", "submitted job ", nil, true, 1, jobsim.StatusStopSuccess},
		{"polling", "job status:", nil, true, 1, jobsim.StatusStopSuccess},
		{"polling, leave", "job status:", []string{"onCancel", "leave"}, true, 1, jobsim.StatusRunning},
		{"reading logs", "##subTag##", []string{"scriptContent", failOn2, "logMode", "failed"}, false, 1, jobsim.StatusFail},
		{"results", "results (", nil, false, 1, jobsim.StatusSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := inprocSim(t, jobsim.Options{})
			if tc.hold {
				hold(t, sim)
			}
			r := newInproc(t, sim, append([]string{"scriptParam", param, "paramSensitive", "true"}, tc.kv...)...)
			env, err := r.step.PrepareData()
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			out := &panicWriter{trigger: tc.trigger}
			var stderr bytes.Buffer
			code := Main(context.Background(), nil, Env{Getenv: func(k string) string { return vars[k] }, Stdout: out, Stderr: &stderr})
			b, err := os.ReadFile(filepath.Join(r.step.DataDir, "output.json"))
			if err != nil || !out.fired {
				t.Fatalf("output.json: %v (the panic fired: %v)\n%s", err, out.fired, out.String())
			}
			res := gjson.ParseBytes(b)
			if code == 0 || res.Get("status").String() != "failure" || res.Get("errorType").Int() != 3 || res.Get("errorCode").Int() != codeInternal {
				t.Errorf("exit %d, output.json %s", code, b)
			}
			if !strings.Contains(stderr.String(), "forced panic at "+tc.trigger) {
				t.Errorf("stderr does not show the panic:\n%s", stderr.String())
			}
			if n := sim.JobsCreated(); n != tc.jobs {
				t.Errorf("%d jobs created, want %d", n, tc.jobs)
			}
			if tc.final != 0 {
				snap, _ := sim.Job(sim.Jobs()[0].ID)
				if snap.Status != tc.final {
					t.Errorf("job status %d, want %d", snap.Status, tc.final)
				}
			}
			for name, text := range map[string]string{"stdout": out.String(), "stderr": stderr.String(), "output.json": string(b)} {
				for _, secret := range []string{ipAppSecret, "PANIC-TOKEN-4f2a", base64.StdEncoding.EncodeToString([]byte(param))} {
					if strings.Contains(text, secret) {
						t.Errorf("%s holds the secret %q", name, secret)
					}
				}
			}
		})
	}
}
