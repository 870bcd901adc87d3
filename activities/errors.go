package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"resurge/platform"
)

// Error types of failures that are not the platform's answer.
const (
	ErrUnknownPlatform = "unknown_platform"
	ErrInvalidInput    = "invalid_input"
)

// ErrorDetails travel with every failure so the workflow can record the code, the HTTP status
// and how many attempts were made.
type ErrorDetails struct {
	Code    string `json:"code"`
	Status  int    `json:"status,omitempty"`
	Attempt int32  `json:"attempt"`
}

// NonRetryableTypes are the error types a retry policy must never repeat. The adapters mark
// them non-retryable already; listing them in the policy too keeps a mistake in one place from
// repeating a public action.
var NonRetryableTypes = []string{
	platform.CodeBadRequest, platform.CodeUnauthorized, platform.CodeForbidden, platform.CodeNotFound,
	platform.CodePostGone, platform.CodeUnprocessable, platform.CodeInvalidResponse, platform.CodeUnexpected,
	ErrUnknownPlatform, ErrInvalidInput,
}

// toApplicationError turns a platform failure into a Temporal application error whose type is
// the platform code: retryable only for transient codes, with the platform's Retry-After as the
// next retry delay.
func toApplicationError(err error, attempt int32) error {
	if err == nil {
		return nil
	}
	pe := platform.AsError(err)
	return temporal.NewApplicationErrorWithOptions(pe.Error(), pe.Code, temporal.ApplicationErrorOptions{
		NonRetryable:   !pe.Transient(),
		NextRetryDelay: pe.RetryAfter,
		Details:        []any{ErrorDetails{Code: pe.Code, Status: pe.Status, Attempt: attempt}},
	})
}

func nonRetryable(code, msg string, attempt int32) error {
	return temporal.NewApplicationErrorWithOptions(msg, code, temporal.ApplicationErrorOptions{
		NonRetryable: true,
		Details:      []any{ErrorDetails{Code: code, Attempt: attempt}},
	})
}

// FailureCode extracts the error code and attempt count from an activity failure as the
// workflow sees it. Timeouts enforced by Temporal (the activity never answered) are "timeout".
func FailureCode(err error) (code string, attempt int32) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		var d ErrorDetails
		if appErr.HasDetails() && appErr.Details(&d) == nil {
			return appErr.Type(), d.Attempt
		}
		return appErr.Type(), 0
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return platform.CodeTimeout, 0
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled", 0
	}
	return platform.CodeUnexpected, 0
}
