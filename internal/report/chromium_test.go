package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobfastexecutescript/tooling/chromium"
)

// browserResult is a run of 320 targets: three distinct failures (two of them shared by many
// targets), targets that never ran, a few tags, and markup in labels, tags and logs that would
// flag the page if it ever ran.
func browserResult(dir string) *Result {
	logs := NewLogs(dir)
	r := &Result{Plugin: "jobFastExecuteScript", Version: "1.0.0", Language: "zh_CN", Verdict: VerdictFailure, JobURL: jobURL}
	errs := []string{"disk full on /data\nexit 28", "connection refused: 10.9.9.9:443", "segfault"}
	for i := 1; i <= 320; i++ {
		tg := Target{Label: fmt.Sprintf("0:10.0.%d.%d", i/250, i%250), Kind: KindHost, Status: 9, StatusName: "执行成功", Success: true,
			ExitCode: ptr(0), DurationMs: ptr(int64(i * 37 % 5000)), LogTail: "deployed ok", IP: fmt.Sprintf("10.0.%d.%d", i/250, i%250)}
		switch {
		case i%5 == 0:
			e := errs[0]
			if i%3 == 0 {
				e = errs[1]
			}
			if i == 55 {
				e = errs[2]
			}
			tg.Status, tg.StatusName, tg.Success, tg.ExitCode, tg.LogTail = 104, "脚本返回值非零", false, ptr(i%7+1), e
			tg.LogFile = logs.Add(tg.Label, strings.Repeat("line of output\n", 50)+"LAST LINE of "+tg.Label+"\n"+e+"\n")
		case i > 300:
			tg.Status, tg.StatusName, tg.Success, tg.NotStarted, tg.ExitCode, tg.DurationMs, tg.LogTail = 5, "等待执行", false, true, nil, nil, ""
		}
		if i%40 == 0 {
			tg.Tag = "canary"
		}
		r.Targets = append(r.Targets, tg)
	}
	r.Targets[1].Label = `<script>document.title='pwned'</script>`
	r.Targets[2].LogTail = `"><img src=x onerror="document.body.setAttribute('data-pwned','1')">`
	r.Targets[3].Tag = `</td></tr></tbody></table><img src=x onerror="document.body.setAttribute('data-pwned','1')">`
	for i := range r.Targets {
		switch class(&r.Targets[i]) {
		case 0:
			r.SuccessCount++
		case 1:
			r.FailedCount++
		default:
			r.NotStarted++
		}
	}
	r.Total = len(r.Targets)
	return r
}

// openReport writes r and opens it in a page of width × 900 px.
func openReport(ctx context.Context, t *testing.T, b *chromium.Browser, dir string, width int, fragment string) *chromium.Page {
	t.Helper()
	p, err := b.NewPage(ctx, width, 900)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, "file://"+filepath.ToSlash(filepath.Join(dir, HTMLFile))+fragment); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, "document.body.hasAttribute('data-ready')"); err != nil {
		t.Fatal(err)
	}
	return p
}

// state is what the page shows: the rendered rows' labels, classes, exit codes and groups, the
// "showing" line, the pressed filter, the sort and the URL fragment.
const stateJS = `(function () {
  var rows = document.getElementById('targets').tBodies[0].rows, out = [];
  for (var i = 0; i < rows.length; i++) {
    var c = rows[i].cells, r = {cls: rows[i].className, label: c[0].textContent, status: c[2].textContent, exit: c[3].textContent};
    out.push(r);
  }
  var p = document.querySelector('#filters button[aria-pressed="true"]');
  var s = document.querySelector('#targets th[aria-sort="ascending"],#targets th[aria-sort="descending"]');
  return {rows: out, shown: document.getElementById('shown').textContent, pressed: p ? p.getAttribute('data-f') : '',
    sort: s ? s.getAttribute('data-k') + ' ' + s.getAttribute('aria-sort') : '', hash: location.hash,
    pwned: document.body.hasAttribute('data-pwned') || document.title === 'pwned'};
})()`

type pageState struct {
	Rows []struct {
		Cls, Label, Status, Exit string
	}
	Shown, Pressed, Sort, Hash string
	Pwned                      bool
}

func readState(ctx context.Context, t *testing.T, p *chromium.Page) pageState {
	t.Helper()
	var s pageState
	if err := p.Eval(ctx, stateJS, &s); err != nil {
		t.Fatal(err)
	}
	if s.Pwned {
		t.Fatal("markup from the data ran in the page")
	}
	return s
}

func eval(ctx context.Context, t *testing.T, p *chromium.Page, js string) {
	t.Helper()
	if err := p.Eval(ctx, js, nil); err != nil {
		t.Fatal(err)
	}
}

// TestChromium opens the page in Debian's headless Chromium and uses it as a person would: the
// default order, search, sort, status filter, the URL fragment, a group expanding, a full-log link,
// and the layout at 400, 800 and 1280 px (measured from the DOM).
func TestChromium(t *testing.T) {
	if !chromium.Available() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI")
		}
		t.Skipf("%s not installed", chromium.Binary)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	r := browserResult(dir)
	if err := Write(dir, r, translator("zh_CN")); err != nil {
		t.Fatal(err)
	}
	b, err := chromium.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	failed := r.FailedCount // 64: every fifth target

	t.Run("default order: failed first, natural IP order", func(t *testing.T) {
		s := readState(ctx, t, openReport(ctx, t, b, dir, 1280, ""))
		if len(s.Rows) != 100 || s.Shown != "显示 320 / 320 个目标" || s.Pressed != "all" || s.Sort != "" {
			t.Fatalf("initial page: %d rows, %q, %q, %q", len(s.Rows), s.Shown, s.Pressed, s.Sort)
		}
		for i, row := range s.Rows[:failed] {
			if !strings.HasPrefix(row.Cls, "ng s104") || row.Status != "脚本返回值非零" {
				t.Fatalf("row %d is %+v, want a failed one", i, row)
			}
		}
		if s.Rows[failed].Cls != "ns s5" || s.Rows[failed+20].Cls != "ok s9" {
			t.Errorf("after the failed rows: %+v, then %+v", s.Rows[failed], s.Rows[failed+20])
		}
		// 0:10.0.0.5, 0:10.0.0.10, ..., 0:10.0.0.245, 0:10.0.1.0 (natural, not 0:10.0.0.10 first).
		if s.Rows[0].Label != "0:10.0.0.5" || s.Rows[1].Label != "0:10.0.0.10" || s.Rows[49].Label != "0:10.0.1.0" {
			t.Errorf("failed rows in order %q %q … %q", s.Rows[0].Label, s.Rows[1].Label, s.Rows[49].Label)
		}
	})

	t.Run("search", func(t *testing.T) {
		p := openReport(ctx, t, b, dir, 1280, "")
		eval(ctx, t, p, `var q = document.getElementById('q'); q.value = 'DISK full'; q.dispatchEvent(new Event('input'))`)
		s := readState(ctx, t, p)
		want := 0
		for _, tg := range r.Targets {
			if strings.Contains(tg.LogTail, "disk full") {
				want++
			}
		}
		if len(s.Rows) != want || want == 0 || s.Hash != "#q=DISK%20full" || s.Shown != fmt.Sprintf("显示 %d / 320 个目标", want) {
			t.Errorf("search by log text: %d rows (want %d), hash %q, %q", len(s.Rows), want, s.Hash, s.Shown)
		}
		for _, q := range []struct{ q, want string }{{"0:10.0.1.5", "0:10.0.1.5"}, {"canary", "0:10.0.0.40"}, {"exit=3", "0:10.0.0.65"}} {
			eval(ctx, t, p, `q.value = '`+q.q+`'; q.dispatchEvent(new Event('input'))`)
			s = readState(ctx, t, p)
			found := false
			for _, row := range s.Rows {
				found = found || row.Label == q.want
			}
			if !found || len(s.Rows) == 0 || len(s.Rows) == 320 {
				t.Errorf("search %q: %d rows, %q among them: %v", q.q, len(s.Rows), q.want, found)
			}
		}
		eval(ctx, t, p, `q.value = 'no such thing'; q.dispatchEvent(new Event('input'))`)
		if s = readState(ctx, t, p); len(s.Rows) != 0 || s.Shown != "没有匹配的目标" {
			t.Errorf("a search without match: %d rows, %q", len(s.Rows), s.Shown)
		}
	})

	t.Run("sort", func(t *testing.T) {
		p := openReport(ctx, t, b, dir, 1280, "#status=104")
		eval(ctx, t, p, `document.querySelector('#targets th[data-k="exit"] button').click()`)
		s := readState(ctx, t, p)
		if s.Sort != "exit ascending" || s.Hash != "#status=104&sort=exit&dir=asc" || len(s.Rows) != failed {
			t.Fatalf("after a click on the exit code: %q %q %d rows", s.Sort, s.Hash, len(s.Rows))
		}
		for i := 1; i < len(s.Rows); i++ {
			if s.Rows[i].Exit < s.Rows[i-1].Exit {
				t.Fatalf("exit codes not ascending at %d: %q then %q", i, s.Rows[i-1].Exit, s.Rows[i].Exit)
			}
		}
		eval(ctx, t, p, `document.querySelector('#targets th[data-k="exit"] button').click()`)
		s = readState(ctx, t, p)
		if s.Sort != "exit descending" || s.Rows[0].Exit != "7" || s.Rows[len(s.Rows)-1].Exit != "1" {
			t.Errorf("second click: %q, first %q last %q", s.Sort, s.Rows[0].Exit, s.Rows[len(s.Rows)-1].Exit)
		}
		for _, k := range []string{"label", "kind", "status", "duration", "tag", "log"} {
			eval(ctx, t, p, `document.querySelector('#targets th[data-k="`+k+`"] button').click()`)
			if s = readState(ctx, t, p); s.Sort != k+" ascending" || len(s.Rows) != failed {
				t.Errorf("sort by %s: %q, %d rows", k, s.Sort, len(s.Rows))
			}
		}
		var labels []string
		eval(ctx, t, p, `location.hash = '#sort=label&dir=desc'`)
		if err := p.Eval(ctx, `new Promise(function (ok) { setTimeout(function () { ok([].map.call(document.querySelectorAll('#targets tbody tr td:first-child'), function (td) { return td.textContent; }).slice(0, 3)); }, 50); })`, &labels); err != nil {
			t.Fatal(err)
		}
		if strings.Join(labels, " ") != "<script>document.title='pwned'</script> 0:10.0.1.70 0:10.0.1.69" { // '<' sorts after digits
			t.Errorf("labels by the fragment #sort=label&dir=desc: %q", labels)
		}
	})

	t.Run("filter and fragment", func(t *testing.T) {
		p := openReport(ctx, t, b, dir, 1280, "#status=failed&q=refused")
		s := readState(ctx, t, p)
		if s.Pressed != "" || len(s.Rows) == 0 || !strings.Contains(s.Hash, "q=refused") {
			t.Errorf("from the fragment: pressed %q (failed has no button of its own here), %d rows", s.Pressed, len(s.Rows))
		}
		var texts []string
		if err := p.Eval(ctx, `[].map.call(document.querySelectorAll('#filters button'), function (b) { return b.textContent; })`, &texts); err != nil {
			t.Fatal(err)
		}
		if strings.Join(texts, "|") != "全部 (320)|脚本返回值非零 (64)|等待执行 (16)|执行成功 (240)" {
			t.Errorf("filters %q: one set, named as the summary names statuses", texts)
		}
		eval(ctx, t, p, `q.value = ''; q.dispatchEvent(new Event('input')); document.querySelector('#filters button[data-f="5"]').click()`)
		s = readState(ctx, t, p)
		if s.Pressed != "5" || len(s.Rows) != 16 || s.Hash != "#status=5" || s.Rows[0].Cls != "ns s5" {
			t.Errorf("not started filter: %q, %d rows, %q", s.Pressed, len(s.Rows), s.Hash)
		}
		eval(ctx, t, p, `location.hash = '#status=%22%5D%3Cx'`)
		time.Sleep(100 * time.Millisecond)
		if s = readState(ctx, t, p); s.Pressed != "all" || s.Shown != "显示 320 / 320 个目标" {
			t.Errorf("garbage fragment: %q %q", s.Pressed, s.Shown)
		}
		eval(ctx, t, p, `document.getElementById('more').click()`)
		if s = readState(ctx, t, p); len(s.Rows) != 200 {
			t.Errorf("after \"show more\": %d rows, want 200 (a page is 100)", len(s.Rows))
		}
	})

	t.Run("group expands and filters the table", func(t *testing.T) {
		p := openReport(ctx, t, b, dir, 1280, "")
		var g struct {
			N, Open    int
			Summary    string
			Labels     string
			LabelsSeen bool
		}
		err := p.Eval(ctx, `(function () {
  var d = document.querySelectorAll('details.group'), first = d[0];
  var hidden = !first.querySelector('.labels').checkVisibility();
  first.querySelector('summary').click();
  return {n: d.length, open: document.querySelectorAll('details.group[open]').length, summary: first.querySelector('summary').textContent,
    labels: first.querySelector('.labels').textContent, labelsSeen: hidden && first.querySelector('.labels').checkVisibility()};
})()`, &g)
		if err != nil {
			t.Fatal(err)
		}
		// 64 failed: 42 "disk full", 21 "connection refused" (15 | i), the segfault alone; 239 "deployed ok".
		if g.N != 3 || g.Open != 1 || !g.LabelsSeen || !strings.HasPrefix(g.Summary, "42 个目标：输出相同 脚本返回值非零 (42)") ||
			!strings.HasPrefix(g.Labels, "0:10.0.0.5, 0:10.0.0.10, 0:10.0.0.20") {
			t.Errorf("groups %+v", g)
		}
		eval(ctx, t, p, `document.querySelector('details.group a[data-g]').click()`)
		s := readState(ctx, t, p)
		if len(s.Rows) != 42 || s.Hash != "#group=1" || s.Shown != "显示 42 / 320 个目标" {
			t.Errorf("the group's link: %d rows, %q, %q", len(s.Rows), s.Hash, s.Shown)
		}
		var only string
		if err := p.Eval(ctx, `document.getElementById('grouponly').textContent`, &only); err != nil || !strings.Contains(only, "42") {
			t.Errorf("group note %q %v", only, err)
		}
		var sameLinks int
		if err := p.Eval(ctx, `document.querySelectorAll('#targets a.same').length`, &sameLinks); err != nil || sameLinks != 42 {
			t.Errorf("%d \"same output\" links in the group's rows", sameLinks)
		}
	})

	t.Run("log tail opens", func(t *testing.T) {
		p := openReport(ctx, t, b, dir, 1280, "#q=0:10.0.0.65")
		var tail string
		err := p.Eval(ctx, `new Promise(function (ok) {
  var d = document.querySelector('#targets details');
  d.open = true;
  setTimeout(function () { var pre = d.querySelector('pre'); ok(pre ? pre.textContent : 'no pre'); }, 50);
})`, &tail)
		if err != nil || tail != "disk full on /data\nexit 28" {
			t.Errorf("opened tail %q %v", tail, err)
		}
	})

	t.Run("full log link", func(t *testing.T) {
		p := openReport(ctx, t, b, dir, 1280, "#q=0:10.0.0.65")
		var href string
		if err := p.Eval(ctx, `document.querySelector('#targets a.full').href`, &href); err != nil {
			t.Fatal(err)
		}
		if err := p.Navigate(ctx, href); err != nil {
			t.Fatal(err)
		}
		var body string
		if err := p.Eval(ctx, `document.body.innerText`, &body); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "LAST LINE of 0:10.0.0.65") || strings.Count(body, "line of output") != 50 {
			t.Errorf("the full log (%s): %.200q", href, body)
		}
		var links int
		p = openReport(ctx, t, b, dir, 1280, "#status=9")
		if err := p.Eval(ctx, `document.querySelectorAll('#targets a.full').length`, &links); err != nil || links != 0 {
			t.Errorf("%d full-log links on succeeded targets", links)
		}
	})

	for _, width := range []int{400, 800, 1280} {
		t.Run(fmt.Sprintf("layout at %d px", width), func(t *testing.T) {
			p := openReport(ctx, t, b, dir, width, "")
			var m struct {
				Cards, Overflow bool
				Narrow          []string
				Cells           int
			}
			// Each visible cell against its header word, measured in the header's own font.
			err := p.Eval(ctx, `(function () {
  var th = document.querySelectorAll('#targets thead th'), words = [];
  var probe = document.createElement('span');
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap;font:600 14px -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif';
  document.body.appendChild(probe);
  for (var i = 0; i < th.length; i++) { probe.textContent = th[i].textContent; words.push(probe.getBoundingClientRect().width); }
  var rows = document.querySelectorAll('#targets tbody tr'), narrow = [], cells = 0;
  for (var r = 0; r < Math.min(rows.length, 120); r++) {
    for (var c = 0; c < rows[r].cells.length; c++) {
      var w = rows[r].cells[c].getBoundingClientRect().width;
      cells++;
      if (w + 0.5 < words[c]) { narrow.push(th[c].textContent + ':' + Math.round(w) + '<' + Math.round(words[c])); }
    }
  }
  var tr = rows[0];
  return {cards: getComputedStyle(tr).display === 'block', narrow: narrow.slice(0, 5), cells: cells,
    overflow: document.documentElement.scrollWidth > window.innerWidth + 1};
})()`, &m)
			if err != nil {
				t.Fatal(err)
			}
			if m.Cards != (width < 700) || m.Cells < 600 || len(m.Narrow) > 0 || m.Overflow {
				t.Errorf("cards %v, %d cells, narrower than their header: %v, page wider than the window: %v", m.Cards, m.Cells, m.Narrow, m.Overflow)
			}
		})
	}
}
