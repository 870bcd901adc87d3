package simclient_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"resurge/platform"
	"resurge/platform/sim"
	"resurge/platform/simclient"
)

const testToken = "simclient-secret-token-5d2b"

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startSim starts the real sim on loopback with a fake clock.
func startSim(t *testing.T, faults sim.Faults) (*sim.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := sim.New(sim.Options{Token: testToken, Now: clock.Now, Faults: faults})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

func clientFor(s *sim.Server, opts ...simclient.Option) *simclient.Client {
	return simclient.New(s.URL(), testToken, opts...)
}

// wantCode checks that err is a *platform.Error with code, and that it does not leak the token.
func wantCode(t *testing.T, err error, code string) *platform.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var pe *platform.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a *platform.Error", err, err)
	}
	if pe.Code != code {
		t.Fatalf("code %s (%v), want %s", pe.Code, err, code)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("the error leaks the token: %v", err)
	}
	return pe
}

// fakePlatform serves fixed replies, for what the sim never sends.
func fakePlatform(t *testing.T, h http.HandlerFunc) *simclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return simclient.New(srv.URL, testToken)
}

// fixed answers every call with status, body and headers (pairs of name, value).
func fixed(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}
