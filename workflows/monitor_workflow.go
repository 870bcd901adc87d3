package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"resurge/domain"
)

// MonitorWorkflow grades one agent (the account the automation acts as) from the outcomes its
// posts report. Tier 1/2 anomalies raise alerts; an anomaly that persists beyond its tier's max
// iterations escalates; a tier 3 anomaly that meets the lock criteria sends a systemic alert and
// locks the arbiter.
func MonitorWorkflow(ctx workflow.Context, in MonitorInput) error {
	if err := domain.ValidateID("agent", in.Agent); err != nil {
		return temporal.NewNonRetryableApplicationError("invalid monitor input: "+err.Error(), EndInvalid, err)
	}
	m := &monitor{in: in, cfg: in.Config.withDefaults()}
	if in.Carry != nil {
		m.c = *in.Carry
	}
	m.c.Runs++
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryMonitorStatus, func() (MonitorStatus, error) {
		return MonitorStatus{Agent: m.in.Agent, Config: m.cfg, MonitorCarry: m.c}, nil
	}, workflow.QueryHandlerOptions{Description: "Snapshot, tier, escalation and alerts"}); err != nil {
		return err
	}
	m.updateUI(ctx)
	return m.run(ctx)
}

type monitor struct {
	in     MonitorInput
	cfg    MonitorConfig
	c      MonitorCarry
	events int
}

func (m *monitor) run(ctx workflow.Context) error {
	outcomeCh := signalChannel(ctx, SignalOutcome, descOutcome)
	impactCh := signalChannel(ctx, SignalImpact, descImpact)
	for {
		if m.events >= m.cfg.MaxEventsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return m.continueAsNew(ctx, outcomeCh, impactCh)
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(outcomeCh, func(c workflow.ReceiveChannel, _ bool) { m.receiveOutcome(ctx, c) })
		sel.AddReceive(impactCh, func(c workflow.ReceiveChannel, _ bool) { m.receiveImpact(ctx, c) })
		// The timer is armed only while there is something to evaluate, so an idle healthy agent
		// costs no history at all.
		evaluate := false
		if m.pendingEvaluation(ctx) {
			timerCtx, cancel := workflow.WithCancel(ctx)
			timer := workflow.NewTimerWithOptions(timerCtx, m.cfg.EvalInterval, workflow.TimerOptions{Summary: "next evaluation"})
			sel.AddFuture(timer, func(workflow.Future) { evaluate = true })
			sel.Select(ctx)
			cancel()
		} else {
			sel.Select(ctx)
		}
		m.events++
		if evaluate || m.c.OutcomeSeq-m.c.EvaluatedSeq >= m.cfg.EvalEveryOutcomes {
			m.evaluate(ctx)
		}
	}
}

// changeEscalationOnEvidence versions escalation on evidence: an anomaly escalates after its
// tier's max iterations of evaluations that saw new evidence, and the monitor evaluates only
// when there is new evidence. A run whose history predates it counted every evaluation (a
// timer evaluation over the same old outcomes too) and graded people's outcomes; it keeps
// replaying as it ran. GetVersion is asked only where the two rules differ.
const changeEscalationOnEvidence = "escalation-on-evidence"

func (m *monitor) onEvidence(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeEscalationOnEvidence, workflow.DefaultVersion, 1) >= 1
}

// newEvidence: outcomes or impacts arrived since the last evaluation.
func (m *monitor) newEvidence() bool {
	return m.c.OutcomeSeq > m.c.EvaluatedSeq || m.c.ImpactSeq > m.c.EvaluatedImpactSeq
}

// pendingEvaluation: new evidence to grade. (Before escalation on evidence: new outcomes, or an
// open anomaly below tier 3 that a later look at the same outcomes could escalate.)
func (m *monitor) pendingEvaluation(ctx workflow.Context) bool {
	before := m.c.OutcomeSeq > m.c.EvaluatedSeq || (m.c.Escalation.Tier > 0 && m.c.Escalation.Tier < 3)
	if now := m.newEvidence(); now != before && m.onEvidence(ctx) {
		return now
	}
	return before
}

func (m *monitor) continueAsNew(ctx workflow.Context, outcomeCh, impactCh workflow.ReceiveChannel) error {
	// Take every signal already delivered so none is lost with this run.
	for outcomeCh.Len() > 0 {
		m.receiveOutcome(ctx, outcomeCh)
	}
	for impactCh.Len() > 0 {
		m.receiveImpact(ctx, impactCh)
	}
	next := m.in
	carry := m.c
	next.Carry = &carry
	return workflow.NewContinueAsNewError(onSafetyQueue(ctx), MonitorWorkflow, next)
}

func (m *monitor) receiveOutcome(ctx workflow.Context, c workflow.ReceiveChannel) {
	var raw json.RawMessage
	c.ReceiveAsync(&raw)
	var o domain.Outcome
	err := json.Unmarshal(raw, &o)
	if err == nil {
		err = o.Validate()
	}
	if err == nil && o.Agent != m.in.Agent {
		err = fmt.Errorf("outcome.agent: %q sent to the monitor of %q", o.Agent, m.in.Agent)
	}
	if err != nil {
		m.reject(ctx, "outcome signal", err)
		return
	}
	// A report retried after its signal already arrived must not count twice.
	for _, seen := range append(m.c.Outcomes, m.c.PeopleRecent...) {
		if seen.Key == o.Key && seen.FinishedAt.Equal(o.FinishedAt) {
			return
		}
	}
	if !o.IsAutonomous() && m.onEvidence(ctx) {
		// A person's action: the monitor grades the automation only.
		m.c.PeopleOutcomes++
		m.c.PeopleRecent = appendBounded(m.c.PeopleRecent, o, maxRejectedKept)
		return
	}
	m.c.OutcomeSeq++
	m.c.Outcomes = appendBounded(m.c.Outcomes, o, m.cfg.WindowOutcomes)
}

func (m *monitor) receiveImpact(ctx workflow.Context, c workflow.ReceiveChannel) {
	var raw json.RawMessage
	c.ReceiveAsync(&raw)
	var im domain.Impact
	err := json.Unmarshal(raw, &im)
	if err == nil {
		err = im.Validate()
	}
	if err != nil {
		m.reject(ctx, "impact signal", err)
		return
	}
	for _, seen := range m.c.Impacts {
		if seen.Key == im.Key && seen.MeasuredAt.Equal(im.MeasuredAt) {
			return
		}
	}
	m.c.ImpactSeq++
	m.c.Impacts = appendBounded(m.c.Impacts, im, m.cfg.WindowOutcomes)
}

func (m *monitor) reject(ctx workflow.Context, what string, err error) {
	workflow.GetLogger(ctx).Warn("rejected signal", "what", what, "error", err)
	countRejected(ctx, what)
	m.c.Rejected = appendBounded(m.c.Rejected, RejectedInput{At: workflow.Now(ctx), What: what, Error: err.Error()}, maxRejectedKept)
}

// evaluate grades the agent and acts on the assessment.
func (m *monitor) evaluate(ctx workflow.Context) {
	now := workflow.Now(ctx)
	// Counted as an iteration of the anomaly only with new evidence (or in a run from before
	// that rule).
	counts := m.newEvidence() || !m.onEvidence(ctx)
	m.c.EvaluatedSeq, m.c.EvaluatedImpactSeq = m.c.OutcomeSeq, m.c.ImpactSeq
	m.c.Evaluations++
	snap := domain.BuildSnapshot(m.in.Agent, m.c.Outcomes, m.c.Impacts, now)
	a, esc := m.cfg.Policy.AssessEvidence(snap, m.c.Escalation, counts)
	m.c.Escalation = esc
	m.c.Last = &a
	if a.Tier > 0 {
		alert := domain.Alert{
			Type: domain.AlertAnomaly, Severity: domain.SeverityWarning, Tier: a.Tier, Confidence: a.Confidence,
			Agent: m.in.Agent, Timestamp: now, Escalated: a.Escalated, Recommendation: a.Recommendation,
		}
		m.c.Alerts = appendBounded(m.c.Alerts, alert, maxMonitorAlerts)
		workflow.GetLogger(ctx).Warn("anomaly", "agent", m.in.Agent, "tier", a.Tier, "confidence", a.Confidence, "escalated", a.Escalated)
	}
	m.reportHealth(ctx, a, now)
	if a.Lock && m.c.OutcomeSeq > m.c.LockedAtSeq {
		m.lock(ctx, a, now)
	}
	m.updateUI(ctx)
}

// reportHealth tells the arbiter the agent's tier when it changes. Tier 3 is reported only
// when it meets the lock criteria, so a thin tier 3 (little evidence) restricts risky actions
// without locking everything.
func (m *monitor) reportHealth(ctx workflow.Context, a domain.Assessment, now time.Time) {
	tier := a.Tier
	if tier == 3 && !a.Lock {
		tier = 2
	}
	if tier == m.c.ReportedTier {
		return
	}
	opts := safetyActivityOptions("report agent health to the arbiter")
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), acts.ReportHealth,
		domain.AgentHealth{Agent: m.in.Agent, Tier: tier, Confidence: a.Confidence, At: now}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not report agent health", "error", err)
		return
	}
	m.c.ReportedTier = tier
}

// lock sends the systemic alert and locks the arbiter with its brief.
func (m *monitor) lock(ctx workflow.Context, a domain.Assessment, now time.Time) {
	tp := m.cfg.Policy.Tiers[2]
	recent := make([]domain.Alert, 0, len(m.c.Alerts))
	for _, al := range m.c.Alerts {
		al.Brief = nil
		recent = append(recent, al)
	}
	brief := &domain.DiagnosticBrief{
		TriggerMetrics: a.Recommendation.TriggerMetrics, Alerts: recent,
		MaxIterations: tp.MaxIterations, LockCriteria: tp.Lock, Snapshot: a.Snapshot,
	}
	alert := domain.Alert{
		Type: domain.AlertSystemicAnomaly, Severity: domain.SeverityCritical, Tier: 3, Confidence: a.Confidence,
		Agent: m.in.Agent, Timestamp: now, Escalated: a.Escalated, Recommendation: a.Recommendation, Brief: brief,
	}
	m.c.Alerts = appendBounded(m.c.Alerts, alert, maxMonitorAlerts)
	// The lock comes first: the alert is information, the lock is what protects the account.
	briefJSON, _ := json.Marshal(brief)
	reason := fmt.Sprintf("systemic anomaly: agent %s at tier 3 (confidence %.2f, %d consecutive failures)",
		m.in.Agent, a.Confidence, a.Snapshot.ConsecutiveFailures)
	lockOpts := safetyActivityOptions("lock the arbiter")
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, lockOpts), acts.SignalLock, domain.LockRequest{
		Source: MonitorWorkflowID(m.in.Agent), Reason: reason, Tier: 3, Confidence: a.Confidence, Brief: briefJSON,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not lock the arbiter", "error", err)
		return
	}
	m.c.LockedAtSeq = m.c.OutcomeSeq
	alertOpts := safetyActivityOptions("systemic alert to the alerting sink")
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, alertOpts), acts.SendAlert, alert).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not deliver the systemic alert", "error", err)
	}
}

func (m *monitor) updateUI(ctx workflow.Context) {
	var b strings.Builder
	fmt.Fprintf(&b, "**agent %s**", m.in.Agent)
	if a := m.c.Last; a != nil {
		s := a.Snapshot
		state := "healthy"
		if a.Tier > 0 {
			state = fmt.Sprintf("⚠️ tier %d anomaly (confidence %.2f)", a.Tier, a.Confidence)
		}
		fmt.Fprintf(&b, " · %s\n\nsuccess rate %.2f · efficiency %.2f · response %.1fs · market impact %.2f · %d outcomes, %d consecutive failures",
			state, s.SuccessRate, s.EfficiencyScore, s.ResponseTime, s.MarketImpact, s.Outcomes, s.ConsecutiveFailures)
		for _, t := range a.Recommendation.TriggerMetrics {
			fmt.Fprintf(&b, "\n\n- %s %.2f %s %.2f", t.Metric, t.Value, t.Op, t.Threshold)
		}
	} else {
		b.WriteString(" · not evaluated yet")
	}
	if m.c.LockedAtSeq > 0 {
		b.WriteString("\n\n🔒 locked the arbiter (systemic alert sent)")
	}
	if n := m.c.PeopleOutcomes; n > 0 {
		fmt.Fprintf(&b, "\n\n%d %s of people's actions seen (not graded: the monitor grades the automation only)", n, map[bool]string{true: "outcome", false: "outcomes"}[n == 1])
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

func appendBounded[T any](s []T, v T, limit int) []T {
	s = append(s, v)
	if len(s) > limit {
		s = s[len(s)-limit:]
	}
	return s
}
