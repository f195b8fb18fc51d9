package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// zipTime is every entry's modification time, so that the same inputs make the same zip.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// entry is one file of the zip.
type entry struct {
	name string // slash-separated path inside the zip
	data []byte
	mode fs.FileMode // permission bits
}

// writeZip writes entries as a deterministic zip: the parent directories first, entries sorted by
// name, fixed times, explicit Unix modes.
func writeZip(w io.Writer, entries []entry) error {
	byName := map[string]entry{}
	for _, e := range entries {
		if !validZipName(e.name) {
			return fmt.Errorf("bad zip entry name %q", e.name)
		}
		if _, dup := byName[e.name]; dup {
			return fmt.Errorf("zip entry %s twice", e.name)
		}
		byName[e.name] = e
	}
	dirs := map[string]bool{}
	for name := range byName {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d+"/"] = true
		}
	}
	names := make([]string, 0, len(byName)+len(dirs))
	for name := range byName {
		if dirs[name+"/"] {
			return fmt.Errorf("zip entry %s is also a directory", name)
		}
		names = append(names, name)
	}
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)

	zw := zip.NewWriter(w)
	for _, name := range names {
		h := &zip.FileHeader{Name: name, Modified: zipTime}
		if strings.HasSuffix(name, "/") {
			h.Method = zip.Store
			h.SetMode(fs.ModeDir | 0o755)
			if _, err := zw.CreateHeader(h); err != nil {
				return err
			}
			continue
		}
		e := byName[name]
		h.Method = zip.Deflate
		h.SetMode(e.mode.Perm())
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// validZipName accepts clean relative slash paths.
func validZipName(name string) bool {
	return name != "" && !strings.HasPrefix(name, "/") && !strings.Contains(name, `\`) &&
		path.Clean(name) == name && name != "." && name != ".." && !strings.HasPrefix(name, "../")
}

// writeZipFile writes the zip to file and returns its SHA-256 (hex) and size.
func writeZipFile(file string, entries []entry) (string, int64, error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := writeZip(cw, entries); err != nil {
		f.Close()
		return "", 0, err
	}
	if err := f.Close(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sum256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
