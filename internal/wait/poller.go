package wait

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Clock is the source of time of a Poller; tests inject a fake one.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C returns the channel on which the time is delivered when the timer
	// fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it stopped the
	// timer before it fired.
	Stop() bool
}

// RealClock is the Clock of the time package.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer wrapped as a Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Poller runs status polls on a Schedule until one reports the wait is over.
// A Poller must not be used by several Run calls at once when Rand is set.
type Poller struct {
	// Schedule gives the interval before each poll; the zero Schedule means
	// PollSchedule().
	Schedule Schedule
	// Wake, optional, triggers an immediate poll when it receives (a
	// callback arrived). Wakes that arrive together are coalesced into one
	// poll; a wake never shortens a rate-limit wait and resets nothing else.
	// A closed Wake is ignored from then on.
	Wake <-chan struct{}
	// AfterWake, when set, is the pace of the polls that follow a wake, for AfterWakeFor: a callback
	// can run ahead of what a status read shows (JOB sends it once it has written the end; a read
	// served a moment behind that write still says "running"), and the next poll on Schedule may be
	// the safety net's 15–30 s away. The pace never slows the Schedule down.
	AfterWake    time.Duration
	AfterWakeFor time.Duration
	// Clock is the source of time; nil means RealClock.
	Clock Clock
	// Rand draws the jitter; nil means the global source.
	Rand *rand.Rand
}

// errNilCheck is returned by Run when it is given no check function.
var errNilCheck = errors.New("wait: nil check function")

// Run waits Schedule.Next(n) before poll n, then calls check, until check
// reports done (Run returns nil) or an error (Run returns that error as is),
// or ctx ends (Run returns ctx.Err()). The interval is counted from the end of
// the previous poll. When check asks for a retryAfter, the next poll waits at
// least that long, even when woken. Run never sleeps past ctx.
func (p *Poller) Run(ctx context.Context, check func(ctx context.Context) (done bool, retryAfter time.Duration, err error)) error {
	if check == nil {
		return errNilCheck
	}
	clock := p.Clock
	if clock == nil {
		clock = RealClock{}
	}
	sched := p.Schedule
	if sched.isZero() {
		sched = PollSchedule()
	}
	w := waiter{clock: clock, wake: p.Wake}
	var notBefore time.Time // zero: no rate limit in force
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := sched.Next(n, p.Rand)
		if p.AfterWake > 0 && !w.wokeAt.IsZero() && clock.Now().Before(w.wokeAt.Add(p.AfterWakeFor)) {
			d = min(d, p.AfterWake)
		}
		if err := w.wait(ctx, d, notBefore); err != nil {
			return err
		}
		done, retryAfter, err := check(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		notBefore = time.Time{}
		if retryAfter > 0 {
			notBefore = clock.Now().Add(retryAfter)
		}
	}
}

// waiter is the waiting state of one Run.
type waiter struct {
	clock  Clock
	wake   <-chan struct{} // nil once closed
	wokeAt time.Time       // the last wake (zero: none yet)
}

// wait returns after d, or as soon as a wake arrives, but never before
// notBefore (when set); it returns ctx.Err() when ctx ends first.
func (w *waiter) wait(ctx context.Context, d time.Duration, notBefore time.Time) error {
	if !notBefore.IsZero() {
		if r := notBefore.Sub(w.clock.Now()); r > d {
			d = r
		}
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := w.clock.NewTimer(d)
	defer func() { t.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
			return nil
		case _, ok := <-w.wake:
			if !ok {
				w.wake = nil
				continue
			}
			w.drain()
			w.wokeAt = w.clock.Now()
			if notBefore.IsZero() {
				return nil
			}
			r := notBefore.Sub(w.clock.Now())
			if r <= 0 {
				return nil
			}
			t.Stop()
			t = w.clock.NewTimer(r)
		}
	}
}

// drain discards wakes already pending, so that they count as one.
func (w *waiter) drain() {
	for {
		select {
		case _, ok := <-w.wake:
			if !ok {
				w.wake = nil
				return
			}
		default:
			return
		}
	}
}
