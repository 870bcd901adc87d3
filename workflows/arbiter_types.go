package workflows

import (
	"encoding/json"
	"time"

	"resurge/domain"
)

// The safety arbiter is a singleton.
const ArbiterWorkflowID = "safety-arbiter"

// Names of the arbiter's signals, update and query.
const (
	SignalLock        = "lock"
	SignalReleaseLock = "release-lock"
	SignalAgentHealth = "agent-health"
	// SignalSetPolicy carries a JSON safety policy (domain.DecodeSafetyPolicy's format). The
	// arbiter decodes it onto the policy in force (fields left out keep their values) and
	// applies it to every later request; an invalid one is rejected and changes nothing.
	SignalSetPolicy   = "set-policy"
	UpdateArbitrate   = "arbitrate"
	QueryArbiterState = "state"
)

// ArbiterInput starts (or continues) the arbiter.
type ArbiterInput struct {
	Policy domain.SafetyPolicy `json:"policy"`
	Carry  *ArbiterCarry       `json:"carry,omitempty"`
	// MaxUpdatesPerRun continues as new after this many arbitrations (0 = default), far below
	// the server's 2,000 updates per run.
	MaxUpdatesPerRun int `json:"max_updates_per_run,omitempty"`
}

// LockState is the arbiter's lock.
type LockState struct {
	Active     bool            `json:"active"`
	Source     string          `json:"source,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Since      time.Time       `json:"since,omitempty"`
	Tier       int             `json:"tier,omitempty"`
	Confidence float64         `json:"confidence,omitempty"`
	Brief      json.RawMessage `json:"brief,omitempty"`
	// The last release, kept after the lock is off.
	ReleasedBy    string    `json:"released_by,omitempty"`
	ReleaseReason string    `json:"release_reason,omitempty"`
	ReleasedAt    time.Time `json:"released_at,omitempty"`
}

// DecisionRecord is one arbitration, as kept in the arbiter's recent decisions.
type DecisionRecord struct {
	Post     string                     `json:"post"`
	Agent    string                     `json:"agent"`
	Action   domain.ActionType          `json:"action"`
	Key      string                     `json:"idempotency_key"`
	Decision domain.ArbitrationDecision `json:"decision"`
	// Autonomous is false, and Operator set, for a person's action.
	Autonomous *bool  `json:"autonomous,omitempty"`
	Operator   string `json:"operator,omitempty"`
}

// ArbiterCounters count what the arbiter did since it first started.
type ArbiterCounters struct {
	Allowed          int `json:"allowed"`
	Denied           int `json:"denied"`
	Locked           int `json:"locked"`
	Locks            int `json:"locks"`
	Releases         int `json:"releases"`
	RejectedReleases int `json:"rejected_releases"`
	RejectedSignals  int `json:"rejected_signals"`
	// PolicyUpdates counts the set-policy signals applied, RejectedPolicies those rejected.
	PolicyUpdates    int `json:"policy_updates"`
	RejectedPolicies int `json:"rejected_policies"`
	// ApprovalRequests counts the denials for want of approval only (within Denied).
	ApprovalRequests int `json:"approval_requests"`
	// OperatorAllowed and OperatorDenied count people's actions (approved, or an operator's
	// own): apart from Allowed and Denied, and never in the budgets of autonomous changes.
	OperatorAllowed int `json:"operator_allowed"`
	OperatorDenied  int `json:"operator_denied"`
}

// ArbiterCarry is the state carried over continue-as-new.
type ArbiterCarry struct {
	Lock       LockState              `json:"lock"`
	Recent     []DecisionRecord       `json:"recent"`
	Counters   ArbiterCounters        `json:"counters"`
	Allowed    []domain.AllowedChange `json:"allowed"`
	AgentTiers []domain.AgentHealth   `json:"agent_tiers"`
	Rejected   []RejectedInput        `json:"rejected,omitempty"`
	Runs       int                    `json:"runs"`
	// PolicySetAt is when the last set-policy signal was applied (zero: the policy in force
	// is the start input's). The policy itself is ArbiterInput.Policy.
	PolicySetAt time.Time `json:"policy_set_at,omitzero"`
}

// ArbiterState answers the state query.
type ArbiterState struct {
	ArbiterCarry
	// Policy is the safety policy in force.
	Policy         domain.SafetyPolicy `json:"policy"`
	UpdatesThisRun int                 `json:"updates_this_run"`
}
