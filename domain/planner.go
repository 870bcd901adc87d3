package domain

import (
	"slices"
	"time"
)

// Reason says why a plan is not eligible. The planner checks them in this order.
type Reason string

const (
	ReasonInsufficientSamples Reason = "insufficient_samples"
	ReasonDuplicateAction     Reason = "duplicate_action"
	ReasonWindowFrequency     Reason = "window_frequency_exceeded"
	ReasonCooldownActive      Reason = "action_cooldown_active"
)

// Plan is the planner's verdict for one post at one moment.
type Plan struct {
	PostID   string `json:"post_id"`
	Eligible bool   `json:"eligible"`
	Reason   Reason `json:"reason,omitempty"`
	// SampleCount is the number of samples inside the window.
	SampleCount int `json:"sample_count"`
	// Score, Tier, Action and Key are set whenever there are enough samples to score.
	Score  float64    `json:"stagnation_score"`
	Tier   Tier       `json:"tier,omitempty"`
	Action ActionType `json:"action_type,omitempty"`
	Key    string     `json:"idempotency_key,omitempty"`
	// CooldownUntil is when the blocking rule stops blocking: the end of the action's cooldown
	// (action_cooldown_active) or the moment the oldest action leaves the window
	// (window_frequency_exceeded). Nil otherwise.
	CooldownUntil *time.Time `json:"cooldown_until,omitempty"`
	// Cadence is when the post samples next and why (NextCadence); set by the planner's
	// activity for the post workflow and by the dry run, not by PlanActionFor.
	Cadence *Cadence `json:"cadence,omitempty"`
}

// PlanAction decides whether post postID should act now, given its action log, its samples
// and its configuration. It is a pure function of its inputs.
//
// Records with status blocked, awaiting_approval, rejected or expired are kept in the log (they
// explain what the arbiter or a person refused) but nothing reached the platform for them, so
// they count neither toward the window cap nor as the start of a cooldown. Failed records do
// count: a failure is still a visible attempt.
//
// PlanAction scores with the reference formula (StagnationScore); PlanActionFor chooses the
// formula by platform.
func PlanAction(postID string, log []ActionRecord, samples []MetricsSample, cfg EvaluationConfig, now time.Time) Plan {
	return PlanActionFor("", postID, log, samples, cfg, now)
}

// PlanActionFor is PlanAction for a post on platform: the score comes from StagnationScoreFor,
// so platforms without impressions are scored by engagement velocity, and the tier's action is
// the platform's (ActionForTierOn: a quote instead of an edit on Bluesky, and so its key).
// Everything else (tiers, rules) is the same.
func PlanActionFor(platform, postID string, log []ActionRecord, samples []MetricsSample, cfg EvaluationConfig, now time.Time) Plan {
	window := SamplesInWindow(samples, cfg.Window, now)
	plan := Plan{PostID: postID, SampleCount: len(window)}
	if len(window) < cfg.MinSamples {
		plan.Reason = ReasonInsufficientSamples
		return plan
	}
	plan.Score = StagnationScoreFor(platform, window)
	plan.Tier = TierForScore(plan.Score)
	plan.Action = ActionForTierOn(platform, plan.Tier)
	plan.Key = IdempotencyKey(postID, plan.Action, plan.Tier)

	if IsDuplicate(log, plan.Key) {
		plan.Reason = ReasonDuplicateAction
		return plan
	}
	if until, blocked := windowCapUntil(postID, log, cfg, now); blocked {
		plan.Reason = ReasonWindowFrequency
		plan.CooldownUntil = &until
		return plan
	}
	if until, blocked := cooldownUntil(postID, log, plan.Action, cfg, now); blocked {
		plan.Reason = ReasonCooldownActive
		plan.CooldownUntil = &until
		return plan
	}
	plan.Eligible = true
	return plan
}

// SamplesInWindow returns the samples taken in [now-window, now], ordered by time.
func SamplesInWindow(samples []MetricsSample, window time.Duration, now time.Time) []MetricsSample {
	cutoff := now.Add(-window)
	var in []MetricsSample
	for _, s := range samples {
		if !s.At.Before(cutoff) && !s.At.After(now) {
			in = append(in, s)
		}
	}
	return sortedByTime(in)
}

// IsDuplicate reports whether a record with key is running or succeeded, awaits approval, or
// was rejected by an operator (a rejected key is never proposed again for the post).
func IsDuplicate(log []ActionRecord, key string) bool {
	for _, r := range log {
		if r.Key != key {
			continue
		}
		switch r.Status {
		case StatusRunning, StatusSuccess, StatusAwaitingApproval, StatusRejected:
			return true
		}
	}
	return false
}

// countsAgainstLimits reports whether a record reached (or may have reached) the platform.
func countsAgainstLimits(r ActionRecord, postID string) bool {
	return r.PostID == postID && r.Status.ReachedPlatform()
}

// windowCapUntil reports whether the post already had MaxActionsPerWindow actions inside the
// window, and if so when the oldest of them leaves it.
func windowCapUntil(postID string, log []ActionRecord, cfg EvaluationConfig, now time.Time) (time.Time, bool) {
	cutoff := now.Add(-cfg.Window)
	var recent []time.Time
	for _, r := range log {
		if countsAgainstLimits(r, postID) && !r.InitiatedAt.Before(cutoff) {
			recent = append(recent, r.InitiatedAt)
		}
	}
	limit := max(1, cfg.MaxActionsPerWindow) // a config that skipped Validate still never panics
	if len(recent) < limit {
		return time.Time{}, false
	}
	// The cap lifts once enough of the recent actions have left the window: after the
	// (len-max+1)-th oldest one does.
	slices.SortFunc(recent, time.Time.Compare)
	leaving := recent[len(recent)-limit]
	return leaving.Add(cfg.Window).Add(time.Nanosecond), true
}

// cooldownUntil checks the most recent record of the same action type.
func cooldownUntil(postID string, log []ActionRecord, action ActionType, cfg EvaluationConfig, now time.Time) (time.Time, bool) {
	until, ok := CooldownEnd(postID, log, action, cfg)
	if ok && now.Before(until) {
		return until, true
	}
	return time.Time{}, false
}

// CooldownEnd is when the cooldown of an action type ends for a post: its most recent record
// that reached (or may have reached) the platform, plus the type's cooldown. ok is false when
// the post has no such record.
func CooldownEnd(postID string, log []ActionRecord, action ActionType, cfg EvaluationConfig) (until time.Time, ok bool) {
	var last *ActionRecord
	for i := range log {
		r := &log[i]
		if r.Action != action || !countsAgainstLimits(*r, postID) {
			continue
		}
		if last == nil || !r.InitiatedAt.Before(last.InitiatedAt) {
			last = r
		}
	}
	if last == nil {
		return time.Time{}, false
	}
	return last.InitiatedAt.Add(cfg.Cooldown(action)), true
}
