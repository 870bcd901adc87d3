package workflows

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"resurge/activities"
	"resurge/domain"
)

type monitorTest struct {
	env    *testsuite.TestWorkflowEnvironment
	safety *fakeSafety
	sink   *activities.AlertSink
}

func newMonitorTest(t *testing.T) *monitorTest {
	env := newTestEnv(testStart, nil)
	m := &monitorTest{env: env, safety: &fakeSafety{}, sink: &activities.AlertSink{Logger: discardLogger()}}
	env.RegisterWorkflow(MonitorWorkflow)
	env.RegisterActivity(&activities.Activities{Safety: m.safety, Alerts: m.sink})
	return m
}

func outcome(i int, status domain.ActionStatus, took time.Duration) domain.Outcome {
	start := testStart.Add(time.Duration(i) * time.Second)
	o := domain.Outcome{
		Agent: "a1", PostID: fmt.Sprintf("p%d", i), Key: domain.IdempotencyKey(fmt.Sprintf("p%d", i), domain.ActionComment, domain.Tier1),
		Action: domain.ActionComment, Tier: domain.Tier1, Status: status, Attempts: 1,
		InitiatedAt: start, FinishedAt: start.Add(took),
	}
	if status == domain.StatusFailed {
		o.ErrorCode = "bad_request"
	}
	return o
}

func (m *monitorTest) status(t *testing.T) MonitorStatus {
	v, err := m.env.QueryWorkflow(QueryMonitorStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st MonitorStatus
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMonitorLocksOnTierThreeWithEnoughEvidence(t *testing.T) {
	m := newMonitorTest(t)
	var afterFive MonitorStatus
	for i := 1; i <= 6; i++ {
		m.env.RegisterDelayedCallback(func() {
			m.env.SignalWorkflow(SignalOutcome, outcome(i, domain.StatusFailed, 2*time.Second))
		}, time.Duration(i)*time.Second)
	}
	m.env.RegisterDelayedCallback(func() { afterFive = m.status(t) }, 5*time.Second+time.Millisecond)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 5*time.Minute)
	m.env.ExecuteWorkflow(MonitorWorkflow, MonitorInput{Agent: "a1"})

	// Five failures: tier 3, but confidence 0.63 is below the 0.65 the lock needs.
	if afterFive.Last == nil || afterFive.Last.Tier != 3 || afterFive.Last.Lock || afterFive.LockedAtSeq != 0 {
		t.Fatalf("after 5 failures: want tier 3 without a lock, got %+v", afterFive.Last)
	}
	if len(m.safety.locks) != 1 {
		t.Fatalf("want exactly one lock signal, got %d", len(m.safety.locks))
	}
	lock := m.safety.locks[0]
	if lock.Source != "monitor/a1" || lock.Tier != 3 || lock.Confidence < 0.65 || len(lock.Brief) == 0 {
		t.Fatalf("lock request lacks its brief: %+v", lock)
	}
	alerts := m.sink.Recent()
	if len(alerts) != 1 || alerts[0].Type != domain.AlertSystemicAnomaly || alerts[0].Severity != domain.SeverityCritical ||
		alerts[0].Brief == nil || len(alerts[0].Brief.TriggerMetrics) == 0 || alerts[0].Brief.LockCriteria.ConsecutiveFailures != 3 ||
		alerts[0].Brief.MaxIterations != 1 || alerts[0].Agent != "a1" || alerts[0].Timestamp.IsZero() {
		t.Fatalf("want one systemic alert with its diagnostic brief, got %+v", alerts)
	}
	// The arbiter hears tier 2 (tier 3 without the lock criteria), then tier 3.
	if h := m.safety.health; len(h) != 2 || h[0].Tier != 2 || h[1].Tier != 3 {
		t.Fatalf("unexpected health reports %+v", h)
	}
}

// tierOneOutcomes are 8 successes and 2 failures (not at the end): success rate 0.8, a tier 1
// anomaly.
func tierOneOutcomes() []domain.Outcome {
	var out []domain.Outcome
	for i := 1; i <= 10; i++ {
		status := domain.StatusSuccess
		if i == 3 || i == 6 {
			status = domain.StatusFailed
		}
		out = append(out, outcome(i, status, 10*time.Second))
	}
	return out
}

func alertTiers(t *testing.T, alerts []domain.Alert) []int {
	t.Helper()
	var tiers []int
	for _, a := range alerts {
		tiers = append(tiers, a.Tier)
		if a.Recommendation.Agent != "a1" || a.Recommendation.MaxIterations == 0 || len(a.Recommendation.TriggerMetrics) == 0 {
			t.Fatalf("alert without its recommendation payload: %+v", a)
		}
	}
	return tiers
}

// TestMonitorEscalatesOnNewEvidenceOnly: a tier 1 anomaly looked at again over the same
// outcomes stays at tier 1 (the monitor does not even evaluate without new evidence); each
// evaluation that sees new evidence (here impacts, which leave the grade as it is) counts, and
// after tier 1's 3 and tier 2's 2 the anomaly is at tier 3.
func TestMonitorEscalatesOnNewEvidenceOnly(t *testing.T) {
	m := newMonitorTest(t)
	outcomes := tierOneOutcomes()
	m.env.RegisterDelayedCallback(func() {
		for _, o := range outcomes {
			m.env.SignalWorkflow(SignalOutcome, o)
		}
	}, time.Second)
	var quiet, st MonitorStatus
	m.env.RegisterDelayedCallback(func() { quiet = m.status(t) }, 4*time.Minute)
	// Impacts of outcomes 1, 2, 4 and 5 (successes) that change nothing: engagement as before.
	for i, at := range []time.Duration{5, 7, 9, 11} {
		o := outcomes[[]int{0, 1, 3, 4}[i]]
		m.env.RegisterDelayedCallback(func() {
			m.env.SignalWorkflow(SignalImpact, domain.Impact{Agent: "a1", PostID: o.PostID, Key: o.Key, MeasuredAt: testStart.Add(at * time.Minute)})
		}, at*time.Minute)
	}
	m.env.RegisterDelayedCallback(func() { st = m.status(t) }, 20*time.Minute)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 21*time.Minute)
	m.env.ExecuteWorkflow(MonitorWorkflow, MonitorInput{Agent: "a1"})

	// Evaluated after the 5th and the 10th outcome; then nothing new for four minutes.
	if got := alertTiers(t, quiet.Alerts); fmt.Sprint(got) != "[1 1]" || quiet.Evaluations != 2 || quiet.Escalation.Iterations != 2 {
		t.Fatalf("without new evidence the anomaly must stay put: alerts %v, %d evaluations, escalation %+v", got, quiet.Evaluations, quiet.Escalation)
	}
	want := []int{1, 1, 1, 2, 2, 3}
	if got := alertTiers(t, st.Alerts); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("want escalation %v on new evidence, got %v", want, got)
	}
	if !st.Alerts[3].Escalated || st.Alerts[0].Escalated || st.Evaluations != 6 {
		t.Fatalf("escalated alerts must say so (%d evaluations): %+v", st.Evaluations, st.Alerts[:4])
	}
	if len(m.safety.locks) != 0 {
		t.Fatal("no consecutive failures: the escalated anomaly must not lock")
	}
}

// TestMonitorBeforeEvidenceEscalatesOnTimers: a monitor whose history predates escalation on
// evidence (GetVersion answers the default version) keeps its old rule, every timer
// evaluation counting, so that it replays as it ran.
func TestMonitorBeforeEvidenceEscalatesOnTimers(t *testing.T) {
	m := newMonitorTest(t)
	m.env.OnGetVersion(changeEscalationOnEvidence, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	m.env.RegisterDelayedCallback(func() {
		for _, o := range tierOneOutcomes() {
			m.env.SignalWorkflow(SignalOutcome, o)
		}
	}, time.Second)
	var st MonitorStatus
	m.env.RegisterDelayedCallback(func() { st = m.status(t) }, 10*time.Minute)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 11*time.Minute)
	m.env.ExecuteWorkflow(MonitorWorkflow, MonitorInput{Agent: "a1"})
	// Tier 1 for its 3 iterations, then tier 2 for its 2, then tier 3 (which stays).
	want := []int{1, 1, 1, 2, 2, 3}
	if got := alertTiers(t, st.Alerts); len(got) < len(want) || fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) {
		t.Fatalf("want escalation %v, got %v", want, got)
	}
}

// TestMonitorDoesNotGradePeoplesActions: outcomes of people's actions (autonomous: false) are
// counted apart, never graded: failures by operators do not move the agent's tier.
func TestMonitorDoesNotGradePeoplesActions(t *testing.T) {
	m := newMonitorTest(t)
	m.env.RegisterDelayedCallback(func() {
		for i := 1; i <= 8; i++ {
			o := outcome(i, domain.StatusFailed, time.Second)
			o.Autonomous = domain.NotAutonomous()
			m.env.SignalWorkflow(SignalOutcome, o)
			if i == 8 {
				m.env.SignalWorkflow(SignalOutcome, o) // a retried report
			}
		}
		m.env.SignalWorkflow(SignalOutcome, outcome(20, domain.StatusSuccess, time.Second))
	}, time.Second)
	var st MonitorStatus
	m.env.RegisterDelayedCallback(func() { st = m.status(t) }, 5*time.Minute)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 6*time.Minute)
	m.env.ExecuteWorkflow(MonitorWorkflow, MonitorInput{Agent: "a1"})
	if st.PeopleOutcomes != 8 || len(st.PeopleRecent) != 8 || st.OutcomeSeq != 1 || len(st.Outcomes) != 1 {
		t.Fatalf("want 8 people's outcomes counted apart and 1 graded, got %d/%d and %d", st.PeopleOutcomes, len(st.PeopleRecent), st.OutcomeSeq)
	}
	if st.Last == nil || st.Last.Tier != 0 || len(m.safety.locks) != 0 || len(st.Alerts) != 0 {
		t.Fatalf("operators' failures must not grade the agent: %+v", st.Last)
	}
}

func TestMonitorRejectsMalformedSignals(t *testing.T) {
	m := newMonitorTest(t)
	var st MonitorStatus
	m.env.RegisterDelayedCallback(func() {
		m.env.SignalWorkflow(SignalOutcome, map[string]any{"agent": "a1", "status": "exploded"})
		m.env.SignalWorkflow(SignalOutcome, "not an object")
		other := outcome(1, domain.StatusSuccess, time.Second)
		other.Agent = "someone-else"
		m.env.SignalWorkflow(SignalOutcome, other)
		m.env.SignalWorkflow(SignalOutcome, outcome(2, domain.StatusSuccess, time.Second))
		m.env.SignalWorkflow(SignalOutcome, outcome(2, domain.StatusSuccess, time.Second)) // a retried report
	}, time.Second)
	m.env.RegisterDelayedCallback(func() { st = m.status(t) }, 2*time.Second)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, time.Minute)
	m.env.ExecuteWorkflow(MonitorWorkflow, MonitorInput{Agent: "a1"})
	if len(st.Rejected) != 3 || st.OutcomeSeq != 1 {
		t.Fatalf("want 3 rejected signals and the good outcome kept once, got %+v", st.MonitorCarry)
	}
}

func TestMonitorCarriesStateAcrossContinueAsNew(t *testing.T) {
	m := newMonitorTest(t)
	m.env.RegisterDelayedCallback(func() {
		for i := 1; i <= 3; i++ {
			m.env.SignalWorkflow(SignalOutcome, outcome(i, domain.StatusFailed, time.Second))
		}
	}, time.Second)
	m.env.ExecuteWorkflow(MonitorWorkflow, MonitorInput{Agent: "a1", Config: MonitorConfig{MaxEventsPerRun: 3}})
	var next MonitorInput
	decodeContinueAsNew(t, m.env.GetWorkflowError(), &next)
	if next.Agent != "a1" || next.Carry == nil || next.Carry.OutcomeSeq != 3 || len(next.Carry.Outcomes) != 3 || next.Carry.Runs != 1 {
		t.Fatalf("every outcome must be carried over: %+v", next.Carry)
	}
}
