package jobsim

import (
	"math/rand/v2"
	"time"
)

// maxStaggeredBatches is JOB's job.execute.rolling.scatter.max-batch default (docs/JOB.md#staggered-rolling).
const maxStaggeredBatches = 200

// dispatchTimes is ScatterBatchTimeCalculator.computeDispatchTimes: batch 1 at base, batch k at batch
// k-1's time + fixed + a uniform draw from [min, max] (inclusive, one draw per batch; max below min
// counts as min).
func dispatchTimes(base int64, n int, fixed, lo, hi int64) []int64 {
	out := make([]int64, n)
	if n == 0 {
		return out
	}
	fixed, lo = max(fixed, 0), max(lo, 0)
	hi = max(hi, lo)
	out[0] = base
	for i := 1; i < n; i++ {
		r := lo
		if hi > lo {
			r = lo + rand.Int64N(hi-lo+1) //nolint:gosec // timing jitter, as JOB's ThreadLocalRandom
		}
		out[i] = out[i-1] + fixed + r
	}
	return out
}

// startStaggered runs batch 1 now and schedules the others at their dispatch times, without waiting
// for earlier batches to end (GseStepEventHandler.scheduleParallelScatterBatches); s.mu held.
func (s *Sim) startStaggered(j *job, now int64) {
	j.dispatch = dispatchTimes(now, len(j.batches), j.waitFixed, j.waitMin, j.waitMax)
	j.batchPending = make([]int, len(j.batches))
	j.batchesDone = 0
	execNo := j.executeCount
	s.runStaggeredBatch(j, 0)
	for b := 1; b < len(j.batches); b++ {
		s.after(time.Duration(j.dispatch[b]-now)*time.Millisecond, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if j.status == StatusRunning && j.executeCount == execNo {
				s.runStaggeredBatch(j, b)
			}
		})
	}
}

// runStaggeredBatch starts batch b's targets; s.mu held.
func (s *Sim) runStaggeredBatch(j *job, b int) {
	j.cur = max(j.cur, b) // JOB keeps its own batch pointer at 1; cur only serves the simulator
	works := s.startTasks(j, b)
	j.batchPending[b] = len(works)
	s.notify()
	if len(works) == 0 {
		s.staggeredBatchDone(j)
		return
	}
	for _, w := range works {
		s.exec.enqueue(w)
	}
}

// staggeredTaskDone counts a finished target of batch b; s.mu held.
func (s *Sim) staggeredTaskDone(j *job, b int) {
	j.batchPending[b]--
	if j.batchPending[b] == 0 {
		s.staggeredBatchDone(j)
	}
}

// staggeredBatchDone ends the step when the last batch ends, with the worst batch's status
// (ScatterStepConverger.aggregateParallelStepStatus; rolling mode ignored); s.mu held.
func (s *Sim) staggeredBatchDone(j *job) {
	j.batchesDone++
	if j.status == StatusStopping {
		for _, n := range j.batchPending {
			if n > 0 {
				return
			}
		}
		s.finishStop(j) // batches not yet dispatched never start
		return
	}
	if j.status != StatusRunning || j.batchesDone < len(j.batches) {
		return
	}
	for _, tk := range j.tasks {
		if !targetSuccess(tk.status) {
			s.finishJob(j, StatusFail, StatusFail)
			return
		}
	}
	s.finishJob(j, StatusSuccess, StatusSuccess)
}

// Dispatch returns the planned start of each staggered batch of job id (ms since the epoch), nil for
// other jobs.
func (s *Sim) Dispatch(id int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.id == id {
			return append([]int64(nil), j.dispatch...)
		}
	}
	return nil
}
