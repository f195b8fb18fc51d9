package jobapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkBatchGetObjectLogs reads one answer of 500 host logs of 16 KiB each (about 8 MiB of
// JSON, the size the plugin bounds a log response to), with its length announced and chunked:
// B/op shows how often the body is copied.
func BenchmarkBatchGetObjectLogs(b *testing.B) {
	b.Run("content-length", func(b *testing.B) { benchLogs(b, true) })
	b.Run("chunked", func(b *testing.B) { benchLogs(b, false) })
}

func benchLogs(b *testing.B, announce bool) {
	const objects, logBytes = 500, 16 << 10
	line := strings.Repeat("x", 99) + `\n`
	content := strings.Repeat(line, logBytes/100)
	var body strings.Builder
	body.WriteString(`{"result":true,"code":0,"data":{"job_instance_id":1,"step_instance_id":2,"script_execute_object_task_logs":[`)
	keys := make([]ObjectKey, objects)
	for i := range objects {
		id := strconv.Itoa(1000 + i)
		keys[i] = ObjectKey{Type: ObjectTypeHost, ResourceID: id}
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"execute_object":{"type":1,"resource_id":"` + id + `","host":{"bk_host_id":` + id +
			`}},"log_content":"` + content + `"}`)
	}
	body.WriteString(`]}}`)
	answer := []byte(body.String())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if announce {
			w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		}
		_, _ = w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	c := newTestClient(b, srv.URL, nil)
	ctx := context.Background()
	b.SetBytes(int64(len(answer)))
	b.ReportAllocs()
	for b.Loop() {
		logs, err := c.BatchGetObjectLogs(ctx, testScope, 1, 2, keys, nil)
		if err != nil || len(logs) != objects || !logs[objects-1].Present || len(logs[0].Content) != logBytes/100*100 {
			b.Fatalf("logs %d, err %v", len(logs), err)
		}
	}
}
