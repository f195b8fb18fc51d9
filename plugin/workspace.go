package plugin

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Limits of the workspace files the step reads.
const maxTargetsFileBytes = 16 << 20

// workspace is the build's workspace: bkWorkspace, else WORKSPACE.
func (b Build) workspace() string {
	if b.Workspace != "" {
		return b.Workspace
	}
	return b.WorkspaceEnv
}

// readWorkspaceFile reads the file rel names in the workspace ws: a path relative to ws, or an absolute
// one inside it. Both the workspace and the file are resolved (filepath.EvalSymlinks), and the file must
// be inside the workspace after that: a "..", an absolute path elsewhere or a symlink leading out is
// refused. Every problem is added to field, naming the path as the user wrote it.
func readWorkspaceFile(ps *Problems, field, ws, rel string, limit int64) ([]byte, bool) {
	if ws == "" {
		ps.add(field, "val.ws_none", rel)
		return nil, false
	}
	wsReal, err := filepath.EvalSymlinks(ws)
	if err != nil {
		ps.add(field, "val.ws_none", rel)
		return nil, false
	}
	p := rel
	if !filepath.IsAbs(p) {
		p = filepath.Join(ws, rel)
	}
	p = filepath.Clean(p)
	if !within(ws, p) && !within(wsReal, p) {
		ps.add(field, "val.ws_outside", rel)
		return nil, false
	}
	real, err := filepath.EvalSymlinks(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ps.add(field, "val.ws_not_found", rel)
		return nil, false
	case err != nil:
		ps.add(field, "val.ws_read", rel, err.Error())
		return nil, false
	case !within(wsReal, real):
		ps.add(field, "val.ws_outside", rel)
		return nil, false
	}
	f, err := os.Open(real)
	if err != nil {
		ps.add(field, "val.ws_read", rel, err.Error())
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		ps.add(field, "val.ws_read", rel, err.Error())
		return nil, false
	case st.IsDir():
		ps.add(field, "val.ws_dir", rel)
		return nil, false
	case !st.Mode().IsRegular():
		ps.add(field, "val.ws_not_regular", rel)
		return nil, false
	case st.Size() > limit:
		ps.add(field, "val.ws_too_big", rel, st.Size(), limit)
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	switch {
	case err != nil:
		ps.add(field, "val.ws_read", rel, err.Error())
		return nil, false
	case int64(len(b)) > limit: // grew while read
		ps.add(field, "val.ws_too_big", rel, len(b), limit)
		return nil, false
	case !utf8.Valid(b):
		ps.add(field, "val.ws_utf8", rel)
		return nil, false
	}
	return b, true
}

// within reports whether p is dir or under it (both clean).
func within(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}
