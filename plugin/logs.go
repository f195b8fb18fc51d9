package plugin

import (
	"context"
	"strings"
	"sync"
	"time"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/logvars"
)

const (
	maxLogObjects      = 500     // JOB's limit per log request
	logBytesPerRequest = 1 << 20 // aim for responses of about this size (peak memory vs log size: BENCHMARKS.md)
	probeLogBytes      = 8 << 20 // the first log request's answer limit (see readLogs)
	// maxTargetLogBytes is the most of one target's script output JOB keeps: GSE caps it at 5 MB
	// (internal/jobsim.MaxLogBytes, which simulates that cap).
	maxTargetLogBytes = 5 << 20
	// singleTargetLogBytes is the answer limit of a request for one target's log: its largest log in
	// the worst JSON escaping (a control character, or one of <, > and & as JOB's encoder writes
	// them, is "\u00XX": 6 bytes a byte), plus the envelope and the execute object. A single
	// target's log is always read whole, and the answer never takes more memory than this.
	singleTargetLogBytes = 6*maxTargetLogBytes + 64<<10
	firstLogChunk        = 10        // pieces of an answer that stayed unreadable (see readLogs)
	logConcurrency       = 3         // log requests in flight
	liveReadRate         = 512 << 10 // bytes per second that live streaming may re-read
	liveReadMaxPause     = 30 * time.Second
	failedTailLines      = 30      // lines of a failed target's log kept for the summary and report
	failedTailBytes      = 4 << 10 //
	okTailLines          = 5       // lines kept for a successful target's report row
	okTailBytes          = 512     //
	maxFoldedTails       = 100     // failed targets whose tails are folded into the main log
	maxSummaryRows       = 200     // failed targets listed in the summary table
)

// streamer prints the logs of a few targets while the job runs: each complete line exactly once, under
// the target's sub-tag, and marks a target's sub-tag finished when the target is.
type streamer struct {
	printer
	client   *jobapi.Client
	scope    jobapi.Scope
	sub      jobapi.Submitted
	mu       sync.Mutex
	offset   map[jobapi.ObjectKey]int  // bytes of the log already printed (whole lines)
	finished map[jobapi.ObjectKey]bool // sub-tag finished
	warned   bool                      // a failed live read was reported
	nextRead time.Time                 // no live read before (liveReadPause)
}

func newStreamer(p printer, client *jobapi.Client, scope jobapi.Scope, sub jobapi.Submitted) *streamer {
	return &streamer{printer: p, client: client, scope: scope, sub: sub,
		offset: map[jobapi.ObjectKey]int{}, finished: map[jobapi.ObjectKey]bool{}}
}

// update reads the logs of targets that have started and are not done yet, and prints their new lines.
func (st *streamer) update(ctx context.Context, results []jobapi.ObjectResult) {
	var keys []jobapi.ObjectKey
	final := map[jobapi.ObjectKey]bool{}
	labels := map[jobapi.ObjectKey]string{}
	unique := uniqueLabels(results, st.log.Redact)
	for i, r := range results {
		k := r.Object.Key()
		if st.finished[k] || r.Status == jobstatus.TargetWaiting || !k.Valid() { // no resource id: its log cannot be asked for
			continue
		}
		keys = append(keys, k)
		labels[k] = unique[i]
		final[k] = jobstatus.TargetFinished(r.Status)
	}
	if len(keys) == 0 || time.Now().Before(st.nextRead) {
		return
	}
	logs, err := st.client.BatchGetObjectLogs(ctx, st.scope, st.sub.JobInstanceID, st.sub.StepInstanceID, keys)
	if err != nil {
		if !st.warned { // once: the next polls try again, quietly
			st.warned = true
			st.log.Warn(st.t("msg.log_failed", st.apiErrorText(err)))
		}
		return
	}
	total := 0
	for _, l := range logs {
		total += len(l.Content)
		if _, asked := labels[l.Key]; !asked {
			continue
		}
		st.print(labels[l.Key], l.Key, l.Content, final[l.Key])
	}
	st.nextRead = time.Now().Add(liveReadPause(total))
}

// liveReadPause is how long live streaming waits after reading n bytes of logs: JOB answers with each
// whole log every time, so large logs are re-read less often (about liveReadRate), at most
// liveReadMaxPause apart; the final read after the job prints whatever is left.
func liveReadPause(n int) time.Duration {
	d := time.Duration(float64(n) / liveReadRate * float64(time.Second))
	return min(d, liveReadMaxPause)
}

// print writes content's lines past the key's offset; a trailing partial line waits for more unless
// the target is done. It returns nothing: the offsets remember what was printed.
func (st *streamer) print(lbl string, k jobapi.ObjectKey, content string, done bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.finished[k] {
		return
	}
	off := st.offset[k]
	if off > len(content) {
		off = 0 // JOB restarted the log (a retry in JOB): print it anew
	}
	rest := content[off:]
	end := len(rest)
	if !done {
		end = strings.LastIndexByte(rest, '\n') + 1
	}
	if end > 0 {
		st.printTargetLines(lbl, rest[:end])
		st.offset[k] = off + end
	}
	if done {
		st.log.SubTagFinish(lbl)
		st.finished[k] = true
	}
}

// readLogs reads the logs the step needs after the job finished, in label order, in chunks of at most
// 500 targets (fewer when logs are large), a few requests in flight. Each log is printed (per logMode),
// scanned for variables and cut to a tail, then dropped: memory does not grow with the log volume.
// The first chunk asks for up to 500 targets but accepts an answer of at most probeLogBytes: small logs
// (the common case) are read in ⌈N/500⌉ requests, and large ones cost at most that much memory before
// later chunks are sized from what was seen. A chunk whose answer is too large is read again in halves;
// one that stays unreadable otherwise, or that JOB could not answer in time (the gateway gives up after
// 60 s), is read again in pieces of firstLogChunk: a chunk larger than that is not repeated whole after
// a timeout.
func (s *step) readLogs(ctx context.Context, sub jobapi.Submitted, targets []*target, stream *streamer, vars *logvars.Collector) {
	printAll := s.printMode(len(targets))
	var need []*target
	for _, t := range targets {
		print := printsLog(printAll, t)
		if !s.cfg.ExtractVars && !print && t.ok {
			continue
		}
		if k := t.res.Object.Key(); !k.Valid() {
			// JOB named no resource for it: its log cannot be asked for, and one such key would make
			// the whole chunk's request invalid.
			if stream != nil {
				stream.print(t.label, k, "", true)
			}
			continue
		}
		need = append(need, t)
	}
	if len(need) == 0 {
		return
	}
	type chunk struct {
		ts    []*target
		logs  map[jobapi.ObjectKey]jobapi.ObjectLog
		err   error
		pv    any   // a panic in the fetch, re-raised on the step's goroutine (Main turns it into errorType 3)
		limit int64 // the answer's size limit, when lower than the client's (the probe)
		done  chan struct{}
	}
	size := maxLogObjects
	sem := make(chan struct{}, logConcurrency)
	var mu sync.Mutex
	avg := 0 // average bytes per log seen so far
	next := 0
	// Chunks are planned lazily so that their size adapts to the log sizes already seen.
	plan := func() *chunk {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(need) {
			return nil
		}
		if avg > 0 {
			size = logBytesPerRequest / avg
			if size < 1 {
				size = 1
			}
			if size > maxLogObjects {
				size = maxLogObjects
			}
		}
		end := next + size
		if end > len(need) {
			end = len(need)
		}
		c := &chunk{ts: need[next:end], done: make(chan struct{})}
		if next == 0 {
			c.limit = probeLogBytes
		}
		next = end
		return c
	}
	fetch := func(c *chunk) {
		defer close(c.done)
		defer func() { c.pv = recover() }()
		s.panicPoint("logs")
		keys := make([]jobapi.ObjectKey, len(c.ts))
		for i, t := range c.ts {
			keys[i] = t.res.Object.Key()
		}
		cctx := ctx
		if limit := answerLimit(c.limit, len(c.ts)); limit > 0 {
			cctx = jobapi.WithMaxBody(cctx, limit)
		}
		if len(c.ts) > firstLogChunk {
			cctx = jobapi.WithoutTimeoutRetry(cctx)
		}
		logs, err := s.client.BatchGetObjectLogs(cctx, s.scope(), sub.JobInstanceID, sub.StepInstanceID, keys)
		c.err = err
		if c.limit > 0 && jobapi.IsBodyTooLarge(err) {
			// Too large for the probe: the logs average more than limit/len bytes.
			mu.Lock()
			if a := int(c.limit)/len(c.ts) + 1; a > avg {
				avg = a
			}
			mu.Unlock()
		}
		c.logs = make(map[jobapi.ObjectKey]jobapi.ObjectLog, len(logs))
		total := 0
		for _, l := range logs {
			c.logs[l.Key] = l
			total += len(l.Content)
		}
		if len(logs) > 0 {
			mu.Lock()
			if a := total / len(logs); a > avg || avg == 0 {
				avg = a + 1
			}
			mu.Unlock()
		}
	}
	// Producer: start fetches, bounded by sem; consumer: handle chunks in order. A chunk holds its sem
	// slot until its logs are handled, so at most logConcurrency answers are in memory at once.
	queue := make(chan *chunk, logConcurrency)
	go func() {
		defer close(queue)
		for planned := 0; ; planned++ {
			sem <- struct{}{}
			c := plan()
			if c == nil {
				<-sem
				return
			}
			go fetch(c) // its sem slot is freed once the consumer has handled its logs
			// Every chunk reaches the consumer, also after ctx ended (its fetch then fails at once):
			// each target is handled once, and a streamed tab is always ended.
			queue <- c
			// Wait for the first chunk before planning the second, so sizes adapt early.
			if planned == 0 {
				<-c.done
			}
		}
	}()
	warned := false
	handle := func(c *chunk) {
		if c.pv != nil {
			panic(c.pv)
		}
		if c.err != nil && !warned {
			warned = true
			s.log.Warn(s.t("msg.log_failed", s.apiErrorText(c.err)))
		}
		for _, t := range c.ts {
			l, ok := c.logs[t.res.Object.Key()]
			if !ok {
				if stream != nil { // a tab that was streamed must still be closed
					stream.print(t.label, t.res.Object.Key(), "", true)
				}
				continue
			}
			s.handleLog(t, l.Content, printAll, stream, vars)
		}
		c.logs = nil
	}
	// halves reads targets whose answer was too large again, in halves, down to single targets.
	var halves func(ts []*target, limit int64)
	halves = func(ts []*target, limit int64) {
		p := &chunk{ts: ts, limit: limit, done: make(chan struct{})}
		fetch(p)
		if p.pv == nil && jobapi.IsBodyTooLarge(p.err) && len(ts) > 1 {
			halves(ts[:len(ts)/2], limit)
			halves(ts[len(ts)/2:], limit)
			return
		}
		handle(p)
	}
	for c := range queue {
		<-c.done
		switch e, ok := jobapi.As(c.err); {
		case c.pv == nil && jobapi.IsBodyTooLarge(c.err) && len(c.ts) > 1:
			halves(c.ts[:len(c.ts)/2], c.limit)
			halves(c.ts[len(c.ts)/2:], c.limit)
		case ok && (e.Kind == jobapi.KindUnreadable || jobapi.IsTimeout(c.err)) && c.pv == nil && len(c.ts) > firstLogChunk:
			// The answer was broken or too slow: read these targets again in pieces, one at a time,
			// until one fails too; the targets after it are handled without a log.
			for i := 0; i < len(c.ts); i += firstLogChunk {
				p := &chunk{ts: c.ts[i:min(i+firstLogChunk, len(c.ts))], done: make(chan struct{})}
				fetch(p)
				handle(p)
				if p.err != nil {
					handle(&chunk{ts: c.ts[min(i+firstLogChunk, len(c.ts)):]})
					break
				}
			}
		default:
			handle(c)
		}
		<-sem
	}
}

// answerLimit is the size limit of a log request for n targets planned with limit (0: the client's
// own). The probe's limit only sizes requests for several targets: a request for one target accepts
// that target's largest possible answer (singleTargetLogBytes), and nothing larger.
func answerLimit(limit int64, n int) int64 {
	if n == 1 {
		return singleTargetLogBytes
	}
	return limit
}

// printsLog reports whether a target's log is printed in a print mode (printMode).
func printsLog(mode LogMode, t *target) bool { return mode == LogAll || (mode == LogFailed && !t.ok) }

// handleLog prints (per logMode), extracts variables and keeps the tail of one target's log.
func (s *step) handleLog(t *target, content string, printMode LogMode, stream *streamer, vars *logvars.Collector) {
	t.logged = true
	print := printsLog(printMode, t)
	if print {
		if stream != nil {
			stream.print(t.label, t.res.Object.Key(), content, true)
		} else {
			s.printTargetLines(t.label, content)
			s.log.SubTagFinish(t.label)
		}
	}
	// Printing masks secrets (the app secret, sensitive parameters) by itself; the variables and the
	// tail kept for the report must not carry them either.
	content = s.log.Redact(content)
	if vars != nil {
		vars.Add(t.label, content)
	}
	if t.ok {
		t.tail = tail(content, okTailLines, okTailBytes)
	} else {
		t.tail = tail(content, failedTailLines, failedTailBytes)
	}
}

// printMode is whose logs are printed: LogAll, LogFailed or LogNone (LogAuto resolved by the number of
// targets).
func (s *step) printMode(total int) LogMode {
	switch {
	case s.cfg.LogMode != LogAuto:
		return s.cfg.LogMode
	case total <= autoLogTargetLimit:
		return LogAll
	}
	return LogFailed
}

// streamLive reports whether lines are printed while the job runs.
func streamLive(mode LogMode, total int) bool {
	return total <= autoLogTargetLimit && (mode == LogAuto || mode == LogAll)
}

// tail returns at most the last n lines and b bytes of s (cut at a line or UTF-8 boundary), copied so
// that the full log can be freed.
func tail(s string, n, b int) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) > b {
		s = s[len(s)-b:]
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		} else {
			for len(s) > 0 && s[0]&0xC0 == 0x80 {
				s = s[1:]
			}
		}
	}
	for i, cut := len(s), 0; i > 0; i-- {
		if s[i-1] == '\n' {
			cut++
			if cut == n {
				s = s[i:]
				break
			}
		}
	}
	return strings.Clone(s)
}
