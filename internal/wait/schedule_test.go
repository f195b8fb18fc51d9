package wait

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

func TestSchedule_Next(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sched Schedule
		want  []time.Duration // for n = 0, 1, 2, ...
	}{
		{name: "zero", sched: Schedule{}, want: []time.Duration{0, 0, 0}},
		{
			name:  "quick then growth then max",
			sched: Schedule{Initial: time.Second, Quick: 2, Growth: 2, Max: 5 * time.Second},
			want:  []time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name:  "quick zero grows at once",
			sched: Schedule{Initial: time.Second, Growth: 3},
			want:  []time.Duration{3 * time.Second, 9 * time.Second, 27 * time.Second},
		},
		{
			name:  "growth below one is no growth",
			sched: Schedule{Initial: time.Second, Growth: 0.5, Quick: 1},
			want:  []time.Duration{time.Second, time.Second, time.Second},
		},
		{
			name:  "nan growth is no growth",
			sched: Schedule{Initial: time.Second, Growth: math.NaN()},
			want:  []time.Duration{time.Second, time.Second},
		},
		{
			name:  "negative initial is zero",
			sched: Schedule{Initial: -time.Second, Growth: 2},
			want:  []time.Duration{0, 0},
		},
		{
			name:  "nan jitter is no jitter",
			sched: Schedule{Initial: time.Second, Jitter: math.NaN()},
			want:  []time.Duration{time.Second, time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for n, want := range tt.want {
				if got := tt.sched.Next(n, nil); got != want {
					t.Errorf("Next(%d) = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestSchedule_NextEdges(t *testing.T) {
	t.Parallel()
	s := Schedule{Initial: time.Second, Growth: 10, Quick: 1}
	if got, want := s.Next(-5, nil), time.Second; got != want {
		t.Errorf("Next(-5) = %v, want %v", got, want)
	}
	// Unbounded growth saturates instead of overflowing.
	if got := s.Next(1<<30, nil); got != time.Duration(math.MaxInt64) {
		t.Errorf("Next(huge) = %v, want max duration", got)
	}
	capped := Schedule{Initial: time.Second, Growth: 10, Max: time.Minute, Jitter: 1}
	rnd := rand.New(rand.NewPCG(1, 2))
	for n := range 1000 {
		if got := capped.Next(n, rnd); got < 0 || got > time.Minute {
			t.Fatalf("Next(%d) = %v, outside [0, 1m]", n, got)
		}
	}
}

func TestSchedule_NextJitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sched    Schedule
		lo, hi   time.Duration
		wantHits bool // both halves of the range are used
	}{
		{name: "ten percent", sched: Schedule{Initial: time.Second, Jitter: 0.1}, lo: 900 * time.Millisecond, hi: 1100 * time.Millisecond, wantHits: true},
		{name: "clamped to one", sched: Schedule{Initial: time.Second, Jitter: 5}, lo: 0, hi: 2 * time.Second, wantHits: true},
		{name: "max bounds jitter", sched: Schedule{Initial: time.Second, Jitter: 0.5, Max: time.Second}, lo: 500 * time.Millisecond, hi: time.Second},
		{name: "negative jitter is none", sched: Schedule{Initial: time.Second, Jitter: -1}, lo: time.Second, hi: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rnd := rand.New(rand.NewPCG(7, 8))
			mid := tt.sched.Initial
			var below, above bool
			for n := range 2000 {
				got := tt.sched.Next(n, rnd)
				if got < tt.lo || got > tt.hi {
					t.Fatalf("Next(%d) = %v, outside [%v, %v]", n, got, tt.lo, tt.hi)
				}
				below = below || got < mid
				above = above || got > mid
			}
			if tt.wantHits && (!below || !above) {
				t.Errorf("jitter not spread: below=%v above=%v", below, above)
			}
		})
	}
}

func TestSchedule_NextDeterministic(t *testing.T) {
	t.Parallel()
	s := PollSchedule()
	a, b := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
	for n := range 100 {
		if x, y := s.Next(n, a), s.Next(n, b); x != y {
			t.Fatalf("Next(%d) differs with the same seed: %v vs %v", n, x, y)
		}
	}
}

// pollTimes returns the times of the polls of s (each after its interval)
// until past upto.
func pollTimes(s Schedule, seed uint64, upto time.Duration) []time.Duration {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var ts []time.Duration
	var at time.Duration
	for n := 0; at < upto; n++ {
		at += s.Next(n, rnd)
		ts = append(ts, at)
	}
	return ts
}

// detect returns how many polls it takes to see a job of length l finished,
// and how late the last of them is.
func detect(ts []time.Duration, l time.Duration) (polls int, delay time.Duration) {
	i := sort.Search(len(ts), func(i int) bool { return ts[i] >= l })
	return i + 1, ts[i] - l
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// TestPollScheduleGoals simulates PollSchedule (arithmetic on the intervals,
// no waiting) over many jitter seeds.
func TestPollScheduleGoals(t *testing.T) {
	t.Parallel()
	const seeds = 50
	s := PollSchedule()
	var short, long []time.Duration
	maxPolls600, maxPolls10 := 0, 0
	for seed := range uint64(seeds) {
		ts := pollTimes(s, seed, 700*time.Second)
		// Jobs of 1–10 s, every 5 ms.
		for l := time.Second; l <= 10*time.Second; l += 5 * time.Millisecond {
			polls, d := detect(ts, l)
			short = append(short, d)
			maxPolls10 = max(maxPolls10, polls)
		}
		// Jobs of about 10 minutes (570–630 s, every 50 ms).
		for l := 570 * time.Second; l <= 630*time.Second; l += 50 * time.Millisecond {
			_, d := detect(ts, l)
			long = append(long, d)
		}
		polls, _ := detect(ts, 600*time.Second)
		maxPolls600 = max(maxPolls600, polls)
	}
	// Each job length on its own: 1 s ± 0.5 s, ..., 10 s ± 0.5 s.
	for sec := 1; sec <= 10; sec++ {
		var ds []time.Duration
		centre := time.Duration(sec) * time.Second
		for seed := range uint64(seeds) {
			ts := pollTimes(s, seed, 20*time.Second)
			for l := centre - 500*time.Millisecond; l < centre+500*time.Millisecond; l += 5 * time.Millisecond {
				_, d := detect(ts, l)
				ds = append(ds, d)
			}
		}
		if m := quantile(ds, 0.5); m > 400*time.Millisecond {
			t.Errorf("%d s jobs: median detection delay %v > 400ms", sec, m)
		}
	}
	med, p95 := quantile(short, 0.5), quantile(long, 0.95)
	t.Logf("1–10 s jobs: median delay %v, p95 %v, at most %d polls", med, quantile(short, 0.95), maxPolls10)
	t.Logf("10 min jobs: median delay %v, p95 %v, at most %d polls for 600 s", quantile(long, 0.5), p95, maxPolls600)
	if med > 400*time.Millisecond {
		t.Errorf("1–10 s jobs: median detection delay %v > 400ms", med)
	}
	if p95 > 10*time.Second {
		t.Errorf("10 min jobs: p95 detection delay %v > 10s", p95)
	}
	// 60 polls cannot be met together with the two delays above (see
	// PollSchedule); this bounds the cost instead.
	if maxPolls600 > 90 {
		t.Errorf("600 s job: %d polls > 90", maxPolls600)
	}
	// The first polls are sub-second and the cap is about 10 s.
	if first := s.Next(0, nil); first >= time.Second {
		t.Errorf("first interval %v, want sub-second", first)
	}
	if last := s.Next(1000, nil); last > 10*time.Second || last < 9*time.Second {
		t.Errorf("capped interval %v, want 9–10 s", last)
	}
}

func TestSafetySchedule(t *testing.T) {
	t.Parallel()
	s := SafetySchedule()
	rnd := rand.New(rand.NewPCG(5, 6))
	for n := range 200 {
		d := s.Next(n, rnd)
		if d < 13*time.Second || d > 30*time.Second {
			t.Fatalf("Next(%d) = %v, outside 13–30 s", n, d)
		}
	}
	if d := s.Next(100, rnd); d < 27*time.Second {
		t.Errorf("late interval %v, want near 30 s", d)
	}
	ts := pollTimes(s, 1, 600*time.Second)
	t.Logf("safety schedule: %d polls in 10 min", len(ts))
}
