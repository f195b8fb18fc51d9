package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumBinary is Debian's chromium, which .ci/run installs.
const chromiumBinary = "/usr/bin/chromium"

// probeScript is appended to a copy of the page. After load it records which rows the browser
// actually shows (display:none rows have no client rects), then clicks the "success" button,
// then changes the URL fragment to a status code and to garbage, recording after each step,
// and writes the records into <pre id="probe"> for --dump-dom. Each record also says whether
// any injected markup managed to run.
const probeScript = `<script>
window.addEventListener('load', function () {
  var table = document.getElementById('targets');
  var lines = [];
  function record(step) {
    var rows = table.tBodies[0].rows, n = 0, ok = 0, ng = 0, st = {};
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getClientRects().length === 0) { continue; }
      n++;
      var cls = rows[i].className.split(' ');
      if (cls[0] === 'ok') { ok++; } else { ng++; }
      st[cls[1]] = true;
    }
    lines.push(step + ': visible=' + n + ' ok=' + ok + ' ng=' + ng + ' statuses=' + Object.keys(st).sort().join(',') +
      ' filter=' + document.body.getAttribute('data-filter') + ' pressed=' + pressed() + ' class=' + table.className +
      ' shown=' + document.getElementById('shown').textContent + ' hash=' + location.hash +
      ' pwned=' + (document.body.hasAttribute('data-pwned') || document.title === 'pwned' ? 'yes' : 'no'));
  }
  function pressed() {
    var b = document.querySelectorAll('#filters button[aria-pressed="true"]'), out = [];
    for (var i = 0; i < b.length; i++) { out.push(b[i].getAttribute('data-f')); }
    return out.join(',');
  }
  function finish() {
    var out = document.createElement('pre');
    out.id = 'probe';
    out.textContent = lines.join('\n');
    document.body.appendChild(out);
  }
  function viaHash(hash, step, next) {
    window.addEventListener('hashchange', function once() {
      window.removeEventListener('hashchange', once);
      record(step);
      next();
    });
    location.hash = hash;
  }
  record('initial');
  var buttons = document.getElementById('filters').getElementsByTagName('button');
  for (var i = 0; i < buttons.length; i++) {
    if (buttons[i].getAttribute('data-f') === 'success') { buttons[i].click(); }
  }
  record('click');
  viaHash('#status=104', 'hash', function () { viaHash('#status=%22%5D%3Cx', 'garbage', finish); });
});
</script>
`

var probeRe = regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`)

// TestChromium_statusFilter opens the page in headless Chromium and exercises the status
// filter: the initial filter comes from the URL fragment, and a click switches it.
func TestChromium_statusFilter(t *testing.T) {
	if _, err := os.Stat(chromiumBinary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skipf("%s not installed", chromiumBinary)
	}
	targets, failed, waiting := manyTargets(700)
	// Markup that would flag the page if it ever ran.
	targets[1].Label = `<script>document.title='pwned'</script>`
	targets[2].LogTail = `"><img src=x onerror="document.body.setAttribute('data-pwned','1')">`
	targets[3].Tag = `</td></tr></tbody></table><img src=x onerror="document.body.setAttribute('data-pwned','1')">`
	n := len(targets)
	r := &Result{Language: "zh_CN", Verdict: VerdictFailure, Total: n, SuccessCount: n - failed - waiting,
		FailedCount: failed + waiting, Targets: targets, JobURL: jobURL}
	dir := t.TempDir()
	if err := Write(dir, r, translator("zh_CN")); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	probe := bytes.Replace(page, []byte("</body>"), []byte(probeScript+"</body>"), 1)
	probePath := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probePath, probe, 0o644); err != nil {
		t.Fatal(err)
	}

	success, notOK := n-failed-waiting, failed+waiting
	all := fmt.Sprintf("visible=%d ok=%d ng=%d statuses=s104,s5,s9 filter=all pressed=all class=f-all shown=显示 %d / %d 个目标", n, success, notOK, n, n)
	onlyFailed := fmt.Sprintf("visible=%d ok=0 ng=%d statuses=s104,s5 filter=failed pressed=failed class=f-failed shown=显示 %d / %d 个目标", notOK, notOK, notOK, n)
	later := []string{
		fmt.Sprintf("click: visible=%d ok=%d ng=0 statuses=s9 filter=success pressed=success class=f-success shown=显示 %d / %d 个目标 hash=#status=success pwned=no", success, success, success, n),
		fmt.Sprintf("hash: visible=%d ok=0 ng=%d statuses=s104 filter=104 pressed=104 class=f-104 shown=显示 %d / %d 个目标 hash=#status=104 pwned=no", failed, failed, failed, n),
		"garbage: " + all + " hash=#status=%22%5D%3Cx pwned=no",
	}
	tests := []struct {
		name, fragment, initial string
	}{
		{"no fragment", "", "initial: " + all + " hash= pwned=no"},
		{"failed", "#status=failed", "initial: " + onlyFailed + " hash=#status=failed pwned=no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dom := dumpDOM(t, "file://"+filepath.ToSlash(probePath)+tt.fragment)
			m := probeRe.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("no probe output in the dumped DOM (%d bytes)", len(dom))
			}
			got := strings.Split(m[1], "\n")
			want := append([]string{tt.initial}, later...)
			if len(got) != len(want) {
				t.Fatalf("probe output:\n%s", m[1])
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("step %d\n got %s\nwant %s", i, got[i], want[i])
				}
			}
		})
	}
}

func dumpDOM(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumBinary,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--disable-extensions", "--no-default-browser-check",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=2000", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	return stdout.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
