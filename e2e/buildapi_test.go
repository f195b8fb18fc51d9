//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jobfastexecutescript/tooling/agent"
	"jobfastexecutescript/tooling/jobsim"
)

// BK-CI's build API (issue 22, docs/BKCI.md#the-build-api): the private config read through it when
// input.json has none, and the JOB link reported for the pipeline canvas once per run.

const baAgentSecret = "AGENT-SECRET-9c1e77aa"

// baFake is a fake build API on 127.0.0.1 that checks the worker's credentials.
type baFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	confs   int
	links   []string
	headers []http.Header
	private map[string]string // nil: answers no field
}

func startBuildAPI(t *testing.T, private map[string]string) *baFake {
	f := &baFake{private: private}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Header.Get("X-DEVOPS-AGENT-SECRET-KEY") != baAgentSecret || r.Header.Get("X-DEVOPS-AGENT-ID") != "agent-1" ||
			r.Header.Get("X-DEVOPS-BUILD-ID") != "b-1" || r.Header.Get("X-DEVOPS-PROJECT-ID") != "proj" ||
			r.Header.Get("X-DEVOPS-BUILD-TYPE") != "AGENT" || r.Header.Get("X-DEVOPS-VM-SID") != "1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.headers = append(f.headers, r.Header.Clone())
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/ms/store/api/build/store/sensitiveConf/types/ATOM/codes/jobFastExecuteScript":
			f.confs++
			var data []map[string]string
			for k, v := range f.private {
				data = append(data, map[string]string{"fieldId": "id-" + k, "fieldName": k, "fieldValue": v, "fieldType": "BACKEND"})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"status": 0, "data": data})
		case r.Method == http.MethodPost && r.URL.Path == "/ms/process/api/build/task/external_link":
			var body struct{ Link string }
			if json.NewDecoder(r.Body).Decode(&body) != nil || r.Header.Get("X-DEVOPS-PIPELINE-ID") != "p-1" ||
				r.Header.Get("X-DEVOPS-CI-TASK-ID") != "e-task1" || r.Header.Get("X-DEVOPS-EXECUTE-COUNT") != "1" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			f.links = append(f.links, body.Link)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": 0, "data": true})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (r *stepRun) buildAPI(gateway string) *stepRun {
	r.step.SDK = &agent.SDK{Gateway: gateway, AgentID: "agent-1", SecretKey: baAgentSecret}
	return r
}

func baNoLeak(t *testing.T, res *result) {
	t.Helper()
	for name, text := range map[string]string{"stdout": res.Stdout, "stderr": res.Stderr, "output.json": string(res.Output)} {
		if strings.Contains(text, baAgentSecret) {
			t.Errorf("the agent's secret key leaked into %s", name)
		}
	}
}

// TestBuildAPI_PrivateConfigAndLink: an agent that does not write bkSensitiveConfInfo
// (BK_CI_ATOM_PRIVATE_CONFIG_WRITE_SWITCH=false): the private config comes from the build API, and
// the job's link is reported once.
func TestBuildAPI_PrivateConfigAndLink(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	api := startBuildAPI(t, map[string]string{"BK_JOB_API_URL": sim.URL(), "BK_APP_CODE": appCode,
		"BK_APP_SECRET": appSecret, "BK_JOB_WEB_URL": "https://job.example.com"})
	r := newStep(t, sim).buildAPI(api.srv.URL)
	delete(r.step.Input, "bkSensitiveConfInfo")
	res := r.run()
	res.wantStatus(t, "success", 0, "success")
	baNoLeak(t, res)
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.confs != 1 {
		t.Errorf("private config read %d times, want 1", api.confs)
	}
	want := fmt.Sprintf("https://job.example.com/api_execute/%s", res.data("job_instance_id"))
	if len(api.links) != 1 || api.links[0] != want {
		t.Errorf("links reported %q, want once %q\nstdout:\n%s", api.links, want, res.Stdout)
	}
}

// TestBuildAPI_Unreachable: a run whose build API is down, or that has none, ends as before; the link
// is not reported, with one debug line, and the step is not slowed.
func TestBuildAPI_Unreachable(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	gw := down.URL
	down.Close()
	for name, gateway := range map[string]string{"down": gw, "no build API": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			r := newStep(t, sim)
			if gateway != "" {
				r.buildAPI(gateway)
			}
			start := time.Now()
			res := r.run()
			res.wantStatus(t, "success", 0, "success")
			baNoLeak(t, res)
			if n := strings.Count(res.Stdout, "##[debug]the JOB link was not shown"); n != 1 {
				t.Errorf("%d debug lines about the link, want 1\nstdout:\n%s", n, res.Stdout)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the run took %v", d)
			}
		})
	}
}

// TestBuildAPI_ConfigInInputWins: with bkSensitiveConfInfo in input.json the build API is not asked for
// the private config (the link is still reported).
func TestBuildAPI_ConfigInInputWins(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	api := startBuildAPI(t, map[string]string{"BK_APP_SECRET": "wrong"})
	res := newStep(t, sim).buildAPI(api.srv.URL).run()
	res.wantStatus(t, "success", 0, "success")
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.confs != 0 || len(api.links) != 1 {
		t.Errorf("config reads %d (want 0), links %q (want 1)", api.confs, api.links)
	}
}
