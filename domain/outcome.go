package domain

import "time"

// Outcome is how one action ended, as a post reports it to its agent's monitor.
type Outcome struct {
	Agent       string       `json:"agent"`
	PostID      string       `json:"post_id"`
	Key         string       `json:"idempotency_key"`
	Action      ActionType   `json:"action_type"`
	Tier        Tier         `json:"tier"`
	Status      ActionStatus `json:"status"`
	ErrorCode   string       `json:"error_code,omitempty"`
	Attempts    int          `json:"attempts"`
	InitiatedAt time.Time    `json:"initiated_at"`
	FinishedAt  time.Time    `json:"finished_at"`
	// RateBefore is the post's engagement rate in the window that led to the action.
	RateBefore float64 `json:"rate_before"`
	// Autonomous is false for a person's action (approved or asked for by an operator):
	// monitors grade the automation only, so they count it apart. Absent means autonomous.
	Autonomous *bool `json:"autonomous,omitempty"`
}

// IsAutonomous reports whether the outcome is of an action the automation took on its own.
func (o Outcome) IsAutonomous() bool { return o.Autonomous == nil || *o.Autonomous }

// Impact is the engagement rate a post measured in the window after a successful action.
type Impact struct {
	Agent      string    `json:"agent"`
	PostID     string    `json:"post_id"`
	Key        string    `json:"idempotency_key"`
	RateBefore float64   `json:"rate_before"`
	RateAfter  float64   `json:"rate_after"`
	MeasuredAt time.Time `json:"measured_at"`
}

// Validate checks an outcome report.
func (o Outcome) Validate() error {
	if err := ValidateID("outcome.agent", o.Agent); err != nil {
		return err
	}
	if err := ValidateID("outcome.post_id", o.PostID); err != nil {
		return err
	}
	switch {
	case !o.Action.Valid():
		return fieldErr("outcome.action_type", "unknown action type %q", o.Action)
	case o.Status != StatusSuccess && o.Status != StatusFailed:
		return fieldErr("outcome.status", "must be success or failed, got %q", o.Status)
	case o.InitiatedAt.IsZero() || o.FinishedAt.IsZero():
		return fieldErr("outcome.finished_at", "initiated_at and finished_at are required")
	case o.FinishedAt.Before(o.InitiatedAt):
		return fieldErr("outcome.finished_at", "is before initiated_at")
	case !finiteRate(o.RateBefore):
		return fieldErr("outcome.rate_before", "must be a rate between 0 and 1")
	}
	return nil
}

// Validate checks an impact report.
func (i Impact) Validate() error {
	if err := ValidateID("impact.agent", i.Agent); err != nil {
		return err
	}
	if err := ValidateID("impact.post_id", i.PostID); err != nil {
		return err
	}
	switch {
	case i.Key == "":
		return fieldErr("impact.idempotency_key", "must not be empty")
	case !finiteRate(i.RateBefore):
		return fieldErr("impact.rate_before", "must be a rate between 0 and 1")
	case !finiteRate(i.RateAfter):
		return fieldErr("impact.rate_after", "must be a rate between 0 and 1")
	}
	return nil
}

// finiteRate rejects NaN, infinities and values outside [0, 1] (a NaN compares false).
func finiteRate(r float64) bool { return r >= 0 && r <= 1 }
