package bluesky

import (
	"encoding/json"
	"fmt"
	"net/http"

	"resurge/platform"
)

// XRPC error names the adapter tells apart.
const (
	errInvalidSwap    = "InvalidSwap"    // putRecord with swapRecord null: the record exists
	errRecordNotFound = "RecordNotFound" // getRecord: no such record
	errExpiredToken   = "ExpiredToken"   // the access (or refresh) token expired or was revoked
	errInvalidToken   = "InvalidToken"   // the token could not be verified
	errAuthMissing    = "AuthMissing"    // no token reached the server
)

// statusError classifies a non-2xx reply as platform.ClassifyStatus does (429 waiting until
// RateLimit-Reset, against the reply's Date; 404 post_gone when reading metrics), refined by the
// XRPC error name, which the PDS sends with a 400 for most failures:
//
//	400 RecordNotFound  post_gone when reading metrics, not_found otherwise
//	400 ExpiredToken, InvalidToken  unauthorized (the session could not be renewed)
//	400 (InvalidRequest, InvalidSwap, ...)  bad_request
//
// A redirect names where it points (it is never followed). The error is an *apiError carrying
// the XRPC error name when the reply had one.
func (t *transport) statusError(what string, ep endpoint, r reply) error {
	name, message := parseErrorBody(r.body)
	apiText := name
	if message != "" {
		apiText += ": " + message
	}
	e := &platform.Error{Status: r.status, Message: t.redact(what + ": " + platform.DescribeReply(r.body, apiText, t.redact))}
	e.Code, e.RetryAfter = platform.ClassifyStatus(r.status, r.header, t.now(), ep == endpointMetrics)
	switch {
	case r.status == http.StatusBadRequest && name == errRecordNotFound && ep == endpointMetrics:
		e.Code = platform.CodePostGone
	case r.status == http.StatusBadRequest && name == errRecordNotFound:
		e.Code = platform.CodeNotFound
	case r.status == http.StatusBadRequest && (name == errExpiredToken || name == errInvalidToken):
		e.Code = platform.CodeUnauthorized
	case r.status >= 300 && r.status <= 399:
		e.Message = t.redact(what + ": redirected to " + platform.RedirectHost(r.header) +
			"; redirects are not followed, set the service URL to the PDS's own address")
	}
	return &apiError{Name: name, err: e}
}

// parseErrorBody reads XRPC's error body, {"error": name, "message": text}.
func parseErrorBody(body []byte) (name, message string) {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Error, e.Message
}

// transportError classifies a call that got no (complete) reply: transient, and an action's
// outcome is unknown (its retry finds its record if it was made).
func (t *transport) transportError(what string, err error) *platform.Error {
	return &platform.Error{Code: platform.TransportCode(err), Message: t.redact(what + ": " + err.Error())}
}

// invalid is a 2xx reply the client cannot use.
func (t *transport) invalid(what, format string, args ...any) *platform.Error {
	return &platform.Error{Code: platform.CodeInvalidResponse, Message: t.redact(what + ": " + fmt.Sprintf(format, args...))}
}
