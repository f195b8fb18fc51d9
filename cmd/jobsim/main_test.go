package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobfastexecutescript/tooling/jobsim"
)

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	inv, err := json.Marshal(jobsim.DemoInventory())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "inv.json")
	if err := os.WriteFile(path, inv, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-app", "bkci:secret", "-inventory", path}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, jobsim.DefaultPrefix) {
		t.Fatalf("first line %q", line)
	}
	body, _ := json.Marshal(map[string]any{
		"bk_scope_type": "biz", "bk_scope_id": "2", "account_alias": "root", "script_language": 1,
		"script_content": base64.StdEncoding.EncodeToString([]byte("echo hi")),
		"execute_target": map[string]any{"host_list": []any{map[string]any{"bk_host_id": 101}}},
	})
	req, _ := http.NewRequest(http.MethodPost, base+jobsim.EPSubmit.Path(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bkapi-Authorization", `{"bk_app_code":"bkci","bk_app_secret":"secret","bk_username":"alice"}`)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(out, []byte(`"result":true`)) {
		t.Fatalf("submit: %s", out)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunFlags(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-print-demo-inventory"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := jobsim.ParseInventory(out.Bytes()); err != nil {
		t.Fatalf("demo inventory output: %v", err)
	}
	for _, args := range [][]string{{}, {"-app", "nosecret"}, {"-app", "a:b", "-inventory", "/nonexistent/inv.json"}, {"-bogus"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
