package bkci

import (
	"os"
	"path/filepath"
	"time"
)

// SDKFile is the file the worker writes into the data dir for BK-CI's plugin SDKs (worker-common
// .../task/market/MarketAtomTask.kt writeSdkEnv).
const SDKFile = ".sdk.json"

// TimerStarted estimates when BK-CI started the step's timer. No variable says it: the worker starts
// the timer (worker-common .../task/TaskDaemon.kt runWithTimeout) before it asks for the plugin's
// details, creates the data dir, fetches the private config, writes .sdk.json, downloads and checks
// the plugin and only then writes input.json (.../task/market/MarketAtomTask.kt). The earliest of
// the mtimes of .sdk.json and input.json in dataDir is therefore the closest known moment after the
// start; what ran before it (two API calls, normally well under a second) is left to the caller's
// margin. A time in the future (a clock step) or no file at all gives now.
func TimerStarted(dataDir, inputPath string, now time.Time) time.Time {
	start := now
	for _, p := range []string{filepath.Join(dataDir, SDKFile), inputPath} {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().Before(start) {
			start = fi.ModTime()
		}
	}
	return start
}
