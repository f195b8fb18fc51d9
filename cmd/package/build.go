package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// stamp is what the binaries report with --version.
type stamp struct {
	version string
	commit  string
}

// ldflags strips the binary and stamps plugin.Version and plugin.Commit.
func (s stamp) ldflags() string {
	return "-s -w -X jobfastexecutescript/plugin.Version=" + s.version + " -X jobfastexecutescript/plugin.Commit=" + s.commit
}

var stampRe = regexp.MustCompile(`^[0-9A-Za-z._+-]{1,64}$`)

// validStamp accepts values that pass through -ldflags -X unquoted.
func validStamp(s string) bool { return stampRe.MatchString(s) }

// gitOutput runs git in root and returns its trimmed output, or "" when git fails or is missing.
func gitOutput(ctx context.Context, root string, args ...string) string {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// buildCmd is the go build of one platform into dir/<packagePath>.
func buildCmd(ctx context.Context, root, dir string, p platform, st stamp) *exec.Cmd {
	out := filepath.Join(dir, filepath.FromSlash(p.PackagePath))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", st.ldflags(), "-o", out, ".")
	cmd.Dir = root
	// Later entries win: a cross build with CGO off, whatever GOFLAGS the caller's shell has.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOFLAGS=")
	return cmd
}

// buildAll builds every platform into dir, at most jobs at a time; the first failure cancels the rest.
func buildAll(ctx context.Context, root, dir string, plats []platform, st stamp, jobs int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		sem   = make(chan struct{}, jobs)
	)
	for _, p := range plats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			if b, err := buildCmd(ctx, root, dir, p, st).CombinedOutput(); err != nil {
				once.Do(func() {
					first = fmt.Errorf("go build %s: %w\n%s", p, err, strings.TrimSpace(string(b)))
					cancel()
				})
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// readBinaries reads the built binaries as zip entries (mode 0755), in platform order.
func readBinaries(dir string, plats []platform) ([]entry, error) {
	out := make([]entry, 0, len(plats))
	for _, p := range plats {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p.PackagePath)))
		if err != nil {
			return nil, err
		}
		out = append(out, entry{name: p.PackagePath, data: b, mode: 0o755})
	}
	return out, nil
}
