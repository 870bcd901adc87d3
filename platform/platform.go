// Package platform defines what Resurge needs from a social platform and the errors a platform
// call can end with. Adapters live in sub-packages: simclient (the simulated platform over
// HTTP), mastodon and bluesky; the helpers they share (reply description, redaction, retry
// advice, transport classification) live here.
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"resurge/domain"
)

// Platform is one social platform, already authenticated as the account the worker runs for.
// Every action takes the idempotency key: the platform (or the adapter) must make a repeated key
// produce no second effect.
type Platform interface {
	// Metrics returns the post's current cumulative counters.
	Metrics(ctx context.Context, postID string) (domain.MetricsSample, error)
	// Comment replies once to the post.
	Comment(ctx context.Context, postID, text, key string) (Effect, error)
	// Edit replaces the post's text.
	Edit(ctx context.Context, postID, text, key string) (Effect, error)
	// Thread posts a chain of replies, each replying to the previous one.
	Thread(ctx context.Context, postID string, parts []string, key string) (Effect, error)
	// FindEffect looks for an effect already made with key on the post (verify-before-retry:
	// used when a previous attempt's outcome is unknown). found is false when there is none.
	FindEffect(ctx context.Context, postID, key string) (effect Effect, found bool, err error)
}

// Quoter is a Platform that can quote a post: publish a new post that embeds it, with text
// (tier 2 on platforms that cannot edit; see domain.CapabilitiesOf). A repeated key produces no
// second quote, and FindEffect finds the quote made with a key.
type Quoter interface {
	Quote(ctx context.Context, postID, text, key string) (Effect, error)
}

// Effect is what an action produced on the platform.
type Effect struct {
	// ID of the created reply / edit revision (for a thread: of its first part).
	ID string `json:"id"`
	// IDs of every object created (a thread has one per part).
	IDs []string `json:"ids,omitempty"`
	// URL to look at it, when the platform has one.
	URL string `json:"url,omitempty"`
	// Replayed is true when the platform answered from its idempotency store or when the
	// effect was found by FindEffect: the action had already happened.
	Replayed bool `json:"replayed,omitempty"`
}

// Outcome returns the effect as the JSON outcome of an action record.
func (e Effect) Outcome() json.RawMessage {
	b, _ := json.Marshal(e)
	return b
}

// Error codes. The first four are transient: retrying the same call (with the same key) may
// succeed. Every other code is final.
const (
	CodeTimeout            = "timeout"
	CodeRateLimit          = "rate_limit"
	CodeServiceUnavailable = "service_unavailable"
	CodeNetworkError       = "network_error"

	CodeBadRequest      = "bad_request"      // 400
	CodeUnauthorized    = "unauthorized"     // 401
	CodeForbidden       = "forbidden"        // 403
	CodeNotFound        = "not_found"        // 404 on an action
	CodePostGone        = "post_gone"        // the post no longer exists (404 on metrics)
	CodeUnprocessable   = "unprocessable"    // 422
	CodeInvalidResponse = "invalid_response" // a reply we cannot understand
	CodeUnexpected      = "unexpected_status"
)

// TransientCodes are the only codes worth retrying.
var TransientCodes = []string{CodeTimeout, CodeRateLimit, CodeServiceUnavailable, CodeNetworkError}

// IsTransientCode reports whether code is one of TransientCodes.
func IsTransientCode(code string) bool {
	for _, c := range TransientCodes {
		if c == code {
			return true
		}
	}
	return false
}

// Error is a failed platform call, classified.
type Error struct {
	Code string
	// Status is the HTTP status, 0 when there was no reply.
	Status int
	// RetryAfter is the delay the platform asked for (429 Retry-After), 0 when none.
	RetryAfter time.Duration
	Message    string
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Transient reports whether retrying may help.
func (e *Error) Transient() bool { return IsTransientCode(e.Code) }

// AsError returns err as a *Error, classifying anything unknown as unexpected (final).
func AsError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Message: err.Error()}
	}
	return &Error{Code: CodeUnexpected, Message: err.Error()}
}
