package plugin

import (
	"sort"

	"jobfastexecutescript/internal/report"
)

// rollingBatches attributes the targets of a finished rolling job to its batches, for the report.
// JOB's results name no batch per target, so the step infers them: it orders the targets that ran
// by start time and cuts them into the batch sizes of the rolling expression (JOB's own arithmetic,
// rolling.Expr.Batches); the targets that never ran fill the batches after them. The attribution is
// kept only when the times prove it: every target that ran has a start time, whole batches ran, and
// each batch started at or after the end of every target of the batch before. Otherwise, and for
// staggered rolling (batches overlap by design), it returns nil and the report shows no batches.
func (s *step) rollingBatches(targets []*target) []report.Batch {
	if s.cfg.Rolling == nil || s.cfg.Rolling.Staggered || len(targets) == 0 {
		return nil
	}
	sizes, err := s.cfg.Rolling.Expr.Batches(len(targets))
	if err != nil || len(sizes) < 2 {
		return nil
	}
	var ran []*target
	for _, t := range targets {
		if t.notStarted() {
			continue
		}
		if t.res.StartTime == nil {
			return nil
		}
		ran = append(ran, t)
	}
	sort.SliceStable(ran, func(i, j int) bool { return *ran[i].res.StartTime < *ran[j].res.StartTime })
	out := make([]report.Batch, 0, len(sizes))
	next := 0
	var prevEnd int64
	for i, size := range sizes {
		b := report.Batch{Number: i + 1, Total: size}
		switch {
		case next+size <= len(ran):
			batch := ran[next : next+size]
			next += size
			var end int64
			for _, t := range batch {
				if i > 0 && *t.res.StartTime < prevEnd {
					return nil // it started before the batch before had ended: not that batch
				}
				if t.res.EndTime == nil {
					if next < len(ran) {
						return nil // a later batch ran while this one had not ended
					}
				} else {
					end = max(end, *t.res.EndTime)
				}
				if t.ok {
					b.SuccessCount++
				} else {
					b.FailedCount++
				}
			}
			prevEnd = end
		case next == len(ran):
			b.NotStarted = size
		default:
			return nil // part of a batch ran: the sizes do not fit what happened
		}
		out = append(out, b)
	}
	return out
}
