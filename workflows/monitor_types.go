package workflows

import (
	"time"

	"resurge/domain"
)

// Names of the monitor's signals and query.
const (
	SignalOutcome      = "outcome"
	SignalImpact       = "impact"
	QueryMonitorStatus = "status"
)

// MonitorWorkflowID is the workflow ID of an agent's monitor.
func MonitorWorkflowID(agent string) string { return "monitor/" + agent }

// MonitorConfig tunes a monitor. Zero values take the defaults.
type MonitorConfig struct {
	Policy domain.AnomalyPolicy `json:"policy"`
	// EvalInterval is the durable timer between evaluations while there is something to
	// evaluate (new outcomes or impacts; before escalation on evidence, an open anomaly too).
	// Default 1 minute.
	EvalInterval time.Duration `json:"eval_interval"`
	// EvalEveryOutcomes also evaluates after this many new outcomes. Default 5.
	EvalEveryOutcomes int `json:"eval_every_outcomes"`
	// WindowOutcomes bounds the outcomes (and impacts) kept. Default 100.
	WindowOutcomes int `json:"window_outcomes"`
	// MaxEventsPerRun continues as new after this many signals and evaluations (0 = 1,000).
	MaxEventsPerRun int `json:"max_events_per_run,omitempty"`
}

func (c MonitorConfig) withDefaults() MonitorConfig {
	if c.Policy.MinOutcomes == 0 && c.Policy.Tiers[0].Tier == 0 {
		c.Policy = domain.DefaultAnomalyPolicy()
	}
	if c.EvalInterval <= 0 {
		c.EvalInterval = time.Minute
	}
	if c.EvalEveryOutcomes <= 0 {
		c.EvalEveryOutcomes = 5
	}
	if c.WindowOutcomes <= 0 {
		c.WindowOutcomes = 100
	}
	if c.MaxEventsPerRun <= 0 {
		c.MaxEventsPerRun = 1000
	}
	return c
}

// MonitorInput starts (or continues) an agent's monitor.
type MonitorInput struct {
	Agent  string        `json:"agent"`
	Config MonitorConfig `json:"config"`
	Carry  *MonitorCarry `json:"carry,omitempty"`
}

// MonitorCarry is the state carried over continue-as-new.
type MonitorCarry struct {
	Outcomes   []domain.Outcome   `json:"outcomes"`
	Impacts    []domain.Impact    `json:"impacts"`
	Escalation domain.Escalation  `json:"escalation"`
	Last       *domain.Assessment `json:"last_assessment,omitempty"`
	Alerts     []domain.Alert     `json:"alerts"`
	// OutcomeSeq counts every outcome ever received; LockedAtSeq is its value when the monitor
	// last locked, so stale evidence never locks twice (after a release only new failures can).
	OutcomeSeq   int `json:"outcome_seq"`
	LockedAtSeq  int `json:"locked_at_seq"`
	EvaluatedSeq int `json:"evaluated_seq"`
	ReportedTier int `json:"reported_tier"`
	Evaluations  int `json:"evaluations"`
	// ImpactSeq counts every impact received, EvaluatedImpactSeq its value at the last
	// evaluation: with OutcomeSeq and EvaluatedSeq they tell whether an evaluation sees new
	// evidence (see domain.AnomalyPolicy.AssessEvidence).
	ImpactSeq          int `json:"impact_seq"`
	EvaluatedImpactSeq int `json:"evaluated_impact_seq"`
	// PeopleOutcomes counts the outcomes of people's actions (approved, or an operator's own):
	// monitors grade the automation only, so they are counted here and never graded.
	// PeopleRecent keeps the last few, so that a retried report counts once.
	PeopleOutcomes int              `json:"people_outcomes"`
	PeopleRecent   []domain.Outcome `json:"people_recent,omitempty"`
	Rejected       []RejectedInput  `json:"rejected,omitempty"`
	Runs           int              `json:"runs"`
}

// MonitorStatus answers the status query.
type MonitorStatus struct {
	Agent  string        `json:"agent"`
	Config MonitorConfig `json:"config"`
	MonitorCarry
}

// maxAlertsKept bounds the alerts a monitor keeps.
const maxMonitorAlerts = 50
