package vectors

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

func TestReadGzipAndPlain(t *testing.T) {
	dir := t.TempDir()
	body := []byte("{\"a\":1}\n\n{\"a\":2}\n")
	plain := filepath.Join(dir, "v.jsonl")
	if err := os.WriteFile(plain, body, 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(body)
	zw.Close()
	gz := filepath.Join(dir, "v.jsonl.gz")
	if err := os.WriteFile(gz, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{plain, gz} {
		lines, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		type v struct{ A int }
		got, err := Decode[v](lines)
		if err != nil || len(got) != 2 || got[1].A != 2 || lines[1].N != 3 {
			t.Fatalf("%s: %v %v %v", p, got, lines, err)
		}
	}
	if err := os.WriteFile(plain, []byte("{x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(plain); err == nil {
		t.Fatal("want an error for a line that is not JSON")
	}
}
