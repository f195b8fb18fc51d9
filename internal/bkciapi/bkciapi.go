// Package bkciapi is the small part of BK-CI's build API the step calls with the credentials the worker
// writes into .sdk.json: the plugin's private config, when the agent does not write it into input.json,
// and the link shown on the pipeline canvas. Facts and bk-ci source paths: docs/BKCI.md#the-build-api.
//
// The agent's secret key is sent only as a header: it is never printed (SDKEnv masks it), never part
// of an error, and a redirect is never followed (it would carry the header elsewhere).
package bkciapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/tidwall/gjson"

	"jobfastexecutescript/internal/bkci"
)

// SDKFile is .sdk.json, the file the worker writes into the data dir for BK-CI's plugin SDKs.
const SDKFile = bkci.SDKFile

// Paths under the gateway (worker-api-sdk AtomArchiveResourceApi.kt getAtomSensitiveConf, store
// BuildStoreResource.kt; process BuildTaskResource.kt reportExternalLink).
const (
	sensitiveConfPath = "/ms/store/api/build/store/sensitiveConf/types/ATOM/codes/"
	externalLinkPath  = "/ms/process/api/build/task/external_link"
)

// MaxLinkLength is the longest link BK-CI keeps, in UTF-16 units (Kotlin String.length) (BuildTaskResourceImpl.kt MAX_EXTERNAL_LINK_LENGTH).
const MaxLinkLength = 1024

// SDKEnv is .sdk.json: where the build API is and the build's credentials. SecretKey is secret.
type SDKEnv struct {
	BuildType    string
	ProjectID    string
	AgentID      string
	SecretKey    string
	Gateway      string
	BuildID      string
	VMSeqID      string
	TaskID       string
	ExecuteCount int
}

// ReadSDKEnv reads .sdk.json in dataDir. A missing file is an error (os.ErrNotExist).
func ReadSDKEnv(dataDir string) (SDKEnv, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, SDKFile))
	if err != nil {
		return SDKEnv{}, err
	}
	if !gjson.ValidBytes(b) {
		return SDKEnv{}, errors.New(SDKFile + " is not valid JSON")
	}
	g := func(k string) string { return strings.TrimSpace(gjson.GetBytes(b, k).String()) }
	e := SDKEnv{BuildType: g("buildType"), ProjectID: g("projectId"), AgentID: g("agentId"), SecretKey: g("secretKey"),
		Gateway: g("gateway"), BuildID: g("buildId"), VMSeqID: g("vmSeqId"), TaskID: g("taskId"),
		ExecuteCount: int(gjson.GetBytes(b, "executeCount").Int())}
	return e, nil
}

// String returns the environment with SecretKey masked.
func (e SDKEnv) String() string {
	key := ""
	if e.SecretKey != "" {
		key = "******"
	}
	return fmt.Sprintf("{BuildType:%s ProjectID:%s AgentID:%s SecretKey:%s Gateway:%s BuildID:%s VMSeqID:%s TaskID:%s ExecuteCount:%d}",
		e.BuildType, e.ProjectID, e.AgentID, key, e.Gateway, e.BuildID, e.VMSeqID, e.TaskID, e.ExecuteCount)
}

// GoString masks SecretKey too.
func (e SDKEnv) GoString() string { return "bkciapi.SDKEnv" + e.String() }

// Client calls the build API. The zero of every field but env is usable.
type Client struct {
	env     SDKEnv
	hc      *http.Client
	timeout time.Duration // per request
}

// New returns a client for env, or nil when env names no gateway or no build (not under BK-CI).
// timeout bounds each request (0: 5 s).
func New(env SDKEnv, timeout time.Duration) *Client {
	if env.Gateway == "" || env.BuildID == "" {
		return nil
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &Client{env: env, timeout: timeout, hc: &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// url joins the gateway and path as the worker and the SDKs do: a gateway without a scheme is http.
func (c *Client) url(path string) string {
	g := strings.TrimRight(c.env.Gateway, "/")
	if !strings.HasPrefix(g, "http://") && !strings.HasPrefix(g, "https://") {
		g = "http://" + g
	}
	return g + path
}

// Headers are the build API's credentials and the build's identity (AbstractBuildResourceApi.kt
// initBuildArgs and getAllHeaders; common-api auth/Header.kt), plus what reportExternalLink reads.
func (c *Client) header(h http.Header, pipelineID string) {
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("X-DEVOPS-BUILD-TYPE", c.env.BuildType)
	set("X-DEVOPS-PROJECT-ID", c.env.ProjectID)
	set("X-DEVOPS-AGENT-ID", c.env.AgentID)
	set("X-DEVOPS-AGENT-SECRET-KEY", c.env.SecretKey)
	set("X-DEVOPS-BUILD-ID", c.env.BuildID)
	set("X-DEVOPS-VM-SID", c.env.VMSeqID)
	set("X-DEVOPS-CI-TASK-ID", c.env.TaskID)
	set("X-DEVOPS-PIPELINE-ID", pipelineID)
	if c.env.ExecuteCount > 0 {
		h.Set("X-DEVOPS-EXECUTE-COUNT", strconv.Itoa(c.env.ExecuteCount))
	}
	h.Set("Accept", "application/json")
}

// APIError is a failed call: what went wrong, never a header or the answer's text.
type APIError struct {
	Op     string
	Status int    // HTTP status (0: no answer)
	Code   int64  // BK-CI's status in the answer, when it was not 0
	Cause  string // the transport's error, the secret removed
}

func (e *APIError) Error() string {
	switch {
	case e.Cause != "":
		return e.Op + ": " + e.Cause
	case e.Status != http.StatusOK:
		return fmt.Sprintf("%s: HTTP %d", e.Op, e.Status)
	default:
		return fmt.Sprintf("%s: status %d", e.Op, e.Code)
	}
}

// do sends one request and returns BK-CI's "data" (the Result envelope: status 0 is success).
func (c *Client) do(ctx context.Context, op, method, path, pipelineID string, body []byte) (gjson.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), rd)
	if err != nil {
		return gjson.Result{}, &APIError{Op: op, Cause: c.clean(err.Error())}
	}
	c.header(req.Header, pipelineID)
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return gjson.Result{}, &APIError{Op: op, Cause: c.clean(err.Error())}
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return gjson.Result{}, &APIError{Op: op, Status: resp.StatusCode, Cause: c.clean(err.Error())}
	}
	if resp.StatusCode != http.StatusOK {
		return gjson.Result{}, &APIError{Op: op, Status: resp.StatusCode}
	}
	if !gjson.ValidBytes(b) {
		return gjson.Result{}, &APIError{Op: op, Status: resp.StatusCode, Cause: "the answer is not JSON"}
	}
	if st := gjson.GetBytes(b, "status"); st.Int() != 0 {
		return gjson.Result{}, &APIError{Op: op, Status: resp.StatusCode, Code: st.Int()}
	}
	return gjson.GetBytes(b, "data"), nil
}

// clean removes the secret key from a transport error, should it ever hold it.
func (c *Client) clean(s string) string {
	if c.env.SecretKey != "" {
		s = strings.ReplaceAll(s, c.env.SecretKey, "******")
	}
	return s
}

// PrivateConfig reads the plugin's private config (fields of type BACKEND and ALL, decrypted) from the
// store: GET /ms/store/api/build/store/sensitiveConf/types/ATOM/codes/<atomCode>, answer
// {"status":0,"data":[{"fieldName","fieldValue",...}]}. The values are secret.
func (c *Client) PrivateConfig(ctx context.Context, atomCode string) (map[string]string, error) {
	data, err := c.do(ctx, "read the private config", http.MethodGet, sensitiveConfPath+atomCode, "", nil)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	data.ForEach(func(_, f gjson.Result) bool {
		if name := f.Get("fieldName").String(); name != "" {
			m[name] = f.Get("fieldValue").String()
		}
		return true
	})
	return m, nil
}

// ErrLinkRefused is BK-CI's answer "false" to a link report: the link was not http(s) or too long.
var ErrLinkRefused = errors.New("BK-CI refused the link")

// ReportLink reports the step's link for the pipeline canvas: POST /ms/process/api/build/task/external_link
// with {"link"}; BK-CI keeps an http(s) link of at most MaxLinkLength characters.
func (c *Client) ReportLink(ctx context.Context, pipelineID, link string) error {
	link = strings.TrimSpace(link)
	if !strings.HasPrefix(link, "http://") && !strings.HasPrefix(link, "https://") || len(utf16.Encode([]rune(link))) > MaxLinkLength {
		return ErrLinkRefused
	}
	body, _ := json.Marshal(map[string]string{"link": link})
	data, err := c.do(ctx, "report the link", http.MethodPost, externalLinkPath, pipelineID, body)
	if err != nil {
		return err
	}
	if data.Type == gjson.False {
		return ErrLinkRefused
	}
	return nil
}
