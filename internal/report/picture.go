package report

import (
	"sort"
	"strconv"
)

// The run picture is a list of bars, each an inline SVG beside its label (HTML text, readable at any
// width): one bar for the whole run (a segment per status, failed statuses first), then one per
// batch of a rolling job and one per attempt when the step retried. All coordinates are computed
// here; the template only writes numbers and escaped text.

const picBarW = 800 // a bar's viewBox width; the SVG stretches it to the room there is

// picture is the data of the bars.
type picture struct {
	Title string
	Rows  []picRow
	Note  string // how batches were attributed
}

// picRow is one bar with its label.
type picRow struct {
	Label string
	Segs  []picSeg
}

// picSeg is one coloured part of a bar.
type picSeg struct {
	X, W  string // formatted viewBox units
	Class string // ok, ng or ns
	Title string
}

// newPicture draws the run; nil when there are no targets.
func newPicture(r *Result, t Translator) *picture {
	if len(r.Targets) == 0 {
		return nil
	}
	p := &picture{Title: t("report.picture")}
	// The whole run, by status.
	type st struct {
		code, class, n int
		name           string
	}
	by := map[int]*st{}
	for i := range r.Targets {
		tg := &r.Targets[i]
		s := by[tg.Status]
		if s == nil {
			s = &st{code: tg.Status, class: class(tg), name: statusName(tg)}
			by[tg.Status] = s
		}
		s.n++
	}
	list := make([]*st, 0, len(by))
	for _, s := range by {
		list = append(list, s)
	}
	rank := [3]int{2, 0, 1}
	sort.Slice(list, func(i, j int) bool {
		if rank[list[i].class] != rank[list[j].class] {
			return rank[list[i].class] < rank[list[j].class]
		}
		return list[i].code < list[j].code
	})
	parts := make([]part, 0, len(list))
	for _, s := range list {
		parts = append(parts, part{n: s.n, class: classNames[s.class], title: t("report.filter_count", s.name, s.n)})
	}
	p.add(t("report.picture_run", formatCount(len(r.Targets))), parts)
	for _, b := range r.Batches {
		p.add(t("report.picture_batch", b.Number, b.Total), counts(b.Total, b.SuccessCount, b.FailedCount, b.NotStarted, t))
	}
	if len(r.Batches) > 0 {
		p.Note = t("report.batches_note")
	}
	if len(r.Attempts) > 1 {
		for _, a := range r.Attempts {
			p.add(t("report.picture_attempt", a.Number, a.Total), counts(a.Total, a.SuccessCount, a.FailedCount, a.NotStarted, t))
		}
	}
	return p
}

var classNames = [3]string{"ok", "ng", "ns"}

type part struct {
	n            int
	class, title string
}

// counts is a bar of succeeded, failed and not started targets out of total.
func counts(total, ok, failed, notStarted int, t Translator) []part {
	out := []part{
		{n: failed, class: "ng", title: t("report.filter_count", t("report.failed"), failed)},
		{n: notStarted, class: "ns", title: t("report.filter_count", t("report.not_started"), notStarted)},
		{n: ok, class: "ok", title: t("report.filter_count", t("report.success"), ok)},
	}
	if rest := total - ok - failed - notStarted; rest > 0 {
		out = append(out, part{n: rest, class: "un", title: strconv.Itoa(rest)})
	}
	return out
}

// add appends a bar whose segments are proportional to the parts' counts (a part of at least one
// target is at least 2 units wide, so that one failure in 30,000 still shows).
func (p *picture) add(label string, parts []part) {
	row := picRow{Label: label}
	total := 0
	for _, pt := range parts {
		if pt.n > 0 {
			total += pt.n
		}
	}
	if total > 0 {
		x := 0.0
		for _, pt := range parts {
			if pt.n <= 0 {
				continue
			}
			w := max(float64(pt.n)/float64(total)*picBarW, 2)
			if x+w > picBarW {
				w = max(picBarW-x, 0)
			}
			row.Segs = append(row.Segs, picSeg{X: num(x), W: num(w), Class: pt.class, Title: pt.title})
			x += w
		}
	}
	p.Rows = append(p.Rows, row)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
