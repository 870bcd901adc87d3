package mastodon

import (
	"encoding/json"
	"fmt"
	"net/http"

	"resurge/platform"
)

// statusError classifies a non-2xx reply as platform.ClassifyStatus does (429 waiting as
// Retry-After or X-RateLimit-Reset says, measured against the reply's Date; 404 and 410 are
// post_gone when reading metrics), naming where a redirect points (it is never followed).
func (c *Client) statusError(what string, ep endpoint, resp *http.Response, body []byte) *platform.Error {
	e := &platform.Error{Status: resp.StatusCode, Message: c.redact(what + ": " + describeBody(body, c.redact))}
	e.Code, e.RetryAfter = platform.ClassifyStatus(resp.StatusCode, resp.Header, c.now(), ep == endpointMetrics)
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		e.Message = c.redact(what + ": redirected to " + platform.RedirectHost(resp.Header) +
			"; redirects are not followed, set the server URL to the server's own address")
	}
	return e
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
