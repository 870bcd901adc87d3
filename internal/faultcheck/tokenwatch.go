// Package faultcheck holds what the fault suites check, shared by the embedded one
// (integration/, one process) and the process-level one (production/): the token scans of logs
// and histories, the arbiter's decisions read from its history, and the checks of the platform's
// effects against the posts' action logs. It reaches Temporal through an SDK client only, so it
// links no server code.
package faultcheck

import (
	"bytes"
	"sync"
)

// TokenWatch is an io.Writer that looks for a secret in every line written to it, so that
// nothing needs to be kept: it counts lines and bytes, and keeps the first few lines that carry
// the token and how many carry the adapters' redaction marker. A line split over several writes
// is still seen whole. It is safe for concurrent use (one writer at a time makes sense).
type TokenWatch struct {
	token []byte

	mu       sync.Mutex
	partial  []byte // the unfinished last line
	lines    int
	bytes    int
	leaks    []string
	redacted int
}

// RedactionMarker is what the platform adapters put where a secret was.
const RedactionMarker = "[redacted]"

const maxLeaks = 5

// NewTokenWatch watches for token (which must not be empty).
func NewTokenWatch(token string) *TokenWatch {
	if token == "" {
		panic("faultcheck: empty token")
	}
	return &TokenWatch{token: []byte(token)}
}

// Write scans every complete line of p (and of what came before without a newline).
func (w *TokenWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes += len(p)
	data := p
	if len(w.partial) > 0 {
		data = append(w.partial, p...)
		w.partial = nil
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		w.line(data[:i+1])
		data = data[i+1:]
	}
	if len(data) > 0 {
		w.partial = append([]byte(nil), data...)
	}
	return len(p), nil
}

// Flush scans a last line that has no newline.
func (w *TokenWatch) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.line(w.partial)
		w.partial = nil
	}
}

func (w *TokenWatch) line(l []byte) {
	w.lines++
	if bytes.Contains(l, w.token) && len(w.leaks) < maxLeaks {
		w.leaks = append(w.leaks, string(l))
	}
	if bytes.Contains(l, []byte(RedactionMarker)) {
		w.redacted++
	}
}

// TokenStats is what a TokenWatch saw.
type TokenStats struct {
	Lines, Bytes int
	// Leaks are the first lines that carry the token.
	Leaks []string
	// Redacted counts lines with the redaction marker.
	Redacted int
}

// Stats returns what the watch saw so far (a last line without a newline included).
func (w *TokenWatch) Stats() TokenStats {
	w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	return TokenStats{Lines: w.lines, Bytes: w.bytes, Leaks: append([]string(nil), w.leaks...), Redacted: w.redacted}
}
