package wait

import (
	"math"
	"math/rand/v2"
	"time"
)

// Schedule describes the intervals between status polls: Quick polls at
// Initial, then intervals growing by Growth per poll up to Max, each jittered
// by ±Jitter.
//
// The zero Schedule gives zero intervals (poll back to back); Poller treats a
// zero Schedule as PollSchedule.
type Schedule struct {
	// Initial is the interval before each of the first Quick polls, and the
	// base the growth starts from.
	Initial time.Duration
	// Max bounds every interval, jitter included. Zero or negative means no
	// bound.
	Max time.Duration
	// Growth multiplies the interval once per poll after the first Quick
	// polls. Values below 1 (and NaN) mean no growth.
	Growth float64
	// Jitter is the relative spread of each interval: an interval of base b
	// is drawn uniformly from [b·(1−Jitter), b·(1+Jitter)], then bounded by
	// Max. It is clamped to 0..1.
	Jitter float64
	// Quick is how many polls happen at Initial before the growth starts.
	Quick int
}

// PollSchedule returns the schedule of the poll mode: 20 polls 500 ms apart
// (the first 10 s), then ×1.5 per poll up to 10 s, with ±10 % jitter.
//
// Simulated over the schedule (see TestPollScheduleGoals): a job of any length
// from 1 s to 10 s is noticed with a median delay of at most about 0.35 s
// (0.25 s over all of them); a 10-minute job takes about 86 status requests
// and is noticed with a p95 delay of about 9.3 s. A 10-minute job cannot take
// 60 requests or fewer with these delays: a p95 delay of at most 10 s needs
// intervals of at most about 10.5 s near the end (56 polls for the last
// 590 s), and a median delay of at most 400 ms for 1–10 s jobs needs at least
// 12 polls between 1 s and 10 s.
func PollSchedule() Schedule {
	return Schedule{
		Initial: 500 * time.Millisecond,
		Quick:   20,
		Growth:  1.5,
		Max:     10 * time.Second,
		Jitter:  0.1,
	}
}

// SafetySchedule returns the slow safety-net schedule of the callback mode,
// where a callback normally wakes the poll loop: 15 s, growing by ×1.25 per
// poll up to 30 s, with ±10 % jitter.
func SafetySchedule() Schedule {
	return Schedule{
		Initial: 15 * time.Second,
		Quick:   1,
		Growth:  1.25,
		Max:     30 * time.Second,
		Jitter:  0.1,
	}
}

// Next returns the interval before poll n (0-based; a negative n counts as
// 0). The jitter is drawn from rnd, or from the global source when rnd is nil.
// Next never returns a negative duration.
func (s Schedule) Next(n int, rnd *rand.Rand) time.Duration {
	if n < 0 {
		n = 0
	}
	base := float64(s.Initial)
	if base < 0 {
		base = 0
	}
	if n >= s.Quick && s.Growth > 1 {
		base *= math.Pow(s.Growth, float64(n-max(s.Quick, 0)+1))
	}
	limit := float64(math.MaxInt64)
	if s.Max > 0 {
		limit = float64(s.Max)
	}
	base = math.Min(base, limit)
	if j := math.Min(s.Jitter, 1); j > 0 {
		var u float64
		if rnd != nil {
			u = rnd.Float64()
		} else {
			u = rand.Float64()
		}
		base *= 1 + j*(2*u-1)
	}
	base = math.Min(base, limit)
	if !(base > 0) { // also catches NaN
		return 0
	}
	if base >= float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(base)
}

// isZero reports whether s is the zero Schedule.
func (s Schedule) isZero() bool {
	return s == Schedule{}
}
