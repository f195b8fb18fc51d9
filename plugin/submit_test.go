package plugin

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"jobfastexecutescript/i18n"
	"jobfastexecutescript/internal/bkci"
	"jobfastexecutescript/internal/jobapi"
)

// TestSubmitFailed: a submit attempt that timed out inside the client (its error wraps
// context.DeadlineExceeded) is an unknown outcome naming the task name; only the run's own deadline
// or a signal makes a timeout or a cancel.
func TestSubmitFailed(t *testing.T) {
	t.Parallel()
	attemptTimedOut := &unknownSubmitError{taskName: "deploy-#7-s1-abc123", err: &jobapi.Error{
		Op: "submit job", Kind: jobapi.KindNetwork, Err: fmt.Errorf("no response within 30s: %w", context.DeadlineExceeded)}}
	live := context.Background()
	expired, cancelExpired := context.WithTimeout(live, 0)
	defer cancelExpired()
	signalled, cancelSignal := context.WithCancel(live)
	cancelSignal()
	for _, tc := range []struct {
		name               string
		ctx, runCtx        context.Context
		errorType, code    int
		jobStatus, message string
	}{
		{"attempt timed out", live, live, bkci.ErrorTypeThirdParty, codeSubmitUnknown, "", "deploy-#7-s1-abc123"},
		{"the run's deadline", live, expired, bkci.ErrorTypeUser, codeTimeout, "timeout", ""},
		{"a signal", signalled, signalled, bkci.ErrorTypeUser, codeCanceled, "canceled", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &step{printer: printer{lang: i18n.EnUS, log: bkci.NewLog(&strings.Builder{})}, cfg: &Config{OnCancel: CancelTerminate, TaskName: "deploy-#7-s1-abc123"}}
			o := s.submitFailed(tc.ctx, tc.runCtx, attemptTimedOut)
			if o.success || o.errorType != tc.errorType || o.errorCode != tc.code || o.jobStatus != tc.jobStatus ||
				!strings.Contains(o.message, tc.message) {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}
