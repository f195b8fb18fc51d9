package jobsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"
)

func bigInventory(n int) *Inventory {
	return &Inventory{Bizs: []Biz{{ID: 2, Name: "big"}}, Hosts: FakeHosts(2, 1, n), Accounts: []Account{{ID: 1, Alias: "root", BizID: 2}}}
}

func rollingBody(n int, expr string, mode int) map[string]any {
	b := submitBody("echo")
	b["execute_target"] = map[string]any{"host_list": hostList(n)}
	b["rolling_config"] = map[string]any{"expression": expr, "mode": mode}
	return b
}

func TestStatusWhileRunning(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	gate := NewGate()
	s.SetHold(func(tg Target) *Gate {
		if tg.HostID == 102 {
			return gate
		}
		return nil
	})
	id, _ := c.submit(submitBody("echo", 101, 102))
	ctx := ctxT(t)
	if err := s.waitFor(ctx, func() bool { j := s.jobs[id]; return j.tasks[0].status == TargetSuccess }); err != nil {
		t.Fatal(err)
	}
	r := c.status(id)
	d := r.data()
	ji := d["job_instance"].(map[string]any)
	if d["finished"] != false || ji["status"].(json.Number).String() != "2" || ji["end_time"] != nil || ji["total_time"] != nil {
		t.Fatalf("running job: %s", r.raw)
	}
	if _, ok := ji["end_time"]; !ok {
		t.Fatal("end_time must be an explicit null")
	}
	res := d["step_instance_list"].([]any)[0].(map[string]any)["execute_object_result_list"].([]any)
	held := res[1].(map[string]any)
	if held["status"].(json.Number).String() != "7" || held["error_code"].(json.Number).String() != "115" || held["exit_code"] != nil || held["end_time"] != nil || held["tag"] != nil {
		t.Fatalf("running target: %v", held)
	}
	done := res[0].(map[string]any)
	if done["status"].(json.Number).String() != "9" || done["exit_code"].(json.Number).String() != "0" || done["tag"] != "" {
		t.Fatalf("finished target: %v", done)
	}
	noRes := c.post(EPStatus, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": id})
	if _, ok := noRes.data()["step_instance_list"].([]any)[0].(map[string]any)["execute_object_result_list"]; ok {
		t.Fatalf("results without the include flag: %s", noRes.raw)
	}
	gate.Open()
	snap, err := s.WaitFinished(ctx, id)
	if err != nil || snap.Status != StatusSuccess {
		t.Fatalf("finish: %v %+v", err, snap.Status)
	}
}

func TestStartDelayShowsBlank(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome), StartDelay: time.Hour})
	id, _ := c.submit(submitBody("echo", 101))
	r := c.status(id)
	ji := r.data()["job_instance"].(map[string]any)
	if ji["status"].(json.Number).String() != "1" || ji["start_time"] != nil {
		t.Fatalf("blank job: %s", r.raw)
	}
	if _, ok := r.data()["step_instance_list"].([]any)[0].(map[string]any)["execute_object_result_list"]; ok {
		t.Fatalf("results before start: %s", r.raw)
	}
	if snap, _ := s.Job(id); snap.Status != StatusBlank {
		t.Fatalf("status %d", snap.Status)
	}
}

func TestRollingBatchSizes(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Inventory: bigInventory(100), Exec: Synthetic(okOutcome)})
	tests := []struct {
		expr  string
		total int
		want  []int
	}{
		{"1 10% 100%", 100, []int{1, 10, 89}},
		{"5 +10", 100, []int{5, 15, 25, 35, 20}},
		{"*2", 40, []int{2, 4, 8, 16, 10}},
		{"3", 10, []int{3, 3, 3, 1}},
		{"10%", 7, []int{1, 1, 1, 1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			id, _ := c.submit(rollingBody(tt.total, tt.expr, 1))
			snap, err := s.WaitFinished(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(snap.Batches, tt.want) || snap.Status != StatusSuccess {
				t.Fatalf("batches %v status %d, want %v 3", snap.Batches, snap.Status, tt.want)
			}
			i := 0
			for b, n := range tt.want {
				for range n {
					if snap.Targets[i].Batch != b+1 {
						t.Fatalf("target %d in batch %d, want %d", i, snap.Targets[i].Batch, b+1)
					}
					i++
				}
			}
		})
	}
}

// failOn fails the targets with the given host ids.
func failOn(ids ...int64) func(Target) Outcome {
	return func(tg Target) Outcome {
		for _, id := range ids {
			if tg.HostID == id {
				return Outcome{ExitCode: 2, Log: "boom\n"}
			}
		}
		return Outcome{Log: "ok\n"}
	}
}

type cbServer struct {
	mu     sync.Mutex
	got    []CallbackRecord
	status []int
	srv    *httptest.Server
}

func newCallbackServer(t *testing.T, statuses ...int) *cbServer {
	t.Helper()
	cs := &cbServer{status: statuses}
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		buf := make([]byte, 4096)
		n, _ := r.Body.Read(buf)
		body = buf[:n]
		cs.mu.Lock()
		cs.got = append(cs.got, CallbackRecord{ContentType: r.Header.Get("Content-Type"), Body: body})
		st := http.StatusOK
		if len(cs.status) > 0 {
			st, cs.status = cs.status[0], cs.status[1:]
		}
		cs.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *cbServer) received() []CallbackRecord {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]CallbackRecord(nil), cs.got...)
}

func TestRollingModes(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Inventory: bigInventory(10), Exec: Synthetic(failOn(4, 10))})
	t.Run("mode 1 stops at the failed batch", func(t *testing.T) {
		t.Parallel()
		cb := newCallbackServer(t)
		b := rollingBody(6, "3", 1)
		b["callback"] = map[string]any{"url": cb.srv.URL + "/cb"}
		id, _ := c.submit(b)
		firstID := id
		snap, err := s.WaitFinished(ctxT(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Status != StatusFail || snap.StepStatus != StatusFail {
			t.Fatalf("status %d/%d", snap.Status, snap.StepStatus)
		}
		if got := statuses(snap); !reflect.DeepEqual(got, []int{9, 9, 9, 104, 9, 9}) {
			t.Fatalf("targets %v", got)
		}
		b = rollingBody(9, "3", 1)
		b["execute_target"] = map[string]any{"host_list": []any{map[string]any{"bk_host_id": 4}, map[string]any{"bk_host_id": 5}, map[string]any{"bk_host_id": 6}, map[string]any{"bk_host_id": 7}}}
		b["rolling_config"] = map[string]any{"expression": "1"}
		id, _ = c.submit(b)
		snap, _ = s.WaitFinished(ctxT(t), id)
		if got := statuses(snap); !reflect.DeepEqual(got, []int{104, 5, 5, 5}) || snap.Status != StatusFail {
			t.Fatalf("later batches must stay 5: %v status %d", got, snap.Status)
		}
		if recs, err := s.WaitJobCallbacks(ctxT(t), firstID, 1); err != nil || recs[0].Status != StatusFail {
			t.Fatalf("callback %v %+v", err, recs)
		}
	})
	t.Run("mode 2 continues and ends 3", func(t *testing.T) {
		t.Parallel()
		id, _ := c.submit(rollingBody(9, "3", 2))
		snap, err := s.WaitFinished(ctxT(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Status != StatusSuccess || snap.StepStatus != StatusSuccess {
			t.Fatalf("status %d/%d, want 3/3", snap.Status, snap.StepStatus)
		}
		if got := statuses(snap); !reflect.DeepEqual(got, []int{9, 9, 9, 104, 9, 9, 9, 9, 9}) {
			t.Fatalf("targets %v", got)
		}
		id, _ = c.submit(rollingBody(10, "5", 2))
		snap, _ = s.WaitFinished(ctxT(t), id)
		if snap.Status != StatusSuccess || snap.StepStatus != StatusIgnoreError {
			t.Fatalf("last batch failed: status %d/%d, want 3/6", snap.Status, snap.StepStatus)
		}
	})
	t.Run("mode 3 waits for confirmation", func(t *testing.T) {
		t.Parallel()
		cb := newCallbackServer(t)
		b := rollingBody(3, "1", 3)
		b["callback"] = map[string]any{"url": cb.srv.URL + "/cb"}
		id, _ := c.submit(b)
		ctx := ctxT(t)
		snap, err := s.WaitJobStatus(ctx, id, StatusWaitingUser)
		if err != nil {
			t.Fatal(err)
		}
		if snap.StepStatus != StatusWaitingUser || !reflect.DeepEqual(statuses(snap), []int{9, 5, 5}) {
			t.Fatalf("waiting: step %d targets %v", snap.StepStatus, statuses(snap))
		}
		st := c.status(id)
		if st.data()["finished"] != false {
			t.Fatalf("7 is not finished: %s", st.raw)
		}
		r := c.post(EPOperateStep, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": id, "step_instance_id": snap.StepID, "operation_code": 13})
		if r.code() != 0 || r.data()["step_instance_id"] == nil {
			t.Fatalf("continue: %s", r.raw)
		}
		if _, err := s.WaitStepStatus(ctx, id, StatusWaitingUser); err != nil {
			t.Fatal(err)
		}
		if err := s.ConfirmContinue(id); err != nil {
			t.Fatal(err)
		}
		snap, err = s.WaitFinished(ctx, id)
		if err != nil || snap.Status != StatusSuccess {
			t.Fatalf("final %d %v", snap.Status, err)
		}
		recs, err := s.WaitJobCallbacks(ctx, id, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if rec.Status == StatusWaitingUser {
				t.Fatal("callback sent for 7")
			}
		}
		if got := cb.received(); len(got) != 1 {
			t.Fatalf("callbacks received: %d", len(got))
		}
	})
	t.Run("mode 3 failure behaves like mode 1", func(t *testing.T) {
		t.Parallel()
		b := rollingBody(6, "3", 3)
		id, _ := c.submit(b)
		ctx := ctxT(t)
		if _, err := s.WaitJobStatus(ctx, id, StatusWaitingUser); err != nil {
			t.Fatal(err)
		}
		if err := s.ConfirmContinue(id); err != nil {
			t.Fatal(err)
		}
		snap, _ := s.WaitFinished(ctx, id)
		if snap.Status != StatusFail {
			t.Fatalf("status %d", snap.Status)
		}
	})
}

func TestRollingWaitingBetweenBatches(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Inventory: bigInventory(4), Exec: Synthetic(okOutcome)})
	gate := NewGate()
	s.SetBatchHold(func(_ int64, batch int) *Gate {
		if batch == 2 {
			return gate
		}
		return nil
	})
	id, _ := c.submit(rollingBody(4, "2", 1))
	snap, err := s.WaitStepStatus(ctxT(t), id, StatusRollingWaiting)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != StatusRunning || !reflect.DeepEqual(statuses(snap), []int{9, 9, 5, 5}) {
		t.Fatalf("between batches: job %d targets %v", snap.Status, statuses(snap))
	}
	gate.Open()
	if snap, err = s.WaitFinished(ctxT(t), id); err != nil || snap.Status != StatusSuccess {
		t.Fatalf("%v %d", err, snap.Status)
	}
}

func TestTerminate(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome), StopDelay: 50 * time.Millisecond})
	gate := NewGate()
	s.SetHold(func(tg Target) *Gate {
		if tg.HostID == 102 {
			return gate
		}
		return nil
	})
	t.Cleanup(gate.Open)
	cb := newCallbackServer(t)
	b := submitBody("echo", 101, 102)
	b["callback"] = map[string]any{"url": cb.srv.URL}
	id, _ := c.submit(b)
	ctx := ctxT(t)
	if err := s.WaitRunning(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	r := c.post(EPOperateJob, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": id, "operation_code": 1})
	if r.code() != 0 || r.data()["job_instance_id"].(json.Number).String() == "" {
		t.Fatalf("terminate: %s", r.raw)
	}
	if _, ok := r.data()["job_instance_name"]; !ok {
		t.Fatalf("job_instance_name must be an explicit null: %s", r.raw)
	}
	if _, err := s.WaitJobStatus(ctx, id, StatusStopping); err != nil {
		t.Fatal(err)
	}
	snap, err := s.WaitFinished(ctx, id)
	if err != nil || snap.Status != StatusStopSuccess {
		t.Fatalf("%v %d", err, snap.Status)
	}
	held := snap.Targets[1]
	if held.Status != TargetTerminateOK || held.ErrorCode != 126 {
		t.Fatalf("held target %d/%d", held.Status, held.ErrorCode)
	}
	recs, err := s.WaitJobCallbacks(ctx, id, 1)
	if err != nil || recs[0].Status != StatusStopSuccess {
		t.Fatalf("callback %v %+v", err, recs)
	}
	wantCode(t, c.post(EPOperateJob, map[string]any{"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": id, "operation_code": 1}), CodeUnsupportedOp, "Unsupported operation")
}

func TestTerminateRealProcess(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{})
	id, _ := c.submit(submitBody("echo started; sleep 30", 101))
	ctx := ctxT(t)
	if err := s.waitFor(ctx, func() bool { tk := s.jobs[id].tasks[0]; return tk.log != nil && len(tk.log.content()) > 0 }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.UITerminate(id, StatusStopSuccess); err != nil {
		t.Fatal(err)
	}
	snap, err := s.WaitFinished(ctx, id)
	if err != nil || snap.Status != StatusStopSuccess || snap.Targets[0].Status != TargetTerminateOK {
		t.Fatalf("%v %d %d", err, snap.Status, snap.Targets[0].Status)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("kill took %v", time.Since(start))
	}
}

func TestUIHooks(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(failOn(102))})
	cb := newCallbackServer(t)
	ctx := ctxT(t)
	t.Run("terminate as 8 sends no callback", func(t *testing.T) {
		gate := NewGate()
		defer gate.Open()
		s.SetHold(func(Target) *Gate { return gate })
		b := submitBody("echo", 101)
		b["callback"] = map[string]any{"url": cb.srv.URL}
		id, _ := c.submit(b)
		if err := s.WaitRunning(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.UITerminate(id, StatusTerminated); err != nil {
			t.Fatal(err)
		}
		snap, _ := s.WaitFinished(ctx, id)
		s.SetHold(nil)
		if snap.Status != StatusTerminated {
			t.Fatalf("status %d", snap.Status)
		}
		if err := s.UITerminate(id, StatusStopSuccess); err == nil {
			t.Fatal("terminate of a finished job accepted")
		}
	})
	t.Run("force abnormal", func(t *testing.T) {
		gate := NewGate()
		defer gate.Open()
		s.SetHold(func(Target) *Gate { return gate })
		b := submitBody("echo", 101)
		b["callback"] = map[string]any{"url": cb.srv.URL}
		id, _ := c.submit(b)
		if err := s.WaitRunning(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		s.SetHold(nil)
		if err := s.ForceAbnormal(id); err != nil {
			t.Fatal(err)
		}
		recs, err := s.WaitJobCallbacks(ctx, id, 1)
		if err != nil || recs[0].Status != StatusAbnormal {
			t.Fatalf("%v %+v", err, recs)
		}
	})
	t.Run("retry failed sends another callback", func(t *testing.T) {
		before := len(s.Callbacks())
		b := submitBody("echo", 101, 102)
		b["callback"] = map[string]any{"url": cb.srv.URL}
		id, _ := c.submit(b)
		snap, _ := s.WaitFinished(ctx, id)
		if snap.Status != StatusFail {
			t.Fatalf("status %d", snap.Status)
		}
		if err := s.RetryFailed(id); err != nil {
			t.Fatal(err)
		}
		snap, _ = s.WaitFinished(ctx, id)
		// The target that succeeded keeps its status and its log (JOB's retryStepFail leaves it as it was).
		if snap.ExecuteCount != 1 || !reflect.DeepEqual(statuses(snap), []int{TargetSuccess, TargetNonZeroExit}) || snap.Targets[0].Log == "" {
			t.Fatalf("after retry: count %d targets %v log %q", snap.ExecuteCount, statuses(snap), snap.Targets[0].Log)
		}
		recs, err := s.WaitJobCallbacks(ctx, id, 2)
		if err != nil || recs[0].Status != StatusFail || recs[1].Status != StatusFail || len(s.Callbacks()) < before+2 {
			t.Fatalf("%v %+v", err, recs)
		}
	})
}

func TestAgentDownHost(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(okOutcome)})
	id, _ := c.submit(submitBody("echo", 101, 105))
	snap, err := s.WaitFinished(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != StatusFail || !reflect.DeepEqual(statuses(snap), []int{TargetSuccess, TargetAgentError}) {
		t.Fatalf("status %d targets %v", snap.Status, statuses(snap))
	}
}

func TestSyntheticTimeoutAndTags(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, Options{Exec: Synthetic(func(tg Target) Outcome {
		if tg.HostID == 101 {
			return Outcome{Duration: 5 * time.Second}
		}
		return Outcome{Tag: "tagged", LogSize: 10, LogPattern: "{label};"}
	})})
	b := submitBody("echo", 101, 102)
	b["timeout"] = 1
	id, _ := c.submit(b)
	snap, err := s.WaitFinished(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Targets[0].Status != TargetScriptTimeout || snap.Targets[1].Status != TargetSuccess {
		t.Fatalf("targets %v", statuses(snap))
	}
	if *snap.Targets[1].Tag != "tagged" || snap.Targets[1].Log != "0:10.0.0.2" {
		t.Fatalf("tag %q log %q", *snap.Targets[1].Tag, snap.Targets[1].Log)
	}
}

// TestRetryFailedRolling: code 2 on a serial rolling step re-runs the failed targets of the batch it
// stopped at, then rolls on to the next batches; on a staggered step it re-runs the failed targets of
// every batch (GseStepEventHandler.retryStepFail / retryParallelStep). Targets that succeeded keep their
// status and log.
func TestRetryFailedRolling(t *testing.T) {
	t.Parallel()
	failFirstRun := func(ids ...int64) func(Target) Outcome {
		return func(tg Target) Outcome {
			for _, id := range ids {
				if tg.HostID == id && tg.ExecuteCount == 0 {
					return Outcome{ExitCode: 1, Log: "fail\n"}
				}
			}
			return Outcome{Log: "ok\n"}
		}
	}
	t.Run("serial", func(t *testing.T) {
		t.Parallel()
		s, c := newSim(t, Options{Inventory: bigInventory(3), Exec: Synthetic(failFirstRun(2))})
		id, _ := c.submit(rollingBody(3, "1", 1))
		ctx := ctxT(t)
		snap, _ := s.WaitFinished(ctx, id)
		if snap.Status != StatusFail || !reflect.DeepEqual(statuses(snap), []int{TargetSuccess, TargetNonZeroExit, TargetWaiting}) {
			t.Fatalf("first run: %d %v", snap.Status, statuses(snap))
		}
		if err := s.RetryFailed(id); err != nil {
			t.Fatal(err)
		}
		snap, _ = s.WaitFinished(ctx, id)
		if snap.Status != StatusSuccess || snap.ExecuteCount != 1 || !reflect.DeepEqual(statuses(snap), []int{TargetSuccess, TargetSuccess, TargetSuccess}) {
			t.Fatalf("after retry: %d count %d %v", snap.Status, snap.ExecuteCount, statuses(snap))
		}
		if snap.Targets[0].Log != "ok\n" || snap.Targets[0].ExecuteCount != 0 || snap.Targets[1].ExecuteCount != 1 {
			t.Fatalf("kept target: %+v, retried: %+v", snap.Targets[0], snap.Targets[1])
		}
	})
	t.Run("staggered", func(t *testing.T) {
		t.Parallel()
		s, c := newSim(t, Options{Inventory: bigInventory(3), Exec: Synthetic(failFirstRun(1, 3))})
		b := rollingBody(3, "1", 1)
		rc := b["rolling_config"].(map[string]any)
		rc["execution_mode"], rc["batch_start_wait_fixed_ms"], rc["batch_start_wait_random_min_ms"], rc["batch_start_wait_random_max_ms"] = 2, 0, 0, 0
		id, _ := c.submit(b)
		ctx := ctxT(t)
		snap, _ := s.WaitFinished(ctx, id)
		if snap.Status != StatusFail || !reflect.DeepEqual(statuses(snap), []int{TargetNonZeroExit, TargetSuccess, TargetNonZeroExit}) {
			t.Fatalf("first run: %d %v", snap.Status, statuses(snap))
		}
		if err := s.RetryFailed(id); err != nil {
			t.Fatal(err)
		}
		snap, _ = s.WaitFinished(ctx, id)
		if snap.Status != StatusSuccess || !reflect.DeepEqual(statuses(snap), []int{TargetSuccess, TargetSuccess, TargetSuccess}) || snap.Targets[1].ExecuteCount != 0 {
			t.Fatalf("after retry: %d %v %+v", snap.Status, statuses(snap), snap.Targets[1])
		}
		if err := s.RetryFailed(id); err == nil {
			t.Fatal("a retry of a successful step was accepted")
		}
	})
}
