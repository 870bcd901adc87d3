package workflows

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/activities"
	"resurge/domain"
	"resurge/metrics"
	"resurge/platform"
)

// sdkHandler is reg's handler for the test environment, nil without a registry.
func sdkHandler(reg *metrics.Registry) client.MetricsHandler {
	if reg == nil {
		return nil
	}
	return reg.SDKHandler()
}

// meteredActivities makes acts record their metrics in reg, as app.Wiring.Instrument does.
func meteredActivities(acts *activities.Activities, reg *metrics.Registry) *activities.Activities {
	if reg != nil {
		acts.Platforms = reg.Platforms(acts.Platforms)
		acts.Metrics = reg
	}
	return acts
}

// servedRegistry is a registry served over HTTP for the test, and a function that scrapes it.
func servedRegistry(t *testing.T) (*metrics.Registry, func() metrics.Families) {
	t.Helper()
	reg, err := metrics.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	return reg, func() metrics.Families {
		t.Helper()
		fams, err := metrics.Scrape(context.Background(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}
}

type wantSum struct {
	name  string
	match map[string]string
	want  float64
}

func checkSums(t *testing.T, fams metrics.Families, wants []wantSum) {
	t.Helper()
	for _, w := range wants {
		if got := fams.Sum(w.name, w.match); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.match, got, w.want)
		}
	}
}

// The test environment's handler carries none of the SDK's tags (namespace, task_queue,
// workflow_type): the integration tests check those on a real worker.

// TestPostMetrics: a thread that fails for good, then succeeds after its cooldown, and a bad
// sample, as the post workflow and its activities record them.
func TestPostMetrics(t *testing.T) {
	reg, scrape := servedRegistry(t)
	p := newMeteredPostTest(t, testStart, stalling(testStart), nil, reg)
	p.fake.failures = []error{&platform.Error{Code: platform.CodeBadRequest, Status: 400, Message: "rejected"}}
	// The first sample is refused (negative impressions); the next three make the plan eligible.
	p.fake.metrics = []func() (domain.MetricsSample, error){func() (domain.MetricsSample, error) {
		return domain.MetricsSample{At: testStart, Impressions: -1}, nil
	}}
	p.stopAfter(4 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if len(sum.Actions) != 1 || sum.Actions[0].Status != domain.StatusSuccess || sum.Actions[0].Attempts != 2 || sum.Rejected != 1 {
		t.Fatalf("want one thread that succeeded on its second attempt and one rejected sample, got %+v", sum)
	}

	sim, thread := map[string]string{metrics.LabelPlatform: domain.PlatformSim}, string(domain.ActionThread)
	checkSums(t, scrape(), []wantSum{
		{metrics.ActionsTotal, map[string]string{metrics.LabelAction: thread, metrics.LabelStatus: "failed"}, 1},
		{metrics.ActionsTotal, map[string]string{metrics.LabelAction: thread, metrics.LabelStatus: "success"}, 1},
		{metrics.ActionsTotal, nil, 2},
		// Both attempts were allowed by the arbiter, and counted by the post.
		{metrics.ArbitrationDecisionsTotal, map[string]string{metrics.LabelDecision: "allow", metrics.LabelSource: metrics.SourceArbiter}, 2},
		{metrics.ArbitrationDecisionsTotal, nil, 2},
		{metrics.RejectedInputsTotal, map[string]string{metrics.LabelKind: "metrics_sample"}, 1},
		{metrics.PlatformCallErrorsTotal, map[string]string{metrics.LabelOperation: metrics.OpThread, metrics.LabelCode: platform.CodeBadRequest}, 1},
		{metrics.PlatformCallErrorsTotal, nil, 1},
		{metrics.PlatformCallDuration, map[string]string{metrics.LabelOperation: metrics.OpThread}, 2},
		// Every evaluation with enough samples is scored: all but the first three cycles (the
		// refused sample, then one and two samples in the window).
		{metrics.StagnationScore, sim, float64(sum.Cycles - 3)},
	})
	if n := scrape().Sum(metrics.PlatformCallDuration, map[string]string{metrics.LabelOperation: metrics.OpMetrics}); n < 3 {
		t.Errorf("%v metrics calls recorded, want one per sample", n)
	}
}

// TestPostCountsDecisionsBySource: the post counts each answer it receives once, by decision
// and by who answered: a lock from the worker's lock view (Local) as lock_view, the arbiter's
// answers as arbiter.
func TestPostCountsDecisionsBySource(t *testing.T) {
	reg, scrape := servedRegistry(t)
	p := newMeteredPostTest(t, testStart, stalling(testStart), nil, reg)
	answers := []domain.ArbitrationDecision{
		{Decision: domain.DecisionLock, LockActive: true, Local: true, Reasons: []string{"existing lock state is active (answered by this worker)"}},
		{Decision: domain.DecisionLock, LockActive: true, Reasons: []string{"existing lock state is active"}},
		{Decision: domain.DecisionDeny, Reasons: []string{"global budget exceeded"}},
	}
	p.safety.decide = func(req domain.ArbitrationRequest) domain.ArbitrationDecision {
		d := domain.ArbitrationDecision{Decision: domain.DecisionAllow, Reasons: []string{"no policy violations detected"}}
		if len(answers) > 0 {
			d, answers = answers[0], answers[1:]
		}
		d.At = req.At
		return d
	}
	p.stopAfter(2 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	reqs, _, _ := p.safety.snapshot()
	if len(reqs) < 4 || len(sum.Actions) == 0 {
		t.Fatalf("%d arbitrations, actions %+v: want the three refusals and an allow", len(reqs), sum.Actions)
	}
	decision := func(d, source string) map[string]string {
		return map[string]string{metrics.LabelDecision: d, metrics.LabelSource: source}
	}
	checkSums(t, scrape(), []wantSum{
		{metrics.ArbitrationDecisionsTotal, decision("lock", metrics.SourceLockView), 1},
		{metrics.ArbitrationDecisionsTotal, decision("lock", metrics.SourceArbiter), 1},
		{metrics.ArbitrationDecisionsTotal, decision("deny", metrics.SourceArbiter), 1},
		{metrics.ArbitrationDecisionsTotal, decision("allow", metrics.SourceArbiter), float64(len(reqs) - 3)},
		{metrics.ArbitrationDecisionsTotal, nil, float64(len(reqs))},
	})
}

// TestArbiterMetrics: the lock gauge with the arbiter time it was seen at, and a rejected
// release. The arbiter counts no decisions itself (the posts that receive them do).
func TestArbiterMetrics(t *testing.T) {
	reg, scrape := servedRegistry(t)
	a := newMeteredArbiterTest(t, reg)
	var locked, released metrics.Families
	a.at(time.Minute, func() { a.arbitrate("allowed", arbitrationRequest("p1", "a1", domain.ActionComment)) })
	a.at(2*time.Minute, func() {
		a.env.SignalWorkflow(SignalLock, domain.LockRequest{Source: "ops", Reason: "review", Tier: 3, Confidence: 1})
	})
	a.at(3*time.Minute, func() { a.arbitrate("locked", arbitrationRequest("p2", "a1", domain.ActionEdit)) })
	a.at(3*time.Minute+time.Second, func() { locked = scrape() })
	a.at(4*time.Minute, func() { a.env.SignalWorkflow(SignalReleaseLock, map[string]string{"operator": "ops"}) })
	a.at(6*time.Minute, func() {
		a.env.SignalWorkflow(SignalReleaseLock, domain.ReleaseRequest{Operator: "ops", Reason: "checked"})
	})
	a.at(6*time.Minute+time.Second, func() { released = scrape() })
	a.at(8*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})

	seconds := func(d time.Duration) float64 { return float64(testStart.Add(d).UnixMilli()) / 1000 }
	if len(a.decisions) != 2 {
		t.Fatalf("decisions %+v, want the allow and the lock", a.decisions)
	}
	checkSums(t, locked, []wantSum{
		{metrics.ArbitrationDecisionsTotal, nil, 0},
		{metrics.ArbiterLockActive, nil, 1},
		{metrics.ArbiterObservedTimestamp, nil, seconds(3 * time.Minute)},
	})
	checkSums(t, released, []wantSum{
		{metrics.ArbiterLockActive, nil, 0},
		{metrics.ArbiterObservedTimestamp, nil, seconds(6 * time.Minute)},
		{metrics.RejectedInputsTotal, map[string]string{metrics.LabelKind: "release_lock_signal"}, 1},
	})
}
