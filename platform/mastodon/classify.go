package mastodon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"resurge/platform"
)

// statusError classifies a non-2xx reply:
//
//	429                 rate_limit, waiting as Retry-After or X-RateLimit-Reset says (measured
//	                    against the reply's Date, not the local clock: platform.RateLimitDelay)
//	5xx                 service_unavailable (Retry-After honoured when present)
//	408                 timeout
//	400                 bad_request
//	401                 unauthorized
//	403                 forbidden
//	404, 410            post_gone when reading metrics, not_found otherwise
//	422                 unprocessable
//	3xx and the rest    unexpected_status (a redirect is never followed)
func (c *Client) statusError(what string, ep endpoint, resp *http.Response, body []byte) *platform.Error {
	e := &platform.Error{Status: resp.StatusCode, Message: c.redact(what + ": " + describeBody(body, c.redact))}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Code = platform.CodeRateLimit
		e.RetryAfter = platform.RateLimitDelay(resp.Header, c.now())
	case s >= 500 && s <= 599:
		e.Code = platform.CodeServiceUnavailable
		e.RetryAfter = platform.RetryAfter(resp.Header, c.now())
	case s == http.StatusRequestTimeout:
		e.Code = platform.CodeTimeout
	case s == http.StatusBadRequest:
		e.Code = platform.CodeBadRequest
	case s == http.StatusUnauthorized:
		e.Code = platform.CodeUnauthorized
	case s == http.StatusForbidden:
		e.Code = platform.CodeForbidden
	case (s == http.StatusNotFound || s == http.StatusGone) && ep == endpointMetrics:
		e.Code = platform.CodePostGone
	case s == http.StatusNotFound || s == http.StatusGone:
		e.Code = platform.CodeNotFound
	case s == http.StatusUnprocessableEntity:
		e.Code = platform.CodeUnprocessable
	case s >= 300 && s <= 399:
		e.Code = platform.CodeUnexpected
		e.Message = c.redact(what + ": redirected to " + redirectHost(resp) +
			"; redirects are not followed, set the server URL to the server's own address")
	default:
		e.Code = platform.CodeUnexpected
	}
	return e
}

// redirectHost names where a redirect points, without its path or query.
func redirectHost(resp *http.Response) string {
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host == "" {
		return "the same host"
	}
	return loc.Scheme + "://" + loc.Host
}

// transportError classifies a call that got no (complete) reply: a timeout or a network error
// (connection refused or reset, TLS failure, ...). Either way the outcome is unknown, so both
// codes are transient and an action's retry must verify first.
func (c *Client) transportError(what string, err error) *platform.Error {
	return &platform.Error{Code: platform.TransportCode(err), Message: c.redact(what + ": " + err.Error())}
}

// invalid is a 2xx reply the client cannot use.
func (c *Client) invalid(what, format string, args ...any) *platform.Error {
	return &platform.Error{Code: platform.CodeInvalidResponse, Message: c.redact(what + ": " + fmt.Sprintf(format, args...))}
}

// describeBody renders an error reply for a message: Mastodon's {"error", "error_description"}
// when it is one, else the start of the body (see platform.DescribeReply).
func describeBody(body []byte, redact func(string) string) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	var apiError string
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		apiError = e.Error
		if e.Description != "" {
			apiError += ": " + e.Description
		}
	}
	return platform.DescribeReply(body, apiError, redact)
}

// redact removes the token from a message (see platform.Redact).
func (c *Client) redact(s string) string { return platform.Redact(s, c.token) }
