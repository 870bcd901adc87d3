package activities

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"resurge/domain"
)

// SafetyGateway reaches the safety workflows: the arbiter and the per-agent monitors. The
// worker wires in the Temporal client implementation (workflows.SafetyClient).
type SafetyGateway interface {
	Arbitrate(ctx context.Context, req domain.ArbitrationRequest) (domain.ArbitrationDecision, error)
	ReportOutcome(ctx context.Context, o domain.Outcome) error
	ReportImpact(ctx context.Context, im domain.Impact) error
	ReportHealth(ctx context.Context, h domain.AgentHealth) error
	Lock(ctx context.Context, req domain.LockRequest) error
}

// Error types of safety calls.
const (
	ErrNoSafetyGateway  = "no_safety_gateway"
	ErrRejectedRequest  = "rejected_request"
	ErrSafetyTransient  = "safety_unavailable"
	ErrSafetyPermanence = "safety_error"
)

// Arbitrate asks the arbiter whether an action may run. "Too many updates" and other
// resource-exhausted or unavailable answers are transient; a request the arbiter's validator
// rejects is not.
func (a *Activities) Arbitrate(ctx context.Context, req domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
	if a.Safety == nil {
		return domain.ArbitrationDecision{}, nonRetryable(ErrNoSafetyGateway, "no safety gateway configured", activity.GetInfo(ctx).Attempt)
	}
	d, err := a.Safety.Arbitrate(ctx, req)
	if err != nil {
		return d, classifySafetyError(err)
	}
	return d, nil
}

// ReportOutcome tells the agent's monitor how an action ended (starting the monitor if needed).
func (a *Activities) ReportOutcome(ctx context.Context, o domain.Outcome) error {
	if a.Safety == nil {
		return nil // nothing to report to: a worker without safety workflows
	}
	return classifySafetyError(a.Safety.ReportOutcome(ctx, o))
}

// ReportImpact tells the agent's monitor the engagement rate measured after an action.
func (a *Activities) ReportImpact(ctx context.Context, im domain.Impact) error {
	if a.Safety == nil {
		return nil
	}
	return classifySafetyError(a.Safety.ReportImpact(ctx, im))
}

// ReportHealth tells the arbiter a monitor's latest grade of an agent.
func (a *Activities) ReportHealth(ctx context.Context, h domain.AgentHealth) error {
	if a.Safety == nil {
		return nil
	}
	return classifySafetyError(a.Safety.ReportHealth(ctx, h))
}

// SignalLock locks the arbiter.
func (a *Activities) SignalLock(ctx context.Context, req domain.LockRequest) error {
	if a.Safety == nil {
		return nonRetryable(ErrNoSafetyGateway, "no safety gateway configured", activity.GetInfo(ctx).Attempt)
	}
	return classifySafetyError(a.Safety.Lock(ctx, req))
}

// classifySafetyError keeps transient server answers retryable and makes a rejected request
// final.
func classifySafetyError(err error) error {
	if err == nil {
		return nil
	}
	var exhausted *serviceerror.ResourceExhausted
	var unavailable *serviceerror.Unavailable
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &exhausted), errors.As(err, &unavailable), errors.As(err, &notFound),
		errors.Is(err, context.DeadlineExceeded):
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrSafetyTransient, temporal.ApplicationErrorOptions{Cause: err})
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// The arbiter's validator rejected the request: asking again changes nothing.
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrRejectedRequest, err)
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), ErrSafetyTransient, temporal.ApplicationErrorOptions{Cause: err})
}
