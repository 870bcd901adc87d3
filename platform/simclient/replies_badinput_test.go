package simclient_test

import (
	"context"
	"strings"
	"testing"

	"resurge/platform"
	"resurge/platform/sim"
)

// Replies that are not JSON, lack fields or contradict themselves, beyond invalid_test.go:
// each fails with a classified error (never a panic, never a usable-looking result), and the
// error says what was wrong.
func TestMoreGarbageRepliesAreClassified(t *testing.T) {
	ctx := context.Background()
	metrics := func(status int, body string, headers ...string) func(t *testing.T) error {
		return func(t *testing.T) error {
			_, err := fakePlatform(t, fixed(status, body, headers...)).Metrics(ctx, "p")
			return err
		}
	}
	comment := func(status int, body string) func(t *testing.T) error {
		return func(t *testing.T) error {
			_, err := fakePlatform(t, fixed(status, body)).Comment(ctx, "p", "x", "k")
			return err
		}
	}
	thread := func(status int, body string) func(t *testing.T) error {
		return func(t *testing.T) error {
			_, err := fakePlatform(t, fixed(status, body)).Thread(ctx, "p", []string{"a", "b"}, "k")
			return err
		}
	}
	lookup := func(status int, body string) func(t *testing.T) error {
		return func(t *testing.T) error {
			_, found, err := fakePlatform(t, fixed(status, body)).FindEffect(ctx, "p", "k")
			if found {
				t.Errorf("found an effect in %q", body)
			}
			return err
		}
	}
	cases := []struct {
		name string
		call func(t *testing.T) error
		code string
		sub  string // in the message
	}{
		{"metrics: at is a number", metrics(200, `{"at":1740830400,"impressions":1,"engagements":1}`), platform.CodeInvalidResponse, "cannot unmarshal"},
		{"metrics: a byte-order mark", metrics(200, "\ufeff"+`{"at":"2025-03-01T12:00:00Z","impressions":1,"engagements":1}`), platform.CodeInvalidResponse, "invalid character"},
		{"metrics: trailing data", metrics(200, `{"at":"2025-03-01T12:00:00Z","impressions":1,"engagements":1} {}`), platform.CodeInvalidResponse, "after top-level value"},
		{"metrics: counters as booleans", metrics(200, `{"at":"2025-03-01T12:00:00Z","impressions":true,"engagements":1}`), platform.CodeInvalidResponse, "impressions"},
		{"metrics: counters as objects", metrics(200, `{"at":"2025-03-01T12:00:00Z","impressions":{"n":1},"engagements":1}`), platform.CodeInvalidResponse, "impressions"},
		{"metrics: Infinity", metrics(200, `{"at":"2025-03-01T12:00:00Z","impressions":1,"engagements":"Infinity"}`), platform.CodeInvalidResponse, "engagements"},
		{"metrics: time without a date", metrics(200, `{"at":"12:00:00","impressions":1,"engagements":1}`), platform.CodeInvalidResponse, "at"},
		{"metrics: 204 without a body", metrics(204, ``), platform.CodeInvalidResponse, ""},
		{"metrics: a redirect", metrics(302, `moved`, "Location", "http://elsewhere.invalid/"), platform.CodeUnexpected, "reply: moved"},
		{"metrics: 503 HTML page", metrics(503, `<html><h1>503</h1></html>`, "Retry-After", "soon"), platform.CodeServiceUnavailable, "reply: <html>"},
		{"metrics: 403", metrics(403, `{"error":"forbidden","message":"suspended"}`), platform.CodeForbidden, "suspended"},
		{"comment: empty 201", comment(201, ``), platform.CodeInvalidResponse, ""},
		{"comment: id not among ids", comment(201, `{"id":"cmt-1","ids":["cmt-2"]}`), platform.CodeInvalidResponse, "not the first of ids"},
		{"comment: ids a string", comment(201, `{"id":"cmt-1","ids":"cmt-1"}`), platform.CodeInvalidResponse, "cannot unmarshal"},
		{"comment: an array", comment(201, `[{"id":"cmt-1"}]`), platform.CodeInvalidResponse, "cannot unmarshal"},
		{"thread: ids in another order", thread(201, `{"id":"thr-1","ids":["thr-2","thr-1"]}`), platform.CodeInvalidResponse, "not the first of ids"},
		{"thread: a comment's reply", thread(201, `{"id":"cmt-1","ids":["cmt-1","cmt-2"],"kind":"comment"}`), platform.CodeInvalidResponse, "kind"},
		{"lookup: effects an object", lookup(200, `{"effects":{"id":"cmt-1"}}`), platform.CodeInvalidResponse, "cannot unmarshal"},
		{"lookup: null body", lookup(200, `null`), platform.CodeInvalidResponse, "effects is missing"},
		{"lookup: id not among ids", lookup(200, `{"effects":[{"id":"cmt-1","ids":["cmt-9"],"key":"k"}]}`), platform.CodeInvalidResponse, "effects[0]"},
		{"lookup: 422", lookup(422, `{"error":"unprocessable"}`), platform.CodeUnprocessable, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pe := wantCode(t, c.call(t), c.code)
			if !strings.Contains(pe.Message, c.sub) {
				t.Errorf("message %q does not say %q", pe.Message, c.sub)
			}
		})
	}
}

// The sim's 403 fault is classified as forbidden, final, on every endpoint.
func TestSimForbiddenFault(t *testing.T) {
	s, _ := startSim(t, sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultForbidden, Probability: 1}}})
	c := clientFor(s)
	ctx := context.Background()
	_, err := c.Metrics(ctx, "p")
	if pe := wantCode(t, err, platform.CodeForbidden); pe.Transient() || pe.Status != 403 {
		t.Errorf("metrics: %+v", pe)
	}
	_, err = c.Edit(ctx, "p", "x", "k")
	wantCode(t, err, platform.CodeForbidden)
	_, _, err = c.FindEffect(ctx, "p", "k")
	wantCode(t, err, platform.CodeForbidden)
	if len(s.Effects()) != 0 {
		t.Errorf("a refused action made an effect")
	}
}
