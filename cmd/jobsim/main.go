// Command jobsim serves the BlueKing JOB simulator (tooling/jobsim) for local use and demos. It prints the
// gateway base URL (for BK_JOB_API_URL) as the first line of standard output and serves until interrupted.
//
//	jobsim -app bkci:secret [-inventory inv.json] [-listen 127.0.0.1:0] [-prefix /api/bk-job/prod]
//	jobsim -print-demo-inventory > inv.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"jobfastexecutescript/tooling/jobsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jobsim:", err)
		stop()
		os.Exit(2)
	}
}

// appFlags collects repeated -app code:secret flags.
type appFlags map[string]string

func (a appFlags) String() string {
	codes := make([]string, 0, len(a))
	for c := range a {
		codes = append(codes, c)
	}
	return strings.Join(codes, ",")
}

func (a appFlags) Set(v string) error {
	code, secret, ok := strings.Cut(v, ":")
	if !ok || code == "" || secret == "" {
		return errors.New("want code:secret")
	}
	a[code] = secret
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jobsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apps := appFlags{}
	fs.Var(apps, "app", "accepted app as code:secret (repeatable, at least one)")
	invPath := fs.String("inventory", "", "inventory JSON file (default: the demo inventory)")
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	prefix := fs.String("prefix", jobsim.DefaultPrefix, "gateway path prefix")
	multiTenant := fs.Bool("multi-tenant", false, "require X-Bk-Tenant-Id")
	concurrency := fs.Int("max-concurrency", 8, "targets run at once")
	startDelay := fs.Duration("start-delay", 0, "keep new jobs at status 1 this long")
	batchGap := fs.Duration("batch-gap", 0, "keep rolling steps at status 15 this long between batches")
	printDemo := fs.Bool("print-demo-inventory", false, "print the demo inventory as JSON and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *printDemo {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(jobsim.DemoInventory())
	}
	if len(apps) == 0 {
		return errors.New("at least one -app code:secret is required")
	}
	inv := jobsim.DemoInventory()
	if *invPath != "" {
		var err error
		if inv, err = jobsim.LoadInventory(*invPath); err != nil {
			return err
		}
	}
	sim, err := jobsim.New(jobsim.Options{
		Prefix: *prefix, Listen: *listen, Apps: apps, MultiTenant: *multiTenant, Inventory: inv,
		Exec: jobsim.RealExec{MaxConcurrency: *concurrency}, StartDelay: *startDelay, BatchGap: *batchGap,
	})
	if err != nil {
		return err
	}
	base, err := sim.Start()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, base)
	<-ctx.Done()
	done := make(chan error, 1)
	go func() { done <- sim.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("shutdown timed out")
	}
}
