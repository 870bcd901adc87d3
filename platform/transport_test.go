package platform

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                0,
		"5":               5 * time.Second,
		" 12 ":            12 * time.Second,
		"0":               0,
		"-3":              0,
		"soon":            0,
		"1.5":             0,
		"999999999999999": 24 * time.Hour,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		"Sat, 01 Mar 2025 12:00:30 GMT":                   30 * time.Second,
	}
	for in, want := range cases {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestServerNow(t *testing.T) {
	local := time.Date(2025, 3, 1, 12, 2, 0, 0, time.UTC)
	server := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		date string
		want time.Time
	}{
		{server.Format(http.TimeFormat), server},
		{"Saturday, 01-Mar-25 12:00:00 GMT", server}, // RFC 850, which HTTP readers accept
		{"", local},
		{"yesterday", local},
	} {
		h := http.Header{}
		if tc.date != "" {
			h.Set("Date", tc.date)
		}
		if got := ServerNow(h, local); !got.Equal(tc.want) {
			t.Errorf("Date %q: %s, want %s", tc.date, got, tc.want)
		}
	}
}

func TestRateLimitDelay(t *testing.T) {
	server := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ahead := server.Add(2 * time.Minute) // the client's clock runs two minutes ahead
	in := func(d time.Duration) string { return strconv.FormatInt(server.Add(d).Unix(), 10) }
	tests := []struct {
		name    string
		headers []string
		want    time.Duration
	}{
		// Unix seconds are rounded down by the server: the delay runs to the end of that second.
		{"Bluesky: RateLimit-Reset in Unix seconds", []string{"RateLimit-Reset", in(time.Minute)}, time.Minute + time.Second},
		{"lower-case as Bluesky writes it", []string{"ratelimit-reset", in(30 * time.Second)}, 31 * time.Second},
		{"RateLimit-Reset as seconds from now (the IETF draft)", []string{"RateLimit-Reset", "45"}, 45 * time.Second},
		{"Mastodon: X-RateLimit-Reset in ISO 8601", []string{"X-RateLimit-Reset", server.Add(90 * time.Second).Format("2006-01-02T15:04:05.000000Z")}, 90 * time.Second},
		{"X-RateLimit-Reset in Unix seconds", []string{"X-RateLimit-Reset", in(10 * time.Second)}, 11 * time.Second},
		{"Retry-After wins", []string{"Retry-After", "5", "RateLimit-Reset", in(time.Minute)}, 5 * time.Second},
		{"Retry-After as a date, against Date", []string{"Retry-After", server.Add(20 * time.Second).Format(http.TimeFormat)}, 20 * time.Second},
		{"a past reset is no advice", []string{"RateLimit-Reset", in(-time.Second)}, 0},
		{"an unreadable reset is no advice", []string{"RateLimit-Reset", "soon"}, 0},
		{"no advice", nil, 0},
		{"capped at a day", []string{"RateLimit-Reset", in(48 * time.Hour)}, MaxRetryAfter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Date", server.Format(http.TimeFormat))
			for i := 0; i+1 < len(tc.headers); i += 2 {
				h.Set(tc.headers[i], tc.headers[i+1])
			}
			// Measured against Date, the client's clock does not matter.
			for _, local := range []time.Time{ahead, server, server.Add(-time.Hour)} {
				if got := RateLimitDelay(h, local); got != tc.want {
					t.Errorf("local %s: %s, want %s", local.Format(time.TimeOnly), got, tc.want)
				}
			}
		})
	}
	// Without Date, the local clock is all there is.
	h := http.Header{}
	h.Set("RateLimit-Reset", in(time.Minute))
	if got := RateLimitDelay(h, server); got != time.Minute+time.Second {
		t.Errorf("no Date: %s, want 1m1s", got)
	}
	h.Set("Retry-After", "7")
	if got := RetryAfter(h, ahead); got != 7*time.Second {
		t.Errorf("RetryAfter: %s, want 7s", got)
	}
}
