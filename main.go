// Command jobFastExecuteScript is the BK-CI pipeline step that runs a script on hosts and containers
// through BlueKing JOB. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"jobfastexecutescript/plugin"
)

func main() {
	stopProfiles := tuneRuntime()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := plugin.Main(ctx, os.Args[1:], plugin.Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	stopProfiles()
	os.Exit(code)
}
