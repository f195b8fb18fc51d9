package bkci

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/sethvargo/go-envconfig"
	"github.com/tidwall/gjson"
)

// Environment variables set by the BK-CI agent for every plugin process (MarketAtomTask.kt).
const (
	EnvDataDir    = "bk_data_dir"    // data dir: the plugin's cwd, holds input.json and output.json
	EnvDataInput  = "bk_data_input"  // input file name, "input.json"
	EnvDataOutput = "bk_data_output" // output file name, "output.json"
)

// Default file names used when the environment does not name them.
const (
	DefaultInputFile  = "input.json"
	DefaultOutputFile = "output.json"
)

// SensitiveConfKey is the input.json key holding the plugin's private config (an object of
// strings written by the agent).
const SensitiveConfKey = "bkSensitiveConfInfo"

// MaxInputSize is the largest input.json LoadInput reads (32 MiB).
const MaxInputSize = 32 << 20

// Errors returned (wrapped) by LoadInput. A missing file gives an error matching fs.ErrNotExist.
var (
	ErrInputTooLarge = errors.New("file too large")
	ErrInputInvalid  = errors.New("not a valid JSON object")
)

// Input is the parsed input.json of one plugin run: build variables, step extras and the
// plugin's own inputs, all as strings, plus the private config. Its methods are safe for
// concurrent use and on a nil *Input (which holds nothing).
type Input struct {
	// DataDir is the data dir ($bk_data_dir, else the working directory).
	DataDir string
	// InputPath is the file the input was read from.
	InputPath string
	// OutputPath is where output.json must be written ($bk_data_dir/$bk_data_output).
	OutputPath string

	values    map[string]string
	sensitive map[string]string
}

// LoadInput reads and parses $bk_data_dir/$bk_data_input (defaults: the working directory and
// "input.json"); getenv is usually os.Getenv. Every value becomes a string: JSON strings as they
// are, numbers and booleans as their JSON text, arrays and objects as their JSON text, null as "".
// bkSensitiveConfInfo is kept apart (see Sensitive) and is not returned by Get or Keys. Errors
// name the file but never echo its content.
func LoadInput(getenv func(string) string) (*Input, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	dir := getenv(EnvDataDir)
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("find data dir: %w", err)
		}
		dir = wd
	}
	in := &Input{
		DataDir:    dir,
		InputPath:  joinIfRelative(dir, orDefault(getenv(EnvDataInput), DefaultInputFile)),
		OutputPath: joinIfRelative(dir, orDefault(getenv(EnvDataOutput), DefaultOutputFile)),
	}
	b, err := readLimited(in.InputPath, MaxInputSize)
	if err != nil {
		return nil, err
	}
	if err := in.parse(b); err != nil {
		return nil, fmt.Errorf("read input file %s: %w", in.InputPath, err)
	}
	return in, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func joinIfRelative(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// readLimited reads at most limit bytes of path; a larger file is an error.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read input file: %w", err) // *PathError names the file
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read input file: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read input file %s: %w (more than %d MiB)", path, ErrInputTooLarge, limit>>20)
	}
	return b, nil
}

func (in *Input) parse(b []byte) error {
	if !gjson.ValidBytes(b) {
		return ErrInputInvalid
	}
	root := gjson.ParseBytes(b)
	if !root.IsObject() {
		return ErrInputInvalid
	}
	in.values = make(map[string]string)
	in.sensitive = make(map[string]string)
	root.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		if key == SensitiveConfKey {
			in.sensitive = parseSensitive(v)
			return true
		}
		in.values[key] = valueString(v)
		return true
	})
	return nil
}

// parseSensitive reads bkSensitiveConfInfo: an object (normally of strings), or, defensively, a
// string holding such an object. Anything else gives an empty map.
func parseSensitive(v gjson.Result) map[string]string {
	if v.Type == gjson.String && gjson.Valid(v.Str) {
		v = gjson.Parse(v.Str)
	}
	m := make(map[string]string)
	if !v.IsObject() {
		return m
	}
	v.ForEach(func(k, val gjson.Result) bool {
		m[k.String()] = valueString(val)
		return true
	})
	return m
}

// valueString turns a JSON value into the string BK-CI semantics give it.
func valueString(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Null:
		return ""
	default: // numbers, booleans, arrays, objects: their JSON text
		return v.Raw
	}
}

// Get returns the value of key ("" when absent). Keys are literal: "pipeline.build.id" is the
// key with dots, not a path.
func (in *Input) Get(key string) string {
	if in == nil {
		return ""
	}
	return in.values[key]
}

// Has reports whether key is present (possibly with an empty value).
func (in *Input) Has(key string) bool {
	if in == nil {
		return false
	}
	_, ok := in.values[key]
	return ok
}

// Keys returns all keys, sorted, without bkSensitiveConfInfo.
func (in *Input) Keys() []string {
	if in == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(in.values))
}

// Sensitive returns a copy of the private config (bkSensitiveConfInfo); never log it.
func (in *Input) Sensitive() map[string]string {
	if in == nil {
		return map[string]string{}
	}
	return maps.Clone(in.sensitive)
}

// Lookuper returns an envconfig.Lookuper over the input's non-empty values, so that envconfig
// defaults apply to inputs left empty. bkSensitiveConfInfo is not included.
func (in *Input) Lookuper() envconfig.Lookuper {
	m := make(map[string]string)
	if in != nil {
		for k, v := range in.values {
			if v != "" {
				m[k] = v
			}
		}
	}
	return envconfig.MapLookuper(m)
}
