//go:build e2e

package e2e

// Issue 5 through the binary: per-target logs, live streaming, folded tails, logMode, inert log text,
// outputs, list truncation, variables, the report and the 30,000-target run.

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/tooling/jobsim"
)

// ---- BK-CI's reading of the plugin's stdout (as internal/bkci/bkciparser_test.go models it) ----

// bkciLine is what BK-CI makes of one stdout line.
type bkciLine struct {
	command string // ::set-… command detected ("progress-rate", "output", …) or ""
	hasSub  bool
	subTag  string
	finish  bool
	level   string // "debug", "error", "warning" or ""
	message string // the message after sub-tag processing
}

var (
	reProgress   = regexp.MustCompile(`^"?::set-progress-rate`)
	reSetCommand = regexp.MustCompile(`^"?::set-(variable[ \t\n\x0B\f\r]name=|output[ \t\n\x0B\f\r]name=|gate-value[ \t\n\x0B\f\r]name=|remark[ \t\n\x0B\f\r]|error[ \t\n\x0B\f\r])`)
)

// parseBKCI mirrors CommandLineUtils.processLine and LoggerService.addNormalLine.
func parseBKCI(line string) bkciLine {
	var p bkciLine
	if reProgress.MatchString(strings.TrimFunc(line, func(r rune) bool { return r <= ' ' })) {
		p.command = "progress-rate"
	} else if m := reSetCommand.FindStringSubmatch(line); m != nil {
		p.command = strings.TrimRight(m[1], " \t\n\x0B\f\r=")
	}
	msg := line
	const flag, finish = "##subTag##", "##subTagFinish##"
	if strings.Contains(line, flag) {
		prefix, after, _ := strings.Cut(line, flag)
		parts := strings.Split(after, flag)
		p.hasSub, p.subTag = true, parts[0]
		real := parts[len(parts)-1]
		if strings.HasPrefix(real, finish) {
			p.finish = true
			real = strings.TrimPrefix(real, finish)
		}
		msg = prefix + real
	}
	for _, lv := range []string{"debug", "error", "warning"} {
		if strings.HasPrefix(msg, "##["+lv+"]") {
			p.level = lv
		}
	}
	p.message = msg
	return p
}

// inertText reports whether a message carries no level and nothing the web viewer could render.
func (p bkciLine) inertText() bool { return p.level == "" && !strings.Contains(p.message, "##[") }

// agentLines splits stdout as the agent does: at '\n' and '\r' ("\r\n" once).
func agentLines(out string) []string {
	out = strings.ReplaceAll(out, "\r\n", "\n")
	out = strings.ReplaceAll(out, "\r", "\n")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		return nil
	}
	return lines
}

// stepLog is the plugin's stdout as BK-CI sees it: per-tab messages, finish marks and the main log.
type stepLog struct {
	tabs     map[string][]string // sub-tag -> messages (finish marks excluded)
	finishes map[string]int
	main     []bkciLine // lines without a sub-tag, in order
	all      []bkciLine
	raw      []string
}

func readStepLog(t *testing.T, stdout string) *stepLog {
	t.Helper()
	l := &stepLog{tabs: map[string][]string{}, finishes: map[string]int{}}
	for _, line := range agentLines(stdout) {
		p := parseBKCI(line)
		l.all = append(l.all, p)
		l.raw = append(l.raw, line)
		switch {
		case p.hasSub && p.finish:
			l.finishes[p.subTag]++
			if p.message != "" {
				t.Errorf("finish mark with text: %q", line)
			}
		case p.hasSub:
			if l.finishes[p.subTag] > 0 {
				t.Errorf("line for tab %s after its finish mark: %q", p.subTag, line)
			}
			l.tabs[p.subTag] = append(l.tabs[p.subTag], p.message)
		default:
			l.main = append(l.main, p)
		}
	}
	return l
}

// wellFormed checks what must hold for every run: tabs only for known labels, each finished exactly
// once, every tab line inert, no ::set-… command but the plugin's progress rate, groups balanced.
func (l *stepLog) wellFormed(t *testing.T, labels []string) {
	t.Helper()
	known := map[string]bool{}
	for _, lb := range labels {
		known[lb] = true
	}
	for tag, msgs := range l.tabs {
		if !known[tag] {
			t.Errorf("unexpected log tab %q (%d lines)", tag, len(msgs))
		}
		if l.finishes[tag] != 1 {
			t.Errorf("tab %s finished %d times", tag, l.finishes[tag])
		}
	}
	for tag, n := range l.finishes {
		if _, ok := l.tabs[tag]; !ok && n > 0 && !known[tag] {
			t.Errorf("finish mark for unknown tab %q", tag)
		}
	}
	depth := 0
	for i, p := range l.all {
		line := l.raw[i]
		if p.hasSub && !p.inertText() {
			t.Errorf("tab line read as a command: %q", line)
		}
		switch p.command {
		case "":
		case "progress-rate":
			if !regexp.MustCompile(`^::set-progress-rate (0|1|0\.\d{1,4})$`).MatchString(line) {
				t.Errorf("foreign progress command: %q", line)
			}
		default:
			t.Errorf("::set-%s command in the log: %q", p.command, line)
		}
		switch {
		case strings.HasPrefix(line, "##[group]"):
			if depth != 0 {
				t.Errorf("nested group at %q", line)
			}
			depth++
		case strings.HasPrefix(line, "##[endgroup]"):
			if line != "##[endgroup]" || depth != 1 {
				t.Errorf("stray endgroup %q (depth %d)", line, depth)
			}
			depth--
		}
	}
	if depth != 0 {
		t.Errorf("%d groups left open", depth)
	}
}

// group returns the lines of the folded group whose title starts with prefix, and how many such
// groups there are.
func (l *stepLog) group(prefix string) ([]string, int) {
	var out []string
	n := 0
	for i := 0; i < len(l.raw); i++ {
		if !strings.HasPrefix(l.raw[i], "##[group]"+prefix) {
			continue
		}
		n++
		for i++; i < len(l.raw) && l.raw[i] != "##[endgroup]"; i++ {
			out = append(out, l.raw[i])
		}
	}
	return out, n
}

// index is the position of the first raw line containing s, or -1.
func (l *stepLog) index(s string) int {
	return slices.IndexFunc(l.raw, func(line string) bool { return strings.Contains(line, s) })
}

func unzwsp(s string) string { return strings.ReplaceAll(s, "\u200b", "") }

// ---- simulator set-ups ----

// fleetSim is a simulator with n fake hosts (ids 1..n, 10.x.y.z) in module 7000 of business 2,
// executed synthetically.
func fleetSim(t *testing.T, n int, outcome func(jobsim.Target) jobsim.Outcome) *jobsim.Sim {
	t.Helper()
	hosts := jobsim.FakeHosts(2, 1, n)
	ids := make([]int64, n)
	for i := range hosts {
		ids[i] = hosts[i].ID
	}
	inv := &jobsim.Inventory{
		Bizs:     []jobsim.Biz{{ID: 2, Name: "fleet"}},
		Hosts:    hosts,
		Modules:  []jobsim.Module{{ID: 7000, BizID: 2, Name: "all", HostIDs: ids}},
		Accounts: []jobsim.Account{{ID: 1, Alias: "root", BizID: 2}},
	}
	return startSim(t, jobsim.Options{Inventory: inv, Exec: jobsim.Synthetic(outcome)})
}

// fleetLabels are the labels of fleetSim's hosts, by host id (index 0 is host 1).
func fleetLabels(n int) []string {
	out := make([]string, n)
	for i, h := range jobsim.FakeHosts(2, 1, n) {
		out[i] = "0:" + h.IP
	}
	return out
}

// splitFleet returns the sorted labels of a fleet of n whose every k-th host (HostID a multiple of k)
// failed, and of the others.
func splitFleet(n, k int) (ok, bad []string) {
	for i, lb := range fleetLabels(n) {
		if (i+1)%k == 0 {
			bad = append(bad, lb)
		} else {
			ok = append(ok, lb)
		}
	}
	sortByIP(ok)
	sortByIP(bad)
	return ok, bad
}

// sortByIP sorts cloud:ip labels as the step does (docs/CONTRACT.md#labels): cloud area, then the IP
// numerically (issue 17: 0:10.0.0.2 before 0:10.0.0.10).
func sortByIP(labels []string) {
	key := func(l string) (int64, netip.Addr) {
		cloud, ip, _ := strings.Cut(l, ":")
		c, _ := strconv.ParseInt(cloud, 10, 64)
		a, _ := netip.ParseAddr(ip)
		return c, a
	}
	slices.SortFunc(labels, func(a, b string) int {
		ca, ia := key(a)
		cb, ib := key(b)
		if ca != cb {
			return cmp.Compare(ca, cb)
		}
		return ia.Compare(ib)
	})
}

func fleetStep(t *testing.T, sim *jobsim.Sim, kv ...string) *stepRun {
	return newStep(t, sim, append([]string{"hosts", "", "topoNodes", "module:7000"}, kv...)...)
}

// loggedIDs returns the resource ids asked for in every log request, and the largest request.
func loggedIDs(t *testing.T, sim *jobsim.Sim) (map[string]int, int) {
	t.Helper()
	ids := map[string]int{}
	largest := 0
	for _, q := range sim.Requests() {
		if q.Endpoint != jobsim.EPLogs {
			continue
		}
		list := gjson.GetBytes(q.Body, "execute_object_list").Array()
		largest = max(largest, len(list))
		for _, o := range list {
			ids[o.Get("resource_id").String()]++
		}
	}
	return ids, largest
}

var demoLabels = []string{"0:10.0.0.1", "0:10.0.0.2", "0:10.0.0.3"}

// ---- tests ----

// TestLogs_TabsAndFailedTails: each target's lines go to its own tab once, each tab is finished once,
// and the failed target's last 30 lines are folded in the main log.
func TestLogs_TabsAndFailedTails(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	script := `#!/bin/bash
for i in $(seq -w 1 40); do echo "L$i of $JOBSIM_TARGET_LABEL"; done
if [ "$JOBSIM_TARGET_LABEL" = 0:10.0.0.2 ]; then echo "boom" >&2; exit 3; fi
echo done
`
	res := newStep(t, sim, "scriptContent", script).run()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	l := readStepLog(t, res.Stdout)
	l.wellFormed(t, demoLabels)
	for _, lb := range demoLabels {
		msgs := l.tabs[lb]
		if l.finishes[lb] != 1 {
			t.Errorf("%s finished %d times", lb, l.finishes[lb])
		}
		for i := 1; i <= 40; i++ {
			want := fmt.Sprintf("L%02d of %s", i, lb)
			if n := strings.Count(strings.Join(msgs, "\n")+"\n", want+"\n"); n != 1 {
				t.Errorf("%s: %q printed %d times", lb, want, n)
			}
		}
		if !strings.HasSuffix(msgs[0], "job_start") {
			t.Errorf("%s: first line %q", lb, msgs[0])
		}
	}
	tail, n := l.group("0:10.0.0.2 ")
	if n != 1 {
		t.Fatalf("failed target's tail folded %d times:\n%s", n, res.Stdout)
	}
	var want []string
	for i := 11; i <= 40; i++ {
		want = append(want, fmt.Sprintf("L%02d of 0:10.0.0.2", i))
	}
	want = append(want, "boom")
	if !slices.Equal(tail, want[1:]) {
		t.Errorf("folded tail = %q\nwant %q", tail, want[1:])
	}
	for _, ok := range []string{"0:10.0.0.1 ", "0:10.0.0.3 "} {
		if _, n := l.group(ok); n != 0 {
			t.Errorf("a successful target's tail is folded: %s", ok)
		}
	}
	if i, j := l.index("failed targets (1):"), l.index("0:10.0.0.2  status: non-zero exit code  exit code: 3"); i < 0 || j != i+1 {
		t.Errorf("summary lacks the failed row:\n%s", res.Stdout)
	}
	for _, want := range []string{"succeeded: 2", "non-zero exit code: 1"} { // issue 17: counts alone, no status code
		if l.index(want) < 0 {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// gatedWriter copies writes to a buffer and closes a channel the first time the text holds want.
type gatedWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if w.want != "" && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
		w.want = ""
	}
	return len(p), nil
}

// TestLogs_LiveStreaming: with few targets, lines appear while the job still runs (the script
// waits for a file the test creates only after the first lines were printed), each exactly once,
// and a partial line is printed whole once it is complete.
func TestLogs_LiveStreaming(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"auto", "all"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			gate := filepath.Join(t.TempDir(), "gate")
			script := `#!/bin/bash
echo "before-1 $JOBSIM_TARGET_LABEL"
echo "before-2 $JOBSIM_TARGET_LABEL"
printf 'part'
while [ ! -e "$1" ]; do sleep 0.05; done
printf 'ial %s\n' "$JOBSIM_TARGET_LABEL"
echo "after $JOBSIM_TARGET_LABEL"
`
			r := newStep(t, sim, "scriptContent", script, "scriptParam", gate, "logMode", mode)
			w := &gatedWriter{want: "##subTag##0:10.0.0.3##subTag##before-2 0:10.0.0.3\n", seen: make(chan struct{})}
			r.step.Stdout = w
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd, stdout, stderr, err := r.step.Prepare(ctx)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			var res *result
			go func() {
				defer close(exited)
				ar, err := r.step.Wait(cmd, stdout, stderr, start)
				if err != nil {
					t.Error(err)
					return
				}
				res = r.finish(ar)
			}()
			// Wait for every target's first lines (all three scripts then block on the gate).
			for _, lb := range demoLabels {
				w.mu.Lock()
				w.want, w.seen = "##subTag##"+lb+"##subTag##before-2 "+lb+"\n", make(chan struct{})
				if strings.Contains(w.b.String(), w.want) {
					close(w.seen)
					w.want = ""
				}
				seen := w.seen
				w.mu.Unlock()
				select {
				case <-seen:
				case <-exited:
					t.Fatalf("the step ended before %s's lines were streamed:\n%s", lb, stdout.String())
				case <-ctx.Done():
					t.Fatalf("%s's first lines were not streamed while the job ran:\n%s", lb, stdout.String())
				}
			}
			jobs := sim.Jobs()
			if len(jobs) != 1 || jobsim.IsFinished(jobs[0].Status) {
				t.Fatalf("job state while streaming: %+v", jobs)
			}
			so := stdout.String()
			if strings.Contains(so, "job status: succeeded") || strings.Contains(so, "##subTag####subTagFinish##") {
				t.Fatalf("finished too early:\n%s", so)
			}
			if strings.Contains(so, "part") {
				t.Errorf("a partial line was printed:\n%s", so)
			}
			if err := os.WriteFile(gate, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			<-exited
			if res == nil {
				t.FailNow()
			}
			res.wantStatus(t, "success", 0, "success")
			wantSubmits(t, sim, 1, 1)
			l := readStepLog(t, res.Stdout)
			l.wellFormed(t, demoLabels)
			end := l.index("job status: succeeded (3)")
			if end < 0 {
				t.Fatalf("no final job status line:\n%s", res.Stdout)
			}
			for _, lb := range demoLabels {
				msgs := l.tabs[lb]
				want := []string{"before-1 " + lb, "before-2 " + lb, "partial " + lb, "after " + lb}
				if len(msgs) != len(want)+1 || !slices.Equal(msgs[1:], want) {
					t.Errorf("%s: tab lines %q, want job_start then %q", lb, msgs, want)
				}
				if i := l.index("##subTag##" + lb + "##subTag##before-1"); i < 0 || i > end {
					t.Errorf("%s: first line at %d, after the final status at %d", lb, i, end)
				}
			}
		})
	}
}

// fleetOutcome: hosts whose id is a multiple of 5 exit 1; every log has two lines and a variable.
func fleetOutcome(tg jobsim.Target) jobsim.Outcome {
	o := jobsim.Outcome{Log: fmt.Sprintf("first of %s\nsecond of %s\n::set-output name=seen::yes\n", tg.Label, tg.Label)}
	if tg.HostID%5 == 0 {
		o.ExitCode = 1
		o.Log += "failing " + tg.Label + "\n"
	}
	return o
}

// TestLogs_LogModes: whose logs are printed, and whose are read, for every logMode.
func TestLogs_LogModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode    string
		n       int
		extract bool
		printed string // all, failed, none
		read    string // all, failed
	}{
		{"auto", 10, false, "all", "all"},
		{"auto", 25, false, "failed", "failed"},
		{"auto", 25, true, "failed", "all"},
		{"all", 25, false, "all", "all"},
		{"all", 10, true, "all", "all"},
		{"failed", 10, false, "failed", "failed"},
		{"failed", 25, false, "failed", "failed"},
		{"failed", 25, true, "failed", "all"},
		{"none", 10, false, "none", "failed"},
		{"none", 25, true, "none", "all"},
	} {
		t.Run(fmt.Sprintf("%s-%d-extract=%t", tc.mode, tc.n, tc.extract), func(t *testing.T) {
			t.Parallel()
			sim := fleetSim(t, tc.n, fleetOutcome)
			res := fleetStep(t, sim, "logMode", tc.mode, "extractVars", strconv.FormatBool(tc.extract)).run()
			res.wantStatus(t, "failure", 1, "failed")
			wantSubmits(t, sim, 1, 1)
			labels := fleetLabels(tc.n)
			l := readStepLog(t, res.Stdout)
			l.wellFormed(t, labels)
			ids, largest := loggedIDs(t, sim)
			if largest > 500 {
				t.Errorf("a log request asked for %d objects", largest)
			}
			failed := 0
			for i, lb := range labels {
				id := i + 1
				bad := id%5 == 0
				if bad {
					failed++
				}
				wantPrinted := tc.printed == "all" || (tc.printed == "failed" && bad)
				n := strings.Count(strings.Join(l.tabs[lb], "\n")+"\n", "second of "+lb+"\n")
				if (n == 1) != wantPrinted || n > 1 || (l.finishes[lb] == 1) != wantPrinted {
					t.Errorf("%s (failed %t): printed %d times, finished %d times; want printed %t", lb, bad, n, l.finishes[lb], wantPrinted)
				}
				wantRead := tc.read == "all" || bad
				if got := ids[strconv.Itoa(id)] > 0; got != wantRead {
					t.Errorf("%s (failed %t): log read %t, want %t", lb, bad, got, wantRead)
				}
			}
			if got := res.data("failed_count"); got != strconv.Itoa(failed) {
				t.Errorf("failed_count = %s, want %d", got, failed)
			}
			// The failed targets print the same but for their own label: one folded block names them
			// all and shows the first one's tail (issue 20).
			title := fmt.Sprintf("%d targets with the same log tail (non-zero exit code, exit code 1: %d): ", failed, failed)
			var bad []string
			for i, lb := range labels {
				if (i+1)%5 == 0 {
					bad = append(bad, lb)
				}
			}
			if tail, groups := l.group(title + strings.Join(bad, ", ")); groups != 1 || !slices.Contains(tail, "failing "+bad[0]) {
				t.Errorf("the failed targets' tails folded %d times under %q: %q", groups, title, tail)
			}
			if got := res.out.Get("data.seen.value"); tc.extract != got.Exists() || (tc.extract && got.String() != "yes") {
				t.Errorf("variable seen = %s with extractVars %t", got.Raw, tc.extract)
			}
		})
	}
}

// TestLogs_InjectionInert: log text that looks like BK-CI commands stays text in every tab and in
// the folded tails, and changes no output.
func TestLogs_InjectionInert(t *testing.T) {
	t.Parallel()
	payloads := []string{
		"##[error]INJECT-error",
		"##[group]INJECT-group",
		"##[endgroup]",
		"##[warning]INJECT-warning",
		"##subTag##x##subTag##INJECT-subtag",
		"##subTag##0:10.0.0.1##subTag####subTagFinish##",
		"prefix ##subTag##x##subTag##INJECT-mid",
		"::set-output name=job_status::hacked",
		"::set-output name=success_count::999",
		`"::set-variable name=INJECT_VAR::1`,
		"  ::set-progress-rate 1",
		"::set-progress-rate 1",
		"::set-remark INJECT-remark",
		"##[command]INJECT-command",
		"\t##[debug]INJECT-debug",
	}
	var script strings.Builder
	script.WriteString("#!/bin/bash\n")
	for _, p := range payloads {
		fmt.Fprintf(&script, "printf '%%s\\n' %s\n", shellQuote(p))
	}
	script.WriteString("printf 'a\\r::set-output name=cr::INJECT-cr\\n'\n")
	script.WriteString(`if [ "$JOBSIM_TARGET_LABEL" = "$1" ]; then exit 5; fi` + "\n")
	for _, tc := range []struct {
		name, failing, status, jobStatus string
		errorType, ok                    int
	}{
		{"success", "none", "success", "success", 0, 3},
		{"failed", "0:10.0.0.2", "failure", "failed", 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			res := newStep(t, sim, "scriptContent", script.String(), "scriptParam", tc.failing).run()
			res.wantStatus(t, tc.status, tc.errorType, tc.jobStatus)
			wantSubmits(t, sim, 1, 1)
			l := readStepLog(t, res.Stdout)
			l.wellFormed(t, demoLabels)
			for _, lb := range demoLabels {
				if l.finishes[lb] != 1 {
					t.Errorf("%s finished %d times", lb, l.finishes[lb])
				}
				got := map[string]int{}
				for _, m := range l.tabs[lb] {
					got[unzwsp(m)]++
				}
				for _, p := range payloads {
					if got[p] != 1 {
						t.Errorf("%s: %q shown %d times in its tab (ZWSP removed)", lb, p, got[p])
					}
				}
			}
			if n := slices.Index(l.raw, "::set-progress-rate 1"); n < 0 || slices.Index(l.raw[n+1:], "::set-progress-rate 1") >= 0 {
				t.Errorf("the plugin's own ::set-progress-rate 1 is not exactly once")
			}
			tail, groups := l.group("0:10.0.0.2 ")
			if wantGroups := 3 - tc.ok; groups != wantGroups {
				t.Fatalf("tail folded %d times, want %d", groups, wantGroups)
			}
			for _, p := range payloads {
				if groups > 0 && !slices.ContainsFunc(tail, func(s string) bool { return unzwsp(s) == p }) {
					t.Errorf("folded tail lacks %q", p)
				}
			}
			for _, line := range tail {
				if p := parseBKCI(line); p.command != "" || p.hasSub || !p.inertText() {
					t.Errorf("folded tail line is a command: %q", line)
				}
			}
			if res.data("job_status") != tc.jobStatus || res.data("success_count") != strconv.Itoa(tc.ok) || res.out.Get("data.INJECT_VAR").Exists() {
				t.Errorf("outputs changed by log text: %s", res.Output)
			}
			if res.out.Get("data.cr.value").String() != "INJECT-cr" {
				t.Errorf("the variable after a carriage return was not extracted: %s", res.Output)
			}
			for _, name := range []string{"job_status", "success_count"} {
				if l.index(`variable "`+name+`"`) < 0 {
					t.Errorf("no warning for the reserved name %s", name)
				}
			}
		})
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestOutputs: counts, sorted target lists, job_status and job_status_code for success, failures
// within and beyond the tolerance, and total failure.
func TestOutputs(t *testing.T) {
	t.Parallel()
	script := `#!/bin/bash
echo "running on $JOBSIM_TARGET_LABEL"
case " $* " in *" $JOBSIM_TARGET_LABEL "*) job_fail "bad-$JOBSIM_TARGET_LABEL";; esac
`
	rolling2 := []string{"rollingEnabled", "true", "rollingExpression", "1", "rollingMode", "2"}
	for _, tc := range []struct {
		name      string
		failing   string
		extra     []string
		status    string
		errorType int
		jobStatus string
		code      string
		ok, bad   []string
	}{
		{"success", "none", nil, "success", 0, "success", "3", demoLabels, nil},
		{"rolling mode 2 within tolerance", "0:10.0.0.2", append([]string{"failureTolerance", "1"}, rolling2...),
			"success", 0, "success", "3", []string{"0:10.0.0.1", "0:10.0.0.3"}, []string{"0:10.0.0.2"}},
		{"rolling mode 2 within percent tolerance", "0:10.0.0.1", append([]string{"failureTolerance", "34%"}, rolling2...),
			"success", 0, "success", "3", []string{"0:10.0.0.2", "0:10.0.0.3"}, []string{"0:10.0.0.1"}},
		{"rolling mode 2 beyond tolerance", "0:10.0.0.1 0:10.0.0.3", append([]string{"failureTolerance", "33%"}, rolling2...),
			"failure", 1, "failed", "3", []string{"0:10.0.0.2"}, []string{"0:10.0.0.1", "0:10.0.0.3"}},
		// Issue 17: a job JOB ends 4 in which every target ran passes within the tolerance (it used to fail).
		{"failed job within tolerance", "0:10.0.0.3", []string{"failureTolerance", "2"},
			"success", 0, "success", "4", []string{"0:10.0.0.1", "0:10.0.0.2"}, []string{"0:10.0.0.3"}},
		{"failed job beyond tolerance", "0:10.0.0.1 0:10.0.0.3", []string{"failureTolerance", "1"},
			"failure", 1, "failed", "4", []string{"0:10.0.0.2"}, []string{"0:10.0.0.1", "0:10.0.0.3"}},
		{"total failure", "0:10.0.0.1 0:10.0.0.2 0:10.0.0.3", nil,
			"failure", 1, "failed", "4", nil, demoLabels},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			kv := append([]string{"scriptContent", script, "scriptParam", tc.failing, "hosts", "0:10.0.0.3\n#102\n10.0.0.1"}, tc.extra...)
			res := newStep(t, sim, kv...).run()
			res.wantStatus(t, tc.status, tc.errorType, tc.jobStatus)
			wantSubmits(t, sim, 1, 1)
			want := map[string]string{
				"job_status": tc.jobStatus, "job_status_code": tc.code, "total_count": "3",
				"success_count": strconv.Itoa(len(tc.ok)), "failed_count": strconv.Itoa(len(tc.bad)),
				"success_targets": strings.Join(tc.ok, ","), "failed_targets": strings.Join(tc.bad, ","),
				"job_instance_id": "10001", "step_instance_id": "100010",
				"not_started_count": "0", "not_started_targets": "",
			}
			for k, v := range want {
				if got := res.out.Get("data." + k); !got.Exists() || got.Get("value").String() != v || got.Get("type").String() != "string" {
					t.Errorf("%s = %s, want %q", k, got.Raw, v)
				}
			}
			if !strings.HasPrefix(res.data("job_instance_name"), "deploy-#7-e-task1") {
				t.Errorf("job_instance_name = %q", res.data("job_instance_name"))
			}
			l := readStepLog(t, res.Stdout)
			l.wellFormed(t, demoLabels)
			for _, lb := range tc.bad {
				if l.index(lb+"  status: non-zero exit code  exit code: 1  tag: bad-"+lb) < 0 {
					t.Errorf("summary lacks %s with its status, exit code and tag:\n%s", lb, res.Stdout)
				}
			}
			if len(tc.bad) > 0 && tc.status == "success" && !strings.Contains(res.Stdout, "within the tolerance") {
				t.Errorf("a tolerated failure is not explained:\n%s", res.Stdout)
			}
		})
	}
}

// checkList checks one target-list output against the full sorted list: at most 4000 code points,
// either the whole list or a prefix of it ending in "…(+N more)" that leaves no room for one more.
func checkList(t *testing.T, name, got string, all []string) {
	t.Helper()
	if n := utf8.RuneCountInString(got); n > 4000 {
		t.Errorf("%s has %d code points", name, n)
	}
	full := strings.Join(all, ",")
	if utf8.RuneCountInString(full) <= 4000 {
		if got != full {
			t.Errorf("%s = %.200q…, want the whole list", name, got)
		}
		return
	}
	m := regexp.MustCompile(`^(.*)…\(\+(\d+) more\)$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("%s lacks the marker: …%q", name, got[max(0, len(got)-60):])
	}
	shown := strings.Split(m[1], ",")
	more, _ := strconv.Atoi(m[2])
	if len(shown)+more != len(all) || !slices.Equal(shown, all[:len(shown)]) {
		t.Fatalf("%s: %d shown + %d more, %d in all, or not the first labels in order", name, len(shown), more, len(all))
	}
	longer := strings.Join(all[:len(shown)+1], ",") + fmt.Sprintf("…(+%d more)", more-1)
	if more > 1 && utf8.RuneCountInString(longer) <= 4000 {
		t.Errorf("%s cut too early: one more label would fit", name)
	}
}

// TestOutputs_LongListsCut: a few thousand targets give lists cut under 4000 code points with
// "…(+N more)"; the report keeps them all.
func TestOutputs_LongListsCut(t *testing.T) {
	t.Parallel()
	const n = 3000
	sim := fleetSim(t, n, func(tg jobsim.Target) jobsim.Outcome {
		if tg.HostID%3 == 0 {
			return jobsim.Outcome{ExitCode: 2, Log: "no\n"}
		}
		return jobsim.Outcome{}
	})
	res := fleetStep(t, sim, "extractVars", "false").run()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	ok, bad := splitFleet(n, 3)
	checkList(t, "success_targets", res.data("success_targets"), ok)
	checkList(t, "failed_targets", res.data("failed_targets"), bad)
	if res.data("total_count") != "3000" || res.data("success_count") != "2000" || res.data("failed_count") != "1000" {
		t.Errorf("counts: %s", res.Output)
	}
	rj := readResultJSON(t, res)
	var gotOK, gotBad []string
	for _, tg := range rj.Get("targets").Array() {
		if tg.Get("success").Bool() {
			gotOK = append(gotOK, tg.Get("label").String())
		} else {
			gotBad = append(gotBad, tg.Get("label").String())
		}
	}
	if !slices.Equal(gotOK, ok) || !slices.Equal(gotBad, bad) {
		t.Errorf("result.json lists %d/%d targets, want %d/%d in label order", len(gotOK), len(gotBad), len(ok), len(bad))
	}
	l := readStepLog(t, res.Stdout)
	// The 1,000 failed targets print the same tail: one folded block names them (issue 20).
	if tail, groups := l.group("1000 targets with the same log tail (non-zero exit code, exit code 2: 1000): " + bad[0] + ", "); groups != 1 || !slices.Equal(tail, []string{"no"}) {
		t.Errorf("the failed targets' common tail folded %d times: %q", groups, tail)
	}
	if l.index("not folded here") >= 0 || l.index("… 800 more failed targets: see the report") < 0 {
		t.Errorf("the summary does not point to the report for the rest:\n%.3000s", res.Stdout)
	}
}

func reportDir(res *result) string {
	return filepath.Join(res.ws, ".jobFastExecuteScript", "e-task1", "report")
}

func readResultJSON(t *testing.T, res *result) gjson.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(reportDir(res), "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !gjson.ValidBytes(b) {
		t.Fatalf("result.json is not valid JSON: %.300s", b)
	}
	return gjson.ParseBytes(b)
}

// TestVariables: both marker forms (plain, HTML-escaped, spanning lines), a conflict between targets,
// invalid and reserved names, a too long value, and a failed job.
func TestVariables(t *testing.T) {
	t.Parallel()
	script := `#!/bin/bash
L="$JOBSIM_TARGET_LABEL"
echo "::set-output name=ver::1.2.3"
echo "[2024-01-01 00:00:00][PID:1] ::set-output name=color::c-$L"
echo "<SOPS_VAR>sops_plain:v1 x</SOPS_VAR>"
echo "&lt;SOPS_VAR&gt;sops_esc:a&amp;b &lt;i&gt;&lt;/SOPS_VAR&gt;"
printf '<SOPS_VAR>sops_multi:line1\nline2</SOPS_VAR>\n'
printf 'x &lt;SOPS_VAR&gt;esc_multi:l1 &amp;\nl2&lt;/SOPS_VAR&gt; y\n'
echo "::set-output name=1bad::x"
echo "::set-output name=BK_CI_FOO::x"
echo "::set-output name=job_url::http://evil.example"
printf '::set-output name=long::%s\n' "$(head -c 4001 /dev/zero | tr '\0' y)"
if [ "$L" = 0:10.0.0.3 ]; then echo "::set-output name=only3::from-failed"; exit 1; fi
`
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "scriptContent", script).run()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	want := map[string]string{
		"ver": "1.2.3", "color": "c-0:10.0.0.1", "sops_plain": "v1 x", "sops_esc": "a&b <i>",
		"sops_multi": "line1\nline2", "esc_multi": "l1 &\nl2", "only3": "from-failed",
	}
	for k, v := range want {
		if got := res.data(k); got != v {
			t.Errorf("output %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"1bad", "BK_CI_FOO", "long"} {
		if res.out.Get("data." + gjson.Escape(k)).Exists() {
			t.Errorf("skipped variable %s is an output", k)
		}
	}
	if res.data("job_url") != "https://job.example.com/api_execute/10001" {
		t.Errorf("job_url overwritten: %q", res.data("job_url"))
	}
	l := readStepLog(t, res.Stdout)
	l.wellFormed(t, demoLabels)
	for _, w := range []string{
		`##[warning]variable "color" differs between targets: the value of 0:10.0.0.1 is used; others: 0:10.0.0.2, 0:10.0.0.3`,
		`##[warning]variable name "1bad" (from 0:10.0.0.1, 0:10.0.0.2, 0:10.0.0.3) is invalid; skipped`,
		`##[warning]variable "BK_CI_FOO" (from 0:10.0.0.1, 0:10.0.0.2, 0:10.0.0.3) starts with BK_CI_; skipped`,
		`##[warning]variable "job_url" (from 0:10.0.0.1, 0:10.0.0.2, 0:10.0.0.3) has the name of one of the step's own outputs; skipped`,
		`##[warning]variable "long" (from 0:10.0.0.1) is longer than 4000 characters`,
	} {
		if !slices.ContainsFunc(l.raw, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("no warning %q in:\n%s", w, res.Stdout)
		}
	}
	rj := readResultJSON(t, res)
	for k, v := range want {
		if got := rj.Get("variables." + gjson.Escape(k)).String(); got != v {
			t.Errorf("result.json variables.%s = %q", k, got)
		}
	}
	for _, tg := range rj.Get("targets").Array() {
		lb := tg.Get("label").String()
		if got := tg.Get("vars.color").String(); got != "c-"+lb {
			t.Errorf("%s: per-target color = %q", lb, got)
		}
		if got := tg.Get("vars.long").String(); got != strings.Repeat("y", 4001) {
			t.Errorf("%s: per-target long value has %d bytes", lb, len(got))
		}
		if got := tg.Get("vars.only3"); got.Exists() != (lb == "0:10.0.0.3") {
			t.Errorf("%s: only3 = %s", lb, got.Raw)
		}
	}
	c := rj.Get("variable_conflicts")
	if len(c.Array()) != 1 || c.Get("0.name").String() != "color" || c.Get("0.label").String() != "0:10.0.0.1" ||
		c.Get("0.other_labels").Raw != `["0:10.0.0.2","0:10.0.0.3"]` {
		t.Errorf("variable_conflicts = %s", c.Raw)
	}
	skipped := map[string]string{}
	for _, s := range rj.Get("skipped_variables").Array() {
		skipped[s.Get("name").String()] = s.Get("reason").String()
	}
	if !maps(skipped, map[string]string{"1bad": "invalid_name", "BK_CI_FOO": "bk_ci_prefix", "job_url": "reserved", "long": "too_long"}) {
		t.Errorf("skipped_variables = %v", skipped)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// reportRow is one row of the report's targets table.
type reportRow struct {
	class, label, kind, status, exit, tag, log, logFile string
}

var reData = regexp.MustCompile(`(?s)<script id="(meta|rows)" type="application/json">(.*?)</script>`)

// reportRows reads the targets of index.html, in the page's order, from its JSON data (the page's
// script renders them): class "ok|ng|ns s<status>", the status named as the page names it, the
// log tail (its group's when the row shares it).
func reportRows(t *testing.T, page string) []reportRow {
	t.Helper()
	var meta, rows gjson.Result
	for _, m := range reData.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[2], "<") {
			t.Errorf("the %s data holds a raw '<'", m[1])
		}
		if !gjson.Valid(m[2]) {
			t.Fatalf("the %s data is not JSON: %.300s", m[1], m[2])
		}
		if m[1] == "meta" {
			meta = gjson.Parse(m[2])
		} else {
			rows = gjson.Parse(m[2])
		}
	}
	if !meta.Exists() || !rows.IsArray() {
		t.Fatal("no targets data in index.html")
	}
	var out []reportRow
	for _, r := range rows.Array() {
		status := r.Get("s").String()
		row := reportRow{class: []string{"ok", "ng", "ns"}[r.Get("c").Int()] + " s" + status, label: r.Get("l").String(),
			kind: r.Get("k").String(), status: meta.Get("names." + status).String(), tag: r.Get("t").String(),
			log: r.Get("o").String(), logFile: r.Get("f").String()}
		if x := r.Get("x"); x.Type == gjson.Number {
			row.exit = x.Raw
		}
		if g := r.Get("g").Int(); g > 0 && row.log == "" {
			row.log = meta.Get("groups." + strconv.FormatInt(g-1, 10) + ".o").String()
		}
		out = append(out, row)
	}
	return out
}

// TestVariables_SteeringNamesRefused (issue 12, item 4): BK-CI exports outputs into later steps'
// environment, so a target must not set PATH, LD_PRELOAD, BASH_ENV or a proxy (in either case)
// through a marker. Each refused name is warned once (naming the targets) and is not an output,
// unless allowedVariables lists it; other variables are set as before.
func TestVariables_SteeringNamesRefused(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	const script = `#!/bin/bash
echo "::set-output name=PATH::/tmp/evil:$PATH"
echo "::set-output name=LD_PRELOAD::/tmp/evil.so"
echo "<SOPS_VAR>BASH_ENV:/tmp/evil.sh</SOPS_VAR>"
echo "::set-output name=https_proxy::http://evil:3128"
echo "::set-output name=HTTP_PROXY::http://evil:3128"
echo "::set-output name=NODE_PATH::/opt/node"
echo "::set-output name=ver::1.2.3"
`
	res := newStep(t, sim, "scriptContent", script, "allowedVariables", "NODE_PATH").run()
	res.wantStatus(t, "success", 0, "success")
	for _, name := range []string{"PATH", "LD_PRELOAD", "BASH_ENV", "https_proxy", "HTTP_PROXY"} {
		if v := res.out.Get("data." + name); v.Exists() {
			t.Errorf("output %s = %s", name, v.Raw)
		}
		if n := strings.Count(res.Stdout, "##[warning]variable \""+name+"\" "); n != 1 {
			t.Errorf("%d warnings name %s, want 1", n, name)
		}
	}
	if res.data("NODE_PATH") != "/opt/node" || res.data("ver") != "1.2.3" {
		t.Errorf("NODE_PATH %q, ver %q", res.data("NODE_PATH"), res.data("ver"))
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", res.Stdout)
	}
}

// TestForm_AllowedVariablesValidated: a name that is not a variable name is refused before any
// request, naming the field.
func TestForm_AllowedVariablesValidated(t *testing.T) {
	t.Parallel()
	sim := startSim(t, jobsim.Options{})
	res := newStep(t, sim, "allowedVariables", "PATH, LD-PRELOAD").run()
	res.wantStatus(t, "failure", 1, "")
	if msg := res.out.Get("message").String(); !strings.Contains(msg, "Variables targets may set") || !strings.Contains(msg, "LD-PRELOAD") {
		t.Errorf("message %q does not name the field and the name", msg)
	}
	wantSubmits(t, sim, 0, 0)
}

// TestReport: index.html and result.json under the workspace, the job_report output in both
// languages, one escaped row per target, and result.json agreeing with the outputs.
func TestReport(t *testing.T) {
	t.Parallel()
	hostile := []string{
		`<script>alert(1)</script>`,
		`</pre></details></td></tr><tr class="ok s9"><td>0:6.6.6.6</td>`,
		`a & b "q" 'x' <!-- c -->`,
		`<img src=x onerror=alert(2)>`,
	}
	var script strings.Builder
	script.WriteString("#!/bin/bash\n")
	for _, h := range hostile {
		fmt.Fprintf(&script, "printf '%%s\\n' %s\n", shellQuote(h))
	}
	script.WriteString("echo \"::set-output name=ver::<b>1</b>\"\n")
	script.WriteString(`if [ "$JOBSIM_TARGET_LABEL" = 0:10.0.0.2 ]; then job_fail '<tag>&'; fi` + "\n")
	for _, tc := range []struct{ lang, label, failedName, okName string }{
		{"en_US", "JOB execution report", "non-zero exit code", "succeeded"},
		{"zh_CN", "JOB 执行报告", "脚本返回值非零", "执行成功"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, jobsim.Options{})
			res := newStep(t, sim, "scriptContent", script.String(), "BK_CI_LOCALE_LANGUAGE", tc.lang).run()
			res.wantStatus(t, "failure", 1, "failed")
			wantSubmits(t, sim, 1, 1)
			dir := reportDir(res)
			jr := res.out.Get("data.job_report")
			if jr.Get("type").String() != "report" || jr.Get("reportType").String() != "INTERNAL" ||
				jr.Get("path").String() != dir || jr.Get("target").String() != "index.html" || jr.Get("label").String() != tc.label {
				t.Errorf("job_report = %s (dir %s)", jr.Raw, dir)
			}
			b, err := os.ReadFile(filepath.Join(dir, "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			if n := strings.Count(strings.ToLower(page), "<script"); n != 3 {
				t.Errorf("index.html has %d script elements, want the page's code and its two data blocks", n)
			}
			for _, bad := range []string{"<img", "<link", "<iframe", "@import", "url(", "<tag>", "<b>1</b>", "<!-- c"} {
				if strings.Contains(page, bad) {
					t.Errorf("index.html contains %q", bad)
				}
			}
			if m := regexp.MustCompile(`<[a-zA-Z][^>]*\s(src|srcset|data)=`).FindString(page); m != "" {
				t.Errorf("index.html loads something: %q", m)
			}
			rows := reportRows(t, page)
			rj := readResultJSON(t, res)
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
			byLabel := map[string]reportRow{}
			for _, r := range rows {
				byLabel[r.label] = r
			}
			if rows[0].label != "0:10.0.0.2" {
				t.Errorf("the failed target is not first: %q", rows[0].label)
			}
			for i := range rows {
				lb := demoLabels[i]
				r := byLabel[lb]
				tg := rj.Get("targets." + strconv.Itoa(i))
				if r.label != lb || tg.Get("label").String() != lb {
					t.Errorf("row %d: label %q (result.json %q), want %q", i, r.label, tg.Get("label").String(), lb)
				}
				if r.status != tg.Get("status_name").String() || r.exit != tg.Get("exit_code").String() || r.tag != tg.Get("tag").String() {
					t.Errorf("row %d: %+v disagrees with result.json %s", i, r, tg.Raw)
				}
				if r.log != tg.Get("log_tail").String() {
					t.Errorf("row %d: log %q, result.json %q", i, r.log, tg.Get("log_tail").String())
				}
				if !strings.Contains(r.log, hostile[0]) || !strings.Contains(r.log, hostile[1]) {
					t.Errorf("row %d: hostile text not shown as text: %q", i, r.log)
				}
				failedRow := lb == "0:10.0.0.2"
				wantClass, wantExit := "ok s9", "0"
				if failedRow {
					wantClass, wantExit = "ng s104", "1"
					if r.tag != "<tag>&" {
						t.Errorf("tag = %q", r.tag)
					}
				}
				if r.class != wantClass || r.exit != wantExit || r.kind == "" {
					t.Errorf("row %d: %+v", i, r)
				}
				if (failedRow && r.status != tc.failedName) || (!failedRow && r.status != tc.okName) {
					t.Errorf("row %d: status %q", i, r.status)
				}
			}
			for k, v := range map[string]string{"total_count": "3", "success_count": "2", "failed_count": "1"} {
				if got := rj.Get(k).String(); got != v || res.data(k) != v {
					t.Errorf("%s: result.json %s, output %s, want %s", k, got, res.data(k), v)
				}
			}
			if rj.Get("variables.ver").String() != "<b>1</b>" || res.data("ver") != "<b>1</b>" {
				t.Errorf("variables: %s", rj.Get("variables").Raw)
			}
			if rj.Get("job_instance_id").String() != res.data("job_instance_id") || rj.Get("job_status").String() != "failed" ||
				rj.Get("job_status_code").Int() != 4 || rj.Get("verdict").String() != "failure" || rj.Get("language").String() != tc.lang {
				t.Errorf("result.json header: %.600s", rj.Raw)
			}
		})
	}
}

// TestScale_30000Targets: 30,000 targets with 1 KiB logs each, 1 % failed, logMode auto, extractVars
// on, through the binary: counts, outputs, 30,000 report rows and log requests of at most 500.
func TestScale_30000Targets(t *testing.T) {
	if testing.Short() {
		t.Skip("30,000 targets")
	}
	t.Parallel()
	const n = 30000
	sim := fleetSim(t, n, func(tg jobsim.Target) jobsim.Outcome {
		o := jobsim.Outcome{LogSize: 1024, LogPattern: "::set-output name=fleet::ok\n[{label}] working through the list of things to do\n"}
		if tg.HostID%100 == 0 {
			o.ExitCode = 1
		}
		return o
	})
	start := time.Now()
	res := fleetStep(t, sim, "logMode", "auto", "extractVars", "true").run()
	t.Logf("30,000 targets: step took %s", time.Since(start).Round(time.Millisecond))
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	ok, bad := splitFleet(n, 100)
	if res.data("total_count") != strconv.Itoa(n) || res.data("success_count") != strconv.Itoa(n-n/100) || res.data("failed_count") != strconv.Itoa(n/100) ||
		res.data("job_status_code") != "4" || res.data("fleet") != "ok" {
		t.Errorf("outputs: %.2000s", res.Output)
	}
	checkList(t, "success_targets", res.data("success_targets"), ok)
	checkList(t, "failed_targets", res.data("failed_targets"), bad)
	ids, largest := loggedIDs(t, sim)
	requests := sim.Count(jobsim.EPLogs)
	if limit := int(math.Ceil(float64(n) / 500)); requests > limit || largest > 500 || len(ids) != n {
		t.Errorf("%d log requests (limit %d), largest %d objects, %d distinct targets read", requests, limit, largest, len(ids))
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("log of host %s read %d times", id, k)
			break
		}
	}
	l := readStepLog(t, res.Stdout)
	l.wellFormed(t, bad)
	if len(l.tabs) != n/100 {
		t.Errorf("%d log tabs, want the 300 failed targets'", len(l.tabs))
	}
	b, err := os.ReadFile(filepath.Join(reportDir(res), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	rows := reportRows(t, string(b))
	failedRows := 0
	for _, r := range rows {
		if strings.HasPrefix(r.class, "ng ") {
			failedRows++
		}
	}
	if len(rows) != n || failedRows != n/100 {
		t.Errorf("report has %d rows, %d failed", len(rows), failedRows)
	}
	// The 300 failed tails are the same but for the target's label (and where the 1 KiB log cut
	// them): a few folded blocks name all 300, and none is left out (issue 20).
	tails, named := 0, 0
	for _, line := range l.raw {
		if !strings.HasPrefix(line, "##[group]") {
			continue
		}
		if k, _, ok := strings.Cut(strings.TrimPrefix(line, "##[group]"), " targets with the same log tail ("); ok {
			tails++
			m, _ := strconv.Atoi(k)
			named += m
		} else if strings.Contains(line, " log tail (") {
			tails++
			named++
		}
	}
	if tails == 0 || tails > 20 || named != n/100 || l.index("not folded here") >= 0 {
		t.Errorf("%d blocks folded, naming %d targets; want a few naming all %d", tails, named, n/100)
	}
	rj := readResultJSON(t, res)
	if got := len(rj.Get("targets").Array()); got != n || rj.Get("failed_count").Int() != int64(n/100) {
		t.Errorf("result.json: %d targets, failed_count %d", got, rj.Get("failed_count").Int())
	}
}

// TestLogs_LargeLogs: with large logs the requests ask for fewer targets: the first (the probe) asks
// for all of them but accepts at most 8 MiB; its answer is too large, so the targets are read again in
// halves that fit, and later requests stay under the probe's size. After the probe every log is read
// exactly once.
func TestLogs_LargeLogs(t *testing.T) {
	t.Parallel()
	const n, size = 60, 256 << 10
	sim := fleetSim(t, n, func(tg jobsim.Target) jobsim.Outcome {
		name := "big_" + strings.NewReplacer("0:", "", ".", "_").Replace(tg.Label)
		o := jobsim.Outcome{LogSize: size, LogPattern: "::set-output name=" + name + "::yes\n" + strings.Repeat("z", 200) + "\n"}
		if tg.HostID == 7 {
			o.ExitCode = 1
		}
		return o
	})
	res := fleetStep(t, sim, "logMode", "auto", "extractVars", "true").run()
	res.wantStatus(t, "failure", 1, "failed")
	wantSubmits(t, sim, 1, 1)
	if strings.Contains(res.Stdout, "reading logs failed") {
		t.Errorf("logs not read:\n%.3000s", res.Stdout)
	}
	for _, lb := range fleetLabels(n) {
		if name := "big_" + strings.NewReplacer("0:", "", ".", "_").Replace(lb); res.data(name) != "yes" {
			t.Errorf("variable %s from %s's log missing", name, lb)
		}
	}
	l := readStepLog(t, res.Stdout)
	l.wellFormed(t, fleetLabels(n))
	if _, groups := l.group("0:10.0.0.7 "); groups != 1 {
		t.Errorf("failed target's tail folded %d times", groups)
	}
	var reqs []jobsim.Request
	for _, q := range sim.Requests() {
		if q.Endpoint == jobsim.EPLogs {
			reqs = append(reqs, q)
		}
	}
	if len(reqs) < 2 || len(gjson.GetBytes(reqs[0].Body, "execute_object_list").Array()) != n {
		t.Fatalf("%d log requests; want a probe for all %d targets first, then more", len(reqs), n)
	}
	ids, largest := map[string]int{}, 0
	for _, q := range reqs[1:] {
		list := gjson.GetBytes(q.Body, "execute_object_list").Array()
		largest = max(largest, len(list))
		for _, o := range list {
			ids[o.Get("resource_id").String()]++
		}
	}
	if len(ids) != n || largest > (8<<20)/size {
		t.Errorf("%d logs read after the probe (want %d), up to %d per request (want at most %d)", len(ids), n, largest, (8<<20)/size)
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("log of host %s read %d times after the probe", id, k)
		}
	}
}

// TestLogs_LargestTargetLog (issue 12, item 3): one target's log as large as JOB keeps (5 MB), in
// the worst JSON escaping (every control character becomes \u00XX: 6 bytes per byte, an answer of
// about 30 MB), is read: alone (the first request's 8 MiB limit must not apply to a single target)
// and beside a small one (read again in halves down to single targets). Its variable is set and no
// warning says the logs could not be read.
func TestLogs_LargestTargetLog(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d_targets", n), func(t *testing.T) {
			t.Parallel()
			sim := fleetSim(t, n, func(tg jobsim.Target) jobsim.Outcome {
				if tg.HostID != 1 {
					return jobsim.Outcome{Log: "::set-output name=small::yes\n"}
				}
				// ANSI-heavy: an escape character every few bytes, and runs of them.
				line := strings.Repeat("\x1b[31mred\x1b[0m", 20) + strings.Repeat("\x1b", 3000) + "\n"
				return jobsim.Outcome{LogSize: jobsim.MaxLogBytes, LogPattern: "::set-output name=big::yes\n" + line}
			})
			res := fleetStep(t, sim, "logMode", "none", "extractVars", "true").run()
			res.wantStatus(t, "success", 0, "success")
			if strings.Contains(res.Stdout, "reading logs failed") {
				t.Errorf("the large log was not read:\n%.3000s", res.Stdout)
			}
			if res.data("big") != "yes" {
				t.Errorf("the variable from the large log is missing")
			}
			if n == 2 && res.data("small") != "yes" {
				t.Errorf("the variable from the small log is missing:\n%.3000s", res.Stdout)
			}
		})
	}
}

// TestLogs_BrokenAnswersReadInPieces: a chunk's answer that stays unreadable (cut short on every
// attempt), or that JOB cannot build in time (the gateway's 504, not asked for again whole), is read
// again in pieces and every log printed once. When the pieces fail too, the step warns once, stops
// asking, and still ends every target's tab.
func TestLogs_BrokenAnswersReadInPieces(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		n        int
		fault    jobsim.Fault
		requests int
		lost     bool // the logs are not printed, with one warning
	}{
		// a first chunk of 500 read in 6 attempts, then 50 pieces, then the chunk of 10 left
		{"unreadable", 510, jobsim.Fault{Calls: jobsim.Range(1, 6), Kind: jobsim.FaultTruncated}, 6 + 50 + 1, false},
		{"timeout once", 30, jobsim.Fault{Calls: jobsim.Nth(1), Kind: jobsim.Fault504}, 1 + 3, false},
		// the first piece of 10 is retried (6 attempts), the others are not asked for
		{"timeout always", 30, jobsim.Fault{Calls: jobsim.Every(), Kind: jobsim.Fault504}, 1 + 6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := fleetSim(t, tc.n, fleetOutcome)
			tc.fault.Endpoint = jobsim.EPLogs
			sim.Inject(tc.fault)
			res := fleetStep(t, sim, "logMode", "all", "extractVars", "false").run()
			res.wantStatus(t, "failure", 1, "failed")
			wantSubmits(t, sim, 1, 1)
			labels := fleetLabels(tc.n)
			l := readStepLog(t, res.Stdout)
			l.wellFormed(t, labels)
			for _, lb := range labels {
				if printed := slices.Contains(l.tabs[lb], "second of "+lb); printed == tc.lost {
					t.Errorf("%s: log printed %v", lb, printed)
				}
			}
			if warned := strings.Count(res.Stdout, "reading logs failed"); warned != map[bool]int{false: 0, true: 1}[tc.lost] {
				t.Errorf("%d warnings:\n%.2000s", warned, res.Stdout)
			}
			if got := sim.Count(jobsim.EPLogs); got != tc.requests {
				t.Errorf("%d log requests, want %d", got, tc.requests)
			}
		})
	}
}

// TestLabels_FailedTargetsGoBackIn (issue 17, item 3): failed_targets of one run, pasted as written into
// hosts of a second run, select exactly the hosts that failed: two hosts sharing a cloud area and IP
// (labelled cloud:ip#hostId) and an IPv6-only host (cloud:[ipv6]#hostId, JOB takes it by host id only).
func TestLabels_FailedTargetsGoBackIn(t *testing.T) {
	t.Parallel()
	inv := jobsim.DemoInventory()
	inv.Hosts = append(inv.Hosts,
		jobsim.Host{ID: 301, BizID: 2, IP: "10.9.9.9", AgentID: "a301"},
		jobsim.Host{ID: 302, BizID: 2, IP: "10.9.9.9", AgentID: "a302"},
		jobsim.Host{ID: 401, BizID: 2, IPv6: "fd00::41", AgentID: "a401"})
	sim := startSim(t, jobsim.Options{Inventory: inv})
	script := "case \"$JOBSIM_HOST_ID\" in 102|302|401) exit 3;; esac\necho ok\n"
	first := newStep(t, sim, "hosts", "#101 #102 #301 #302 #401", "scriptContent", script).run()
	first.wantStatus(t, "failure", 1, "failed")
	failed := first.data("failed_targets")
	if want := "0:10.0.0.2,0:10.9.9.9#302,0:[fd00::41]#401"; failed != want {
		t.Fatalf("failed_targets = %q, want %q", failed, want)
	}
	if ok := first.data("success_targets"); ok != "0:10.0.0.1,0:10.9.9.9#301" {
		t.Errorf("success_targets = %q", ok)
	}
	second := newStep(t, sim, "hosts", failed, "scriptContent", "echo again\n").run()
	second.wantStatus(t, "success", 0, "success")
	if second.data("success_targets") != failed {
		t.Errorf("second run's targets %q, want the first run's failed %q", second.data("success_targets"), failed)
	}
	jobs := sim.Jobs()
	if len(jobs) != 2 {
		t.Fatalf("%d jobs", len(jobs))
	}
	var ids []int64
	for _, tg := range jobs[1].Targets {
		ids = append(ids, tg.HostID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{102, 302, 401}) {
		t.Errorf("the second run ran on hosts %v, want 102 302 401", ids)
	}
}

// TestLog_Readable (issue 17, item 4): the log a person reads, one subtest per point, through the binary.
func TestLog_Readable(t *testing.T) {
	t.Parallel()
	inv := jobsim.DemoInventory()
	inv.Hosts = append(inv.Hosts, jobsim.FakeHosts(2, 1001, 12)...) // 10.0.0.1 … 10.0.0.12
	inv.Hosts = append(inv.Hosts, jobsim.Host{ID: 2001, BizID: 2, IP: "10.0.1.200", AgentDown: true})
	sim := startSim(t, jobsim.Options{Inventory: inv})
	var ids []string
	for id := 1001; id <= 1012; id++ {
		ids = append(ids, "#"+strconv.Itoa(id))
	}
	script := "echo \"::set-output name=V::$JOBSIM_HOST_ID\"\n[ \"$JOBSIM_HOST_IP\" != 10.0.0.10 ] || exit 3\n"
	many := newStep(t, sim, "hosts", strings.Join(append(ids, "#2001"), " "), "scriptContent", script).run()
	many.wantStatus(t, "failure", 1, "failed")
	one := newStep(t, sim, "hosts", "#1001").run()
	one.wantStatus(t, "success", 0, "success")
	zh := newStep(t, sim, "hosts", "#1001", "BK_CI_LOCALE_LANGUAGE", "zh_CN").run()
	zh.wantStatus(t, "success", 0, "success")

	t.Run("counts alone", func(t *testing.T) {
		wantLine(t, many.Stdout, "succeeded: 11")
		if strings.Contains(many.Stdout, "succeeded (9)") {
			t.Errorf("a count carries the status code:\n%s", many.Stdout)
		}
	})
	t.Run("failed said once", func(t *testing.T) {
		msg := many.out.Get("message").String()
		if strings.Contains(msg, "failed (failed)") || !strings.Contains(msg, "failed: 2 of 13 targets did not succeed") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("zh_CN plan values translated", func(t *testing.T) {
		for _, w := range []string{"取消时：终止作业", "提取变量：是", "等待方式：轮询", "日志：自动", "执行人：bob（流水线最近修改人）"} {
			wantLine(t, zh.Stdout, w)
		}
		for _, w := range []string{"取消时：terminate", "提取变量：true"} {
			if strings.Contains(zh.Stdout, w) {
				t.Errorf("the plan says %q", w)
			}
		}
	})
	t.Run("plurals", func(t *testing.T) {
		wantLine(t, one.Stdout, "targets: 1 host")
		wantLine(t, one.Stdout, "results (1 target)")
		wantLine(t, many.Stdout, "targets: 13 hosts")
		for _, w := range []string{"1 hosts", "0 dynamic groups", "1 targets)"} {
			if strings.Contains(one.Stdout, w) {
				t.Errorf("the log says %q:\n%s", w, one.Stdout)
			}
		}
	})
	t.Run("conflict warning capped", func(t *testing.T) {
		wantLine(t, many.Stdout, `variable "V" differs between targets: the value of 0:10.0.0.1 is used; others: 0:10.0.0.2, 0:10.0.0.3`,
			"0:10.0.0.11, …(+1 more, in the report)")
	})
	t.Run("sorted by IP numerically", func(t *testing.T) {
		var okWant []string
		for i := 1; i <= 12; i++ {
			if i != 10 {
				okWant = append(okWant, "0:10.0.0."+strconv.Itoa(i))
			}
		}
		if got := many.data("success_targets"); got != strings.Join(okWant, ",") {
			t.Errorf("success_targets = %q", got)
		}
		if got := many.data("failed_targets"); got != "0:10.0.0.10,0:10.0.1.200" {
			t.Errorf("failed_targets = %q", got)
		}
		var labels []string
		for _, tg := range readResultJSON(t, many).Get("targets").Array() {
			labels = append(labels, tg.Get("label").String())
		}
		all := append(append(okWant[:9:9], "0:10.0.0.10"), "0:10.0.0.11", "0:10.0.0.12", "0:10.0.1.200")
		if !slices.Equal(labels, all) {
			t.Errorf("result.json targets %q", labels)
		}
		l := readStepLog(t, many.Stdout)
		if i, j := l.index("0:10.0.0.10  status: non-zero exit code"), l.index("0:10.0.1.200  status: agent error"); i < 0 || j != i+1 {
			t.Errorf("summary rows out of order:\n%s", many.Stdout)
		}
	})
	t.Run("agent down says what to check", func(t *testing.T) {
		wantLine(t, many.Stdout, "0:10.0.1.200  status: agent error", "check: the GSE agent on this host is installed and running")
	})
	t.Run("wait limit says where it comes from", func(t *testing.T) {
		wantLine(t, one.Stdout, "at most 3m30s (1 batch × (timeout 60 s + 30 s) + 2 min)")
		w := newStep(t, sim, "hosts", "#1001", "waitTimeout", "100").run()
		wantLine(t, w.Stdout, "at most 1m40s (waitTimeout)")
		s := newStep(t, sim, "hosts", "#1001", "timeout", "3600").run()
		wantLine(t, s.Stdout, "(the step's timeout in BK-CI, less the time before the plugin started and a margin)")
	})
}
