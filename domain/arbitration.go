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
}

// ArbitrationDecision is the arbiter's answer with its reasons.
type ArbitrationDecision struct {
	Decision   Decision  `json:"decision"`
	Reasons    []string  `json:"reasons"`
	Tier       Tier      `json:"tier,omitempty"`
	Confidence float64   `json:"confidence"`
	LockActive bool      `json:"lock_state_active"`
	At         time.Time `json:"at"`
}

// Allowed reports whether the action may run.
func (d ArbitrationDecision) Allowed() bool { return d.Decision == DecisionAllow }
