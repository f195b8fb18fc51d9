package bench

import (
	"context"
	"math/rand/v2"
	"time"

	"jobfastexecutescript/internal/wait"
)

// Replay runs the plugin's real poll loop (wait.Poller with sched) against one job on a virtual clock,
// so that jobs of any length cost no wall time. The loop starts at 0 (the submit's answer); the job
// ends at length; each status request takes rtt; the first request that arrives at or after length
// sees the job finished. With callback set, JOB's callback wakes the loop at length (as it does in
// callback mode). It returns the number of status requests and the detection delay (that request's
// arrival − length). seed draws the schedule's jitter.
func Replay(sched wait.Schedule, length, rtt time.Duration, callback bool, seed uint64) (int, time.Duration) {
	clock := &virtualClock{wakeAt: -1}
	p := wait.Poller{Schedule: sched, Clock: clock, Rand: rand.New(rand.NewPCG(seed, 0x6a6f62))}
	if callback {
		clock.wake = make(chan struct{}, 1)
		clock.wakeAt = length
		p.Wake = clock.wake
	}
	requests := 0
	var delay time.Duration
	// Run only returns when check says done: the virtual clock never blocks.
	_ = p.Run(context.Background(), func(context.Context) (bool, time.Duration, error) {
		requests++
		arrival := clock.now
		clock.now += rtt
		if arrival >= length {
			delay = arrival - length
			return true, 0, nil
		}
		return false, 0, nil
	})
	return requests, delay
}

// BaselineSchedule is the baseline policy as a wait.Schedule: BaselineInterval before every poll,
// counted from the end of the previous one, no growth, no jitter (Thread.sleep(2000) in a loop).
func BaselineSchedule() wait.Schedule {
	return wait.Schedule{Initial: BaselineInterval}
}

// virtualClock is a wait.Clock whose timers fire at once, moving the time forward; a pending callback
// wake is delivered instead when it comes first.
type virtualClock struct {
	now    time.Duration
	wakeAt time.Duration // < 0: no callback pending
	wake   chan struct{}
}

var virtualEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Now returns the virtual time.
func (c *virtualClock) Now() time.Time { return virtualEpoch.Add(c.now) }

// NewTimer moves the time to the timer's end and fires it, unless the callback wake is due first: then
// the time moves to the wake, the wake is sent and the timer never fires.
func (c *virtualClock) NewTimer(d time.Duration) wait.Timer {
	t := &virtualTimer{ch: make(chan time.Time, 1)}
	if c.wake != nil && c.wakeAt >= 0 && c.now+d >= c.wakeAt {
		c.now = max(c.now, c.wakeAt)
		c.wakeAt = -1
		c.wake <- struct{}{}
		return t
	}
	c.now += d
	t.ch <- c.Now()
	return t
}

type virtualTimer struct{ ch chan time.Time }

func (t *virtualTimer) C() <-chan time.Time { return t.ch }

func (t *virtualTimer) Stop() bool { return false }
