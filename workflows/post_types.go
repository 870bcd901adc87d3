package workflows

import (
	"time"

	"resurge/domain"
)

// Names of the post workflow's signals and queries.
const (
	SignalStop  = "stop"
	QueryStatus = "status"
	// SignalApprove and SignalReject answer an action awaiting approval
	// (domain.ApprovalAnswer); SignalAct asks for an operator's action
	// (domain.OperatorRequest).
	SignalApprove = "approve"
	SignalReject  = "reject"
	SignalAct     = "act"
)

// PostWorkflowID is the workflow ID of a post: one workflow per post.
func PostWorkflowID(postID string) string { return "post/" + postID }

// States of a post workflow, shown as the ResurgeState search attribute.
const (
	StateWatching    = "watching"
	StateCoolingDown = "cooling_down"
	StateActing      = "acting"
	StateBlocked     = "blocked"
	// StateAwaitingApproval: an action waits for a person's approve or reject.
	StateAwaitingApproval = "awaiting_approval"
	StateDone             = "done"
)

// Reasons a post workflow ends.
const (
	EndHorizon  = "horizon"
	EndStopped  = "stopped"
	EndPostGone = "post_gone"
	EndInvalid  = "invalid_input"
)

// PostInput starts (or continues) a post workflow.
type PostInput struct {
	Post   domain.Post             `json:"post"`
	Config domain.EvaluationConfig `json:"config"`
	// Carry is the state carried over continue-as-new; nil on a fresh start.
	Carry *PostCarry `json:"carry,omitempty"`
	// MaxCyclesPerRun caps the cycles of one run before it continues as new, whatever the
	// server suggests (0 = defaultMaxCyclesPerRun). Tests lower it.
	MaxCyclesPerRun int `json:"max_cycles_per_run,omitempty"`
	// ShownAtStart are the search attributes the workflow was started with, by name (StartPost
	// sets the post, agent and state so a post is listed before its first task), so that a
	// fresh run does not upsert them again. They come in the input because the history's start
	// event cannot tell: a fetched history shows the latest values there, and a replay that
	// read them would decide differently from the run it replays.
	ShownAtStart map[string]string `json:"shown_at_start,omitempty"`
}

// PostCarry is everything a run hands to the next one: the samples still in the window and the
// whole action log, so de-duplication, cooldowns and the window cap hold across runs.
type PostCarry struct {
	StartedAt      time.Time                   `json:"started_at"`
	NextSampleAt   time.Time                   `json:"next_sample_at"`
	Samples        []domain.MetricsSample      `json:"samples"`
	Log            []domain.ActionRecord       `json:"log"`
	LastPlan       *domain.Plan                `json:"last_plan,omitempty"`
	LastPermission *domain.ArbitrationDecision `json:"last_permission,omitempty"`
	Rejected       []RejectedInput             `json:"rejected,omitempty"`
	RejectedCount  int                         `json:"rejected_count"`
	Cycles         int                         `json:"cycles"`
	Runs           int                         `json:"runs"`
	LastError      string                      `json:"last_error,omitempty"`
	// Shown are the search attribute values this workflow last upserted, by name (looked up
	// only, never iterated).
	Shown map[string]string `json:"shown,omitempty"`
	// PendingImpacts are successful actions whose following window has not passed yet.
	PendingImpacts []PendingImpact `json:"pending_impacts,omitempty"`
	// Pending is the action awaiting a person's approval, if any.
	Pending *domain.PendingApproval `json:"pending_approval,omitempty"`
	// BudgetRetryAt is set after the arbiter refused an action for its hourly budgets only:
	// the post does not ask again before then (see changeBudgetRetry).
	BudgetRetryAt *time.Time `json:"budget_retry_at,omitempty"`
}

// PendingImpact is a successful action waiting for its impact measurement.
type PendingImpact struct {
	Key        string    `json:"idempotency_key"`
	RateBefore float64   `json:"rate_before"`
	After      time.Time `json:"after"`
}

// RejectedInput is a sample or signal that failed validation: recorded, then skipped.
type RejectedInput struct {
	At    time.Time `json:"at"`
	What  string    `json:"what"`
	Error string    `json:"error"`
}

// Cooldown is an action type that may not run before Until.
type Cooldown struct {
	Action domain.ActionType `json:"action_type"`
	Until  time.Time         `json:"until"`
}

// PostStatus answers the status query.
type PostStatus struct {
	Post         domain.Post             `json:"post"`
	Config       domain.EvaluationConfig `json:"config"`
	State        string                  `json:"state"`
	StartedAt    time.Time               `json:"started_at"`
	EndsAt       time.Time               `json:"ends_at"`
	Window       []domain.MetricsSample  `json:"window"`
	LastScore    float64                 `json:"last_score"`
	LastTier     domain.Tier             `json:"last_tier,omitempty"`
	LastPlan     *domain.Plan            `json:"last_plan,omitempty"`
	Log          []domain.ActionRecord   `json:"log"`
	NextSampleAt time.Time               `json:"next_sample_at"`
	// Cadence is the interval the next sample came from, and why (domain.NextCadence).
	Cadence        domain.Cadence              `json:"cadence"`
	Cooldowns      []Cooldown                  `json:"cooldowns"`
	LastPermission *domain.ArbitrationDecision `json:"last_permission,omitempty"`
	Rejected       []RejectedInput             `json:"rejected,omitempty"`
	RejectedCount  int                         `json:"rejected_count"`
	Cycles         int                         `json:"cycles"`
	Runs           int                         `json:"runs"`
	LastError      string                      `json:"last_error,omitempty"`
	EndReason      string                      `json:"end_reason,omitempty"`
	// PendingApproval is what awaits a person's approval, with the commands that answer it.
	PendingApproval *domain.PendingApproval `json:"pending_approval,omitempty"`
	// BudgetRetryAt: the arbiter's budgets refused the last action; the post asks again then.
	BudgetRetryAt *time.Time `json:"budget_retry_at,omitempty"`
}

// PostSummary is the workflow's result.
type PostSummary struct {
	PostID    string                `json:"post_id"`
	EndReason string                `json:"end_reason"`
	StartedAt time.Time             `json:"started_at"`
	EndedAt   time.Time             `json:"ended_at"`
	Cycles    int                   `json:"cycles"`
	Runs      int                   `json:"runs"`
	LastScore float64               `json:"last_score"`
	LastTier  domain.Tier           `json:"last_tier,omitempty"`
	Actions   []domain.ActionRecord `json:"actions"`
	Rejected  int                   `json:"rejected_inputs"`
}

// StopRequest is the stop signal's payload; every field is optional.
type StopRequest struct {
	Reason   string `json:"reason,omitempty"`
	Operator string `json:"operator,omitempty"`
}
