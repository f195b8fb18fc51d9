package wait

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose time only moves by Advance. Every NewTimer is
// announced on created, so that a test knows when Run is waiting.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	created chan time.Duration
}

type fakeTimer struct {
	clk     *fakeClock
	c       chan time.Time
	when    time.Time
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), created: make(chan time.Duration, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{clk: c, c: make(chan time.Time, 1), when: c.now.Add(d)}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.created <- d
	return t
}

// Advance moves the time on by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped || t.fired {
			continue
		}
		if !t.when.After(c.now) {
			t.fired = true
			t.c <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// recv returns the next value of ch, failing the test if none comes within
// a generous real-time bound (which only catches a hang).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		var zero T
		return zero
	}
}

// none fails the test if ch holds a value now.
func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}

// pollResult is what a scripted check returns.
type pollResult struct {
	done       bool
	retryAfter time.Duration
	err        error
}

// scripted returns a check that reports the time of each poll on polls and
// answers from script (then done).
func scripted(clk Clock, polls chan<- time.Time, script ...pollResult) func(context.Context) (bool, time.Duration, error) {
	var mu sync.Mutex
	return func(context.Context) (bool, time.Duration, error) {
		mu.Lock()
		defer mu.Unlock()
		polls <- clk.Now()
		if len(script) == 0 {
			return true, 0, nil
		}
		r := script[0]
		script = script[1:]
		return r.done, r.retryAfter, r.err
	}
}

// start runs p in the background and returns its result channel.
func start(ctx context.Context, p *Poller, check func(context.Context) (bool, time.Duration, error)) <-chan error {
	res := make(chan error, 1)
	go func() { res <- p.Run(ctx, check) }()
	return res
}

func TestPoller_FollowsSchedule(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	sched := Schedule{Initial: time.Second, Quick: 2, Growth: 2, Max: 5 * time.Second, Jitter: 0.5}
	p := &Poller{Schedule: sched, Clock: clk, Rand: rand.New(rand.NewPCG(1, 1))}
	want := rand.New(rand.NewPCG(1, 1))
	polls := make(chan time.Time, 10)
	const n = 6
	script := make([]pollResult, n-1) // n-1 "not done", then done
	res := start(t.Context(), p, scripted(clk, polls, script...))
	for i := range n {
		d := recv(t, clk.created, "timer")
		if w := sched.Next(i, want); d != w {
			t.Fatalf("interval %d = %v, want %v", i, d, w)
		}
		none(t, polls, "early poll")
		clk.Advance(d)
		recv(t, polls, "poll")
	}
	if err := recv(t, res, "result"); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestPoller_RetryAfter(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	wake := make(chan struct{}, 1)
	p := &Poller{Schedule: Schedule{Initial: time.Second}, Clock: clk, Wake: wake}
	polls := make(chan time.Time, 10)
	res := start(t.Context(), p, scripted(clk, polls, pollResult{retryAfter: 30 * time.Second}))

	clk.Advance(recv(t, clk.created, "timer"))
	recv(t, polls, "first poll")
	if d := recv(t, clk.created, "timer"); d != 30*time.Second {
		t.Fatalf("interval after retryAfter = %v, want 30s", d)
	}
	// A wake during the rate-limit wait does not poll early.
	clk.Advance(10 * time.Second)
	wake <- struct{}{}
	if d := recv(t, clk.created, "timer"); d != 20*time.Second {
		t.Fatalf("interval after wake = %v, want the remaining 20s", d)
	}
	none(t, polls, "poll during rate limit")
	clk.Advance(20 * time.Second)
	recv(t, polls, "second poll")
	if err := recv(t, res, "result"); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestPoller_RetryAfterShorterThanSchedule(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := &Poller{Schedule: Schedule{Initial: time.Minute}, Clock: clk}
	polls := make(chan time.Time, 10)
	res := start(t.Context(), p, scripted(clk, polls, pollResult{retryAfter: time.Second}))
	clk.Advance(recv(t, clk.created, "timer"))
	recv(t, polls, "first poll")
	if d := recv(t, clk.created, "timer"); d != time.Minute {
		t.Fatalf("interval = %v, want the schedule's 1m", d)
	}
	clk.Advance(time.Minute)
	recv(t, polls, "second poll")
	if err := recv(t, res, "result"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestPoller_WakeCoalescesAndResetsNothing(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	wake := make(chan struct{}, 10)
	sched := Schedule{Initial: time.Second, Growth: 2, Quick: 1}
	p := &Poller{Schedule: sched, Clock: clk, Wake: wake}
	polls := make(chan time.Time, 10)
	t0 := clk.Now()
	res := start(t.Context(), p, scripted(clk, polls, pollResult{}, pollResult{}))

	if d := recv(t, clk.created, "timer"); d != time.Second {
		t.Fatalf("first interval = %v", d)
	}
	for range 5 {
		wake <- struct{}{}
	}
	if at := recv(t, polls, "woken poll"); !at.Equal(t0) {
		t.Fatalf("woken poll at %v, want at once (%v)", at, t0)
	}
	// The five wakes made one poll; the schedule goes on with poll 1.
	if d := recv(t, clk.created, "timer"); d != 2*time.Second {
		t.Fatalf("interval after wake = %v, want Next(1) = 2s", d)
	}
	none(t, polls, "second woken poll")
	clk.Advance(2 * time.Second)
	recv(t, polls, "scheduled poll")
	if d := recv(t, clk.created, "timer"); d != 4*time.Second {
		t.Fatalf("interval = %v, want Next(2) = 4s", d)
	}
	clk.Advance(4 * time.Second)
	recv(t, polls, "last poll")
	if err := recv(t, res, "result"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// TestPoller_QuickAfterWake: after a wake the polls follow AfterWake's pace for AfterWakeFor (a
// callback ahead of the status), then the schedule's slow intervals again.
func TestPoller_QuickAfterWake(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	wake := make(chan struct{}, 1)
	p := &Poller{Schedule: Schedule{Initial: 15 * time.Second, Quick: 1, Growth: 1}, Clock: clk, Wake: wake,
		AfterWake: 500 * time.Millisecond, AfterWakeFor: time.Second}
	polls := make(chan time.Time, 10)
	res := start(t.Context(), p, scripted(clk, polls, pollResult{}, pollResult{}, pollResult{}))
	if d := recv(t, clk.created, "timer"); d != 15*time.Second {
		t.Fatalf("first interval = %v", d)
	}
	wake <- struct{}{}
	recv(t, polls, "woken poll")
	for i, want := range []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 15 * time.Second} {
		d := recv(t, clk.created, "timer")
		if d != want {
			t.Fatalf("interval %d after the wake = %v, want %v", i, d, want)
		}
		clk.Advance(d)
		recv(t, polls, "poll")
	}
	if err := recv(t, res, "result"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestPoller_ClosedWakeIgnored(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	wake := make(chan struct{})
	close(wake)
	p := &Poller{Schedule: Schedule{Initial: time.Second}, Clock: clk, Wake: wake}
	polls := make(chan time.Time, 10)
	res := start(t.Context(), p, scripted(clk, polls))
	d := recv(t, clk.created, "timer")
	none(t, polls, "poll from a closed wake")
	clk.Advance(d)
	recv(t, polls, "poll")
	if err := recv(t, res, "result"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestPoller_Ends(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name   string
		script []pollResult
		cancel bool // cancel ctx while waiting for poll 1
		polls  int
		want   error
	}{
		{name: "done at once", script: []pollResult{{done: true}}, polls: 1},
		{name: "check error", script: []pollResult{{}, {err: errBoom}}, polls: 2, want: errBoom},
		{name: "error wins over done", script: []pollResult{{done: true, err: errBoom}}, polls: 1, want: errBoom},
		{name: "cancelled", script: []pollResult{{}}, cancel: true, polls: 1, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			p := &Poller{Schedule: Schedule{Initial: time.Second}, Clock: clk}
			polls := make(chan time.Time, 10)
			res := start(ctx, p, scripted(clk, polls, tt.script...))
			for i := range tt.polls {
				clk.Advance(recv(t, clk.created, "timer"))
				recv(t, polls, "poll")
				if tt.cancel && i == tt.polls-1 {
					recv(t, clk.created, "timer")
					cancel()
				}
			}
			if err := recv(t, res, "result"); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
			none(t, polls, "extra poll")
		})
	}
}

func TestPoller_Preconditions(t *testing.T) {
	t.Parallel()
	p := &Poller{Clock: newFakeClock()}
	if err := p.Run(t.Context(), nil); err == nil {
		t.Error("Run(nil check) = nil, want an error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := p.Run(ctx, func(context.Context) (bool, time.Duration, error) { called = true; return true, 0, nil })
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("Run(cancelled ctx) = %v, called=%v; want context.Canceled without a poll", err, called)
	}
}

func TestPoller_ZeroScheduleIsPollSchedule(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := &Poller{Clock: clk}
	polls := make(chan time.Time, 1)
	res := start(t.Context(), p, scripted(clk, polls))
	d := recv(t, clk.created, "timer")
	first := PollSchedule().Initial
	if lo, hi := first*9/10, first*11/10; d < lo || d > hi {
		t.Fatalf("first interval = %v, want PollSchedule's %v ±10%%", d, first)
	}
	clk.Advance(d)
	recv(t, polls, "poll")
	if err := recv(t, res, "result"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestPoller_RealClock(t *testing.T) {
	t.Parallel()
	t.Run("tiny intervals", func(t *testing.T) {
		t.Parallel()
		p := &Poller{Schedule: Schedule{Initial: time.Millisecond, Growth: 1.5, Quick: 1, Max: 5 * time.Millisecond, Jitter: 0.2}}
		n := 0
		err := p.Run(t.Context(), func(context.Context) (bool, time.Duration, error) {
			n++
			return n == 5, 0, nil
		})
		if err != nil || n != 5 {
			t.Fatalf("Run = %v after %d polls, want nil after 5", err, n)
		}
	})
	t.Run("retry after", func(t *testing.T) {
		t.Parallel()
		p := &Poller{Schedule: Schedule{Initial: time.Millisecond}}
		var last time.Time
		n := 0
		err := p.Run(t.Context(), func(context.Context) (bool, time.Duration, error) {
			n++
			if n == 2 {
				if gap := time.Since(last); gap < 20*time.Millisecond {
					t.Errorf("second poll %v after the first, want at least 20ms", gap)
				}
				return true, 0, nil
			}
			last = time.Now()
			return false, 20 * time.Millisecond, nil
		})
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
	t.Run("wake", func(t *testing.T) {
		t.Parallel()
		wake := make(chan struct{}, 1)
		p := &Poller{Schedule: Schedule{Initial: time.Hour}, Wake: wake}
		wake <- struct{}{}
		err := p.Run(t.Context(), func(context.Context) (bool, time.Duration, error) { return true, 0, nil })
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		p := &Poller{Schedule: Schedule{Initial: time.Hour}}
		err := p.Run(ctx, func(context.Context) (bool, time.Duration, error) { return false, 0, nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
		}
	})
}
