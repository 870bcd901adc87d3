package platform

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps a server's retry advice: a day is far more than any platform means, and
// the cap keeps the conversion from overflowing.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header as delay-seconds or an HTTP date (RFC 9110
// §10.2.3), capped at MaxRetryAfter. Anything unreadable, negative or past is no advice (0).
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter)
	}
	return 0
}

// ServerNow is the server's clock when it sent a reply: the reply's Date header (RFC 9110
// §6.6.1), else local when it has none or an unreadable one. Retry-After dates and rate-limit
// reset times are the server's clock readings; measured against a client clock that runs two
// minutes ahead, a reset one minute away would look past and the client would not wait at all.
// Measured against the Date header, the delay is right whatever the local clock says (the reply
// took a moment to arrive: the delay is at most that much too long, never too short).
func ServerNow(h http.Header, local time.Time) time.Time {
	if v := h.Get("Date"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			return t
		}
	}
	return local
}

// RetryAfter is the delay a reply's Retry-After header asks for, against the server's clock
// (ServerNow); 0 when there is none.
func RetryAfter(h http.Header, local time.Time) time.Duration {
	return ParseRetryAfter(h.Get("Retry-After"), ServerNow(h, local))
}

// RateLimitDelay is how long a rate-limited (429) reply asks the client to wait, against the
// server's clock (ServerNow): its Retry-After, else the reset of its rate-limit window, from
// RateLimit-Reset (Bluesky's PDS sends Unix seconds) or X-RateLimit-Reset (Mastodon sends an
// ISO 8601 time; some compatible servers Unix seconds). 0 when the reply gives no advice.
func RateLimitDelay(h http.Header, local time.Time) time.Duration {
	now := ServerNow(h, local)
	if d := ParseRetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	for _, name := range []string{"RateLimit-Reset", "X-RateLimit-Reset"} {
		if d := ParseRateLimitReset(h.Get(name), now); d > 0 {
			return d
		}
	}
	return 0
}

// unixSecondsFloor tells a reset given as Unix seconds (2001 on) from one given as seconds
// from now (the IETF draft's RateLimit-Reset): no window lasts 31 years.
const unixSecondsFloor = 1_000_000_000

// ParseRateLimitReset reads a rate-limit reset header: an RFC 3339 / ISO 8601 time, Unix
// seconds, or (a number below a billion) seconds from now. The delay is the time from now until
// then, capped at MaxRetryAfter; 0 when it is past or unreadable. Unix seconds are taken as the
// end of that second: servers round the reset down (Bluesky's PDS does), and a retry at the
// rounded-down second can come before the window has reset.
func ParseRateLimitReset(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var at time.Time
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		at = t
	} else if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
		if secs < unixSecondsFloor {
			return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second
		}
		at = time.Unix(secs+1, 0)
	} else {
		return 0
	}
	return min(max(at.Sub(now), 0), MaxRetryAfter)
}

// TransportCode classifies a call that got no (complete) reply: a timeout, or a network error
// (connection refused or reset, TLS failure, ...). Both are transient, and since the outcome is
// unknown an action's retry must verify first.
func TransportCode(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return CodeTimeout
	}
	return CodeNetworkError
}

// ClassifyStatus classifies an HTTP error status the way every adapter does, with the delay the
// reply asks for:
//
//	429                 rate_limit, after RateLimitDelay
//	5xx                 service_unavailable, after Retry-After when present
//	408                 timeout
//	400                 bad_request
//	401                 unauthorized
//	403                 forbidden
//	404, 410            post_gone when reading metrics (metrics true), not_found otherwise
//	422                 unprocessable
//	3xx and the rest    unexpected_status (adapters never follow a redirect)
//
// Adapters refine it with what their platform's error bodies say.
func ClassifyStatus(status int, h http.Header, local time.Time, metrics bool) (code string, retryAfter time.Duration) {
	switch s := status; {
	case s == http.StatusTooManyRequests:
		return CodeRateLimit, RateLimitDelay(h, local)
	case s >= 500 && s <= 599:
		return CodeServiceUnavailable, RetryAfter(h, local)
	case s == http.StatusRequestTimeout:
		return CodeTimeout, 0
	case s == http.StatusBadRequest:
		return CodeBadRequest, 0
	case s == http.StatusUnauthorized:
		return CodeUnauthorized, 0
	case s == http.StatusForbidden:
		return CodeForbidden, 0
	case (s == http.StatusNotFound || s == http.StatusGone) && metrics:
		return CodePostGone, 0
	case s == http.StatusNotFound || s == http.StatusGone:
		return CodeNotFound, 0
	case s == http.StatusUnprocessableEntity:
		return CodeUnprocessable, 0
	}
	return CodeUnexpected, 0
}
