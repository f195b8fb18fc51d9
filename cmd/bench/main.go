// Command bench measures the plugin end to end and prints one table (BENCHMARKS.md records a run): it
// builds the plugin as released, starts the JOB simulator on 127.0.0.1, runs the real binary the way
// BK-CI's agent does for each scenario several times, runs today's baseline policy (a fixed 2-second
// poll, ci-executeJobScript) beside it against the same simulator, replays the poll schedule of a
// 10-minute job on a virtual clock, and prints scenario, median, p95, requests per endpoint and peak
// RSS, with the goals of issue 7.
//
//	go run ./cmd/bench                 # the full run, about 5 minutes on 2 cores
//	go run ./cmd/bench -smoke          # one run of each scenario, a small fleet
//	go run ./cmd/bench -profile DIR    # also write the plugin's CPU and allocation profiles
//	go run ./cmd/bench -only large -binary OLD   # some scenarios, with another build (before/after)
//	go run ./cmd/bench -report-page    # the 30,000-target report page in headless Chromium (issue 20)
//
// It exits 0 when every goal is met, 3 when one is missed, 1 on an error.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"jobfastexecutescript/tooling/bench"
)

func main() {
	smoke := flag.Bool("smoke", false, "one run of each scenario and a fleet of 1000 targets")
	profile := flag.String("profile", "", "directory for the plugin's CPU and allocation profiles (pprof)")
	large := flag.Int("targets", 30000, "size of the large fleet")
	only := flag.String("only", "", "comma-separated scenarios to run: callback, poll, replay, cross, large, failfast (default all)")
	binary := flag.String("binary", "", "a prebuilt plugin binary to measure instead of building one")
	page := flag.Bool("report-page", false, "only measure the report page of -targets targets in headless Chromium (6 loads, the first in a fresh browser)")
	flag.Parse()
	if *page {
		os.Exit(runPage(*large))
	}
	os.Exit(run(*smoke, *profile, *large, *only, *binary))
}

// runPage measures the report page in headless Chromium: load, search, filter and sort times.
func runPage(targets int) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	pt, err := bench.MeasureReportPage(ctx, targets, 6, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Print(pt.Markdown(bench.ThisMachine()))
	return 0
}

func run(smoke bool, profile string, large int, only, binary string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	plan := bench.DefaultPlan()
	if smoke {
		plan = bench.SmokePlan()
		if large == 30000 {
			large = 1000
		}
	}
	if only != "" {
		keep := map[string]bool{}
		for _, s := range strings.Split(only, ",") {
			keep[strings.TrimSpace(s)] = true
		}
		for name := range keep {
			if !slices.Contains([]string{"callback", "poll", "replay", "cross", "large", "failfast"}, name) {
				fmt.Fprintf(os.Stderr, "bench: unknown scenario %q\n", name)
				return 1
			}
		}
		plan = plan.Only(keep)
	}
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	h, err := bench.New(ctx, bench.Options{LargeTargets: large, Log: os.Stderr, ProfileDir: profile, Binary: binary})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer h.Close()
	rep, err := h.RunSuite(ctx, plan)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Print(rep.Markdown())
	if !rep.Met() {
		return 3
	}
	return 0
}
