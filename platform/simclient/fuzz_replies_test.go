package simclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"resurge/platform"
	"resurge/platform/simclient"
)

// The reply fuzzers drive the whole client (status, headers, body, decoding, classification,
// redaction) through an in-memory transport, with the token spliced into the body the way a
// gateway echoing request headers would. Whatever the reply, a call either succeeds with a
// usable result or fails with a classified *platform.Error that does not carry the token.

const fuzzToken = "fuzz-token-7f3c9e1d"

type replyTransport struct {
	status int
	header http.Header
	body   []byte
}

func (rt replyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: rt.status, Header: rt.header, Body: io.NopCloser(bytes.NewReader(rt.body)), Request: r}, nil
}

// fuzzClient answers every call with status (folded into 100..599), retryAfter and body.
func fuzzClient(status uint16, retryAfter string, body []byte) *simclient.Client {
	h := http.Header{"Content-Type": {"application/json"}}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	rt := replyTransport{status: 100 + int(status)%500, header: h, body: body}
	return simclient.New("http://sim.invalid", fuzzToken, simclient.WithHTTPClient(&http.Client{Transport: rt}))
}

// withToken returns body with the token spliced in at a position chosen by at.
func withToken(body []byte, at uint8) []byte {
	i := 0
	if len(body) > 0 {
		i = int(at) % (len(body) + 1)
	}
	return slices.Concat(body[:i], []byte("Authorization: Bearer "+fuzzToken), body[i:])
}

// checkFailure checks a failed call: a classified error, final or transient as its code says,
// consistent with the status, and without the token.
func checkFailure(t *testing.T, status uint16, err error) {
	t.Helper()
	var pe *platform.Error
	if !errors.As(err, &pe) {
		t.Fatalf("%T %v is not a *platform.Error", err, err)
	}
	if strings.Contains(err.Error(), fuzzToken) {
		t.Fatalf("the error carries the token: %v", err)
	}
	if pe.Code == "" || pe.Message == "" || pe.RetryAfter < 0 {
		t.Fatalf("incomplete error %+v", pe)
	}
	s := 100 + int(status)%500
	switch {
	case s >= 200 && s < 300:
		if pe.Code != platform.CodeInvalidResponse {
			t.Fatalf("HTTP %d: code %s, want invalid_response", s, pe.Code)
		}
	case s == 429:
		if pe.Code != platform.CodeRateLimit {
			t.Fatalf("HTTP 429: code %s", pe.Code)
		}
	case s == 400 || s == 401 || s == 403 || s == 404 || s == 422:
		if pe.Transient() {
			t.Fatalf("HTTP %d is final, got transient %s", s, pe.Code)
		}
	}
}

func FuzzMetricsReply(f *testing.F) {
	f.Add(uint16(100), "", []byte(`{"post_id":"p","at":"2025-03-01T12:00:00Z","impressions":10,"engagements":2}`), uint8(0), false)
	f.Add(uint16(100), "", []byte(`{"at":"2025-03-01T12:00:00.5+02:00","impressions":1e3,"engagements":0}`), uint8(3), false)
	f.Add(uint16(100), "", []byte(`{"at":"2025-03-01T12:00:00Z","impressions":"NaN","engagements":-1}`), uint8(9), true)
	f.Add(uint16(329), "120", []byte(`{"error":"rate_limited","message":"slow down"}`), uint8(30), true)
	f.Add(uint16(403), "Wed, 21 Oct 2015 07:28:00 GMT", []byte("<html>Service Unavailable</html>"), uint8(6), true)
	f.Add(uint16(304), "", []byte(`{"error":"post_gone"}`), uint8(0), false)
	f.Fuzz(func(t *testing.T, status uint16, retryAfter string, body []byte, at uint8, splice bool) {
		if splice {
			body = withToken(body, at)
		}
		s, err := fuzzClient(status, retryAfter, body).Metrics(context.Background(), "p")
		if err != nil {
			checkFailure(t, status, err)
			return
		}
		if st := 100 + int(status)%500; st < 200 || st > 299 {
			t.Fatalf("HTTP %d accepted as metrics", st)
		}
		if s.At.IsZero() || s.Impressions < 0 || s.Engagements < 0 || s.Impressions >= 1<<53 || s.Engagements >= 1<<53 {
			t.Fatalf("unusable sample accepted: %+v", s)
		}
	})
}

func FuzzActionReply(f *testing.F) {
	f.Add(uint16(101), []byte(`{"id":"cmt-1","ids":["cmt-1"],"kind":"comment","key":"k","url":"http://x/1"}`), uint8(0), uint8(0), false)
	f.Add(uint16(101), []byte(`{"id":"thr-1","ids":["thr-1","thr-2"],"kind":"thread","key":"k"}`), uint8(2), uint8(0), false)
	f.Add(uint16(100), []byte(`{"id":"rev-1","kind":"comment"}`), uint8(1), uint8(0), false)
	f.Add(uint16(101), []byte(`{"id":"t1","ids":["t1",""]}`), uint8(2), uint8(5), true)
	f.Add(uint16(322), []byte(`{"error":"idempotency_key_reused","message":"..."}`), uint8(0), uint8(40), true)
	f.Add(uint16(402), []byte("upstream error"), uint8(1), uint8(3), true)
	f.Fuzz(func(t *testing.T, status uint16, body []byte, action, at uint8, splice bool) {
		if splice {
			body = withToken(body, at)
		}
		c := fuzzClient(status, "", body)
		ctx := context.Background()
		var e platform.Effect
		var err error
		parts := 1
		switch action % 3 {
		case 0:
			e, err = c.Comment(ctx, "p", "text", "k")
		case 1:
			e, err = c.Edit(ctx, "p", "text", "k")
		default:
			parts = 2
			e, err = c.Thread(ctx, "p", []string{"a", "b"}, "k")
		}
		if err != nil {
			checkFailure(t, status, err)
			return
		}
		if e.ID == "" || len(e.IDs) != parts || e.IDs[0] != e.ID || slices.Contains(e.IDs, "") {
			t.Fatalf("unusable effect accepted: %+v", e)
		}
	})
}

func FuzzEffectsReply(f *testing.F) {
	f.Add(uint16(100), []byte(`{"post_id":"p","key":"k","effects":[{"id":"cmt-1","ids":["cmt-1"],"kind":"comment","key":"k"}]}`), uint8(0), false)
	f.Add(uint16(100), []byte(`{"effects":[]}`), uint8(0), false)
	f.Add(uint16(100), []byte(`{"effects":null}`), uint8(0), false)
	f.Add(uint16(100), []byte(`{"effects":[{"key":"k"}]}`), uint8(4), true)
	f.Add(uint16(404), []byte(`{"error":"unavailable"}`), uint8(0), true)
	f.Fuzz(func(t *testing.T, status uint16, body []byte, at uint8, splice bool) {
		if splice {
			body = withToken(body, at)
		}
		e, found, err := fuzzClient(status, "", body).FindEffect(context.Background(), "p", "k")
		if err != nil {
			if found {
				t.Fatalf("found with an error")
			}
			checkFailure(t, status, err)
			return
		}
		if found && (e.ID == "" || len(e.IDs) == 0 || !e.Replayed) {
			t.Fatalf("unusable effect found: %+v", e)
		}
	})
}
