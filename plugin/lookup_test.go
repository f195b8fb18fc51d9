package plugin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
)

// TestLookupSubmitted: the job of a submit with an unknown outcome is looked for lookupAttempts
// times, 0.5 s, 1 s and 1.5 s apart, and adopted with its step once JOB lists it; a look-up that
// never finds it gives up after the last attempt.
func TestLookupSubmitted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		listedAt int // the look-up (1-based) from which JOB lists the job; 0: never
		wantOK   bool
		wantGaps []time.Duration
	}{
		{"listed at the third look-up", 3, true, []time.Duration{500 * time.Millisecond, time.Second}},
		{"never listed", 0, false, []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const task = "deploy-#7-s1-abc123"
			var mu sync.Mutex
			var lists []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if strings.HasSuffix(r.URL.Path, "get_job_instance_list") {
					mu.Lock()
					lists = append(lists, time.Now())
					n := len(lists)
					mu.Unlock()
					data := `[]`
					if tc.listedAt > 0 && n >= tc.listedAt {
						data = `[{"id":42,"name":"` + task + `","operator":"alice"}]`
					}
					_, _ = w.Write([]byte(`{"result":true,"code":0,"data":{"data":` + data + `,"total":1}}`))
					return
				}
				_, _ = w.Write([]byte(`{"result":true,"code":0,"data":{"finished":false,"job_instance":{"job_instance_id":42,"status":2},` +
					`"step_instance_list":[{"step_instance_id":43,"status":2}]}}`))
			}))
			defer srv.Close()
			client, err := jobapi.New(jobapi.Config{BaseURL: srv.URL, AppCode: "bkci", AppSecret: "s", Username: "alice",
				Retry: jobapi.RetryPolicy{Attempts: 1, SubmitAttempts: 1}})
			if err != nil {
				t.Fatal(err)
			}
			s := &step{printer: printer{lang: i18n.EnUS, log: bkci.NewLog(&strings.Builder{})}, client: client,
				cfg: &Config{ScopeType: "biz", ScopeID: "2", TaskName: task, Operator: "alice"}}
			ctx, cancel := context.WithTimeout(context.Background(), lookupGrace)
			defer cancel()
			sub, ok := s.lookupSubmitted(ctx, time.Now())
			if ok != tc.wantOK || (ok && (sub.JobInstanceID != 42 || sub.StepInstanceID != 43 || sub.JobInstanceName != task)) {
				t.Errorf("lookupSubmitted = %+v, %v; want found %v", sub, ok, tc.wantOK)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(lists) != len(tc.wantGaps)+1 {
				t.Fatalf("%d look-ups, want %d", len(lists), len(tc.wantGaps)+1)
			}
			for i, want := range tc.wantGaps {
				if gap := lists[i+1].Sub(lists[i]); gap < want || gap > want+400*time.Millisecond {
					t.Errorf("look-up %d came %v after the one before, want %v", i+2, gap, want)
				}
			}
		})
	}
}
