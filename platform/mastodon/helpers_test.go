package mastodon_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"resurge/platform"
	"resurge/platform/mastodon"
)

// Keys as domain.IdempotencyKey writes them.
const (
	keyComment = "sheal_878d89c30e92e1293270d561bfd03ec1"
	keyEdit    = "sheal_2b5d2b703381450e67206d9938ff4cee"
	keyThread  = "sheal_2304be7ef58ba8f0e6dd06cb68632a31"
)

// clientNow is the client's clock in every test.
var clientNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newClient(t *testing.T, serverURL string, opts ...mastodon.Option) *mastodon.Client {
	t.Helper()
	opts = append([]mastodon.Option{mastodon.WithClock(func() time.Time { return clientNow })}, opts...)
	c, err := mastodon.New(serverURL, testToken, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixedServer answers every call with handler h.
func fixedServer(t *testing.T, h http.HandlerFunc) *mastodon.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL)
}

// fixed answers with status, body and headers (pairs of name, value). Its Date is the client's
// clock unless the headers give one ("Date", "" sends none).
func fixed(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clientNow.Format(http.TimeFormat))
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
			if headers[i] == "Date" && headers[i+1] == "" {
				w.Header()["Date"] = nil // the server sends none
			}
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// wantCode checks that err is a *platform.Error with code and that it does not leak the token.
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
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testToken[:len(testToken)/2]) {
		t.Fatalf("the error leaks the token: %v", err)
	}
	return pe
}
