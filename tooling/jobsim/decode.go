package jobsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// errDecode is a request body JOB's JSON binding (Jackson) would reject: HTTP 200, 1240003 "Bad Request".
var errDecode = errors.New("request body does not bind")

// obj is one JSON object of a request, read field by field with JOB's types. Unknown fields are ignored.
// Strict mode needs the JSON type to match the Java field type; lenient mode applies Jackson's default
// scalar coercions (numbers and booleans to strings, numeric strings to numbers, "true"/1 to booleans).
type obj struct {
	m       map[string]json.RawMessage
	lenient bool
}

func parseObject(raw []byte, lenient bool) (*obj, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errDecode
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errDecode
	}
	return &obj{m: m, lenient: lenient}, nil
}

func isNull(raw json.RawMessage) bool { return raw == nil || string(bytes.TrimSpace(raw)) == "null" }

func (o *obj) has(key string) bool {
	if o == nil {
		return false
	}
	raw, ok := o.m[key]
	return ok && !isNull(raw)
}

func (o *obj) raw(key string) json.RawMessage {
	if o == nil {
		return nil
	}
	raw := o.m[key]
	if isNull(raw) {
		return nil
	}
	return bytes.TrimSpace(raw)
}

func scalarString(raw json.RawMessage, lenient bool) (string, error) {
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errDecode
		}
		return s, nil
	case 't', 'f':
		if lenient {
			return string(raw), nil
		}
	case '{', '[':
	default:
		if lenient {
			return string(raw), nil
		}
	}
	return "", errDecode
}

// str reads a String field: nil when absent or null.
func (o *obj) str(key string) (*string, error) {
	raw := o.raw(key)
	if raw == nil {
		return nil, nil
	}
	s, err := scalarString(raw, o.lenient)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func parseIntText(text string, bits int, lenient bool) (int64, error) {
	if v, err := strconv.ParseInt(text, 10, bits); err == nil {
		return v, nil
	}
	if lenient {
		if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			limit := math.Ldexp(1, bits-1)
			if f >= -limit && f < limit {
				return int64(f), nil
			}
		}
	}
	return 0, errDecode
}

func (o *obj) integer(key string, bits int) (*int64, error) {
	raw := o.raw(key)
	if raw == nil {
		return nil, nil
	}
	var text string
	switch {
	case raw[0] == '"':
		if !o.lenient {
			return nil, errDecode
		}
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, errDecode
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return nil, nil
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		text = string(raw)
	default:
		return nil, errDecode
	}
	v, err := parseIntText(text, bits, o.lenient)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// i64 reads a Long field; i32 an Integer field (values beyond 32 bits do not bind).
func (o *obj) i64(key string) (*int64, error) { return o.integer(key, 64) }

func (o *obj) i32(key string) (*int64, error) { return o.integer(key, 32) }

// boolean reads a primitive boolean field: absent or null is false.
func (o *obj) boolean(key string) (bool, error) {
	raw := o.raw(key)
	if raw == nil {
		return false, nil
	}
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if !o.lenient {
		return false, errDecode
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return false, errDecode
		}
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
		return false, errDecode
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return string(raw) != "0", nil
	}
	return false, errDecode
}

// sub reads a nested object: nil when absent or null.
func (o *obj) sub(key string) (*obj, error) {
	raw := o.raw(key)
	if raw == nil {
		return nil, nil
	}
	return parseObject(raw, o.lenient)
}

func (o *obj) array(key string) ([]json.RawMessage, bool, error) {
	raw := o.raw(key)
	if raw == nil {
		return nil, false, nil
	}
	if raw[0] != '[' {
		return nil, false, errDecode
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, false, errDecode
	}
	return items, true, nil
}

// objList reads a List of objects; null elements stay nil.
func (o *obj) objList(key string) ([]*obj, error) {
	items, _, err := o.array(key)
	if err != nil {
		return nil, err
	}
	out := make([]*obj, len(items))
	for i, it := range items {
		if isNull(it) {
			continue
		}
		if out[i], err = parseObject(it, o.lenient); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// strList reads a List<String>; present reports a non-null list. Null elements become "".
func (o *obj) strList(key string) (list []string, present bool, err error) {
	items, present, err := o.array(key)
	if err != nil || !present {
		return nil, present, err
	}
	list = make([]string, 0, len(items))
	for _, it := range items {
		it = bytes.TrimSpace(it)
		if isNull(it) {
			list = append(list, "")
			continue
		}
		s, err := scalarString(it, o.lenient)
		if err != nil {
			return nil, false, err
		}
		list = append(list, s)
	}
	return list, true, nil
}
