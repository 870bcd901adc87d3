package workflows

import (
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"resurge/activities"
	"resurge/domain"
	"resurge/metrics"
	"resurge/platform"
)

var testStart = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type postTest struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	fake   *fakePlatform
	safety *fakeSafety
	alerts *activities.AlertSink
}

func newPostTest(t *testing.T, start time.Time, c curve, fake *fakePlatform) *postTest {
	t.Helper()
	return newMeteredPostTest(t, start, c, fake, nil)
}

// newMeteredPostTest is newPostTest recording the worker's metrics in reg (nil records none).
func newMeteredPostTest(t *testing.T, start time.Time, c curve, fake *fakePlatform, reg *metrics.Registry) *postTest {
	t.Helper()
	env := newTestEnv(start, sdkHandler(reg))
	if fake == nil {
		fake = newFakePlatform(env.Now, c)
	} else {
		fake.now = env.Now
	}
	safety := &fakeSafety{}
	alerts := &activities.AlertSink{Logger: discardLogger()}
	env.RegisterWorkflow(PostWorkflow)
	env.RegisterActivity(meteredActivities(&activities.Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: fake}, Safety: safety, Alerts: alerts}, reg))
	return &postTest{t: t, env: env, fake: fake, safety: safety, alerts: alerts}
}

func testPost() domain.Post {
	return domain.Post{
		ID: "p1", Platform: domain.PlatformSim, Agent: "a1",
		CommentText: "What do you think?", EditText: "Updated: more details", ThreadTexts: []string{"1/2 more", "2/2 end"},
	}
}

// stopAfter sends the stop signal d after the start.
func (p *postTest) stopAfter(d time.Duration) {
	p.env.RegisterDelayedCallback(func() {
		p.env.SignalWorkflow(SignalStop, StopRequest{Reason: "test over"})
	}, d)
}

func (p *postTest) run(in PostInput) PostSummary {
	p.t.Helper()
	p.env.ExecuteWorkflow(PostWorkflow, in)
	if !p.env.IsWorkflowCompleted() {
		p.t.Fatal("workflow did not complete")
	}
	if err := p.env.GetWorkflowError(); err != nil {
		p.t.Fatalf("workflow failed: %v", err)
	}
	var sum PostSummary
	if err := p.env.GetWorkflowResult(&sum); err != nil {
		p.t.Fatal(err)
	}
	return sum
}

func TestStallingPostGetsThreadAfterThreeSamples(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.stopAfter(2 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	calls := p.fake.actionCalls()
	if len(calls) != 1 {
		t.Fatalf("want exactly one action (later ones are duplicates), got %d: %+v", len(calls), calls)
	}
	// Samples at 0, 10 and 20 minutes: the third one makes the plan eligible.
	if want := testStart.Add(20 * time.Minute); !calls[0].At.Equal(want) || calls[0].Action != domain.ActionThread {
		t.Fatalf("want a thread at %s, got %+v", want, calls[0])
	}
	if calls[0].Key != domain.IdempotencyKey("p1", domain.ActionThread, domain.Tier3) {
		t.Fatalf("wrong key %s", calls[0].Key)
	}
	if len(sum.Actions) != 1 || sum.Actions[0].Status != domain.StatusSuccess || sum.Actions[0].Attempts != 1 {
		t.Fatalf("want one successful record, got %+v", sum.Actions)
	}
	if sum.EndReason != "stopped: test over" || sum.LastTier != domain.Tier3 {
		t.Fatalf("unexpected summary %+v", sum)
	}
}

// A Bluesky post has no impressions and cannot be edited: its tier 2 is a quote post carrying
// the tier-2 text, under the quote's own cooldown.
func TestBlueskyTier2QuotesWithTheEditText(t *testing.T) {
	// No impressions; 20 engagements in the first 10 minutes, 6 in the next 10: velocity score
	// 0.7 at the third sample, tier 2.
	slowing := func(at time.Time) (int64, int64) {
		m := int64(at.Sub(testStart) / time.Minute)
		if m <= 10 {
			return 0, 2 * m
		}
		return 0, 20 + (m-10)*6/10
	}
	p := newPostTest(t, testStart, slowing, nil)
	p.env.RegisterActivity(&activities.Activities{Platforms: map[string]platform.Platform{domain.PlatformBluesky: p.fake}, Safety: p.safety})
	post := testPost()
	post.ID, post.Platform = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b", domain.PlatformBluesky
	p.stopAfter(25 * time.Minute)
	sum := p.run(PostInput{Post: post, Config: domain.DefaultConfig()})

	calls := p.fake.actionCalls()
	if len(calls) != 1 || calls[0].Action != domain.ActionQuote || calls[0].Key != domain.IdempotencyKey(post.ID, domain.ActionQuote, domain.Tier2) {
		t.Fatalf("want one quote with the quote's key, got %+v", calls)
	}
	if len(p.fake.quoted) != 1 || p.fake.quoted[0] != post.EditText {
		t.Fatalf("quoted %q, want the tier-2 text %q", p.fake.quoted, post.EditText)
	}
	reqs, _, _ := p.safety.snapshot()
	if len(reqs) != 1 || reqs[0].Action != domain.ActionQuote || len(reqs[0].Texts) != 1 || reqs[0].Texts[0] != post.EditText {
		t.Fatalf("arbitration requests %+v, want one quote of the tier-2 text", reqs)
	}
	if len(sum.Actions) != 1 || sum.Actions[0].Action != domain.ActionQuote || sum.Actions[0].Status != domain.StatusSuccess {
		t.Fatalf("log %+v", sum.Actions)
	}
}

func TestNoActionInsideCooldownAndOneRightAfter(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	// The first thread fails for good (a 400): the key is not a duplicate, so only the thread
	// cooldown (3 h) keeps the post from trying again.
	p.fake.failures = []error{&platform.Error{Code: platform.CodeBadRequest, Status: 400, Message: "rejected"}}
	cfg := domain.DefaultConfig()
	cfg.SampleInterval = 7 * time.Minute // so the cooldown does not end on a sample
	p.stopAfter(4 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: cfg})

	calls := p.fake.actionCalls()
	if len(calls) != 2 {
		t.Fatalf("want 2 action calls (the failure, then one right after the cooldown), got %+v", calls)
	}
	first := testStart.Add(14 * time.Minute)
	if !calls[0].At.Equal(first) {
		t.Fatalf("first attempt at %s, want %s", calls[0].At, first)
	}
	if want := first.Add(cfg.ThreadCooldown); !calls[1].At.Equal(want) {
		t.Fatalf("second attempt at %s, want exactly when the cooldown ends (%s)", calls[1].At, want)
	}
	if sum.Actions[0].Status != domain.StatusSuccess || sum.Actions[0].Attempts != 2 {
		t.Fatalf("want the record to end in success after 2 attempts, got %+v", sum.Actions[0])
	}
}

func TestNonTransientFailureAttemptedOnceAndRecorded(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.fake.failures = []error{&platform.Error{Code: platform.CodeUnauthorized, Status: 401, Message: "bad token"}}
	p.stopAfter(30 * time.Minute)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	if calls := p.fake.actionCalls(); len(calls) != 1 {
		t.Fatalf("a 401 must be attempted exactly once, got %d calls", len(calls))
	}
	rec := sum.Actions[0]
	if rec.Status != domain.StatusFailed || rec.ErrorCode != platform.CodeUnauthorized || rec.Attempts != 1 {
		t.Fatalf("want failed/unauthorized/1 attempt, got %+v", rec)
	}
}

func TestTransientFailureRetriedWithOneEffect(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(f *fakePlatform)
	}{
		{"rate limited before acting", func(f *fakePlatform) {
			f.failures = []error{&platform.Error{Code: platform.CodeRateLimit, Status: 429, RetryAfter: 5 * time.Second}}
		}},
		{"reply lost after the effect was made", func(f *fakePlatform) {
			f.effectThenFail = &platform.Error{Code: platform.CodeServiceUnavailable, Status: 503}
		}},
		{"timeout after the effect was made", func(f *fakePlatform) {
			f.effectThenFail = &platform.Error{Code: platform.CodeTimeout}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPostTest(t, testStart, stalling(testStart), nil)
			tc.set(p.fake)
			p.stopAfter(time.Hour)
			sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
			key := domain.IdempotencyKey("p1", domain.ActionThread, domain.Tier3)
			if n := p.fake.effectCount(key); n != 1 {
				t.Fatalf("platform saw %d effects for the key, want 1", n)
			}
			rec := sum.Actions[0]
			if rec.Status != domain.StatusSuccess || rec.Attempts != 2 {
				t.Fatalf("want success after 2 attempts, got %+v", rec)
			}
		})
	}
}

func TestWindowCapHolds(t *testing.T) {
	p := newPostTest(t, testStart, healthy(testStart), nil)
	cfg := domain.DefaultConfig()
	cfg.Window, cfg.SampleInterval, cfg.MaxActionsPerWindow = 30*time.Minute, 5*time.Minute, 1
	cfg.CommentCooldown, cfg.EditCooldown, cfg.ThreadCooldown = 0, 0, 0
	// After the first action the post stops engaging, which calls for more actions; the cap of
	// one action per 30-minute window must hold them back.
	p.env.RegisterDelayedCallback(func() {
		p.fake.setCurve(func(at time.Time) (int64, int64) {
			return 1000 + int64(at.Sub(testStart)/time.Minute)*10, 110
		})
	}, 11*time.Minute)
	p.stopAfter(45 * time.Minute)
	p.run(PostInput{Post: testPost(), Config: cfg})

	calls := p.fake.actionCalls()
	if len(calls) != 2 {
		t.Fatalf("want 2 actions, got %+v", calls)
	}
	first := testStart.Add(10 * time.Minute)
	if calls[0].Action != domain.ActionComment || !calls[0].At.Equal(first) {
		t.Fatalf("want a comment at %s, got %+v", first, calls[0])
	}
	// The first action leaves the window 30 minutes later; not one nanosecond before.
	if want := first.Add(cfg.Window).Add(time.Nanosecond); !calls[1].At.Equal(want) {
		t.Fatalf("second action at %s, want %s (when the first leaves the window)", calls[1].At, want)
	}
}

func TestDuplicateSuppressedAcrossContinueAsNew(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	in := PostInput{Post: testPost(), Config: domain.DefaultConfig(), MaxCyclesPerRun: 4}
	p.env.ExecuteWorkflow(PostWorkflow, in)
	next := continuedInput(t, p.env.GetWorkflowError())
	if len(p.fake.actionCalls()) != 1 || next.Carry == nil || len(next.Carry.Log) != 1 {
		t.Fatalf("first run: want one action carried over, got calls=%d carry=%+v", len(p.fake.actionCalls()), next.Carry)
	}
	// Run the next two runs on the same platform and clock.
	for run := 2; run <= 3; run++ {
		q := newPostTest(t, p.env.Now(), nil, p.fake)
		q.env.ExecuteWorkflow(PostWorkflow, next)
		next = continuedInput(t, q.env.GetWorkflowError())
		p = q
	}
	if calls := p.fake.actionCalls(); len(calls) != 1 {
		t.Fatalf("the duplicate must be suppressed across continue-as-new, got %d actions", len(calls))
	}
	if next.Carry.Runs != 3 || next.Carry.Cycles != 12 || len(next.Carry.Samples) == 0 {
		t.Fatalf("carry lost state: %+v", next.Carry)
	}
}

func continuedInput(t *testing.T, err error) PostInput {
	t.Helper()
	var in PostInput
	decodeContinueAsNew(t, err, &in)
	return in
}

// decodeContinueAsNew checks that err is a continue-as-new and decodes its input into v.
func decodeContinueAsNew(t *testing.T, err error, v any) {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, v); err != nil {
		t.Fatal(err)
	}
}

func TestBadSamplesAreSkippedAndTheWorkflowKeepsRunning(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	sample := func(dt time.Duration, imp, eng int64) func() (domain.MetricsSample, error) {
		return func() (domain.MetricsSample, error) {
			return domain.MetricsSample{At: p.env.Now().Add(dt), Impressions: imp, Engagements: eng}, nil
		}
	}
	p.fake.metrics = []func() (domain.MetricsSample, error){
		sample(0, 1000, 5),
		sample(0, 900, 5),          // impressions went down
		sample(0, 1100, -1),        // negative
		sample(48*time.Hour, 1, 1), // from the future
		func() (domain.MetricsSample, error) {
			return domain.MetricsSample{}, &platform.Error{Code: platform.CodeInvalidResponse, Message: "not JSON"}
		},
	}
	var mid PostStatus
	p.env.RegisterDelayedCallback(func() {
		v, err := p.env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&mid); err != nil {
			t.Errorf("decode status: %v", err)
		}
	}, 90*time.Minute)
	p.stopAfter(2 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	if sum.Rejected != 4 {
		t.Fatalf("want 4 rejected inputs, got %d", sum.Rejected)
	}
	if len(p.fake.actionCalls()) != 1 {
		t.Fatalf("the post must keep going and act once, got %d actions", len(p.fake.actionCalls()))
	}
	if mid.RejectedCount != 4 || len(mid.Rejected) != 4 || mid.Rejected[0].What != "metrics sample" {
		t.Fatalf("status must show the rejected inputs, got %+v", mid.Rejected)
	}
	if mid.State != StateWatching || len(mid.Log) != 1 || mid.LastTier != domain.Tier3 || mid.NextSampleAt.IsZero() {
		t.Fatalf("unexpected status %+v", mid)
	}
	if len(mid.Cooldowns) != 1 || mid.Cooldowns[0].Action != domain.ActionThread {
		t.Fatalf("want the thread cooldown in the status, got %+v", mid.Cooldowns)
	}
}

func TestPostGoneEndsTheWorkflow(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.env.RegisterDelayedCallback(func() {
		p.fake.mu.Lock()
		p.fake.metrics = append(p.fake.metrics, func() (domain.MetricsSample, error) {
			return domain.MetricsSample{}, &platform.Error{Code: platform.CodePostGone, Status: 404}
		})
		p.fake.mu.Unlock()
	}, 5*time.Minute)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if sum.EndReason != EndPostGone || sum.Cycles != 2 {
		t.Fatalf("want post_gone after 2 cycles, got %+v", sum)
	}
}

func TestHorizonEndsTheWorkflow(t *testing.T) {
	p := newPostTest(t, testStart, healthy(testStart), nil)
	cfg := domain.DefaultConfig()
	cfg.Horizon = time.Hour
	sum := p.run(PostInput{Post: testPost(), Config: cfg})
	if sum.EndReason != EndHorizon || !sum.EndedAt.Equal(testStart.Add(time.Hour)) {
		t.Fatalf("want the horizon at %s, got %+v", testStart.Add(time.Hour), sum)
	}
}

func TestInvalidInputFailsClearly(t *testing.T) {
	bad := testPost()
	bad.ID = "has space"
	p := newPostTest(t, testStart, healthy(testStart), nil)
	p.env.ExecuteWorkflow(PostWorkflow, PostInput{Post: bad, Config: domain.DefaultConfig()})
	err := p.env.GetWorkflowError()
	if err == nil || !contains(err.Error(), "post.id") {
		t.Fatalf("want an error naming post.id, got %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// quietLogger keeps the test environment's debug chatter out of the test output.
func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

func TestDeniedActionIsBlockedAndAskedAgainNextCycle(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	denials := 2
	p.safety.decide = func(req domain.ArbitrationRequest) domain.ArbitrationDecision {
		if denials > 0 {
			denials--
			return domain.ArbitrationDecision{Decision: domain.DecisionLock, Reasons: []string{"existing lock state is active"}, LockActive: true, At: req.At}
		}
		return domain.ArbitrationDecision{Decision: domain.DecisionAllow, Reasons: []string{"no policy violations detected"}, At: req.At}
	}
	var blocked PostStatus
	p.env.RegisterDelayedCallback(func() {
		v, err := p.env.QueryWorkflow(QueryStatus)
		if err == nil {
			err = v.Get(&blocked)
		}
		if err != nil {
			t.Errorf("query: %v", err)
		}
	}, 25*time.Minute)
	p.stopAfter(time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	if blocked.State != StateBlocked || len(blocked.Log) != 1 || blocked.Log[0].Status != domain.StatusBlocked ||
		blocked.LastPermission == nil || blocked.LastPermission.Decision != domain.DecisionLock {
		t.Fatalf("after a lock answer the post must be blocked with the reasons, got %+v", blocked)
	}
	if len(blocked.Log[0].Reasons) != 1 || blocked.Log[0].Reasons[0] != "existing lock state is active" {
		t.Fatalf("the blocked record must carry the arbiter's reasons, got %+v", blocked.Log[0])
	}
	reqs, outcomes, _ := p.safety.snapshot()
	calls := p.fake.actionCalls()
	// Asked at 20 and 30 minutes (refused), then at 40 minutes (allowed): one action.
	if len(reqs) != 3 || len(calls) != 1 || !calls[0].At.Equal(testStart.Add(40*time.Minute)) {
		t.Fatalf("want 3 arbitrations and one action at 40m, got %d arbitrations and %+v", len(reqs), calls)
	}
	if reqs[0].PostID != "p1" || reqs[0].Agent != "a1" || reqs[0].Action != domain.ActionThread || len(reqs[0].Texts) != 2 {
		t.Fatalf("arbitration request lacks the action's details: %+v", reqs[0])
	}
	if sum.Actions[0].Status != domain.StatusSuccess || len(outcomes) != 1 || outcomes[0].Status != domain.StatusSuccess {
		t.Fatalf("want the success recorded and reported once, got %+v / %+v", sum.Actions, outcomes)
	}
}

func TestArbitrationFailureFailsClosed(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.env.RegisterActivity(&activities.Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: p.fake}})
	p.stopAfter(35 * time.Minute)
	p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if calls := p.fake.actionCalls(); len(calls) != 0 {
		t.Fatalf("without an arbiter answer nothing may reach the platform, got %+v", calls)
	}
}

func TestOutcomeAndImpactReportedToTheMonitor(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.stopAfter(3 * time.Hour)
	p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	_, outcomes, impacts := p.safety.snapshot()
	if len(outcomes) != 1 || outcomes[0].Agent != "a1" || outcomes[0].RateBefore != 0 || outcomes[0].FinishedAt.IsZero() {
		t.Fatalf("want one outcome for agent a1, got %+v", outcomes)
	}
	// The window after the action (20m + 90m) has passed by 110m: one impact, rate still 0.
	if len(impacts) != 1 || impacts[0].Key != outcomes[0].Key || impacts[0].RateAfter != 0 {
		t.Fatalf("want one impact report for the action, got %+v", impacts)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestSearchAttributesUpsertedOnlyWhenTheyChange: a post started by StartPost (post, agent and
// state already set, and said so in its input) costs no upsert for them; a post started without
// them sets them itself.
// Every upsert carries only values that changed.
func TestSearchAttributesUpsertedOnlyWhenTheyChange(t *testing.T) {
	for _, started := range []bool{true, false} {
		p := newPostTest(t, testStart, healthy(testStart), nil)
		cfg := domain.DefaultConfig()
		cfg.Horizon = time.Hour
		in := PostInput{Post: testPost(), Config: cfg}
		if started { // as StartPost does
			in.ShownAtStart = map[string]string{SearchAttrPostID: "p1", SearchAttrAgent: "a1", SearchAttrState: StateWatching}
			if err := p.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
				PostIDKey.ValueSet("p1"), AgentKey.ValueSet("a1"), StateKey.ValueSet(StateWatching))); err != nil {
				t.Fatal(err)
			}
		}
		var upserts []temporal.SearchAttributes
		p.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
			upserts = append(upserts, args.Get(0).(temporal.SearchAttributes))
		})
		p.run(in)

		shown := map[string]string{}
		identity := 0
		for i, u := range upserts {
			for key, v := range u.GetUntypedValues() {
				value, _ := v.(string)
				if shown[key.GetName()] == value {
					t.Errorf("started=%v: upsert %d repeats %s=%q", started, i, key.GetName(), value)
				}
				shown[key.GetName()] = value
				if key.GetName() == SearchAttrPostID || key.GetName() == SearchAttrAgent {
					identity++
				}
			}
		}
		if want := map[bool]int{true: 0, false: 2}[started]; identity != want {
			t.Errorf("started=%v: post and agent upserted %d times, want %d (upserts %v)", started, identity, want, upserts)
		}
		if shown[SearchAttrPostID] != "p1" && !started {
			t.Errorf("started=%v: post ID not shown: %v", started, shown)
		}
		if len(upserts) == 0 {
			t.Errorf("started=%v: no upsert at all (the state changes at the end)", started)
		}
	}
}

// TestBudgetDenialWaitsForRetryAt: refused for the budgets only, with retry_at 35 minutes
// later, the post keeps sampling but does not ask the arbiter again until retry_at plus its
// jitter, and then acts at once (a timer like a cooldown's); the status shows when it asks.
func TestBudgetDenialWaitsForRetryAt(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	retryAt := testStart.Add(55 * time.Minute)
	denied := false
	p.safety.decide = func(req domain.ArbitrationRequest) domain.ArbitrationDecision {
		if !denied {
			denied = true
			return domain.ArbitrationDecision{Decision: domain.DecisionDeny, At: req.At, RetryAt: retryAt,
				Reasons: []string{"global budget exhausted: 600 autonomous changes in the last hour (limit 600)"}}
		}
		return domain.ArbitrationDecision{Decision: domain.DecisionAllow, Reasons: []string{"no policy violations detected"}, At: req.At}
	}
	var waiting PostStatus
	p.env.RegisterDelayedCallback(func() {
		v, err := p.env.QueryWorkflow(QueryStatus)
		if err == nil {
			err = v.Get(&waiting)
		}
		if err != nil {
			t.Errorf("query: %v", err)
		}
	}, 45*time.Minute)
	p.stopAfter(90 * time.Minute)
	p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	at := retryAt.Add(domain.BudgetRetryJitter("p1", 10*time.Minute))
	reqs, _, _ := p.safety.snapshot()
	calls := p.fake.actionCalls()
	if len(reqs) != 2 || !reqs[0].At.Equal(testStart.Add(20*time.Minute)) || !reqs[1].At.Equal(at) {
		t.Fatalf("want one arbitration at 20m and the next at retry_at + jitter (%s), got %d: %+v", at, len(reqs), reqs)
	}
	if len(calls) != 1 || !calls[0].At.Equal(at) {
		t.Fatalf("want the action at %s, got %+v", at, calls)
	}
	if waiting.State != StateBlocked || waiting.BudgetRetryAt == nil || !waiting.BudgetRetryAt.Equal(at) {
		t.Fatalf("while waiting for the budget: state %s, budget_retry_at %v, want blocked until %s", waiting.State, waiting.BudgetRetryAt, at)
	}
}
