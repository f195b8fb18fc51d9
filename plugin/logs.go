package plugin

import (
	"context"
	"strings"
	"sync"
	"time"

	"jobfastexecutescript/internal/jobapi"
	"jobfastexecutescript/internal/jobstatus"
	"jobfastexecutescript/internal/logread"
	"jobfastexecutescript/internal/logvars"
	"jobfastexecutescript/internal/report"
)

const (
	maxLogObjects      = 500     // JOB's limit per log request
	logBytesPerRequest = 1 << 20 // aim for responses of about this size (peak memory vs log size: BENCHMARKS.md)
	probeLogBytes      = 8 << 20 // the first log request's answer limit (see readLogs)
	// maxTargetLogBytes is the most of one target's script output JOB keeps: GSE caps it at 5 MB
	// (tooling/jobsim.MaxLogBytes, which simulates that cap).
	maxTargetLogBytes = 5 << 20
	// singleTargetLogBytes is the answer limit of a request for one target's log: its largest log in
	// the worst JSON escaping (a control character, or one of <, > and & as JOB's encoder writes
	// them, is "\u00XX": 6 bytes a byte), plus the envelope and the execute object. A single
	// target's log is always read whole, and the answer never takes more memory than this.
	singleTargetLogBytes = 6*maxTargetLogBytes + 64<<10
	logPieceTargets      = 10        // targets per piece when an answer stayed unreadable (logread.Reader.PieceKeys)
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
	keepID   map[int64]bool            // hosts whose labels carry their id (Targets.KeepID)
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
	unique := uniqueLabels(results, st.log.Redact, st.keepID)
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
	logs, err := st.client.BatchGetObjectLogs(ctx, st.scope, st.sub.JobInstanceID, st.sub.StepInstanceID, keys, nil)
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

// readLogs reads the logs the step needs after the job finished, in label order, through a
// logread.Reader (chunks of at most 500 targets, fewer when logs are large, a few requests in flight).
// Each log is printed (per logMode), scanned for variables and cut to a tail, then dropped: memory does
// not grow with the log volume.
func (s *step) readLogs(ctx context.Context, sub jobapi.Submitted, targets []*target, stream *streamer, vars *logvars.Collector) {
	mode := s.printMode(len(targets))
	var need []*target
	for _, t := range targets {
		if !s.cfg.ExtractVars && !printsLog(mode, t) && t.ok {
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
	keys := make([]jobapi.ObjectKey, len(need))
	for i, t := range need {
		keys[i] = t.res.Object.Key()
	}
	warned := false
	r := s.logReader(sub)
	r.OnError = func(err error) {
		if !warned { // once: the other targets' logs are still read
			warned = true
			s.log.Warn(s.t("msg.log_failed", s.apiErrorText(err)))
		}
	}
	r.Read(ctx, keys, func(i int, content string, ok bool) {
		t := need[i]
		if !ok {
			if stream != nil { // a tab that was streamed must still be closed
				stream.print(t.label, t.res.Object.Key(), "", true)
			}
			return
		}
		s.handleLog(t, content, mode, stream, vars)
	})
}

// logReading is how the step reads logs after the job: the first request asks for up to 500 targets
// but accepts an answer of at most probeLogBytes; a request for one target accepts its largest
// possible log (singleTargetLogBytes). logReader adds the requests.
var logReading = logread.Reader[jobapi.ObjectKey]{
	Classify:        classifyLogError,
	Concurrency:     logConcurrency,
	MaxKeys:         maxLogObjects,
	BytesPerRequest: logBytesPerRequest,
	PieceKeys:       logPieceTargets,
	ProbeBytes:      probeLogBytes,
	SingleKeyBytes:  singleTargetLogBytes,
}

// logReader reads the logs of the job's step through JOB's batch log endpoint.
func (s *step) logReader(sub jobapi.Submitted) *logread.Reader[jobapi.ObjectKey] {
	r := logReading
	r.Fetch = func(ctx context.Context, keys []jobapi.ObjectKey, o logread.Options) (map[jobapi.ObjectKey]string, error) {
		opts := &jobapi.LogOptions{MaxBody: o.MaxBody, NoTimeoutRetry: o.NoTimeoutRetry}
		logs, err := s.client.BatchGetObjectLogs(ctx, s.scope(), sub.JobInstanceID, sub.StepInstanceID, keys, opts)
		if err != nil {
			return nil, err
		}
		out := make(map[jobapi.ObjectKey]string, len(logs))
		for _, l := range logs {
			out[l.Key] = l.Content
		}
		return out, nil
	}
	return &r
}

// classifyLogError tells the log reader how to go on after a failed log request: an answer above the
// size limit is read again in halves; a broken one, or one JOB could not give in time (the gateway
// gives up after 60 s), in pieces.
func classifyLogError(err error) logread.Failure {
	if jobapi.IsBodyTooLarge(err) {
		return logread.TooLarge
	}
	if e, ok := jobapi.As(err); ok && (e.Kind == jobapi.KindUnreadable || jobapi.IsTimeout(err)) {
		return logread.Unreadable
	}
	return logread.Failed
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
		// The whole log (its last MiB), written now so that it is never held: linked from the report.
		if s.logs == nil {
			s.logs = report.NewLogs(s.reportDir())
		}
		t.logFile = s.logs.Add(t.label, content)
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
