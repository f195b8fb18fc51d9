package bkci

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTimerStarted(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	in := filepath.Join(dir, "input.json")
	if got := TimerStarted(dir, in, now); !got.Equal(now) {
		t.Errorf("no files: %v, want now", got)
	}
	write := func(p string, at time.Time) {
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write(in, now.Add(-10*time.Second))
	if got := TimerStarted(dir, in, now); !got.Equal(now.Add(-10 * time.Second)) {
		t.Errorf("input.json only: %v", got)
	}
	write(filepath.Join(dir, SDKFile), now.Add(-40*time.Second)) // a slow download between the two
	if got := TimerStarted(dir, in, now); !got.Equal(now.Add(-40 * time.Second)) {
		t.Errorf(".sdk.json: %v", got)
	}
	write(filepath.Join(dir, SDKFile), now.Add(time.Hour)) // a clock in the future is ignored
	if got := TimerStarted(dir, in, now); !got.Equal(now.Add(-10 * time.Second)) {
		t.Errorf("future .sdk.json: %v", got)
	}
}
