package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"resurge/platform"
)

// asAppErr fails unless err is (or wraps) a *temporal.ApplicationError.
func asAppErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("want an application error, got %T: %v", err, err)
	}
	return appErr
}

// wantAppErr checks an application error's type, retryability and details.
func wantAppErr(t *testing.T, err error, typ string, nonRetryable bool, details ErrorDetails) *temporal.ApplicationError {
	t.Helper()
	appErr := asAppErr(t, err)
	if appErr.Type() != typ || appErr.NonRetryable() != nonRetryable {
		t.Fatalf("error type %q non-retryable %v, want %q %v (%v)", appErr.Type(), appErr.NonRetryable(), typ, nonRetryable, err)
	}
	var d ErrorDetails
	if !appErr.HasDetails() {
		t.Fatalf("error %v has no details", err)
	}
	if err := appErr.Details(&d); err != nil {
		t.Fatalf("details: %v", err)
	}
	if d != details {
		t.Fatalf("details %+v, want %+v", d, details)
	}
	return appErr
}

func TestToApplicationErrorNil(t *testing.T) {
	if err := toApplicationError(nil, 3); err != nil {
		t.Fatalf("toApplicationError(nil) = %v", err)
	}
}

func TestToApplicationErrorClassification(t *testing.T) {
	codes := []struct {
		code      string
		transient bool
	}{
		{platform.CodeTimeout, true},
		{platform.CodeRateLimit, true},
		{platform.CodeServiceUnavailable, true},
		{platform.CodeNetworkError, true},
		{platform.CodeBadRequest, false},
		{platform.CodeUnauthorized, false},
		{platform.CodeForbidden, false},
		{platform.CodeNotFound, false},
		{platform.CodePostGone, false},
		{platform.CodeUnprocessable, false},
		{platform.CodeInvalidResponse, false},
		{platform.CodeUnexpected, false},
		{"something_new", false},
	}
	for _, c := range codes {
		t.Run(c.code, func(t *testing.T) {
			pe := &platform.Error{Code: c.code, Status: 418, Message: "boom"}
			err := toApplicationError(pe, 4)
			appErr := wantAppErr(t, err, c.code, !c.transient, ErrorDetails{Code: c.code, Status: 418, Attempt: 4})
			if appErr.Message() != pe.Error() {
				t.Fatalf("message %q, want %q", appErr.Message(), pe.Error())
			}
			if appErr.NextRetryDelay() != 0 {
				t.Fatalf("next retry delay %v without a Retry-After", appErr.NextRetryDelay())
			}
			// Every final code is in the retry policy's list of non-retryable types; no transient
			// one is.
			if listed := slices.Contains(NonRetryableTypes, c.code); listed == c.transient && c.code != "something_new" {
				t.Fatalf("%s: listed in NonRetryableTypes = %v, transient = %v", c.code, listed, c.transient)
			}
		})
	}
}

func TestToApplicationErrorRetryAfter(t *testing.T) {
	err := toApplicationError(&platform.Error{Code: platform.CodeRateLimit, Status: 429, RetryAfter: 37 * time.Second, Message: "slow down"}, 2)
	appErr := wantAppErr(t, err, platform.CodeRateLimit, false, ErrorDetails{Code: platform.CodeRateLimit, Status: 429, Attempt: 2})
	if appErr.NextRetryDelay() != 37*time.Second {
		t.Fatalf("next retry delay %v, want 37s", appErr.NextRetryDelay())
	}
}

func TestToApplicationErrorNonPlatformErrors(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		code  string
		final bool
	}{
		{"plain error is unexpected and final", errors.New("kaput"), platform.CodeUnexpected, true},
		{"deadline exceeded is a timeout", context.DeadlineExceeded, platform.CodeTimeout, false},
		{"wrapped deadline exceeded", fmt.Errorf("calling: %w", context.DeadlineExceeded), platform.CodeTimeout, false},
		{"wrapped platform error keeps its code", fmt.Errorf("calling: %w", &platform.Error{Code: platform.CodeServiceUnavailable, Status: 503}),
			platform.CodeServiceUnavailable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := toApplicationError(tc.err, 1)
			appErr := asAppErr(t, err)
			if appErr.Type() != tc.code || appErr.NonRetryable() != tc.final {
				t.Fatalf("type %q non-retryable %v, want %q %v", appErr.Type(), appErr.NonRetryable(), tc.code, tc.final)
			}
		})
	}
}

func TestNonRetryableHelper(t *testing.T) {
	wantAppErr(t, nonRetryable(ErrInvalidInput, "bad", 2), ErrInvalidInput, true, ErrorDetails{Code: ErrInvalidInput, Attempt: 2})
}

// roundTrip passes err through the default failure converter, as an activity failure reaches
// the workflow: details become encoded payloads.
func roundTrip(err error) error {
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(err))
}

func TestFailureCode(t *testing.T) {
	withDetails := toApplicationError(&platform.Error{Code: platform.CodeForbidden, Status: 403}, 3)
	cases := []struct {
		name    string
		err     error
		code    string
		attempt int32
	}{
		{"application error with details", withDetails, platform.CodeForbidden, 3},
		{"wrapped application error", fmt.Errorf("activity failed: %w", withDetails), platform.CodeForbidden, 3},
		{"non-retryable helper", nonRetryable(ErrUnknownPlatform, "no adapter", 1), ErrUnknownPlatform, 1},
		{"application error without details", temporal.NewApplicationError("x", "custom_type"), "custom_type", 0},
		{"decoded application error with details", roundTrip(withDetails), platform.CodeForbidden, 3},
		{"decoded application error with other details", roundTrip(temporal.NewApplicationError("x", "custom_type", "a string")), "custom_type", 0},
		{"decoded application error without details", roundTrip(temporal.NewApplicationError("x", "custom_type")), "custom_type", 0},
		{"timeout (the activity never answered)", temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil), platform.CodeTimeout, 0},
		{"heartbeat timeout", temporal.NewHeartbeatTimeoutError(), platform.CodeTimeout, 0},
		{"wrapped timeout", fmt.Errorf("x: %w", temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil)), platform.CodeTimeout, 0},
		// A timeout whose last attempt answered reports that answer.
		{"timeout after a failed attempt", temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, withDetails), platform.CodeForbidden, 3},
		{"decoded timeout", roundTrip(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)), platform.CodeTimeout, 0},
		{"canceled", temporal.NewCanceledError(), "canceled", 0},
		{"anything else", errors.New("kaput"), platform.CodeUnexpected, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, attempt := FailureCode(tc.err)
			if code != tc.code || attempt != tc.attempt {
				t.Fatalf("FailureCode = %q %d, want %q %d", code, attempt, tc.code, tc.attempt)
			}
		})
	}
}
