package domain

import (
	"fmt"
	"time"
)

// EvaluationConfig holds the knobs of one post's evaluation. Every field can be overridden per
// post when it is started; DefaultConfig gives the product defaults.
type EvaluationConfig struct {
	// Window is the sliding evaluation window: samples and actions older than now-Window are
	// out of it.
	Window time.Duration `json:"window"`
	// MinSamples is how many samples inside the window a plan needs.
	MinSamples int `json:"min_samples"`
	// SampleInterval is the time between two metric samples.
	SampleInterval time.Duration `json:"sample_interval"`
	// Cooldowns per action type: no action of a type runs sooner than this after the last one.
	CommentCooldown time.Duration `json:"comment_cooldown"`
	EditCooldown    time.Duration `json:"edit_cooldown"`
	ThreadCooldown  time.Duration `json:"thread_cooldown"`
	// QuoteCooldown is the cooldown of a quote post (tier 2 on Bluesky); its default is the
	// edit's, the action it stands in for.
	QuoteCooldown time.Duration `json:"quote_cooldown"`
	// MaxActionsPerWindow caps the actions a post may receive inside one window.
	MaxActionsPerWindow int `json:"max_actions_per_window"`
	// Horizon is how long a post is watched in all.
	Horizon time.Duration `json:"horizon"`
	// ApprovalTimeout is how long an action waits for a person's approval before it expires
	// (never past the horizon); 0 means DefaultApprovalTimeout.
	ApprovalTimeout time.Duration `json:"approval_timeout"`
	// Cadence is CadenceFixed (a sample every SampleInterval) or CadenceAdaptive (DefaultConfig:
	// SampleInterval is the densest interval, see NextCadence). Empty is fixed: a post started
	// before the field existed keeps its cadence.
	Cadence string `json:"cadence"`
	// MaxSampleInterval caps the adaptive cadence's sparsest interval (0: the window's limit,
	// see SparsestInterval).
	MaxSampleInterval time.Duration `json:"max_sample_interval"`
}

// DefaultConfig returns the product defaults.
func DefaultConfig() EvaluationConfig {
	return EvaluationConfig{
		Window:              90 * time.Minute,
		MinSamples:          3,
		SampleInterval:      10 * time.Minute,
		CommentCooldown:     30 * time.Minute,
		EditCooldown:        2 * time.Hour,
		ThreadCooldown:      3 * time.Hour,
		QuoteCooldown:       2 * time.Hour,
		MaxActionsPerWindow: 2,
		Horizon:             48 * time.Hour,
		ApprovalTimeout:     DefaultApprovalTimeout,
		Cadence:             CadenceAdaptive,
	}
}

// ApprovalWait is how long an action waits for approval: ApprovalTimeout, or the default.
func (c EvaluationConfig) ApprovalWait() time.Duration {
	if c.ApprovalTimeout > 0 {
		return c.ApprovalTimeout
	}
	return DefaultApprovalTimeout
}

// Cooldown returns the cooldown of an action type.
func (c EvaluationConfig) Cooldown(a ActionType) time.Duration {
	switch a {
	case ActionComment:
		return c.CommentCooldown
	case ActionEdit:
		return c.EditCooldown
	case ActionThread:
		return c.ThreadCooldown
	case ActionQuote:
		return c.QuoteCooldown
	}
	return 0
}

// Bounds on configuration values: generous, but they keep a typo (hours for seconds) from
// producing a post that samples every nanosecond or is watched for a century.
const (
	MinInterval       = time.Second
	MaxWindow         = 30 * 24 * time.Hour
	MaxHorizon        = 365 * 24 * time.Hour
	MaxMinSamples     = 1000
	MaxActionsCeiling = 100
)

// Validate returns an error naming the first field that is out of range.
func (c EvaluationConfig) Validate() error {
	switch {
	case c.Window < MinInterval || c.Window > MaxWindow:
		return fieldErr("config.window", "must be between %s and %s, got %s", MinInterval, MaxWindow, c.Window)
	case c.MinSamples < 1 || c.MinSamples > MaxMinSamples:
		return fieldErr("config.min_samples", "must be between 1 and %d, got %d", MaxMinSamples, c.MinSamples)
	case c.SampleInterval < MinInterval || c.SampleInterval > c.Window:
		return fieldErr("config.sample_interval", "must be between %s and the window (%s), got %s", MinInterval, c.Window, c.SampleInterval)
	case c.CommentCooldown < 0 || c.CommentCooldown > MaxWindow:
		return fieldErr("config.comment_cooldown", "must be between 0 and %s, got %s", MaxWindow, c.CommentCooldown)
	case c.EditCooldown < 0 || c.EditCooldown > MaxWindow:
		return fieldErr("config.edit_cooldown", "must be between 0 and %s, got %s", MaxWindow, c.EditCooldown)
	case c.ThreadCooldown < 0 || c.ThreadCooldown > MaxWindow:
		return fieldErr("config.thread_cooldown", "must be between 0 and %s, got %s", MaxWindow, c.ThreadCooldown)
	case c.QuoteCooldown < 0 || c.QuoteCooldown > MaxWindow:
		return fieldErr("config.quote_cooldown", "must be between 0 and %s, got %s", MaxWindow, c.QuoteCooldown)
	case c.MaxActionsPerWindow < 1 || c.MaxActionsPerWindow > MaxActionsCeiling:
		return fieldErr("config.max_actions_per_window", "must be between 1 and %d, got %d", MaxActionsCeiling, c.MaxActionsPerWindow)
	case c.Horizon < c.SampleInterval || c.Horizon > MaxHorizon:
		return fieldErr("config.horizon", "must be between the sample interval (%s) and %s, got %s", c.SampleInterval, MaxHorizon, c.Horizon)
	case c.ApprovalTimeout < 0 || c.ApprovalTimeout > MaxHorizon:
		return fieldErr("config.approval_timeout", "must be between 0 (the default, %s) and %s, got %s", DefaultApprovalTimeout, MaxHorizon, c.ApprovalTimeout)
	case c.ApprovalTimeout > 0 && c.ApprovalTimeout < MinInterval:
		return fieldErr("config.approval_timeout", "must be at least %s (or 0 for the default), got %s", MinInterval, c.ApprovalTimeout)
	case c.Cadence != "" && c.Cadence != CadenceFixed && c.Cadence != CadenceAdaptive:
		return fieldErr("config.cadence", "must be %q or %q, got %q", CadenceFixed, CadenceAdaptive, shorten(c.Cadence, 40))
	case c.MaxSampleInterval != 0 && (c.MaxSampleInterval < c.SampleInterval || c.MaxSampleInterval > c.Window):
		return fieldErr("config.max_sample_interval", "must be 0 (the window's limit) or between the sample interval (%s) and the window (%s), got %s",
			c.SampleInterval, c.Window, c.MaxSampleInterval)
	}
	return nil
}

// FieldError is a validation error that names the offending field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
