package jobsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type callbackStep struct {
	StepInstanceID int64 `json:"step_instance_id"`
	Status         int   `json:"status"`
}

// callbackBody is JobCallbackDTO as JOB serialises it (key step_instances).
type callbackBody struct {
	JobInstanceID int64          `json:"job_instance_id"`
	Status        int            `json:"status"`
	StepInstances []callbackStep `json:"step_instances"`
}

// CallbackRecord is one callback attempt the simulator made.
type CallbackRecord struct {
	Time        time.Time
	URL         string
	ContentType string
	Body        []byte
	JobID       int64
	Status      int    // job status carried
	Attempt     int    // 1 (JSON) or 2 (the form-content-type retry)
	HTTPStatus  int    // 0 when the attempt failed at the network level
	Err         string // network error, if any
	Seq         int    // callback number (1-based), as counted by CallbackFault
}

// Callbacks returns the callback attempts made so far.
func (s *Sim) Callbacks() []CallbackRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackRecord(nil), s.callbacks...)
}

// validCallbackURL applies JOB's always-on checks: it parses, the scheme is http or https, the host is
// not empty, and there is no userinfo.
func validCallbackURL(raw string) bool {
	if strings.ContainsAny(raw, " \t\r\n\"<>\\^`{|}") {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Hostname() != "" && u.User == nil && u.Opaque == ""
}

// sendCallback delivers a callback in the background; s.mu must be held.
func (s *Sim) sendCallback(body callbackBody, target string) {
	s.cbCount++
	seq := s.cbCount
	var fault *CallbackFault
	for i := range s.cbFaults {
		if s.cbFaults[i].Calls.match(seq) {
			f := s.cbFaults[i]
			fault = &f
			break
		}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return
	}
	times := 1
	var delay time.Duration
	if fault != nil {
		switch fault.Kind {
		case CallbackDrop:
			return
		case CallbackDuplicate:
			times = 2
		case CallbackDelay:
			delay = fault.Delay
		}
	}
	s.after(delay, func() {
		for range times {
			s.deliver(seq, body, payload, target)
		}
	})
}

// deliver posts JSON; on a non-200 answer it retries once with the same body and the form content type;
// on a network error it does nothing more.
func (s *Sim) deliver(seq int, body callbackBody, payload []byte, target string) {
	for attempt, ct := range []string{"application/json; charset=UTF-8", "application/x-www-form-urlencoded; charset=UTF-8"} {
		code, err := s.post(target, ct, payload)
		rec := CallbackRecord{Time: time.Now(), URL: target, ContentType: ct, Body: payload, JobID: body.JobInstanceID,
			Status: body.Status, Attempt: attempt + 1, HTTPStatus: code, Seq: seq}
		if err != nil {
			rec.Err = err.Error()
		}
		s.mu.Lock()
		s.callbacks = append(s.callbacks, rec)
		s.notify()
		s.mu.Unlock()
		if err != nil || code == http.StatusOK {
			return
		}
	}
}

func (s *Sim) post(target, contentType string, payload []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CallbackTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
