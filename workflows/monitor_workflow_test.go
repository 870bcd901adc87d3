package workflows

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

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

func TestMonitorEscalatesAPersistingAnomaly(t *testing.T) {
	m := newMonitorTest(t)
	// 8 successes and 2 failures (not at the end): success rate 0.8 is a tier 1 anomaly.
	m.env.RegisterDelayedCallback(func() {
		for i := 1; i <= 10; i++ {
			status := domain.StatusSuccess
			if i == 3 || i == 6 {
				status = domain.StatusFailed
			}
			m.env.SignalWorkflow(SignalOutcome, outcome(i, status, 10*time.Second))
		}
	}, time.Second)
	var st MonitorStatus
	m.env.RegisterDelayedCallback(func() { st = m.status(t) }, 10*time.Minute)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 11*time.Minute)
	m.env.ExecuteWorkflow(MonitorWorkflow, MonitorInput{Agent: "a1"})

	var tiers []int
	for _, a := range st.Alerts {
		tiers = append(tiers, a.Tier)
		if a.Recommendation.Agent != "a1" || a.Recommendation.MaxIterations == 0 || len(a.Recommendation.TriggerMetrics) == 0 {
			t.Fatalf("alert without its recommendation payload: %+v", a)
		}
	}
	// Tier 1 for its 3 iterations, then tier 2 for its 2, then tier 3 (which stays).
	want := []int{1, 1, 1, 2, 2, 3}
	if len(tiers) < len(want) || fmt.Sprint(tiers[:len(want)]) != fmt.Sprint(want) {
		t.Fatalf("want escalation %v, got %v", want, tiers)
	}
	if !st.Alerts[3].Escalated || st.Alerts[0].Escalated {
		t.Fatalf("escalated alerts must say so: %+v", st.Alerts[:4])
	}
	if len(m.safety.locks) != 0 {
		t.Fatal("no consecutive failures: the escalated anomaly must not lock")
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
