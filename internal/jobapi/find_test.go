package jobapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// listServer serves get_job_instance_list pages from jobs, honouring start/length, and checks the
// query the client sent.
func listServer(t *testing.T, jobs []JobSummary, total int) *fakeGateway {
	return newFakeGateway(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Method != http.MethodGet || r.URL.Path != testPrefix+PathGetJobInstanceList {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
		q := r.URL.Query()
		for _, k := range []string{"bk_scope_type", "bk_scope_id", "create_time_start", "create_time_end", "name", "operator"} {
			if q.Get(k) == "" {
				t.Errorf("query lacks %s: %s", k, r.URL.RawQuery)
			}
		}
		start, _ := strconv.Atoi(q.Get("start"))
		length, _ := strconv.Atoi(q.Get("length"))
		if length == 0 {
			length = 20
		}
		type item struct {
			ID         int64  `json:"job_instance_id"`
			Name       string `json:"name"`
			Operator   string `json:"operator"`
			CreateTime int64  `json:"create_time"`
			Status     int    `json:"status"`
			EndTime    *int64 `json:"end_time"`
		}
		page := []item{}
		for i := start; i < len(jobs) && i < start+length; i++ {
			j := jobs[i]
			page = append(page, item{j.ID, j.Name, j.Operator, j.CreateTime, j.Status, nil})
		}
		b, _ := json.Marshal(map[string]any{"data": page, "start": start, "length": length, "total": total})
		writeJSON(w, 200, ok(string(b)))
	})
}

func fuzzyJobs(n int) []JobSummary {
	jobs := make([]JobSummary, n)
	for i := range jobs {
		jobs[i] = JobSummary{ID: int64(1000 + i), Name: "pipe-#12-e-1-" + strconv.Itoa(i), Operator: "alice", CreateTime: 1700000000000}
	}
	return jobs
}

func TestFindJobByName(t *testing.T) {
	t.Parallel()
	const name = "pipe-#12-e-1"
	from := time.UnixMilli(1700000000000)
	to := from.Add(10 * time.Minute)

	withMatch := fuzzyJobs(1200)
	withMatch[1100] = JobSummary{ID: 4242, Name: name, Operator: "alice", Status: 2, CreateTime: 1700000000123}
	otherOperator := fuzzyJobs(3)
	otherOperator[1] = JobSummary{ID: 7, Name: name, Operator: "bob"}
	twice := fuzzyJobs(5)
	twice[1] = JobSummary{ID: 8, Name: name, Operator: "alice"}
	twice[3] = JobSummary{ID: 9, Name: name, Operator: "alice"}
	caseDiffers := fuzzyJobs(2)
	caseDiffers[0].Name = "PIPE-#12-E-1"

	tests := []struct {
		name     string
		jobs     []JobSummary
		total    int
		wantID   int64
		wantErr  error
		wantHits int
	}{
		{"exact match on third page", withMatch, 1200, 4242, nil, 3},
		{"fuzzy results only", fuzzyJobs(30), 30, 0, nil, 1},
		{"empty", nil, 0, 0, nil, 1},
		{"other operator ignored", otherOperator, 3, 0, nil, 1},
		{"case differs", caseDiffers, 2, 0, nil, 1},
		{"two exact matches", twice, 5, 0, ErrAmbiguous, 1},
		{"bound reached", fuzzyJobs(findPageSize * (findMaxPages + 1)), findPageSize * (findMaxPages + 1), 0, ErrLookupIncomplete, findMaxPages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := listServer(t, tt.jobs, tt.total)
			c := newTestClient(t, g.URL(), nil)
			got, err := c.FindJobByName(context.Background(), testScope, name, "alice", from, to)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || got != nil {
					t.Fatalf("got %+v, %v; want %v", got, err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case tt.wantID == 0 && got != nil:
				t.Fatalf("found %+v, want none", got)
			case tt.wantID != 0 && (got == nil || got.ID != tt.wantID || got.Name != name || got.Operator != "alice"):
				t.Fatalf("found %+v, want id %d", got, tt.wantID)
			}
			reqs := g.requests()
			if len(reqs) != tt.wantHits {
				t.Errorf("pages read = %d, want %d", len(reqs), tt.wantHits)
			}
			for i, r := range reqs {
				q, _ := url.ParseQuery(r.Query)
				if q.Get("name") != name || q.Get("operator") != "alice" ||
					q.Get("create_time_start") != "1700000000000" || q.Get("create_time_end") != "1700000600000" ||
					q.Get("length") != strconv.Itoa(findPageSize) {
					t.Errorf("page %d query %s", i, r.Query)
				}
				if wantStart := i * findPageSize; (wantStart == 0 && q.Has("start")) || (wantStart > 0 && q.Get("start") != strconv.Itoa(wantStart)) {
					t.Errorf("page %d start = %q, want %d", i, q.Get("start"), wantStart)
				}
			}
		})
	}
}

// TestFindJobs_WindowWithinJOBLimits: FindJobs never asks for a window JOB refuses. A window longer than
// 30 days is read in slices of at most 30 days (newest first, every slice's end after its start); a
// window that does not end after it starts is widened to 1 ms; offsets never pass 1000. A job in the
// oldest slice is found.
func TestFindJobs_WindowWithinJOBLimits(t *testing.T) {
	t.Parallel()
	const name = "pipe-#12-e-1"
	to := time.UnixMilli(1700000000000)
	for _, tc := range []struct {
		name   string
		from   time.Time
		slices int
	}{
		{"65 days", to.Add(-65 * 24 * time.Hour), 3},
		{"exactly 30 days", to.Add(-MaxListWindow), 1},
		{"empty", to, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jobs := fuzzyJobs(3)
			jobs[2] = JobSummary{ID: 4242, Name: name, Operator: "alice"}
			g := listServer(t, jobs, len(jobs))
			c := newTestClient(t, g.URL(), nil)
			found, err := c.FindJobs(context.Background(), testScope, name, "alice", tc.from, to, func(n string) bool { return n == name })
			if err != nil || len(found) != 1 || found[0].ID != 4242 {
				t.Fatalf("found %+v, %v", found, err)
			}
			reqs := g.requests()
			if len(reqs) != tc.slices {
				t.Fatalf("%d requests, want %d", len(reqs), tc.slices)
			}
			for _, r := range reqs {
				q, _ := url.ParseQuery(r.Query)
				f, _ := strconv.ParseInt(q.Get("create_time_start"), 10, 64)
				e, _ := strconv.ParseInt(q.Get("create_time_end"), 10, 64)
				st, _ := strconv.Atoi(q.Get("start"))
				if e <= f || e-f > MaxListWindow.Milliseconds() || f < tc.from.UnixMilli() || e > max(to.UnixMilli(), f+1) || st > MaxListStart {
					t.Errorf("query %s outside JOB's limits", r.Query)
				}
			}
		})
	}
}

func TestFindJobByName_ErrorPropagates(t *testing.T) {
	t.Parallel()
	g := scripted(t, answer(200, `{"result":false,"code":9900403,"message":"denied"}`))
	c := newTestClient(t, g.URL(), nil)
	now := time.Now()
	_, err := c.FindJobByName(context.Background(), testScope, "n", "alice", now.Add(-time.Minute), now)
	if !IsPermission(err) {
		t.Fatalf("err = %v", err)
	}
}
