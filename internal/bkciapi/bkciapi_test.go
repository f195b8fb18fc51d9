package bkciapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret = "AGENT-SECRET-9c1d"

func writeSDK(t *testing.T, gateway string) string {
	t.Helper()
	dir := t.TempDir()
	body := fmt.Sprintf(`{"buildType":"AGENT","projectId":"proj","agentId":"ag-1","secretKey":%q,"gateway":%q,"buildId":"b-1","vmSeqId":"1","taskId":"e-1","executeCount":2}`, secret, gateway)
	if err := os.WriteFile(filepath.Join(dir, SDKFile), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestClient: the build API is called with the worker's headers; the private config and the link
// report read BK-CI's envelope; no error or printed form holds the secret key.
func TestClient(t *testing.T) {
	t.Parallel()
	var got http.Header
	var status, linkData = `0`, `true`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		switch {
		case strings.HasPrefix(r.URL.Path, sensitiveConfPath):
			fmt.Fprintf(w, `{"status":%s,"data":[{"fieldName":"BK_APP_SECRET","fieldValue":"s3"},{"fieldName":"","fieldValue":"x"}]}`, status)
		case r.URL.Path == externalLinkPath:
			fmt.Fprintf(w, `{"status":0,"data":%s}`, linkData)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	// A gateway without a scheme is http, as the worker reads it.
	env, err := ReadSDKEnv(writeSDK(t, strings.TrimPrefix(srv.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %#v", env, env); strings.Contains(s, secret) {
		t.Errorf("the printed environment holds the secret: %s", s)
	}
	c := New(env, 0)
	m, err := c.PrivateConfig(context.Background(), "jobFastExecuteScript")
	if err != nil || len(m) != 1 || m["BK_APP_SECRET"] != "s3" {
		t.Fatalf("private config %v, %v", m, err)
	}
	for k, want := range map[string]string{"X-DEVOPS-BUILD-TYPE": "AGENT", "X-DEVOPS-PROJECT-ID": "proj", "X-DEVOPS-AGENT-ID": "ag-1",
		"X-DEVOPS-AGENT-SECRET-KEY": secret, "X-DEVOPS-BUILD-ID": "b-1", "X-DEVOPS-VM-SID": "1", "X-DEVOPS-EXECUTE-COUNT": "2"} {
		if got.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, got.Get(k), want)
		}
	}
	status = `2101`
	if _, err := c.PrivateConfig(context.Background(), "jobFastExecuteScript"); err == nil || !strings.Contains(err.Error(), "2101") {
		t.Errorf("a non-zero status: %v", err)
	}
	if err := c.ReportLink(context.Background(), "p-1", "https://job.example.com/api_execute/1"); err != nil || got.Get("X-DEVOPS-PIPELINE-ID") != "p-1" {
		t.Errorf("link: %v, pipeline header %q", err, got.Get("X-DEVOPS-PIPELINE-ID"))
	}
	linkData = `false`
	if err := c.ReportLink(context.Background(), "p-1", "https://job.example.com/x"); !errors.Is(err, ErrLinkRefused) {
		t.Errorf("BK-CI's false: %v", err)
	}
	for _, bad := range []string{"ftp://x", "https://" + strings.Repeat("a", MaxLinkLength)} {
		if err := c.ReportLink(context.Background(), "p-1", bad); !errors.Is(err, ErrLinkRefused) {
			t.Errorf("link %.20q: %v", bad, err)
		}
	}
	srv.Close()
	if _, err := c.PrivateConfig(context.Background(), "x"); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("unreachable: %v", err)
	}
	if New(SDKEnv{}, 0) != nil {
		t.Error("a client without a gateway")
	}
}
