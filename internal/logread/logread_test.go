package logread

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	errTooLarge   = errors.New("answer too large")
	errUnreadable = errors.New("answer unreadable")
	errDown       = errors.New("service down")
)

func classify(err error) Failure {
	switch {
	case errors.Is(err, errTooLarge):
		return TooLarge
	case errors.Is(err, errUnreadable):
		return Unreadable
	}
	return Failed
}

// request is one call of the fake fetch.
type request struct {
	keys []int
	opts Options
}

// fake is a log service: key k's log is logOf(k) (size bytes of it); an answer above opts.MaxBody
// fails with errTooLarge. fail, when set, may fail a request first (the call's 0-based number).
type fake struct {
	size  func(k int) int
	fail  func(call int, keys []int, opts Options) error
	delay func(call int, keys []int) time.Duration

	mu       sync.Mutex
	calls    []request
	inFlight int
	maxIn    int
}

func logOf(k, size int) string { return fmt.Sprintf("%06d", k) + strings.Repeat("x", max(size-6, 0)) }

func (f *fake) fetch(ctx context.Context, keys []int, opts Options) (map[int]string, error) {
	f.mu.Lock()
	call := len(f.calls)
	f.calls = append(f.calls, request{slices.Clone(keys), opts})
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.delay != nil {
		select {
		case <-time.After(f.delay(call, keys)):
		case <-ctx.Done():
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read logs: %w", err)
	}
	if f.fail != nil {
		if err := f.fail(call, keys, opts); err != nil {
			return nil, err
		}
	}
	out := make(map[int]string, len(keys))
	total := 0
	for _, k := range keys {
		size := 100
		if f.size != nil {
			size = f.size(k)
		}
		out[k] = logOf(k, size)
		total += len(out[k])
	}
	if opts.MaxBody > 0 && int64(total) > opts.MaxBody {
		return nil, fmt.Errorf("%d bytes: %w", total, errTooLarge)
	}
	return out, nil
}

func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func sizes(rs []request) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = len(r.keys)
	}
	return out
}

// handled is what a Read handed over: per key, how often and whether with its log.
type handled struct {
	order  []int
	count  map[int]int
	logged map[int]bool
	errs   []error
}

// readAll runs r over keys 0..n-1 and checks what every Read promises: each key handed over once, in
// order, with its own log when it has one.
func readAll(t *testing.T, ctx context.Context, r *Reader[int], f *fake, n int) *handled {
	t.Helper()
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i
	}
	h := &handled{count: map[int]int{}, logged: map[int]bool{}}
	r.Fetch = f.fetch
	if r.Classify == nil {
		r.Classify = classify
	}
	r.OnError = func(err error) { h.errs = append(h.errs, err) }
	r.Read(ctx, keys, func(i int, content string, ok bool) {
		h.order = append(h.order, i)
		h.count[i]++
		h.logged[i] = ok
		if ok && !strings.HasPrefix(content, fmt.Sprintf("%06d", keys[i])) {
			t.Errorf("key %d got another key's log %.6q", i, content)
		}
	})
	if len(h.order) != n || !slices.IsSorted(h.order) {
		t.Errorf("handed over %d keys (want %d), in order %v", len(h.order), n, h.order)
	}
	for k, c := range h.count {
		if c != 1 {
			t.Errorf("key %d handed over %d times", k, c)
		}
	}
	return h
}

func (h *handled) withoutLog() []int {
	var out []int
	for _, k := range h.order {
		if !h.logged[k] {
			out = append(out, k)
		}
	}
	return out
}

func TestRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		n          int
		reader     Reader[int]
		fake       *fake
		wantSizes  []int // sizes of the requests, in the order made (nil: not checked)
		wantNoLog  []int // keys handed over without a log
		wantErrors int   // errors passed to OnError
		check      func(t *testing.T, rs []request)
	}{
		{
			name: "small logs: one request per MaxKeys", n: 1200,
			reader:    Reader[int]{ProbeBytes: 8 << 20},
			fake:      &fake{},
			wantSizes: []int{500, 500, 200},
			check: func(t *testing.T, rs []request) {
				if rs[0].opts.MaxBody != 8<<20 || rs[1].opts.MaxBody != 0 {
					t.Errorf("limits %d, %d: want the probe's on the first request only", rs[0].opts.MaxBody, rs[1].opts.MaxBody)
				}
				if !rs[0].opts.NoTimeoutRetry {
					t.Error("a request for more than PieceKeys keys may be repeated after a timeout")
				}
			},
		},
		{
			// 10 KiB logs: 1 MiB / 10 KiB ≈ 102 keys per request after the first.
			name: "chunks sized from the logs seen", n: 900,
			reader:    Reader[int]{},
			fake:      &fake{size: func(int) int { return 10 << 10 }},
			wantSizes: []int{500, 102, 102, 102, 94},
		},
		{
			// The probe (8 KiB for 8 keys of 2 KiB) is too large: it is read in halves of 4, and the
			// second chunk, planned meanwhile, is sized from the probe's limit (8 KiB/8+1 bytes a log:
			// 7 keys); the third from the logs the halves read (3 keys).
			name: "too large for the probe: halves", n: 20,
			reader:    Reader[int]{MaxKeys: 8, ProbeBytes: 8 << 10, BytesPerRequest: 8 << 10, Concurrency: 2},
			fake:      probeThenHalves(),
			wantSizes: []int{8, 4, 4, 7, 3, 2},
			check: func(t *testing.T, rs []request) {
				for _, r := range rs {
					if r.keys[0] == 8 && len(r.keys) != 7 {
						t.Errorf("the second chunk has %d keys, want 7", len(r.keys))
					}
				}
			},
		},
		{
			name: "halves down to single keys", n: 4,
			reader:    Reader[int]{ProbeBytes: 1000, SingleKeyBytes: 1 << 20},
			fake:      &fake{size: func(k int) int { return 600 + k }},
			wantSizes: []int{4, 2, 1, 1, 2, 1, 1},
			check: func(t *testing.T, rs []request) {
				for _, r := range rs {
					if len(r.keys) == 1 && r.opts.MaxBody != 1<<20 {
						t.Errorf("a single key's request accepts %d bytes, want SingleKeyBytes", r.opts.MaxBody)
					}
				}
			},
		},
		{
			name: "a single key above SingleKeyBytes: no log", n: 3,
			reader:     Reader[int]{ProbeBytes: 1000, SingleKeyBytes: 500},
			fake:       &fake{size: func(k int) int { return 100 + 400*k }},
			wantSizes:  []int{3, 1, 2, 1, 1},
			wantNoLog:  []int{2},
			wantErrors: 1,
		},
		{
			name: "unreadable: read again in pieces", n: 35,
			reader: Reader[int]{},
			fake: &fake{fail: func(_ int, keys []int, _ Options) error {
				if len(keys) > 10 {
					return errUnreadable
				}
				return nil
			}},
			wantSizes: []int{35, 10, 10, 10, 5},
			check: func(t *testing.T, rs []request) {
				for _, r := range rs[1:] {
					if r.opts.NoTimeoutRetry {
						t.Error("a piece's request must be repeated after a timeout")
					}
				}
			},
		},
		{
			name: "unreadable: a piece fails, the rest has no log", n: 45,
			reader: Reader[int]{},
			fake: &fake{fail: func(call int, keys []int, _ Options) error {
				if len(keys) > 10 || call == 2 {
					return errUnreadable
				}
				return nil
			}},
			wantSizes:  []int{45, 10, 10},
			wantNoLog:  seq(10, 45),
			wantErrors: 1,
		},
		{
			name: "unreadable with PieceKeys keys or fewer: not read again", n: 10,
			reader:     Reader[int]{},
			fake:       &fake{fail: func(int, []int, Options) error { return errUnreadable }},
			wantSizes:  []int{10},
			wantNoLog:  seq(0, 10),
			wantErrors: 1,
		},
		{
			name: "a failing request: its keys have no log, the others do", n: 30,
			reader: Reader[int]{MaxKeys: 10},
			fake: &fake{fail: func(_ int, keys []int, _ Options) error {
				if keys[0] == 10 {
					return errDown
				}
				return nil
			}},
			wantSizes:  []int{10, 10, 10},
			wantNoLog:  seq(10, 20),
			wantErrors: 1,
		},
		{
			// Later chunks finish first; the hand-off stays in key order (read checks it).
			name: "out-of-order completion", n: 60,
			reader: Reader[int]{MaxKeys: 10, Concurrency: 3},
			fake: &fake{delay: func(call int, _ []int) time.Duration {
				return time.Duration(5-call%3) * 10 * time.Millisecond
			}},
			wantSizes: []int{10, 10, 10, 10, 10, 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := readAll(t, context.Background(), &tt.reader, tt.fake, tt.n)
			rs := tt.fake.requests()
			// Concurrent requests are made in any order: compare the sizes as a multiset.
			if got, want := slices.Sorted(slices.Values(sizes(rs))), slices.Sorted(slices.Values(tt.wantSizes)); !slices.Equal(got, want) {
				t.Errorf("request sizes %v, want %v", sizes(rs), tt.wantSizes)
			}
			if got := h.withoutLog(); !slices.Equal(got, tt.wantNoLog) {
				t.Errorf("keys without a log %v, want %v", got, tt.wantNoLog)
			}
			if len(h.errs) != tt.wantErrors {
				t.Errorf("errors passed on %v, want %d", h.errs, tt.wantErrors)
			}
			if tt.check != nil {
				tt.check(t, rs)
			}
		})
	}
}

// probeThenHalves serves 2 KiB logs; the first half of the probe waits until the second chunk was
// asked for, so that the second chunk is planned from the probe alone.
func probeThenHalves() *fake {
	second := make(chan struct{})
	var once sync.Once
	return &fake{
		size: func(int) int { return 2 << 10 },
		fail: func(_ int, keys []int, _ Options) error {
			switch {
			case keys[0] == 8:
				once.Do(func() { close(second) })
			case keys[0] == 0 && len(keys) == 4:
				<-second
			}
			return nil
		},
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestRead_Bounds: at most Concurrency requests run at once, and at most Concurrency answers are
// held (fetched, not yet handed over), however slow the consumer.
func TestRead_Bounds(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			held, maxHeld := 0, 0 // answers fetched and not yet handed over
			f := &fake{delay: func(call int, _ []int) time.Duration { return time.Duration(call%4) * time.Millisecond }}
			r := &Reader[int]{MaxKeys: 5, Concurrency: conc}
			r.Fetch = func(ctx context.Context, keys []int, opts Options) (map[int]string, error) {
				logs, err := f.fetch(ctx, keys, opts)
				mu.Lock()
				held++
				maxHeld = max(maxHeld, held)
				mu.Unlock()
				return logs, err
			}
			keys := seq(0, 200)
			n := 0
			r.Read(context.Background(), keys, func(i int, _ string, _ bool) {
				n++
				time.Sleep(100 * time.Microsecond) // a slow consumer
				if i%5 == 4 {                      // the last key of its request
					mu.Lock()
					held--
					mu.Unlock()
				}
			})
			if n != len(keys) {
				t.Errorf("handed over %d keys, want %d", n, len(keys))
			}
			if f.maxIn > conc || maxHeld > conc {
				t.Errorf("%d requests at once, %d answers held; want at most %d", f.maxIn, maxHeld, conc)
			}
			if conc > 1 && f.maxIn < 2 {
				t.Errorf("requests never overlapped (at most %d at once)", f.maxIn)
			}
		})
	}
}

// TestRead_CanceledMidway: after ctx ends, the chunks left still reach the consumer (their requests
// fail at once): every key is handed over once, the rest without a log.
func TestRead_CanceledMidway(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fake{delay: func(call int, _ []int) time.Duration {
		if call == 2 {
			cancel()
		}
		return time.Millisecond
	}}
	h := readAll(t, ctx, &Reader[int]{MaxKeys: 10, Concurrency: 1}, f, 100)
	if got := h.withoutLog(); len(got) < 80 || !slices.Equal(got, seq(100-len(got), 100)) {
		t.Errorf("keys without a log %v: want the last ones, from the third request on", got)
	}
	if len(h.errs) == 0 || !errors.Is(h.errs[0], context.Canceled) {
		t.Errorf("errors %v, want the cancel", h.errs)
	}
}

// TestRead_Panic: a panic in Fetch is raised again on Read's goroutine, in its turn.
func TestRead_Panic(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		n       int
		probe   int64
		panic   func(call int, keys []int) bool
		wantGot []int // keys handed over before the panic
	}{
		{"first request", 30, 0, func(call int, _ []int) bool { return call == 0 }, nil},
		{"a later request", 30, 0, func(_ int, keys []int) bool { return keys[0] == 20 }, seq(0, 20)},
		// 4 logs of 100 bytes, probe 150: halves of 2, then single keys; the last one panics.
		{"a half", 4, 150, func(_ int, keys []int) bool { return len(keys) == 1 && keys[0] == 3 }, seq(0, 3)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Reader[int]{MaxKeys: 10, ProbeBytes: tt.probe, Classify: classify}
			r.Fetch = (&fake{fail: func(call int, keys []int, _ Options) error {
				if tt.panic(call, keys) {
					panic("boom")
				}
				return nil
			}}).fetch
			var got []int
			defer func() {
				if v := recover(); v != "boom" {
					t.Errorf("recovered %v, want the fetch's panic", v)
				}
				if !slices.Equal(got, tt.wantGot) {
					t.Errorf("handed over %v before the panic, want %v", got, tt.wantGot)
				}
			}()
			r.Read(context.Background(), seq(0, tt.n), func(i int, _ string, _ bool) { got = append(got, i) })
			t.Error("Read returned")
		})
	}
}

// TestRead_DefaultsLeaveReaderAlone: Read fills in defaults on its own copy.
func TestRead_DefaultsLeaveReaderAlone(t *testing.T) {
	t.Parallel()
	r := &Reader[int]{}
	readAll(t, context.Background(), r, &fake{}, 3)
	if r.MaxKeys != 0 || r.Concurrency != 0 || r.PieceKeys != 0 || r.BytesPerRequest != 0 {
		t.Errorf("Read changed the Reader: %+v", *r)
	}
	r.Read(context.Background(), nil, func(int, string, bool) { t.Error("no keys, yet a handle") })
}

func TestAnswerLimit(t *testing.T) {
	t.Parallel()
	r := Reader[int]{SingleKeyBytes: 30}
	for _, tt := range []struct {
		limit int64
		n     int
		want  int64
	}{{8, 1, 30}, {8, 2, 8}, {0, 1, 30}, {0, 5, 0}} {
		if got := r.AnswerLimit(tt.limit, tt.n); got != tt.want {
			t.Errorf("AnswerLimit(%d, %d) = %d, want %d", tt.limit, tt.n, got, tt.want)
		}
	}
	if got := (&Reader[int]{}).AnswerLimit(8, 1); got != 8 {
		t.Errorf("without SingleKeyBytes a single key keeps its chunk's limit: %d", got)
	}
}
