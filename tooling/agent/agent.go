// Package agent runs the plugin binary the way BK-CI's agent does (docs/CONTRACT.md#package, docs/BKCI.md): a data dir
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

	"github.com/tidwall/gjson"
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

// Step is one plugin run prepared like the agent prepares it (bk-ci worker-common
// .../task/market/MarketAtomTask.kt): input.json holds every build variable, then the saved step inputs
// laid over them, then the private config; the environment holds the build variables as the worker's
// wrapper script exports them (.../utils/ShellUtil.kt), never the inputs.
type Step struct {
	Binary string // the built plugin
	// TmpDir is the worker's java.io.tmpdir: Prepare creates the data dir in it as the worker does,
	// <atomCode>_<taskId>_data<random>. A step and its post action run in one worker and share it.
	TmpDir    string
	DataDir   string // the data dir (created by Prepare when empty)
	Workspace string // the job workspace (WORKSPACE / bkWorkspace)
	// Form is the plugin's form (LoadForm): a new step is saved with every input's default. Nil: every
	// key of Input goes into input.json as written.
	Form *Form
	// Input is what the test sets: a key the form declares is a saved step input (the value Unset
	// leaves it out of the saved step, as in a step saved before the input existed), any other key a
	// build variable; bkSensitiveConfInfo is the private config and parentTaskId the post action's link.
	Input map[string]any
	// Vars are more build variables, for names the form also declares (a pipeline variable named like
	// a field). The saved inputs are laid over them.
	Vars map[string]string
	// TimerStart is when BK-CI started the step's timer (zero: now). The worker writes .sdk.json a
	// moment later, before it downloads the plugin: its mtime is set to TimerStart.
	TimerStart time.Time
	// SDK is the build API a worker on an agent writes into .sdk.json (nil: none, as an old worker);
	// a test points Gateway at a fake build API.
	SDK    *SDK
	Env    map[string]string // extra environment, after the worker's
	Args   []string          // e.g. --postAction=terminate
	Stdout io.Writer         // also captured
	Stderr io.Writer         // also captured
}

// SDK is the part of .sdk.json that reaches the build API (MarketAtomTask.kt writeSdkEnv).
type SDK struct {
	Gateway   string // e.g. the fake build API's base URL
	AgentID   string
	SecretKey string // sent by the plugin as X-DEVOPS-AGENT-SECRET-KEY only
}

// Unset as an Input value leaves a form input out of the saved step (or a variable out of the build).
const Unset = "<unset>"

// Result is what the agent sees after the run.
type Result struct {
	ExitCode int
	Stdout   string
	Stderr   string
	Output   []byte // output.json ("" when missing)
	Duration time.Duration
}

// Form is the plugin's form as BK-CI saves a new step: every input of task.json, and the defaults it
// saves (bk-ci devops-pipeline store/modules/atom/atomUtil.js getAtomDefaultValue takes each input's
// default; an input without one is not saved at all).
type Form struct {
	Inputs   map[string]bool
	Defaults map[string]string
}

// LoadForm reads task.json at root.
func LoadForm(root string) (*Form, error) {
	b, err := os.ReadFile(filepath.Join(root, "task.json"))
	if err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(b) {
		return nil, errors.New("task.json is not valid JSON")
	}
	f := &Form{Inputs: map[string]bool{}, Defaults: map[string]string{}}
	gjson.GetBytes(b, "input").ForEach(func(k, v gjson.Result) bool {
		f.Inputs[k.String()] = true
		if d := v.Get("default"); d.Exists() && d.Type != gjson.Null {
			f.Defaults[k.String()] = d.String() // a boolean is sent as "true" / "false"
		}
		return true
	})
	return f, nil
}

// inputJSON builds input.json as the worker does: the build variables, then the saved inputs over them
// (variable references resolved, JSON-looking values re-printed), then the private config and the post
// action's parentTaskId. It also returns the build variables.
func (s *Step) inputJSON() ([]byte, map[string]string, error) {
	vars := map[string]string{}
	for k, v := range s.Vars {
		vars[k] = v
	}
	doc := map[string]any{}
	saved := map[string]string{}
	if s.Form != nil {
		for k, v := range s.Form.Defaults {
			saved[k] = v
		}
	}
	for k, v := range s.Input {
		switch {
		case k == "bkSensitiveConfInfo" || k == "parentTaskId":
		case s.Form == nil:
			if v != Unset {
				doc[k] = v
				if str, ok := v.(string); ok {
					vars[k] = str
				}
			}
		case s.Form.Inputs[k]:
			if v == Unset {
				delete(saved, k)
			} else {
				saved[k] = fmt.Sprint(v)
			}
		case v == Unset:
			delete(vars, k)
		default:
			vars[k] = fmt.Sprint(v)
		}
	}
	// The worker adds the workspace to the variables (MarketAtomTask.kt, bkWorkspace).
	if _, ok := vars["bkWorkspace"]; !ok && s.Workspace != "" {
		vars["bkWorkspace"] = s.Workspace
	}
	for k, v := range vars {
		if _, set := doc[k]; !set {
			doc[k] = v
		}
	}
	for k, v := range saved {
		doc[k] = ResolveInput(v, vars)
	}
	if v, ok := s.Input["bkSensitiveConfInfo"]; ok {
		doc["bkSensitiveConfInfo"] = v
	}
	if v, ok := s.Input["parentTaskId"]; ok && v != Unset {
		doc["parentTaskId"] = fmt.Sprint(v)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	return b, vars, err
}

// PrepareData creates the data dir as the worker does and writes .sdk.json and input.json into it. It
// returns the environment the plugin runs with (tests that run the plugin in-process use it as is).
func (s *Step) PrepareData() ([]string, error) {
	b, vars, err := s.inputJSON()
	if err != nil {
		return nil, fmt.Errorf("encode input.json: %w", err)
	}
	if s.DataDir == "" {
		if s.TmpDir != "" {
			if err := os.MkdirAll(s.TmpDir, 0o755); err != nil {
				return nil, err
			}
		}
		d, err := os.MkdirTemp(s.TmpDir, BinaryName+"_"+vars["BK_CI_BUILD_TASK_ID"]+"_data")
		if err != nil {
			return nil, err
		}
		s.DataDir = d
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return nil, err
	}
	if s.Workspace == "" {
		s.Workspace = s.DataDir
	}
	if err := s.writeSDK(vars); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, "input.json"), b, 0o600); err != nil {
		return nil, err
	}
	return s.environ(vars), nil
}

// Prepare is PrepareData, then the binary linked into the data dir under its basename, as the agent
// downloads it. It returns the command, not started.
func (s *Step) Prepare(ctx context.Context) (*exec.Cmd, *Buffer, *Buffer, error) {
	env, err := s.PrepareData()
	if err != nil {
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
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
	var stdout, stderr Buffer
	cmd.Stdout = multi(&stdout, s.Stdout)
	cmd.Stderr = multi(&stderr, s.Stderr)
	return cmd, &stdout, &stderr, nil
}

// writeSDK writes .sdk.json as the worker does right after it creates the data dir, before it downloads
// the plugin (MarketAtomTask.kt writeSdkEnv): its mtime is the step timer's start, or as close as any
// file gets to it.
func (s *Step) writeSDK(vars map[string]string) error {
	p := filepath.Join(s.DataDir, ".sdk.json")
	m := map[string]any{"buildType": "DOCKER", "buildId": vars["BK_CI_BUILD_ID"],
		"taskId": vars["BK_CI_BUILD_TASK_ID"], "executeCount": 1, "vmSeqId": "1"}
	if s.SDK != nil { // the fields of MarketAtomTask.kt SdkEnv on an agent (BuildType.AGENT)
		m["buildType"], m["projectId"], m["agentId"], m["secretKey"] = "AGENT", vars["BK_CI_PROJECT_NAME"], s.SDK.AgentID, s.SDK.SecretKey
		m["gateway"], m["fileGateway"] = s.SDK.Gateway, ""
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return err
	}
	if !s.TimerStart.IsZero() {
		return os.Chtimes(p, s.TimerStart, s.TimerStart)
	}
	return nil
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

// environ is the agent's environment: the machine's, then WORKSPACE, the data-dir variables and the
// build variables as the worker's wrapper script exports them, then the extras.
func (s *Step) environ(vars map[string]string) []string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range ExportedVars(vars) {
		env[k] = v
	}
	env["WORKSPACE"] = s.Workspace
	env["bk_data_dir"] = s.DataDir
	env["bk_data_input"] = "input.json"
	env["bk_data_output"] = "output.json"
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
