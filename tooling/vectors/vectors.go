// Package vectors reads conformance vectors recorded from BlueKing JOB's own Java classes: gzipped
// (or plain) JSON lines kept under a package's testdata/ (docs/CONFORMANCE.md says how they were
// recorded and from which bk-job commit).
package vectors

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// Line is one recorded vector: its 1-based line number in the file and its raw JSON.
type Line struct {
	N   int
	Raw json.RawMessage
}

// Read returns every line of the file at path, decompressing it when the name ends in ".gz".
func Read(path string) ([]Line, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	var r io.Reader = bytes.NewReader(data)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("read vectors %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var out []Line
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if !json.Valid(raw) {
			return nil, fmt.Errorf("read vectors %s:%d: not JSON", path, n)
		}
		out = append(out, Line{N: n, Raw: append(json.RawMessage(nil), raw...)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read vectors %s: %w", path, err)
	}
	return out, nil
}

// Decode unmarshals every line into a T, naming the line on failure.
func Decode[T any](lines []Line) ([]T, error) {
	out := make([]T, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal(l.Raw, &out[i]); err != nil {
			return nil, fmt.Errorf("vector line %d: %w", l.N, err)
		}
	}
	return out, nil
}

// Load reads the vectors at path and decodes each line into a T, failing the test on any error.
func Load[T any](t testing.TB, path string) ([]Line, []T) {
	t.Helper()
	lines, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Decode[T](lines)
	if err != nil {
		t.Fatal(err)
	}
	return lines, vs
}
