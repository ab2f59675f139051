package metering

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Reading an event's data once (issue 18). An event's data is valid JSON by
// the time a meter reads it (it was decoded with the event), so finding a
// member needs no second decode into a map: member walks the object's
// members once, without allocating. A key with an escape in it falls back
// to encoding/json, which unescapes it.

// member returns the value of key in the JSON object obj, the last one
// when the key repeats (as encoding/json does); ok is false when obj has
// a key with an escape, or is not an object, and the caller must decode
// it.
func member(obj []byte, key string) (val []byte, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil, true
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return nil, false
		}
		start := i + 1
		j := start
		for j < len(obj) && obj[j] != '"' {
			if obj[j] == '\\' {
				return nil, false
			}
			j++
		}
		if j >= len(obj) {
			return nil, false
		}
		k := obj[start:j]
		i = skipSpace(obj, j+1)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		vs := i
		if i = skipValue(obj, i); i < 0 {
			return nil, false
		}
		if string(k) == key {
			val = obj[vs:i]
		}
		i = skipSpace(obj, i)
		if i >= len(obj) {
			return nil, false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return val, true
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}

// skipString returns the index just past the JSON string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// eventData is an event's data, read member by member.
type eventData struct {
	raw     []byte
	decoded map[string]json.RawMessage // when member cannot read raw
	slow    bool
}

// lookup finds the value at a dotted path, or nil.
func (d *eventData) lookup(path string) json.RawMessage {
	if len(d.raw) == 0 {
		return nil
	}
	if !d.slow {
		v, ok := lookupFast(d.raw, path)
		if ok {
			return v
		}
		d.slow = true
		if json.Unmarshal(d.raw, &d.decoded) != nil {
			d.decoded = nil
		}
	}
	return lookup(d.decoded, path)
}

func lookupFast(obj []byte, path string) (json.RawMessage, bool) {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := member(obj, head)
	if !ok || v == nil {
		return nil, ok
	}
	if !nested {
		return v, true
	}
	if bytes.HasPrefix(v, []byte("{")) {
		return lookupFast(v, rest)
	}
	return nil, true
}
