package jobsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"jobfastexecutescript/internal/callbackurl"
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

// validCallbackURL applies JOB's always-on checks (CallbackUrlValidateServiceImpl.isValid, allow-list
// off): the URL parses as a java.net.URI, the scheme is http or https, Java finds a host, and there is
// no userinfo (internal/callbackurl, checked against vectors recorded from JOB's class).
func validCallbackURL(raw string) bool {
	return callbackurl.Check(raw) == nil
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
	// Exactly JOB's content types, without a charset: HttpConPoolUtil.postJson sends
	// ContentType.APPLICATION_JSON.getMimeType(), postFormData "application/x-www-form-urlencoded"
	// (commons/common/.../util/http/HttpConPoolUtil.java).
	for attempt, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
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
