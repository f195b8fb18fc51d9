package main

import (
	"os"
	"runtime/debug"
	"runtime/pprof"
)

// memoryLimit is the soft limit of the Go heap unless GOMEMLIMIT says otherwise: past it the GC works
// harder instead of letting the heap double over the live data, which keeps a run over 30,000 targets
// under 100 MB of RSS (BENCHMARKS.md). It is soft: a larger live heap still gets the memory it needs.
const memoryLimit = 64 << 20

// tuneRuntime sets the soft memory limit and starts the optional profiles; the function it returns
// writes them at exit.
func tuneRuntime() (stop func()) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	return startProfiles()
}

// startProfiles writes pprof profiles for the benchmarks (BENCHMARKS.md): a CPU profile of the whole
// run to $JOBFAST_CPUPROFILE and an allocation profile at the end to $JOBFAST_MEMPROFILE. Unset, it does
// nothing; a profile that cannot be written is skipped silently (it must never change the step).
func startProfiles() (stop func()) {
	var cpu *os.File
	if p := os.Getenv("JOBFAST_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				cpu = f
			} else {
				f.Close()
			}
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if p := os.Getenv("JOBFAST_MEMPROFILE"); p != "" {
			if f, err := os.Create(p); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}
}
