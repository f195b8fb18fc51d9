package plugin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// Run identifies one run of the step: its build, its task and the build's retry (BK-CI retries a build
// under the same build id and task ids, with BK_CI_RETRY_COUNT set). The post action works it out
// again from its own build variables and parentTaskId (docs/BKCI.md#the-step-and-its-post-action).
type Run struct {
	BuildID, TaskID, Retry string
}

// runKeyLen is the length of Run.Key; runMarkerLen that of the marker a task name ends with.
const (
	runKeyLen    = 8
	runRandLen   = 4
	runMarkerLen = 1 + runKeyLen + runRandLen // "-" key random
)

// Key is runKeyLen hex digits that name the run, "" when its build or task id is unknown.
func (r Run) Key() string {
	if strings.TrimSpace(r.BuildID) == "" || strings.TrimSpace(r.TaskID) == "" {
		return ""
	}
	h := sha256.Sum256([]byte(AtomCode + "\x00" + r.BuildID + "\x00" + r.TaskID + "\x00" + r.Retry))
	return hex.EncodeToString(h[:])[:runKeyLen]
}

// runMarker is what the step appends to every task name: "-", the run's key, and runRandLen random
// hex digits (a step run again within one build run gets a name of its own). Without a key, the whole
// marker is random: only the state file then leads the post action to the job.
func runMarker(r Run) string {
	key := r.Key()
	if key == "" {
		key = randomHex(runKeyLen)
	}
	return "-" + key + randomHex(runRandLen)
}

// markerRe matches a run marker at the end of a task name.
var markerRe = regexp.MustCompile(`-([0-9a-f]{8})[0-9a-f]{4}$`)

// hasRunKey reports whether name ends with a run marker of the run whose key is key.
func hasRunKey(name, key string) bool {
	m := markerRe.FindStringSubmatch(name)
	return key != "" && m != nil && m[1] == key
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms (Go 1.24+)
	}
	return hex.EncodeToString(b)[:n]
}
