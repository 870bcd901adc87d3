package domain

import (
	"encoding/json"
	"time"
)

// LockRequest turns the arbiter's lock on: every autonomous change is refused until an operator
// releases it.
type LockRequest struct {
	Source     string  `json:"source"`
	Reason     string  `json:"reason"`
	Tier       int     `json:"tier"`
	Confidence float64 `json:"confidence"`
	// Brief is the diagnostic brief of the systemic alert behind the lock, when there is one.
	Brief json.RawMessage `json:"brief,omitempty"`
}

// Validate checks a lock request.
func (r LockRequest) Validate() error {
	switch {
	case r.Source == "":
		return fieldErr("lock.source", "is required")
	case r.Reason == "":
		return fieldErr("lock.reason", "is required")
	case r.Tier < 0 || r.Tier > 3:
		return fieldErr("lock.tier", "must be between 0 and 3, got %d", r.Tier)
	case !finiteRate(r.Confidence):
		return fieldErr("lock.confidence", "must be between 0 and 1")
	}
	return nil
}

// ReleaseRequest is an operator's release of the lock. Both fields are required.
type ReleaseRequest struct {
	Operator string `json:"operator"`
	Reason   string `json:"reason"`
}

// Validate checks a release request.
func (r ReleaseRequest) Validate() error {
	switch {
	case r.Operator == "":
		return fieldErr("release.operator", "is required")
	case r.Reason == "":
		return fieldErr("release.reason", "is required")
	}
	return nil
}

// AgentHealth is a monitor's latest grade of an agent, reported to the arbiter.
type AgentHealth struct {
	Agent      string    `json:"agent"`
	Tier       int       `json:"tier"`
	Confidence float64   `json:"confidence"`
	At         time.Time `json:"at"`
}

// Validate checks an agent health report.
func (h AgentHealth) Validate() error {
	if err := ValidateID("health.agent", h.Agent); err != nil {
		return err
	}
	switch {
	case h.Tier < 0 || h.Tier > 3:
		return fieldErr("health.tier", "must be between 0 and 3, got %d", h.Tier)
	case !finiteRate(h.Confidence):
		return fieldErr("health.confidence", "must be between 0 and 1")
	}
	return nil
}

// Alert types and severities.
const (
	AlertSystemicAnomaly = "systemic_anomaly"
	AlertAnomaly         = "anomaly"
	// AlertApprovalRequested: a post's action awaits a person's approval (severity info).
	AlertApprovalRequested = "approval_requested"
	SeverityCritical       = "critical"
	SeverityWarning        = "warning"
	SeverityInfo           = "info"
)

// Alert is what monitors raise: a tier 1/2 anomaly (warning) or a tier 3 systemic anomaly that
// meets the lock criteria (critical).
type Alert struct {
	Type       string    `json:"type"`
	Severity   string    `json:"severity"`
	Tier       int       `json:"tier"`
	Confidence float64   `json:"confidence"`
	Agent      string    `json:"agent"`
	Timestamp  time.Time `json:"timestamp"`
	Escalated  bool      `json:"escalated,omitempty"`
	// Recommendation is the recommended-action payload every alert carries.
	Recommendation Recommendation `json:"recommendation"`
	// Brief is set on systemic alerts.
	Brief *DiagnosticBrief `json:"brief,omitempty"`
	// Approval is set on approval_requested alerts: the post, the action, its texts and the
	// commands that approve or reject it.
	Approval *PendingApproval `json:"approval,omitempty"`
}

// DiagnosticBrief explains a systemic alert.
type DiagnosticBrief struct {
	TriggerMetrics []TriggerMetric `json:"trigger_metrics"`
	// Alerts are the agent's recent alerts that led here (without their own briefs).
	Alerts        []Alert      `json:"alerts"`
	MaxIterations int          `json:"max_iterations"`
	LockCriteria  LockCriteria `json:"lock_criteria"`
	Snapshot      Snapshot     `json:"snapshot"`
}
