package simclient_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"resurge/platform"
	"resurge/platform/sim"
	"resurge/platform/simclient"
)

// The sim's injected faults, one per error class, on metrics and on an action.
func TestSimFaultsAreClassified(t *testing.T) {
	cases := []struct {
		kind          sim.FaultKind
		metrics, acts string
	}{
		{sim.FaultRateLimit, platform.CodeRateLimit, platform.CodeRateLimit},
		{sim.FaultUnavailable, platform.CodeServiceUnavailable, platform.CodeServiceUnavailable},
		{sim.FaultBadRequest, platform.CodeBadRequest, platform.CodeBadRequest},
		{sim.FaultUnauthorized, platform.CodeUnauthorized, platform.CodeUnauthorized},
		{sim.FaultNotFound, platform.CodePostGone, platform.CodeNotFound},
		{sim.FaultDrop, platform.CodeNetworkError, platform.CodeNetworkError},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			s, _ := startSim(t, sim.Faults{Rules: []sim.FaultRule{{Kind: c.kind, Probability: 1, RetryAfter: 3 * time.Second}}})
			cl := clientFor(s)
			ctx := context.Background()
			_, err := cl.Metrics(ctx, "p")
			pe := wantCode(t, err, c.metrics)
			if c.kind == sim.FaultRateLimit && pe.RetryAfter != 3*time.Second {
				t.Errorf("RetryAfter = %s, want 3s", pe.RetryAfter)
			}
			if c.kind == sim.FaultDrop && pe.Status != 0 {
				t.Errorf("a dropped call has status %d", pe.Status)
			}
			_, err = cl.Comment(ctx, "p", "x", "k")
			wantCode(t, err, c.acts)
			_, _, err = cl.FindEffect(ctx, "p", "k")
			wantCode(t, err, c.acts)
		})
	}
}

func TestTransientCodes(t *testing.T) {
	s, _ := startSim(t, sim.Faults{Rules: []sim.FaultRule{
		{Kind: sim.FaultRateLimit, Next: 1},
		{Kind: sim.FaultUnavailable, Next: 1},
		{Kind: sim.FaultBadRequest, Next: 1},
	}})
	c := clientFor(s)
	for _, transient := range []bool{true, true, false} {
		_, err := c.Metrics(context.Background(), "p")
		if got := platform.AsError(err).Transient(); got != transient {
			t.Errorf("%v: transient=%v, want %v", err, got, transient)
		}
	}
}

func TestSlowReplyBeyondTheClientTimeoutIsATimeout(t *testing.T) {
	s, _ := startSim(t, sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultSlow, Probability: 1, Delay: time.Minute}}})
	c := clientFor(s, simclient.WithTimeout(100*time.Millisecond))
	_, err := c.Metrics(context.Background(), "p")
	wantCode(t, err, platform.CodeTimeout)
	_, err = c.Thread(context.Background(), "p", []string{"a"}, "k")
	wantCode(t, err, platform.CodeTimeout)
}

func TestContextDeadlineIsATimeout(t *testing.T) {
	s, _ := startSim(t, sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultSlow, Probability: 1, Delay: time.Minute}}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := clientFor(s).Edit(ctx, "p", "x", "k")
	wantCode(t, err, platform.CodeTimeout)
}

func TestWithHTTPClientTimeout(t *testing.T) {
	s, _ := startSim(t, sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultSlow, Probability: 1, Delay: time.Minute}}})
	c := clientFor(s, simclient.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	_, err := c.Metrics(context.Background(), "p")
	wantCode(t, err, platform.CodeTimeout)
}

func TestConnectionRefusedIsANetworkError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := simclient.New("http://"+addr, testToken)
	_, err = c.Metrics(context.Background(), "p")
	wantCode(t, err, platform.CodeNetworkError)
	_, err = c.Comment(context.Background(), "p", "x", "k")
	wantCode(t, err, platform.CodeNetworkError)
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	s, _ := startSim(t, sim.Faults{})
	c := simclient.New(s.URL(), "not-"+testToken)
	_, err := c.Metrics(context.Background(), "p")
	pe := wantCode(t, err, platform.CodeUnauthorized)
	if pe.Status != http.StatusUnauthorized {
		t.Errorf("status %d", pe.Status)
	}
}

func TestDeletedPost(t *testing.T) {
	s, _ := startSim(t, sim.Faults{})
	c := clientFor(s)
	ctx := context.Background()
	if _, err := c.Metrics(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	s.DeletePost("p")
	_, err := c.Metrics(ctx, "p")
	wantCode(t, err, platform.CodePostGone)
	_, err = c.Comment(ctx, "p", "x", "k")
	wantCode(t, err, platform.CodeNotFound)
}

func TestUnprocessable(t *testing.T) {
	s, _ := startSim(t, sim.Faults{})
	c := clientFor(s)
	ctx := context.Background()
	_, err := c.Comment(ctx, "p", "   ", "k1")
	wantCode(t, err, platform.CodeUnprocessable)
	_, err = c.Thread(ctx, "p", nil, "k2")
	wantCode(t, err, platform.CodeUnprocessable)
	// A key already used on another post.
	if _, err := c.Comment(ctx, "p", "x", "k3"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Comment(ctx, "q", "x", "k3")
	wantCode(t, err, platform.CodeUnprocessable)
}

// Statuses the sim does not send, from a fake platform.
func TestOtherStatuses(t *testing.T) {
	cases := []struct {
		status int
		code   string
	}{
		{403, platform.CodeForbidden},
		{500, platform.CodeServiceUnavailable},
		{502, platform.CodeServiceUnavailable},
		{504, platform.CodeServiceUnavailable},
		{409, platform.CodeUnexpected},
		{418, platform.CodeUnexpected},
		{501, platform.CodeUnexpected},
	}
	for _, c := range cases {
		cl := fakePlatform(t, fixed(c.status, `{"error":"x","message":"y"}`))
		_, err := cl.Comment(context.Background(), "p", "x", "k")
		if pe := wantCode(t, err, c.code); pe.Status != c.status {
			t.Errorf("HTTP %d: status %d", c.status, pe.Status)
		}
	}
}

func TestRetryAfterAsAnHTTPDate(t *testing.T) {
	// The date is a minute ahead of the real clock: the delay must be about a minute (the
	// bounds only absorb the test's own running time).
	date := time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)
	c := fakePlatform(t, fixed(429, `{"error":"slow down"}`, "Retry-After", date))
	_, err := c.Metrics(context.Background(), "p")
	pe := wantCode(t, err, platform.CodeRateLimit)
	if pe.RetryAfter < 30*time.Second || pe.RetryAfter > time.Minute {
		t.Errorf("RetryAfter = %s, want about a minute", pe.RetryAfter)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportTimeoutsAreTimeouts(t *testing.T) {
	// A socket deadline (os.ErrDeadlineExceeded, not context.DeadlineExceeded) is a timeout.
	failing := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	})
	c := simclient.New("http://127.0.0.1:9", testToken, simclient.WithHTTPClient(&http.Client{Transport: failing}))
	_, err := c.Metrics(context.Background(), "p")
	wantCode(t, err, platform.CodeTimeout)
	reset := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	})
	c = simclient.New("http://127.0.0.1:9", testToken, simclient.WithHTTPClient(&http.Client{Transport: reset}))
	_, err = c.Comment(context.Background(), "p", "x", "k")
	wantCode(t, err, platform.CodeNetworkError)
}
