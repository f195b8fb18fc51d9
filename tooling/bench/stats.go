package bench

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Quantile returns the q-quantile (0..1) of xs by linear interpolation between closest ranks; NaN for
// an empty slice.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// DurationQuantile is Quantile for durations.
func DurationQuantile(ds []time.Duration, q float64) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(Quantile(xs, q))
}

// fmtDuration prints a duration with a precision that suits its size.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDuration(-d)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// fmtCount prints a count that may be a median of an even number of runs.
func fmtCount(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// fmtMB prints bytes as MB (2^20).
func fmtMB(b float64) string { return fmt.Sprintf("%.0f MB", b/(1<<20)) }

// Machine describes where the figures come from.
type Machine struct {
	CPU    string // model name from /proc/cpuinfo
	Cores  int    // logical CPUs
	Go     string // Go version
	OSArch string // GOOS/GOARCH
	Kernel string // kernel release
	Memory string // MemTotal from /proc/meminfo
}

// ThisMachine reads the machine's description.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH,
		CPU: "unknown", Kernel: "unknown", Memory: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				m.Memory = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// String is the machine on one line.
func (m Machine) String() string {
	return fmt.Sprintf("%s, %d logical CPUs, %s RAM, %s, kernel %s, %s", m.CPU, m.Cores, m.Memory, m.OSArch, m.Kernel, m.Go)
}
