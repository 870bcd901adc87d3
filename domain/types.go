// Package domain holds Resurge's policy and types: what a post is, how engagement stagnation is
// scored, which corrective action a tier calls for, and when an action may run. It is plain Go with
// no Temporal imports so that the rules can be read, tested and reused (by the starter's dry run,
// by the workflows) without knowing anything about the runtime that drives them.
package domain

import (
	"encoding/json"
	"time"
)

// ActionType is a corrective action a post can receive.
type ActionType string

const (
	ActionComment ActionType = "comment"
	ActionEdit    ActionType = "edit"
	ActionThread  ActionType = "thread"
	// ActionQuote is a new post that embeds the original with the tier-2 text: tier 2 on
	// platforms that cannot edit (Bluesky). See CapabilitiesOf.
	ActionQuote ActionType = "quote"
)

// ActionTypes lists the action types in a fixed order (never iterate a map for output).
var ActionTypes = []ActionType{ActionComment, ActionEdit, ActionQuote, ActionThread}

// Valid reports whether a is one of the known action types.
func (a ActionType) Valid() bool {
	return a == ActionComment || a == ActionEdit || a == ActionQuote || a == ActionThread
}

// Tier is the severity of a post's stagnation; it decides the action.
type Tier string

const (
	Tier1 Tier = "tier_1"
	Tier2 Tier = "tier_2"
	Tier3 Tier = "tier_3"
)

// Valid reports whether t is one of the known tiers.
func (t Tier) Valid() bool { return t == Tier1 || t == Tier2 || t == Tier3 }

// Level is the tier as a number (1..3), 0 for an unknown tier.
func (t Tier) Level() int {
	switch t {
	case Tier1:
		return 1
	case Tier2:
		return 2
	case Tier3:
		return 3
	}
	return 0
}

// ActionStatus is where an action record stands.
type ActionStatus string

const (
	StatusRunning ActionStatus = "running"
	StatusSuccess ActionStatus = "success"
	StatusFailed  ActionStatus = "failed"
	// StatusBlocked means the safety arbiter denied or locked the action: nothing reached the
	// platform.
	StatusBlocked ActionStatus = "blocked"
	// StatusAwaitingApproval means the arbiter refused the action only because a person must
	// approve it: the post waits for an operator's approve or reject. Nothing reached the
	// platform; the key is not proposed again while it waits.
	StatusAwaitingApproval ActionStatus = "awaiting_approval"
	// StatusRejected means an operator rejected the action awaiting approval: nothing reached the
	// platform, and the key is never proposed again for the post (it counts as a duplicate).
	StatusRejected ActionStatus = "rejected"
	// StatusExpired means nobody answered before the approval timeout: nothing reached the
	// platform, and the post plans normally again.
	StatusExpired ActionStatus = "expired"
)

// ActionStatuses lists the statuses in a fixed order.
var ActionStatuses = []ActionStatus{StatusRunning, StatusSuccess, StatusFailed, StatusBlocked, StatusAwaitingApproval, StatusRejected, StatusExpired}

// Valid reports whether s is one of the known statuses.
func (s ActionStatus) Valid() bool {
	switch s {
	case StatusRunning, StatusSuccess, StatusFailed, StatusBlocked, StatusAwaitingApproval, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// ReachedPlatform reports whether a record with this status reached, or may have reached, the
// platform: only those count toward the window cap and start a cooldown.
func (s ActionStatus) ReachedPlatform() bool {
	return s == StatusRunning || s == StatusSuccess || s == StatusFailed
}

// Post is one published post that Resurge watches, with the texts of the actions it may take.
type Post struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
	// Agent is the account the automation acts as; monitors grade agents.
	Agent       string `json:"agent"`
	CommentText string `json:"comment_text"`
	// EditText is the tier-2 text: the post's new text where tier 2 is an edit, the quote
	// post's text where it is a quote (Bluesky).
	EditText    string   `json:"edit_text"`
	ThreadTexts []string `json:"thread_texts"`
}

// MetricsSample is one reading of a post's cumulative counters.
type MetricsSample struct {
	At          time.Time `json:"at"`
	Impressions int64     `json:"impressions"`
	Engagements int64     `json:"engagements"`
}

// ActionRecord is one entry of a post's action log. Its JSON form is the reference executor's
// persisted history format, so users can bring their history along (see DecodeActionLog).
type ActionRecord struct {
	Key         string          `json:"idempotency_key"`
	PostID      string          `json:"post_id"`
	Action      ActionType      `json:"action_type"`
	Tier        Tier            `json:"tier"`
	InitiatedAt time.Time       `json:"initiated_at"`
	Status      ActionStatus    `json:"status"`
	Attempts    int             `json:"attempts"`
	Outcome     json.RawMessage `json:"outcome,omitempty"`
	ErrorCode   string          `json:"error_code,omitempty"`
	// FinishedAt is when the record reached its final status (zero while running).
	FinishedAt time.Time `json:"finished_at,omitempty"`
	// Reasons says why an action was blocked (the arbiter's reasons) or why it failed.
	Reasons []string `json:"reasons,omitempty"`

	// Autonomous is false for a person's action: one an operator approved (the automation's
	// key) or asked for (an operator key, see OperatorKey). Absent means autonomous, as every
	// record was before people could act.
	Autonomous *bool `json:"autonomous,omitempty"`
	// Operator and Reason are who approved, rejected or asked for the action, and why.
	Operator string `json:"operator,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// RequestID is an operator action's request ID (its key derives from it).
	RequestID string `json:"request_id,omitempty"`
}

// IsAutonomous reports whether the automation acted on its own.
func (r ActionRecord) IsAutonomous() bool { return r.Autonomous == nil || *r.Autonomous }

// NotAutonomous is the value of an Autonomous field for a person's action.
func NotAutonomous() *bool {
	f := false
	return &f
}

// Finished reports whether the record reached a final outcome on the platform.
func (r ActionRecord) Finished() bool {
	return r.Status == StatusSuccess || r.Status == StatusFailed
}
