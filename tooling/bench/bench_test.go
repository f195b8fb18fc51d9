package bench

import (
	"context"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jobfastexecutescript/internal/wait"
	"jobfastexecutescript/tooling/jobsim"
)

var (
	shared     *Harness
	sharedErr  error
	sharedOnce sync.Once
)

// sharedHarness builds the plugin and starts the simulator once for the benchmarks.
func sharedHarness(b *testing.B) *Harness {
	b.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = New(context.Background(), Options{})
	})
	if sharedErr != nil {
		b.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{5}, 0.5, 5},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{4, 1, 3, 2}, 0, 1},
		{[]float64{4, 1, 3, 2}, 1, 4},
		{[]float64{0, 10}, 0.95, 9.5},
		{[]float64{3, 1, 2}, 0.5, 2},
	}
	for _, tc := range tests {
		if got := Quantile(tc.xs, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tc.xs, tc.q, got, tc.want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile(nil) is not NaN")
	}
	if got := DurationQuantile([]time.Duration{time.Second, 3 * time.Second}, 0.5); got != 2*time.Second {
		t.Errorf("DurationQuantile = %v", got)
	}
}

func TestReplayBaseline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		length    time.Duration
		rtt       time.Duration
		requests  int
		delay     time.Duration
		tolerance time.Duration
	}{
		{600 * time.Second, 0, 300, 0, 0},
		{599500 * time.Millisecond, 0, 300, 500 * time.Millisecond, 0},
		{time.Second, 0, 1, time.Second, 0},
		{2 * time.Second, 0, 1, 0, 0},
		// With a round trip, the interval counts from the end of the previous request.
		{10 * time.Second, 100 * time.Millisecond, 5, 400 * time.Millisecond, time.Millisecond},
	}
	for _, tc := range tests {
		n, d := Replay(BaselineSchedule(), tc.length, tc.rtt, false, 0)
		if n != tc.requests || d < tc.delay-tc.tolerance || d > tc.delay+tc.tolerance {
			t.Errorf("Replay(baseline, %v, rtt %v) = %d requests, delay %v; want %d, %v", tc.length, tc.rtt, n, d, tc.requests, tc.delay)
		}
	}
}

func TestReplayPollSchedule(t *testing.T) {
	t.Parallel()
	// The first 20 polls come every 500 ms ± 10 %: a 5 s job is seen by poll 10 or 11, within 0.55 s.
	for seed := range uint64(20) {
		n, d := Replay(wait.PollSchedule(), 5*time.Second, 0, false, seed)
		if n < 9 || n > 12 || d < 0 || d > 550*time.Millisecond {
			t.Errorf("seed %d: %d requests, delay %v", seed, n, d)
		}
		// Deterministic per seed.
		if n2, d2 := Replay(wait.PollSchedule(), 5*time.Second, 0, false, seed); n2 != n || d2 != d {
			t.Errorf("seed %d: replay not deterministic", seed)
		}
	}
	// A 10-minute job: the schedule caps at 10 s, so roughly 20 + 6 + 59 requests.
	n, d := Replay(wait.PollSchedule(), 10*time.Minute, 0, false, 1)
	if n < 70 || n > 100 || d > 11*time.Second {
		t.Errorf("10 min: %d requests, delay %v", n, d)
	}
}

func TestReplayCallback(t *testing.T) {
	t.Parallel()
	for _, length := range []time.Duration{time.Second, 14 * time.Second, 10 * time.Minute} {
		n, d := Replay(wait.SafetySchedule(), length, 0, true, 3)
		if d != 0 {
			t.Errorf("%v: delay %v, want 0 (the callback wakes the loop)", length, d)
		}
		// The safety net polls at most every 13.5 s (15 s − 10 %), at least every 30 s.
		if lo, hi := int(length/(30*time.Second))+1, int(length/(13500*time.Millisecond))+1; n < lo || n > hi {
			t.Errorf("%v: %d requests, want %d..%d", length, n, lo, hi)
		}
	}
}

func TestRequestUser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header, want string
	}{
		{`{"bk_app_code":"a","bk_app_secret":"s","bk_username":"bench-p00001"}`, "bench-p00001"},
		{`{"bk_app_code":"a"}`, ""},
		{`not json`, ""},
		{``, ""},
	}
	for _, tc := range tests {
		q := jobsim.Request{Header: http.Header{}}
		if tc.header != "" {
			q.Header.Set("X-Bkapi-Authorization", tc.header)
		}
		if got := requestUser(q); got != tc.want {
			t.Errorf("requestUser(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestSampleHWM(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	// The process outlives the sampling (however late the sampler starts on a loaded machine), and
	// is killed once a sample is in.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	var hwm atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { sampleHWM(cmd.Process.Pid, &hwm, stop); close(done) }()
	for deadline := time.Now().Add(20 * time.Second); hwm.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	<-done
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if hwm.Load() <= 0 {
		t.Errorf("VmHWM of a running process: %d bytes", hwm.Load())
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	r := &Report{Machine: Machine{CPU: "cpu", Cores: 2, Go: "go", OSArch: "linux/amd64"}, RSSMethod: "m",
		Rows: []Row{{Scenario: "s", Policy: "plugin", Measure: "m", N: 3, Median: "1 ms", P95: "2 ms", Met: "yes"},
			{Scenario: "t", Policy: "baseline", Measure: "m", N: 3, Median: "1 s", P95: "2 s"}}}
	md := r.Markdown()
	for _, want := range []string{"| s | plugin | m | 3 | 1 ms | 2 ms | — | — | — | yes |", "| t | baseline |", "Machine: cpu"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !r.Met() {
		t.Error("Met() = false")
	}
	r.Rows[1].Met = "no"
	if r.Met() {
		t.Error("Met() = true with a missed goal")
	}
}

// TestSmoke runs the whole suite once on a tiny plan: the real binary, the simulator, the baseline and
// the replay, so that the bench command keeps working. Figures of so few runs mean nothing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h, err := New(ctx, Options{LargeTargets: 600})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rep, err := h.RunSuite(ctx, SmokePlan())
	if err != nil {
		t.Fatal(err)
	}
	md := rep.Markdown()
	for _, want := range []string{"callback · 3 hosts", "baseline (2 s poll)", "replay, virtual clock",
		"600 targets", "first request to JOB", "linux/amd64 binary"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	for _, row := range rep.Rows {
		if row.N < 1 || row.Median == "" || strings.Contains(row.Median, "NaN") {
			t.Errorf("row %+v has no figures", row)
		}
	}
	if jobs := h.Sim.JobsCreated(); jobs < 7 {
		t.Errorf("%d jobs created, want at least 7", jobs)
	}
}

// BenchmarkCallbackExit measures job end → plugin exit in callback mode (3 hosts, 300 ms jobs).
func BenchmarkCallbackExit(b *testing.B) {
	h := sharedHarness(b)
	var ds []time.Duration
	for b.Loop() {
		r, err := h.RunPlugin(context.Background(), Job{Wait: "callback", Duration: 300 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, r.EndToExit())
	}
	reportDurations(b, ds)
}

// BenchmarkPollExit measures job end → plugin exit in poll mode for jobs of 1–10 s (one length per
// iteration, cycling).
func BenchmarkPollExit(b *testing.B) {
	h := sharedHarness(b)
	var ds []time.Duration
	i := 0
	for b.Loop() {
		r, err := h.RunPlugin(context.Background(), Job{Duration: time.Second + time.Duration(i%10)*time.Second + 370*time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, r.EndToExit())
		i++
	}
	reportDurations(b, ds)
}

// BenchmarkLarge measures job end → output.json, peak RSS and log calls for 30,000 targets, 1 KiB
// logs, 1 % failed, every log read.
func BenchmarkLarge(b *testing.B) {
	h := sharedHarness(b)
	var ds []time.Duration
	var rss, calls float64
	for b.Loop() {
		r, err := h.RunPlugin(context.Background(), Job{Large: true, LogSize: 1 << 10, FailEvery: 100, ExtractVars: true})
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, r.EndToOutput())
		rss = max(rss, float64(r.MaxRSS))
		calls = max(calls, float64(r.Requests[jobsim.EPLogs]))
	}
	reportDurations(b, ds)
	b.ReportMetric(rss/(1<<20), "peak-RSS-MB")
	b.ReportMetric(calls, "log-calls")
}

// BenchmarkReplay10Min replays the poll schedule of a 10-minute job on the virtual clock.
func BenchmarkReplay10Min(b *testing.B) {
	var reqs float64
	seed := uint64(0)
	for b.Loop() {
		n, _ := Replay(wait.PollSchedule(), 10*time.Minute, 0, false, seed)
		reqs += float64(n)
		seed++
	}
	b.ReportMetric(reqs/float64(seed), "status-requests")
}

func reportDurations(b *testing.B, ds []time.Duration) {
	b.ReportMetric(float64(DurationQuantile(ds, 0.5))/1e6, "p50-ms")
	b.ReportMetric(float64(DurationQuantile(ds, 0.95))/1e6, "p95-ms")
}
