package simclient

import (
	"encoding/json"
	"fmt"
	"net/http"

	"resurge/platform"
)

// statusError classifies a non-2xx reply.
func (c *Client) statusError(what string, ep endpoint, resp *http.Response, body []byte) *platform.Error {
	e := &platform.Error{Status: resp.StatusCode, Message: c.redact(what + ": " + describeBody(body, c.redact))}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Code = platform.CodeRateLimit
		e.RetryAfter = platform.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	case s == http.StatusInternalServerError, s == http.StatusBadGateway,
		s == http.StatusServiceUnavailable, s == http.StatusGatewayTimeout:
		e.Code = platform.CodeServiceUnavailable
		e.RetryAfter = platform.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	case s == http.StatusBadRequest:
		e.Code = platform.CodeBadRequest
	case s == http.StatusUnauthorized:
		e.Code = platform.CodeUnauthorized
	case s == http.StatusForbidden:
		e.Code = platform.CodeForbidden
	case s == http.StatusNotFound && ep == endpointMetrics:
		e.Code = platform.CodePostGone
	case s == http.StatusNotFound:
		e.Code = platform.CodeNotFound
	case s == http.StatusUnprocessableEntity:
		e.Code = platform.CodeUnprocessable
	default:
		e.Code = platform.CodeUnexpected
	}
	return e
}

// transportError classifies a call that got no (complete) reply. Either way the outcome is
// unknown, so both codes are transient and an action's retry must verify first.
func (c *Client) transportError(what string, err error) *platform.Error {
	return &platform.Error{Code: platform.TransportCode(err), Message: c.redact(what + ": " + err.Error())}
}

// invalid is a 2xx reply the client cannot use.
func (c *Client) invalid(what, format string, args ...any) *platform.Error {
	return &platform.Error{Code: platform.CodeInvalidResponse, Message: c.redact(what + ": " + fmt.Sprintf(format, args...))}
}

// describeBody renders an error reply for a message: the sim's {"error","message"} when it is
// one, else the start of the body (see platform.DescribeReply).
func describeBody(body []byte, redact func(string) string) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	var apiError string
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		apiError = e.Error + ": " + e.Message
	}
	return platform.DescribeReply(body, apiError, redact)
}

// redact removes the token from a message (see platform.Redact).
func (c *Client) redact(s string) string { return platform.Redact(s, c.token) }
