// Command package builds the BK-CI release package of the plugin: it cross-builds every platform that
// task.json's execution.os lists (CGO off, -trimpath, stripped, version and commit stamped) and lays out
// the release zip as the store expects (docs/CONTRACT.md#package):
//
//	task.json                                   at the root, as in the repository
//	bin/<os>_<arch>/jobFastExecuteScript[.exe]  one per execution.os packagePath, mode 0755
//	i18n/message_<lang>.properties              the store's translations
//	errorCodes.json                             the plugin's error codes
//	file/README.md                              the user guide (for ${{indexFile("README.md")}})
//
// The zip is deterministic (sorted entries, fixed times). Beside it, in the output directory, it writes
// jobFastExecuteScript.zip.sha256 (sha256sum format), the binaries under bin/ and SHA256SUMS (every
// binary by its path in the zip, then the zip), so `cd dist && sha256sum -c SHA256SUMS` verifies them.
//
//	go run ./cmd/package [-out dist] [-version X] [-platforms linux/amd64,...] [-j N]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"jobfastexecutescript/tooling/agent"
)

// sizeGoal is the size the linux/amd64 binary should stay under (every step downloads it).
const sizeGoal = 10 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command's flags.
type options struct {
	out       string   // output directory
	version   string   // stamped version; empty = from git
	platforms []string // os/arch subset of task.json's execution.os; empty = all
	jobs      int      // concurrent go build processes
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var platforms string
	fs := flag.NewFlagSet("package", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "dist", "output directory")
	fs.StringVar(&o.version, "version", "", "version to stamp (default: git describe --tags --always --dirty, else 0.0.0-dev)")
	fs.StringVar(&platforms, "platforms", "", "comma-separated os/arch subset of task.json's execution.os (default: all);\n"+
		"the zip's task.json then lists only these")
	fs.IntVar(&o.jobs, "j", min(runtime.NumCPU(), 4), "concurrent builds")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./cmd/package [-out dist] [-version X] [-platforms linux/amd64,...] [-j N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for _, p := range strings.Split(platforms, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.platforms = append(o.platforms, p)
		}
	}
	if o.jobs < 1 {
		o.jobs = 1
	}
	if o.version != "" && !validStamp(o.version) {
		return o, fmt.Errorf("version %q: use letters, digits and . _ + - only", o.version)
	}
	if o.out == "" {
		return o, errors.New("-out is empty")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "package:", err)
		return 2
	}
	if err := pack(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "package:", err)
		return 1
	}
	return 0
}

// pack builds the package described by o.
func pack(ctx context.Context, o options, stdout, stderr io.Writer) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := agent.ModuleRoot(wd)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(o.out)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(out, root); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("-out %s holds the module: pick a directory inside it, such as dist", o.out)
	}
	src, err := readSources(root)
	if err != nil {
		return err
	}
	plats, err := checkTask(src.task)
	if err != nil {
		return fmt.Errorf("task.json: %w", err)
	}
	task := src.task
	if len(o.platforms) > 0 {
		if plats, err = selectPlatforms(plats, o.platforms); err != nil {
			return err
		}
		if task, err = filterTask(src.task, plats); err != nil {
			return err
		}
		if _, err := checkTask(task); err != nil {
			return fmt.Errorf("task.json for %s: %w", strings.Join(o.platforms, ","), err)
		}
	}
	if err := checkIndexFiles(task, src.files); err != nil {
		return err
	}
	st := stamp{version: o.version, commit: gitOutput(ctx, root, "rev-parse", "--short=12", "HEAD")}
	if st.version == "" {
		st.version = gitOutput(ctx, root, "describe", "--tags", "--always", "--dirty")
	}
	if st.version == "" || !validStamp(st.version) {
		st.version = "0.0.0-dev"
	}
	if st.commit == "" || !validStamp(st.commit) {
		st.commit = "unknown"
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(out, ".stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	names := make([]string, len(plats))
	for i, p := range plats {
		names[i] = p.String()
	}
	fmt.Fprintf(stdout, "building %s: version %s, commit %s\n", strings.Join(names, " "), st.version, st.commit)
	start := time.Now()
	if err := buildAll(ctx, root, stage, plats, st, o.jobs); err != nil {
		return err
	}
	bins, err := readBinaries(stage, plats)
	if err != nil {
		return err
	}
	entries := append(src.entries(task), bins...)
	zipName := agent.BinaryName + ".zip"
	zipSum, zipSize, err := writeZipFile(filepath.Join(stage, zipName), entries)
	if err != nil {
		return err
	}
	binSums := make([]string, len(bins))
	for i, b := range bins {
		binSums[i] = sum256(b.data)
	}
	if err := publish(stage, out, zipName, bins, binSums, zipSum); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "built in %s\n", time.Since(start).Round(100*time.Millisecond))
	for i, b := range bins {
		fmt.Fprintf(stdout, "  %-44s %10d bytes %6.2f MiB  sha256 %s\n", b.name, len(b.data), mib(len(b.data)), binSums[i])
		if b.name == "bin/linux_amd64/"+agent.BinaryName && len(b.data) > sizeGoal {
			fmt.Fprintf(stderr, "note: %s is %.2f MiB, above the %d MiB goal\n", b.name, mib(len(b.data)), sizeGoal>>20)
		}
	}
	fmt.Fprintf(stdout, "  %-44s %10d bytes %6.2f MiB  sha256 %s\n", filepath.Join(o.out, zipName), zipSize, mib(int(zipSize)), zipSum)
	fmt.Fprintf(stdout, "wrote %s, %s.sha256, SHA256SUMS and bin/ in %s\n", zipName, zipName, o.out)
	return nil
}

func mib(n int) float64 { return float64(n) / (1 << 20) }

// publish moves the staged results into out, replacing an earlier package. binSums are the bins'
// SHA-256 sums, in order.
func publish(stage, out, zipName string, bins []entry, binSums []string, zipSum string) error {
	var sums strings.Builder
	for i, b := range bins {
		fmt.Fprintf(&sums, "%s  %s\n", binSums[i], b.name)
	}
	fmt.Fprintf(&sums, "%s  %s\n", zipSum, zipName)
	files := map[string]string{
		"SHA256SUMS":        sums.String(),
		zipName + ".sha256": fmt.Sprintf("%s  %s\n", zipSum, zipName),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(stage, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	for _, name := range []string{"bin", zipName, zipName + ".sha256", "SHA256SUMS"} {
		dst := filepath.Join(out, name)
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(stage, name), dst); err != nil {
			return err
		}
	}
	return nil
}
