package domain

import (
	"math"
	"time"
)

// TierPolicy is one anomaly tier: the thresholds that trigger it, how many consecutive
// evaluations it may persist before escalating, and when it locks the automation.
type TierPolicy struct {
	Tier int `json:"tier"`
	// An agent is in this tier when any threshold is crossed. A zero MarketImpactMax means the
	// tier does not look at market impact.
	SuccessRateMax  float64 `json:"success_rate_max"`
	EfficiencyMax   float64 `json:"efficiency_score_max"`
	ResponseTimeMin float64 `json:"response_time_min_s"`
	MarketImpactMax float64 `json:"market_impact_max,omitempty"`
	// MaxIterations is how many consecutive evaluations that saw new evidence the anomaly may
	// stay at this tier; one more escalates it one tier.
	MaxIterations int          `json:"max_iterations"`
	Lock          LockCriteria `json:"lock_criteria"`
}

// LockCriteria say when an anomaly of a tier locks all autonomous changes (only tier 3 acts
// on them; the others are reported for context).
type LockCriteria struct {
	MinConfidence       float64 `json:"min_confidence"`
	ConsecutiveFailures int     `json:"consecutive_failures"`
}

// AnomalyPolicy is the monitor's tiered policy.
type AnomalyPolicy struct {
	Tiers [3]TierPolicy `json:"tiers"`
	// MinOutcomes is how many finished actions a snapshot needs before it is graded: one
	// failure on its own is not an anomaly.
	MinOutcomes int `json:"min_outcomes"`
}

// DefaultAnomalyPolicy returns the product defaults.
func DefaultAnomalyPolicy() AnomalyPolicy {
	return AnomalyPolicy{
		MinOutcomes: 3,
		Tiers: [3]TierPolicy{
			{Tier: 1, SuccessRateMax: 0.80, EfficiencyMax: 0.65, ResponseTimeMin: 45, MaxIterations: 3,
				Lock: LockCriteria{MinConfidence: 0.85, ConsecutiveFailures: 6}},
			{Tier: 2, SuccessRateMax: 0.70, EfficiencyMax: 0.50, ResponseTimeMin: 60, MarketImpactMax: 0.35, MaxIterations: 2,
				Lock: LockCriteria{MinConfidence: 0.75, ConsecutiveFailures: 4}},
			{Tier: 3, SuccessRateMax: 0.55, EfficiencyMax: 0.35, ResponseTimeMin: 90, MarketImpactMax: 0.25, MaxIterations: 1,
				Lock: LockCriteria{MinConfidence: 0.65, ConsecutiveFailures: 3}},
		},
	}
}

// Snapshot is an agent's performance over its recent action outcomes.
type Snapshot struct {
	Agent string `json:"agent"`
	// Outcomes is the number of finished actions behind the snapshot (the evidence).
	Outcomes  int `json:"outcomes"`
	Successes int `json:"successes"`
	// SuccessRate is successes / finished actions.
	SuccessRate float64 `json:"success_rate"`
	// ResponseTime is the mean seconds from an action's start to its final outcome.
	ResponseTime float64 `json:"response_time"`
	// EfficiencyScore and MarketImpact are in [0, 1]; see BuildSnapshot.
	EfficiencyScore float64 `json:"efficiency_score"`
	MarketImpact    float64 `json:"market_impact"`
	// Measured is the number of successful actions with an impact measurement.
	Measured            int       `json:"measured"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	At                  time.Time `json:"at"`
}

// HealthyRate is the engagement rate at which a post's stagnation score reaches 0.
const HealthyRate = 1 / rateScale

// BuildSnapshot grades an agent from its outcomes (in the order they finished) and the impact
// measurements of its successful actions (matched by idempotency key).
//
//   - success_rate = successes / outcomes (1 with no outcomes).
//   - response_time = mean of finished_at − initiated_at, in seconds.
//   - lift of an action = clamp((rate_after − rate_before) / HealthyRate, −1, 1): the change
//     in engagement rate, in units of the rate that counts as healthy (5%).
//   - efficiency_score = success_rate × mean(min(1, 1 + lift)) over measured actions: 1 when
//     every action succeeds and none makes engagement worse; failures and actions after which
//     engagement fell pull it down. Unmeasured actions count as 1 (no harm seen).
//   - market_impact = mean((1 + lift) / 2) over measured actions: 0.5 when actions change
//     nothing, towards 0 when engagement falls after them, towards 1 when it rises (0.5 with no
//     measurement).
func BuildSnapshot(agent string, outcomes []Outcome, impacts []Impact, at time.Time) Snapshot {
	s := Snapshot{Agent: agent, At: at, SuccessRate: 1, EfficiencyScore: 1, MarketImpact: 0.5}
	var respTotal float64
	successKeys := map[string]bool{}
	for _, o := range outcomes {
		s.Outcomes++
		respTotal += o.FinishedAt.Sub(o.InitiatedAt).Seconds()
		if o.Status == StatusSuccess {
			s.Successes++
			successKeys[o.Key] = true
			s.ConsecutiveFailures = 0
		} else {
			s.ConsecutiveFailures++
		}
	}
	if s.Outcomes > 0 {
		s.SuccessRate = float64(s.Successes) / float64(s.Outcomes)
		s.ResponseTime = respTotal / float64(s.Outcomes)
	}
	var value, impact float64
	for _, im := range impacts {
		if !successKeys[im.Key] {
			continue
		}
		s.Measured++
		lift := math.Max(-1, math.Min(1, (im.RateAfter-im.RateBefore)/HealthyRate))
		value += math.Min(1, 1+lift)
		impact += (1 + lift) / 2
	}
	meanValue := 1.0
	if s.Measured > 0 {
		meanValue = value / float64(s.Measured)
		s.MarketImpact = impact / float64(s.Measured)
	}
	s.EfficiencyScore = s.SuccessRate * meanValue
	return s
}

// TriggerMetric is one threshold an agent crossed.
type TriggerMetric struct {
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Op is "<=" or ">=": the value crossed the threshold in that direction.
	Op string `json:"op"`
}

// Triggers lists the thresholds of tier tp that the snapshot crosses.
func (tp TierPolicy) Triggers(s Snapshot) []TriggerMetric {
	var out []TriggerMetric
	if s.SuccessRate <= tp.SuccessRateMax {
		out = append(out, TriggerMetric{"success_rate", s.SuccessRate, tp.SuccessRateMax, "<="})
	}
	if s.EfficiencyScore <= tp.EfficiencyMax {
		out = append(out, TriggerMetric{"efficiency_score", s.EfficiencyScore, tp.EfficiencyMax, "<="})
	}
	if s.ResponseTime >= tp.ResponseTimeMin {
		out = append(out, TriggerMetric{"response_time", s.ResponseTime, tp.ResponseTimeMin, ">="})
	}
	if tp.MarketImpactMax > 0 && s.MarketImpact <= tp.MarketImpactMax {
		out = append(out, TriggerMetric{"market_impact", s.MarketImpact, tp.MarketImpactMax, "<="})
	}
	return out
}

// Classify returns the highest tier whose thresholds the snapshot crosses (0 = healthy) and
// the metrics that put it there. Snapshots with less than MinOutcomes outcomes are healthy.
func (p AnomalyPolicy) Classify(s Snapshot) (int, []TriggerMetric) {
	if s.Outcomes < p.MinOutcomes {
		return 0, nil
	}
	for i := len(p.Tiers) - 1; i >= 0; i-- {
		if t := p.Tiers[i].Triggers(s); len(t) > 0 {
			return p.Tiers[i].Tier, t
		}
	}
	return 0, nil
}

// Severity is how far past the tier-1 thresholds the worst metric is, in [0, 1]: 0 at (or
// before) a threshold, 1 at the worst value (success or efficiency 0, response time four times
// the tier-1 threshold, no action lifting engagement). It never falls as a metric gets worse.
func (p AnomalyPolicy) Severity(s Snapshot) float64 {
	t1 := p.Tiers[0]
	past := func(value, threshold, worst float64) float64 {
		if threshold == worst {
			return 0
		}
		return math.Max(0, math.Min(1, (value-threshold)/(worst-threshold)))
	}
	sev := past(s.SuccessRate, t1.SuccessRateMax, 0)
	sev = math.Max(sev, past(s.EfficiencyScore, t1.EfficiencyMax, 0))
	sev = math.Max(sev, past(s.ResponseTime, t1.ResponseTimeMin, 4*t1.ResponseTimeMin))
	if mi := p.Tiers[1].MarketImpactMax; mi > 0 {
		sev = math.Max(sev, past(s.MarketImpact, mi, 0))
	}
	return sev
}

// Confidence in an assessment = evidence × (0.5 + 0.5 × severity), where evidence =
// 1 − e^(−outcomes/5). It rises with the number of outcomes and with severity and never falls
// as performance gets worse (unlike a distance-from-a-midpoint formula, which would stop
// locking exactly when things are worst).
func (p AnomalyPolicy) Confidence(s Snapshot) float64 {
	evidence := 1 - math.Exp(-float64(s.Outcomes)/5)
	return evidence * (0.5 + 0.5*p.Severity(s))
}

// Escalation is what the monitor remembers between evaluations.
type Escalation struct {
	// Tier is the (possibly escalated) tier of the previous evaluation, 0 when healthy.
	Tier int `json:"tier"`
	// Iterations is how many consecutive evaluations (that saw new evidence, see
	// AssessEvidence) stayed at Tier.
	Iterations int `json:"iterations"`
	// Classified is the tier the thresholds gave in the previous evaluation: the count goes on
	// only while the same condition persists.
	Classified int `json:"classified"`
}

// Recommendation is the payload of every alert.
type Recommendation struct {
	Agent          string          `json:"agent"`
	Tier           int             `json:"tier"`
	Confidence     float64         `json:"confidence"`
	MaxIterations  int             `json:"max_iterations"`
	LockCriteria   LockCriteria    `json:"lock_criteria"`
	TriggerMetrics []TriggerMetric `json:"trigger_metrics"`
}

// Assessment is one evaluation of an agent.
type Assessment struct {
	Snapshot Snapshot `json:"snapshot"`
	// Classified is the tier the thresholds give; Tier is after escalation.
	Classified     int            `json:"classified_tier"`
	Tier           int            `json:"tier"`
	Escalated      bool           `json:"escalated"`
	Iterations     int            `json:"iterations"`
	Confidence     float64        `json:"confidence"`
	Recommendation Recommendation `json:"recommendation"`
	// Lock is true when the tier is 3 and its lock criteria are met.
	Lock bool `json:"lock"`
}

// Assess is AssessEvidence for an evaluation that saw new evidence: every evaluation counts.
// It was the whole rule before evidence was tracked, and still is for monitors whose history
// predates it.
func (p AnomalyPolicy) Assess(s Snapshot, prev Escalation) (Assessment, Escalation) {
	return p.AssessEvidence(s, prev, true)
}

// AssessEvidence classifies a snapshot, escalates an anomaly that persisted beyond its tier's
// max iterations by one tier, and decides whether to lock. It returns the escalation state for
// the next evaluation.
//
// Only evaluations that saw new evidence (newEvidence: outcomes or impacts that arrived since
// the previous evaluation) count as iterations: looking again at the same outcomes says
// nothing new about the agent, so the count stands. Otherwise how soon an anomaly escalated
// would depend on how often the monitor looked rather than on what the agent did.
func (p AnomalyPolicy) AssessEvidence(s Snapshot, prev Escalation, newEvidence bool) (Assessment, Escalation) {
	classified, triggers := p.Classify(s)
	a := Assessment{Snapshot: s, Classified: classified, Tier: classified, Confidence: p.Confidence(s)}
	if classified == 0 {
		return a, Escalation{}
	}
	// Keep counting while the same condition persists; a different classification (worse, or
	// better: the agent improved) starts a fresh count at its own tier.
	tier, iterations := classified, 1
	if prev.Tier > 0 && classified == prev.Classified {
		tier, iterations = prev.Tier, prev.Iterations
		if newEvidence {
			iterations++
		}
	}
	if tier < 3 && iterations > p.Tiers[tier-1].MaxIterations {
		tier, iterations = tier+1, 1
	}
	a.Escalated = tier > classified
	tp := p.Tiers[tier-1]
	a.Tier, a.Iterations = tier, iterations
	a.Recommendation = Recommendation{
		Agent: s.Agent, Tier: tier, Confidence: a.Confidence, MaxIterations: tp.MaxIterations,
		LockCriteria: tp.Lock, TriggerMetrics: triggers,
	}
	a.Lock = tier == 3 && a.Confidence >= tp.Lock.MinConfidence && s.ConsecutiveFailures >= tp.Lock.ConsecutiveFailures
	return a, Escalation{Tier: tier, Iterations: iterations, Classified: classified}
}
