package bkci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"jobfastexecutescript/internal/atomicfile"
)

// Step statuses in output.json. BK-CI treats exactly "success" as success.
const (
	StatusSuccess = "success"
	StatusFailure = "failure"
	StatusError   = "error"
)

// Error types in output.json (BK-CI ErrorType; any other value counts as plugin error).
const (
	ErrorTypeUser       = 1 // bad input or configuration, permission, the user's job failed
	ErrorTypeThirdParty = 2 // an external system (JOB, the gateway) failed or answered wrongly
	ErrorTypePlugin     = 3 // a bug in the plugin
)

// Output data types and report types.
const (
	DataTypeString   = "string"
	DataTypeReport   = "report"
	DataTypeArtifact = "artifact"

	ReportTypeInternal   = "INTERNAL"   // a directory under the workspace, uploaded whole
	ReportTypeThirdParty = "THIRDPARTY" // a link
)

// outputType is the only output.json type whose data BK-CI exports as step outputs.
const outputType = "default"

// Output is the content of output.json (docs/CONTRACT.md#package).
type Output struct {
	Status            string          // StatusSuccess, StatusFailure or StatusError; required
	Message           string          // shown with the step result; markdown allowed
	ErrorType         int             // ErrorTypeUser, ErrorTypeThirdParty, ErrorTypePlugin
	ErrorCode         int             // the plugin's own 8xxxxx code
	PlatformCode      string          // platform the error came from (registered in the store)
	PlatformErrorCode int             // that platform's error code (JOB's code)
	Data              map[string]Data // step outputs by name
}

// Data is one step output.
type Data struct {
	Type        string // DataTypeString, DataTypeReport or DataTypeArtifact
	Value       any    // string for DataTypeString, []string for DataTypeArtifact, nil for reports
	Label       string // report label
	ReportType  string // ReportTypeInternal or ReportTypeThirdParty
	Path        string // internal report: directory, relative to the workspace or absolute
	Target      string // internal report: entry file inside Path
	URL         string // third-party report: link
	IsSensitive bool   // masks the value in BK-CI's logs
}

// StringData returns a string output.
func StringData(v string) Data { return Data{Type: DataTypeString, Value: v} }

// InternalReport returns an internal report output: the directory path (relative to the
// workspace or absolute) with entry file target, shown under label.
func InternalReport(label, path, target string) Data {
	return Data{Type: DataTypeReport, ReportType: ReportTypeInternal, Label: label, Path: path, Target: target}
}

// ExitCode returns the process exit code for status: 0 exactly when status is StatusSuccess.
func ExitCode(status string) int {
	if status == StatusSuccess {
		return 0
	}
	return 1
}

type outputJSON struct {
	Status            string              `json:"status"`
	Message           string              `json:"message,omitempty"`
	ErrorType         int                 `json:"errorType,omitempty"`
	ErrorCode         int                 `json:"errorCode,omitempty"`
	PlatformCode      string              `json:"platformCode,omitempty"`
	PlatformErrorCode int                 `json:"platformErrorCode,omitempty"`
	Type              string              `json:"type"`
	Data              map[string]dataJSON `json:"data"`
}

type dataJSON struct {
	Type        string `json:"type"`
	Value       any    `json:"value,omitempty"`
	Label       string `json:"label,omitempty"`
	ReportType  string `json:"reportType,omitempty"`
	Path        string `json:"path,omitempty"`
	Target      string `json:"target,omitempty"`
	URL         string `json:"url,omitempty"`
	IsSensitive bool   `json:"isSensitive,omitempty"`
}

// MarshalOutput returns the output.json content for o: always "status" and "type":"default";
// zero error fields, platform fields and empty message left out; error codes as JSON numbers;
// "data" always an object. It checks that status is set, every data item has a known type, and
// string data holds a string.
func MarshalOutput(o *Output) ([]byte, error) {
	if o == nil {
		return nil, errors.New("marshal output: nil output")
	}
	if o.Status == "" {
		return nil, errors.New("marshal output: empty status")
	}
	out := outputJSON{
		Status:            o.Status,
		Message:           o.Message,
		ErrorType:         o.ErrorType,
		ErrorCode:         o.ErrorCode,
		PlatformCode:      o.PlatformCode,
		PlatformErrorCode: o.PlatformErrorCode,
		Type:              outputType,
		Data:              make(map[string]dataJSON, len(o.Data)),
	}
	for name, d := range o.Data {
		switch d.Type {
		case DataTypeString:
			if _, ok := d.Value.(string); !ok {
				return nil, fmt.Errorf("marshal output: data %q: string value is %T", name, d.Value)
			}
		case DataTypeArtifact:
			if _, ok := d.Value.([]string); !ok {
				return nil, fmt.Errorf("marshal output: data %q: artifact value is %T, want []string", name, d.Value)
			}
		case DataTypeReport:
		default:
			return nil, fmt.Errorf("marshal output: data %q: unknown type %q", name, d.Type)
		}
		out.Data[name] = dataJSON(d)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("marshal output: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteOutput writes o to path (see MarshalOutput) atomically: a temporary file in the same
// directory is written, synced and renamed over path, mode 0644. A failed write leaves no
// temporary file behind and any previous file at path unchanged.
func WriteOutput(path string, o *Output) error {
	b, err := MarshalOutput(o)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("write output file %s: %w", path, err)
	}
	return nil
}
