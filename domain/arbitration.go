package domain

import "time"

// Decision is the safety arbiter's answer to a proposed action.
type Decision string

const (
	DecisionAllow Decision = "allow"
	DecisionDeny  Decision = "deny"
	// DecisionLock refuses the action because the automation as a whole is locked.
	DecisionLock Decision = "lock"
)

// ArbitrationRequest is a post's request for permission, right before it acts.
type ArbitrationRequest struct {
	PostID   string     `json:"post"`
	Agent    string     `json:"agent"`
	Platform string     `json:"platform"`
	Action   ActionType `json:"action"`
	Tier     Tier       `json:"tier"`
	Key      string     `json:"idempotency_key"`
	// Texts are what the action would publish (one for comment/edit, the parts of a thread).
	Texts []string  `json:"texts"`
	Score float64   `json:"stagnation_score"`
	At    time.Time `json:"at"`
	// Autonomous is false for a person's action: the automation's proposal an operator
	// approved (its sheal_ key), or an operator's own request (an op_ key). The lock does not
	// stop it, the approval rule and the autonomous budgets do not apply to it; the content
	// rules do. Absent means autonomous, as every request was before people could act.
	Autonomous *bool `json:"autonomous,omitempty"`
	// Operator approved or asked for a non-autonomous action, for OperatorReason.
	Operator       string `json:"operator,omitempty"`
	OperatorReason string `json:"operator_reason,omitempty"`
}

// IsAutonomous reports whether the automation asks on its own.
func (r ArbitrationRequest) IsAutonomous() bool { return r.Autonomous == nil || *r.Autonomous }

// ArbitrationDecision is the arbiter's answer with its reasons.
type ArbitrationDecision struct {
	Decision   Decision  `json:"decision"`
	Reasons    []string  `json:"reasons"`
	Tier       Tier      `json:"tier,omitempty"`
	Confidence float64   `json:"confidence"`
	LockActive bool      `json:"lock_state_active"`
	At         time.Time `json:"at"`
	// RequiresApproval is true on a deny whose only reasons are the approval rules (no
	// violation): a person's approval is what the action lacks.
	RequiresApproval bool `json:"requires_approval,omitempty"`
	// RetryAt is set on a deny whose only reasons are the hourly budgets: the first moment a
	// slot frees (from the arbiter's record of allowed changes), before which asking again
	// changes nothing.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Local is true on a lock answered by the worker itself, without asking the arbiter: the
	// worker had seen the arbiter answer lock at LockSeenAt, less than its lock-view TTL ago
	// (see workflows.SafetyClient). Only refusals are ever answered locally.
	Local      bool      `json:"local,omitempty"`
	LockSeenAt time.Time `json:"lock_seen_at,omitzero"`
}

// Allowed reports whether the action may run.
func (d ArbitrationDecision) Allowed() bool { return d.Decision == DecisionAllow }
