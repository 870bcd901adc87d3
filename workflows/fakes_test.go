package workflows

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"resurge/domain"
	"resurge/platform"
)

// newTestEnv is a quiet test environment whose clock starts at start. metrics, when not nil,
// receives the SDK's and the workflows' metrics.
func newTestEnv(start time.Time, metrics client.MetricsHandler) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger())
	if metrics != nil {
		suite.SetMetricsHandler(metrics)
	}
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	// A loaded CI machine can starve a workflow task for over the default second.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	return env
}

// curve gives a post's cumulative counters at a moment.
type curve func(at time.Time) (impressions, engagements int64)

// stalling grows impressions but never engagements: tier 3, a thread.
func stalling(start time.Time) curve {
	return func(at time.Time) (int64, int64) {
		return 1000 + int64(at.Sub(start)/time.Minute)*10, 5
	}
}

// healthy engages 10% of new impressions: tier 1, a comment.
func healthy(start time.Time) curve {
	return func(at time.Time) (int64, int64) {
		m := int64(at.Sub(start) / time.Minute)
		return 1000 + m*10, 100 + m
	}
}

// fakePlatform is an in-memory platform: metrics from a curve on the test clock, actions that
// fail as scripted, and one effect per idempotency key (unless ignoreKeys).
type fakePlatform struct {
	mu      sync.Mutex
	now     func() time.Time
	curve   curve
	metrics []func() (domain.MetricsSample, error) // scripted replies, used first, in order
	// failures are returned by the next action calls, in order, before any effect is made.
	failures []error
	// effectThenFail makes the next action create its effect and then fail (unknown outcome).
	effectThenFail error
	effects        map[string]int // key -> effects created
	calls          []actionCall
	reads          []time.Time // metrics reads
	quoted         []string    // texts of quotes
}

type actionCall struct {
	At     time.Time
	Action domain.ActionType
	Key    string
}

func newFakePlatform(now func() time.Time, c curve) *fakePlatform {
	return &fakePlatform{now: now, curve: c, effects: map[string]int{}}
}

func (f *fakePlatform) Metrics(_ context.Context, postID string) (domain.MetricsSample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.metrics) > 0 {
		next := f.metrics[0]
		f.metrics = f.metrics[1:]
		return next()
	}
	now := f.now()
	f.reads = append(f.reads, now)
	imp, eng := f.curve(now)
	return domain.MetricsSample{At: now, Impressions: imp, Engagements: eng}, nil
}

func (f *fakePlatform) act(a domain.ActionType, key string) (platform.Effect, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, actionCall{At: f.now(), Action: a, Key: key})
	if len(f.failures) > 0 {
		err := f.failures[0]
		f.failures = f.failures[1:]
		return platform.Effect{}, err
	}
	f.effects[key]++
	effect := platform.Effect{ID: fmt.Sprintf("%s-%d", a, f.effects[key])}
	if f.effectThenFail != nil {
		err := f.effectThenFail
		f.effectThenFail = nil
		return platform.Effect{}, err
	}
	return effect, nil
}

func (f *fakePlatform) Comment(_ context.Context, _, _, key string) (platform.Effect, error) {
	return f.act(domain.ActionComment, key)
}

func (f *fakePlatform) Edit(_ context.Context, _, _, key string) (platform.Effect, error) {
	return f.act(domain.ActionEdit, key)
}

func (f *fakePlatform) Thread(_ context.Context, _ string, _ []string, key string) (platform.Effect, error) {
	return f.act(domain.ActionThread, key)
}

// Quote makes the fake a platform.Quoter, as the Bluesky adapter is.
func (f *fakePlatform) Quote(_ context.Context, _, text, key string) (platform.Effect, error) {
	f.mu.Lock()
	f.quoted = append(f.quoted, text)
	f.mu.Unlock()
	return f.act(domain.ActionQuote, key)
}

func (f *fakePlatform) FindEffect(_ context.Context, _, key string) (platform.Effect, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.effects[key] > 0 {
		return platform.Effect{ID: "found"}, true, nil
	}
	return platform.Effect{}, false, nil
}

func (f *fakePlatform) setCurve(c curve) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.curve = c
}

func (f *fakePlatform) actionCalls() []actionCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]actionCall(nil), f.calls...)
}

func (f *fakePlatform) effectCount(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.effects[key]
}

// fakeSafety answers arbitrations with a scripted decision (allow by default) and records
// what posts report.
type fakeSafety struct {
	mu       sync.Mutex
	decide   func(req domain.ArbitrationRequest) domain.ArbitrationDecision
	requests []domain.ArbitrationRequest
	outcomes []domain.Outcome
	impacts  []domain.Impact
	health   []domain.AgentHealth
	locks    []domain.LockRequest
}

func (f *fakeSafety) Arbitrate(_ context.Context, req domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	if f.decide != nil {
		return f.decide(req), nil
	}
	return domain.ArbitrationDecision{Decision: domain.DecisionAllow, Reasons: []string{"no policy violations detected"}, Tier: req.Tier, At: req.At}, nil
}

func (f *fakeSafety) ReportOutcome(_ context.Context, o domain.Outcome) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcomes = append(f.outcomes, o)
	return nil
}

func (f *fakeSafety) ReportImpact(_ context.Context, im domain.Impact) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.impacts = append(f.impacts, im)
	return nil
}

func (f *fakeSafety) ReportHealth(_ context.Context, h domain.AgentHealth) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health = append(f.health, h)
	return nil
}

func (f *fakeSafety) Lock(_ context.Context, req domain.LockRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locks = append(f.locks, req)
	return nil
}

func (f *fakeSafety) snapshot() (reqs []domain.ArbitrationRequest, outs []domain.Outcome, ims []domain.Impact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(reqs, f.requests...), append(outs, f.outcomes...), append(ims, f.impacts...)
}
