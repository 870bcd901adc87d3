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
