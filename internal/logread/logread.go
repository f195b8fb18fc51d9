// Package logread reads many logs through a batch API without holding them all: it asks for them in
// chunks sized from the logs already seen, a few requests in flight, and hands each log to the caller
// in the order asked for, then forgets it.
//
// A chunk whose answer is too large is read again in halves, down to single keys; a chunk whose answer
// stayed unreadable or came too late is read again in small pieces, one at a time, until a piece fails
// too. Every key is handed to the caller exactly once, with its log or without one, also after the
// context ended.
package logread

import (
	"context"
	"sync"
)

// Defaults of a Reader's zero fields.
const (
	DefaultConcurrency     = 3       // requests in flight
	DefaultMaxKeys         = 500     // keys one request may name
	DefaultBytesPerRequest = 1 << 20 // the answer size later chunks are sized for
	DefaultPieceKeys       = 10      // keys per piece when an unreadable chunk is read again
)

// Options are the limits of one request, for the Fetch function to apply.
type Options struct {
	// MaxBody is the largest answer the request accepts, in bytes (0: the fetcher's own limit). An
	// answer above it must fail with an error Classify calls TooLarge.
	MaxBody int64
	// NoTimeoutRetry asks the fetcher not to repeat the request after a timeout: the reader asks for
	// fewer keys instead.
	NoTimeoutRetry bool
}

// Failure is what a failed request tells the reader to do.
type Failure int

const (
	// Failed means the keys are handed over without a log.
	Failed Failure = iota
	// TooLarge means the answer was above Options.MaxBody (or the fetcher's own limit); the keys are read
	// again in halves.
	TooLarge
	// Unreadable means the answer was broken or did not come in time; the keys are read again in pieces.
	Unreadable
)

// Fetch reads the logs of keys (1..MaxKeys of them, each once) within opts. The answer holds the keys
// that have a log; a key missing from it is handed over without one.
type Fetch[K comparable] func(ctx context.Context, keys []K, opts Options) (map[K]string, error)

// Handler receives the log of keys[i] (ok false: no log could be read for it). It runs on the
// goroutine that called Read, once per key, in the order of keys.
type Handler func(i int, content string, ok bool)

// Reader reads logs through Fetch. Only Fetch is required; zero fields take their defaults.
type Reader[K comparable] struct {
	Fetch    Fetch[K]
	Classify func(error) Failure // how to go on after a failed request (nil: every failure is Failed)
	// OnError, when set, receives the error of every request whose keys are handed over, before
	// them, on Read's goroutine. Errors of requests that are read again in smaller parts are not
	// passed on: only those of the parts.
	OnError func(error)

	Concurrency     int // requests in flight; each holds its slot until its keys are handed over
	MaxKeys         int // keys per request
	BytesPerRequest int // the answer size chunks after the first are sized for
	PieceKeys       int // keys per piece of an unreadable chunk; larger requests set NoTimeoutRetry
	// ProbeBytes is the answer limit of the first chunk (0: none), which asks for MaxKeys keys before
	// any log size is known: small logs take few requests, large ones cost at most this much memory.
	ProbeBytes int64
	// SingleKeyBytes is the answer limit of a request for one key (0: that of its chunk): one key's
	// largest possible answer, so that a single log is always read whole.
	SingleKeyBytes int64
}

// Read reads the logs of keys and hands each to handle, in the order of keys. It returns once every
// key was handed over; a panic in Fetch is raised again here.
func (r *Reader[K]) Read(ctx context.Context, keys []K, handle Handler) {
	if len(keys) == 0 {
		return
	}
	rd := r.newRead(ctx, keys, handle)
	stop := make(chan struct{})
	defer close(stop) // a panic being raised leaves the producer nothing to wait for
	queue := make(chan *chunk[K], rd.Concurrency)
	go rd.produce(queue, stop)
	for c := range queue {
		<-c.done
		rd.consume(c)
		<-rd.slots
	}
}

// chunk is one request: keys[start:end] and, once done is closed, its answer.
type chunk[K comparable] struct {
	start, end int
	limit      int64 // the answer limit it was planned with (0: none)
	logs       map[K]string
	err        error
	panicked   any // a panic in the fetch, raised again on the consumer's goroutine
	done       chan struct{}
}

func (c *chunk[K]) size() int { return c.end - c.start }

// read is the state of one Read.
type read[K comparable] struct {
	Reader[K] // a copy, with the defaults filled in
	ctx       context.Context
	keys      []K
	handle    Handler
	slots     chan struct{} // a request holds one from its planning until its keys are handed over

	mu        sync.Mutex
	avgBytes  int // average bytes per log seen so far (0: none seen yet)
	chunkKeys int // the size of the next chunk
	next      int // the first key not planned yet
}

func (r *Reader[K]) newRead(ctx context.Context, keys []K, handle Handler) *read[K] {
	rd := &read[K]{Reader: *r, ctx: ctx, keys: keys, handle: handle}
	rd.Concurrency = orDefault(r.Concurrency, DefaultConcurrency)
	rd.MaxKeys = orDefault(r.MaxKeys, DefaultMaxKeys)
	rd.BytesPerRequest = orDefault(r.BytesPerRequest, DefaultBytesPerRequest)
	rd.PieceKeys = orDefault(r.PieceKeys, DefaultPieceKeys)
	rd.slots = make(chan struct{}, rd.Concurrency)
	rd.chunkKeys = rd.MaxKeys
	return rd
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// produce plans chunks and starts their fetches, one slot each, and queues them in order. Every
// chunk reaches the consumer, also after ctx ended (its fetch then fails at once): each key is handed
// over once.
func (rd *read[K]) produce(queue chan<- *chunk[K], stop <-chan struct{}) {
	defer close(queue)
	for planned := 0; ; planned++ {
		select {
		case rd.slots <- struct{}{}:
		case <-stop:
			return
		}
		c := rd.plan()
		if c == nil {
			<-rd.slots
			return
		}
		go rd.fetch(c)
		select {
		case queue <- c:
		case <-stop:
			return
		}
		// Wait for the first chunk before planning the second, so that sizes adapt early.
		if planned == 0 {
			<-c.done
		}
	}
}

// plan returns the next chunk (nil: none left), sized from the average log seen so far. Chunks are
// planned lazily so that their size adapts to the logs already read.
func (rd *read[K]) plan() *chunk[K] {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.next >= len(rd.keys) {
		return nil
	}
	if rd.avgBytes > 0 {
		rd.chunkKeys = min(max(rd.BytesPerRequest/rd.avgBytes, 1), rd.MaxKeys)
	}
	c := &chunk[K]{start: rd.next, end: min(rd.next+rd.chunkKeys, len(rd.keys)), done: make(chan struct{})}
	if rd.next == 0 {
		c.limit = rd.ProbeBytes
	}
	rd.next = c.end
	return c
}

// fetch runs the chunk's request and records its answer, its error or its panic, then closes done.
func (rd *read[K]) fetch(c *chunk[K]) {
	defer close(c.done)
	defer func() { c.panicked = recover() }()
	opts := Options{MaxBody: rd.AnswerLimit(c.limit, c.size()), NoTimeoutRetry: c.size() > rd.PieceKeys}
	c.logs, c.err = rd.Fetch(rd.ctx, rd.keys[c.start:c.end], opts)
	if c.err != nil {
		c.logs = nil
		if c.limit > 0 && rd.classify(c.err) == TooLarge {
			// Too large for the probe: the logs average more than limit/n bytes.
			rd.learn(int(c.limit)/c.size()+1, false)
		}
		return
	}
	if len(c.logs) > 0 {
		total := 0
		for _, l := range c.logs {
			total += len(l)
		}
		rd.learn(total/len(c.logs), true)
	}
}

// learn raises the average bytes per log to a (plus one when seen, so that it is never 0).
func (rd *read[K]) learn(a int, seen bool) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	switch {
	case !seen && a > rd.avgBytes:
		rd.avgBytes = a
	case seen && (a > rd.avgBytes || rd.avgBytes == 0):
		rd.avgBytes = a + 1
	}
}

// AnswerLimit is the Options.MaxBody of a request for n keys planned with limit (0: the fetcher's
// own). The probe's limit only sizes requests for several keys: a request for one key accepts that
// key's largest possible answer (SingleKeyBytes), and nothing larger.
func (r *Reader[K]) AnswerLimit(limit int64, n int) int64 {
	if n == 1 && r.SingleKeyBytes > 0 {
		return r.SingleKeyBytes
	}
	return limit
}

func (rd *read[K]) classify(err error) Failure {
	if err == nil || rd.Classify == nil {
		return Failed
	}
	return rd.Classify(err)
}

// consume hands over a fetched chunk's keys, reading them again in smaller parts when its answer was
// too large or unreadable.
func (rd *read[K]) consume(c *chunk[K]) {
	if c.panicked != nil {
		panic(c.panicked)
	}
	switch rd.classify(c.err) {
	case TooLarge:
		if c.size() > 1 {
			rd.halves(c)
			return
		}
	case Unreadable:
		if c.size() > rd.PieceKeys {
			rd.pieces(c)
			return
		}
	}
	rd.deliver(c)
}

// halves reads the keys of a chunk whose answer was too large again, in halves, down to single keys.
// The halves keep the chunk's limit.
func (rd *read[K]) halves(c *chunk[K]) {
	mid := c.start + c.size()/2
	for _, h := range []*chunk[K]{
		{start: c.start, end: mid, limit: c.limit},
		{start: mid, end: c.end, limit: c.limit},
	} {
		h.done = make(chan struct{})
		rd.fetch(h)
		if h.panicked == nil && rd.classify(h.err) == TooLarge && h.size() > 1 {
			rd.halves(h)
			continue
		}
		rd.deliver(h)
	}
}

// pieces reads the keys of a chunk whose answer was broken or too slow again in pieces of PieceKeys,
// one at a time, until one fails too; the keys after it are handed over without a log.
func (rd *read[K]) pieces(c *chunk[K]) {
	for i := c.start; i < c.end; i += rd.PieceKeys {
		p := &chunk[K]{start: i, end: min(i+rd.PieceKeys, c.end), done: make(chan struct{})}
		rd.fetch(p)
		rd.deliver(p)
		if p.err != nil {
			rd.deliver(&chunk[K]{start: p.end, end: c.end})
			return
		}
	}
}

// deliver hands over a chunk's keys in order, with the logs its answer holds, and drops the answer.
func (rd *read[K]) deliver(c *chunk[K]) {
	if c.panicked != nil {
		panic(c.panicked)
	}
	if c.err != nil && rd.OnError != nil {
		rd.OnError(c.err)
	}
	for i := c.start; i < c.end; i++ {
		content, ok := c.logs[rd.keys[i]]
		rd.handle(i, content, ok)
	}
	c.logs = nil
}
