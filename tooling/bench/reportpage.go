package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/report"
	"jobfastexecutescript/tooling/chromium"
)

// The report page in a browser (issue 20): a report of n targets is written by the report package and
// opened in Debian's headless Chromium (tooling/chromium, 1280 × 900 px); the page's own clock
// (performance.now(), from the start of navigation) gives the times.

// PageTimes are the measurements of one report page.
type PageTimes struct {
	Targets   int
	HTMLBytes int64
	Runs      int
	Ready     []time.Duration // navigation start → page.js has drawn the first rows and listens (interactive)
	LoadEvent []time.Duration // navigation start → load event end
	Indexed   []time.Duration // navigation start → the search text of every row built (in slices, after Ready)
	// Interactions, once the rows are indexed, each to the next frame after the change (script, style,
	// layout and paint): a search, a status filter and a sort.
	Search, Filter, Sort []time.Duration
}

// pageTargets is a fleet like the large scenario's: 1 % failed with a 30-line tail naming the target,
// the rest with a 5-line tail naming it (no two tails alike: nothing is grouped, the largest page).
func pageTargets(n int) *report.Result {
	r := &report.Result{Plugin: "jobFastExecuteScript", Version: "bench", Language: "en_US", Verdict: report.VerdictFailure}
	exit0, exit1 := 0, 1
	for i := range n {
		label := fmt.Sprintf("0:10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		d := int64(i % 7000)
		tg := report.Target{Label: label, Kind: report.KindHost, Status: 9, StatusName: "succeeded", Success: true, ExitCode: &exit0, DurationMs: &d}
		lines := 5
		if i%100 == 0 {
			tg.Status, tg.StatusName, tg.Success, tg.ExitCode, lines = 104, "non-zero exit code", false, &exit1, 30
		}
		var b strings.Builder
		for l := range lines {
			fmt.Fprintf(&b, "[%s] working through the list of things to do, step %d\n", label, l)
		}
		if !tg.Success {
			b.WriteString("ERROR: connection refused\n")
		}
		tg.LogTail = b.String()
		r.Targets = append(r.Targets, tg)
		if tg.Success {
			r.SuccessCount++
		} else {
			r.FailedCount++
		}
	}
	r.Total = n
	return r
}

// interactJS times one change of the page to the frame after it; the change is the script in %s.
const interactJS = `new Promise(function (done) {
  var t0 = performance.now();
  %s;
  document.body.offsetHeight;
  requestAnimationFrame(function () { setTimeout(function () { done(performance.now() - t0); }, 0); });
})`

// MeasureReportPage writes a report of n targets in a temporary folder and opens it runs times,
// each time searching, filtering and sorting.
func MeasureReportPage(ctx context.Context, n, runs int, log io.Writer) (*PageTimes, error) {
	if !chromium.Available() {
		return nil, fmt.Errorf("%s is not installed", chromium.Binary)
	}
	tmp, err := os.MkdirTemp("", "report-page-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "report")
	r := pageTargets(n)
	if err := report.Write(dir, r, i18n.ParseLang("en_US").Translator()); err != nil {
		return nil, err
	}
	fi, err := os.Stat(filepath.Join(dir, report.HTMLFile))
	if err != nil {
		return nil, err
	}
	pt := &PageTimes{Targets: n, HTMLBytes: fi.Size(), Runs: runs}
	b, err := chromium.Start(filepath.Join(tmp, "profile"))
	if err != nil {
		return nil, err
	}
	defer b.Close()
	url := "file://" + filepath.ToSlash(filepath.Join(dir, report.HTMLFile))
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for run := range runs {
		p, err := b.NewPage(ctx, 1280, 900)
		if err != nil {
			return nil, err
		}
		if err := p.Navigate(ctx, url); err != nil {
			return nil, err
		}
		if err := p.WaitFor(ctx, "document.body.hasAttribute('data-ready')"); err != nil {
			return nil, err
		}
		if err := p.WaitFor(ctx, "document.body.hasAttribute('data-indexed')"); err != nil {
			return nil, err
		}
		var load struct{ Ready, Load, Indexed float64 }
		if err := p.Eval(ctx, `({ready: +document.body.getAttribute('data-ready'), load: performance.getEntriesByType('navigation')[0].loadEventEnd,
  indexed: +document.body.getAttribute('data-indexed')})`, &load); err != nil {
			return nil, err
		}
		pt.Ready = append(pt.Ready, ms(load.Ready))
		pt.LoadEvent = append(pt.LoadEvent, ms(load.Load))
		pt.Indexed = append(pt.Indexed, ms(load.Indexed))
		steps := []struct {
			into *[]time.Duration
			js   string
		}{
			{&pt.Search, `var q = document.getElementById('q'); q.value = 'refused'; q.dispatchEvent(new Event('input'))`}, // the 300 failed
			{&pt.Search, `q.value = '10.0.117.3'; q.dispatchEvent(new Event('input'))`},                                    // a few labels
			{&pt.Search, `q.value = 'working'; q.dispatchEvent(new Event('input'))`},                                       // every target
			{&pt.Search, `q.value = ''; q.dispatchEvent(new Event('input'))`},                                              // cleared
			{&pt.Filter, `document.querySelector('#filters button[data-f="104"]').click()`},                                // failed status
			{&pt.Filter, `document.querySelector('#filters button[data-f="9"]').click()`},                                  // succeeded
			{&pt.Filter, `document.querySelector('#filters button[data-f="all"]').click()`},                                // all
			{&pt.Sort, `document.querySelector('#targets th[data-k="duration"] button').click()`},                          // first sort by duration
			{&pt.Sort, `document.querySelector('#targets th[data-k="duration"] button').click()`},                          // descending
			{&pt.Sort, `document.querySelector('#targets th[data-k="label"] button').click()`},                             // by label
		}
		var each []string
		for _, st := range steps {
			var took float64
			if err := p.Eval(ctx, fmt.Sprintf(interactJS, st.js), &took); err != nil {
				return nil, err
			}
			*st.into = append(*st.into, ms(took))
			each = append(each, fmt.Sprintf("%.0f", took))
		}
		if log != nil {
			fmt.Fprintf(log, "report page run %d: ready %.0f ms, load %.0f ms, indexed %.0f ms; search, filter, sort (ms): %s\n",
				run+1, load.Ready, load.Load, load.Indexed, strings.Join(each, " "))
		}
	}
	return pt, nil
}

// Markdown is the measurements as a table. The first load is that of a fresh Chromium (its first
// renderer, cold caches), shown apart from the later loads in the same browser.
func (pt *PageTimes) Markdown(m Machine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Report page of %d targets, %.1f MB of HTML, %d loads in headless Chromium at 1280 × 900 px (%s)\n\n",
		pt.Targets, float64(pt.HTMLBytes)/1e6, pt.Runs, m.String())
	b.WriteString("| measure | n | median | max | goal | met |\n|---|---:|---:|---:|---|---|\n")
	row := func(name string, ds []time.Duration, goal time.Duration) {
		if len(ds) == 0 {
			return
		}
		p50, worst := DurationQuantile(ds, 0.5), DurationQuantile(ds, 1)
		g, met := "—", "—"
		if goal > 0 {
			g, met = fmt.Sprintf("≤ %d ms", goal.Milliseconds()), "yes"
			if worst > goal {
				met = "no"
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %d ms | %d ms | %s | %s |\n", name, len(ds), p50.Milliseconds(), worst.Milliseconds(), g, met)
	}
	first := func(ds []time.Duration) []time.Duration { return ds[:min(1, len(ds))] }
	later := func(ds []time.Duration) []time.Duration { return ds[min(1, len(ds)):] }
	row("first load, fresh Chromium: navigation start → interactive (first rows drawn, handlers installed)", first(pt.Ready), 1500*time.Millisecond)
	row("later loads: navigation start → interactive", later(pt.Ready), 1500*time.Millisecond)
	row("first load: navigation start → load event end", first(pt.LoadEvent), 0)
	row("later loads: navigation start → load event end", later(pt.LoadEvent), 0)
	row("later loads: navigation start → search text of every row built (in slices after interactive)", later(pt.Indexed), 0)
	row("search (4 queries a load) → next frame", pt.Search, 200*time.Millisecond)
	row("status filter (3 buttons a load) → next frame", pt.Filter, 200*time.Millisecond)
	row("sort (3 clicks a load, the first builds the keys) → next frame", pt.Sort, 200*time.Millisecond)
	return b.String()
}
