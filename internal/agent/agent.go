// Package agent runs the plugin binary the way BK-CI's agent does (bkci-plugin.md §2.1): a data dir
// holding input.json, the binary saved under its basename in that dir, cwd = the data dir, the build
// variables in the environment, output.json read back after the exit. The demo, the end-to-end tests
// and the benchmarks share it.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BinaryName is the plugin's executable basename.
const BinaryName = "jobFastExecuteScript"

// Build compiles the plugin (the module at root) into dir and returns the binary's path.
func Build(ctx context.Context, root, dir string, extraArgs ...string) (string, error) {
	out := filepath.Join(dir, BinaryName)
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	// -buildvcs=false: a checkout git cannot read (another owner, no git) must still build.
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-o", out}, extraArgs...)
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, b)
	}
	return out, nil
}

// ModuleRoot finds the directory of go.mod above dir.
func ModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("go.mod not found above " + dir)
		}
	}
}

// Step is one plugin run prepared like the agent prepares it.
type Step struct {
	Binary    string            // the built plugin
	DataDir   string            // the agent's temporary data dir (created when empty)
	Workspace string            // the job workspace (WORKSPACE / bkWorkspace)
	Input     map[string]any    // input.json: the inputs (strings), build variables, bkSensitiveConfInfo
	Env       map[string]string // extra environment (BK_CI_* variables are also exported, like the agent does)
	Args      []string          // e.g. --postAction=terminate
	Stdout    io.Writer         // also captured
	Stderr    io.Writer         // also captured
}

// Result is what the agent sees after the run.
type Result struct {
	ExitCode int
	Stdout   string
	Stderr   string
	Output   []byte // output.json ("" when missing)
	Duration time.Duration
}

// Prepare writes input.json and copies the binary into the data dir under its basename, as the agent
// downloads it. It returns the command, not started.
func (s *Step) Prepare(ctx context.Context) (*exec.Cmd, *Buffer, *Buffer, error) {
	if s.DataDir == "" {
		d, err := os.MkdirTemp("", BinaryName+"_data")
		if err != nil {
			return nil, nil, nil, err
		}
		s.DataDir = d
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return nil, nil, nil, err
	}
	if s.Workspace == "" {
		s.Workspace = s.DataDir
	}
	b, err := json.MarshalIndent(s.Input, "", "  ")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode input.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, "input.json"), b, 0o600); err != nil {
		return nil, nil, nil, err
	}
	bin := filepath.Join(s.DataDir, filepath.Base(s.Binary))
	// A hard link avoids writing an executable: a copy still open for writing in a child forked
	// concurrently (parallel tests) makes exec fail with ETXTBSY ("text file busy").
	_ = os.Remove(bin)
	if err := os.Link(s.Binary, bin); err != nil {
		if err := copyFile(s.Binary, bin); err != nil {
			return nil, nil, nil, err
		}
	}
	// demands: chmod +x <basename>
	if err := os.Chmod(bin, 0o755); err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.CommandContext(ctx, "./"+filepath.Base(bin), s.Args...)
	cmd.Dir = s.DataDir
	cmd.Env = s.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
	var stdout, stderr Buffer
	cmd.Stdout = multi(&stdout, s.Stdout)
	cmd.Stderr = multi(&stderr, s.Stderr)
	return cmd, &stdout, &stderr, nil
}

// Run runs the step to its end.
func (s *Step) Run(ctx context.Context) (*Result, error) {
	cmd, stdout, stderr, err := s.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = cmd.Run()
	return s.result(cmd, stdout, stderr, start, err)
}

// Wait finishes a command started from Prepare and collects the result.
func (s *Step) Wait(cmd *exec.Cmd, stdout, stderr *Buffer, start time.Time) (*Result, error) {
	err := cmd.Wait()
	return s.result(cmd, stdout, stderr, start, err)
}

func (s *Step) result(cmd *exec.Cmd, stdout, stderr *Buffer, start time.Time, err error) (*Result, error) {
	r := &Result{Duration: time.Since(start), Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	default:
		return r, err
	}
	r.Output, _ = os.ReadFile(filepath.Join(s.DataDir, "output.json"))
	return r, nil
}

// environ is the agent's environment: the machine's, then WORKSPACE, the data-dir variables, every
// build variable without dots (strings only), then the extras.
func (s *Step) environ() []string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["WORKSPACE"] = s.Workspace
	env["bk_data_dir"] = s.DataDir
	env["bk_data_input"] = "input.json"
	env["bk_data_output"] = "output.json"
	for k, v := range s.Input {
		if str, ok := v.(string); ok && (strings.HasPrefix(k, "BK_CI_") || k == "bkWorkspace") && !strings.ContainsAny(k, ".-") {
			env[k] = strings.NewReplacer("'", "", "\n", "").Replace(str)
		}
	}
	for k, v := range s.Env {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Buffer is a bytes.Buffer safe to read while the process writes to it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func multi(buf *Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}
