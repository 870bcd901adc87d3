package activities

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"resurge/domain"
	"resurge/platform"
)

// fakePlatform records every call and keeps one effect per key, like a platform would.
type fakePlatform struct {
	mu      sync.Mutex
	effects map[string]platform.Effect // by key
	calls   []string
	parts   []string
	texts   []string
	// actErr fails every action before it reaches the platform.
	actErr error
	// failNext fail the next actions, one each, before they reach the platform; loseNext fail
	// them after the effect is made (the answer was lost).
	failNext, loseNext []error
	findErr            error
	metrics            domain.MetricsSample
	metErr             error
}

func newFake() *fakePlatform { return &fakePlatform{effects: map[string]platform.Effect{}} }

func (f *fakePlatform) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakePlatform) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakePlatform) act(kind, postID, key string, ids ...string) (platform.Effect, error) {
	f.record(kind)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actErr != nil {
		return platform.Effect{}, f.actErr
	}
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		return platform.Effect{}, err
	}
	e := platform.Effect{ID: ids[0], IDs: ids, URL: "https://example.test/" + postID + "/" + ids[0]}
	f.effects[key] = e
	if len(f.loseNext) > 0 {
		err := f.loseNext[0]
		f.loseNext = f.loseNext[1:]
		return platform.Effect{}, err
	}
	return e, nil
}

func (f *fakePlatform) Metrics(_ context.Context, postID string) (domain.MetricsSample, error) {
	f.record("metrics")
	return f.metrics, f.metErr
}

func (f *fakePlatform) Comment(_ context.Context, postID, text, key string) (platform.Effect, error) {
	f.mu.Lock()
	f.texts = append(f.texts, text)
	f.mu.Unlock()
	return f.act("comment", postID, key, "c-"+key)
}

func (f *fakePlatform) Edit(_ context.Context, postID, text, key string) (platform.Effect, error) {
	f.mu.Lock()
	f.texts = append(f.texts, text)
	f.mu.Unlock()
	return f.act("edit", postID, key, "e-"+key)
}

func (f *fakePlatform) Thread(_ context.Context, postID string, parts []string, key string) (platform.Effect, error) {
	f.mu.Lock()
	f.parts = append([]string(nil), parts...)
	f.mu.Unlock()
	ids := make([]string, len(parts))
	for i := range parts {
		ids[i] = "t-" + key + "-" + string(rune('a'+i))
	}
	return f.act("thread", postID, key, ids...)
}

func (f *fakePlatform) FindEffect(_ context.Context, postID, key string) (platform.Effect, bool, error) {
	f.record("find")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.findErr != nil {
		return platform.Effect{}, false, f.findErr
	}
	e, ok := f.effects[key]
	return e, ok, nil
}

const testKey = "sheal_878d89c30e92e1293270d561bfd03ec1"

func commentInput() ActionInput {
	return ActionInput{PostID: "p1", Platform: domain.PlatformSim, Action: domain.ActionComment, Tier: domain.Tier1,
		Key: testKey, Text: "Worth a second look"}
}

// perform runs PerformAction in a fresh test activity environment.
func perform(t *testing.T, acts *Activities, in ActionInput) (ActionResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	val, err := env.ExecuteActivity(acts.PerformAction, in)
	if err != nil {
		return ActionResult{}, err
	}
	var res ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatalf("decoding the result: %v", err)
	}
	return res, nil
}

func TestPerformActionDispatch(t *testing.T) {
	cases := []struct {
		name  string
		in    ActionInput
		calls []string
		want  platform.Effect
	}{
		{"comment", commentInput(), []string{"comment"},
			platform.Effect{ID: "c-" + testKey, IDs: []string{"c-" + testKey}, URL: "https://example.test/p1/c-" + testKey}},
		{"edit", func() ActionInput {
			in := commentInput()
			in.Action, in.Text = domain.ActionEdit, "A better text"
			return in
		}(), []string{"edit"},
			platform.Effect{ID: "e-" + testKey, IDs: []string{"e-" + testKey}, URL: "https://example.test/p1/e-" + testKey}},
		{"thread", func() ActionInput {
			in := commentInput()
			in.Action, in.Text, in.Parts = domain.ActionThread, "", []string{"one", "two"}
			return in
		}(), []string{"thread"},
			platform.Effect{ID: "t-" + testKey + "-a", IDs: []string{"t-" + testKey + "-a", "t-" + testKey + "-b"},
				URL: "https://example.test/p1/t-" + testKey + "-a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			res, err := perform(t, &Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}}, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			// Attempt 1 without Verify: no look-up first.
			if !reflect.DeepEqual(f.Calls(), tc.calls) {
				t.Fatalf("calls %v, want %v", f.Calls(), tc.calls)
			}
			if !reflect.DeepEqual(res, ActionResult{Effect: tc.want, Attempts: 1}) {
				t.Fatalf("result %+v, want %+v", res, ActionResult{Effect: tc.want, Attempts: 1})
			}
			if tc.name == "thread" && !reflect.DeepEqual(f.parts, []string{"one", "two"}) {
				t.Fatalf("thread parts %v", f.parts)
			}
			if tc.name != "thread" && (len(f.texts) != 1 || f.texts[0] != tc.in.Text) {
				t.Fatalf("texts %v, want %q", f.texts, tc.in.Text)
			}
		})
	}
}

// quotingPlatform is a fake that can also quote, as the Bluesky adapter does.
type quotingPlatform struct{ *fakePlatform }

func (f quotingPlatform) Quote(_ context.Context, postID, text, key string) (platform.Effect, error) {
	f.mu.Lock()
	f.texts = append(f.texts, text)
	f.mu.Unlock()
	return f.act("quote", postID, key, "q-"+key)
}

func TestPerformActionQuote(t *testing.T) {
	in := commentInput()
	in.Platform, in.Action, in.Tier, in.Text = domain.PlatformBluesky, domain.ActionQuote, domain.Tier2, "Still worth reading"
	f := quotingPlatform{newFake()}
	res, err := perform(t, &Activities{Platforms: map[string]platform.Platform{domain.PlatformBluesky: f}}, in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Calls(), []string{"quote"}) || !reflect.DeepEqual(f.texts, []string{in.Text}) || res.Effect.ID != "q-"+testKey {
		t.Fatalf("calls %v, texts %v, result %+v", f.Calls(), f.texts, res)
	}
	// With verify, a quote already made is found and not made again.
	in.Verify = true
	res, err = perform(t, &Activities{Platforms: map[string]platform.Platform{domain.PlatformBluesky: f}}, in)
	if err != nil || !res.Verified || !reflect.DeepEqual(f.Calls(), []string{"quote", "find"}) {
		t.Fatalf("verified quote: %+v, %v, calls %v", res, err, f.Calls())
	}

	// A platform that cannot quote refuses it, once, before anything reaches it.
	plain := newFake()
	in.Verify = false
	_, err = perform(t, &Activities{Platforms: map[string]platform.Platform{domain.PlatformBluesky: plain}}, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrInvalidInput || !appErr.NonRetryable() {
		t.Fatalf("quote on a platform without quotes: %v, want a non-retryable %s", err, ErrInvalidInput)
	}
	if len(plain.Calls()) != 0 {
		t.Fatalf("calls %v, want none", plain.Calls())
	}
}

func TestPerformActionVerifyFindsTheEffect(t *testing.T) {
	f := newFake()
	existing := platform.Effect{ID: "c-old", IDs: []string{"c-old"}, URL: "https://example.test/p1/c-old"}
	f.effects[testKey] = existing
	in := commentInput()
	in.Verify = true
	res, err := perform(t, &Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}}, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"find"}; !reflect.DeepEqual(f.Calls(), want) {
		t.Fatalf("calls %v, want only the look-up %v (acting again would duplicate the effect)", f.Calls(), want)
	}
	existing.Replayed = true
	if want := (ActionResult{Effect: existing, Attempts: 1, Verified: true}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
}

func TestPerformActionVerifyFindsNothingAndActs(t *testing.T) {
	f := newFake()
	f.effects["sheal_other"] = platform.Effect{ID: "c-other"}
	in := commentInput()
	in.Verify = true
	res, err := perform(t, &Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}}, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"find", "comment"}; !reflect.DeepEqual(f.Calls(), want) {
		t.Fatalf("calls %v, want %v", f.Calls(), want)
	}
	if res.Verified || res.Effect.Replayed || res.Effect.ID != "c-"+testKey || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
}

func TestPerformActionVerifyError(t *testing.T) {
	f := newFake()
	f.findErr = &platform.Error{Code: platform.CodeServiceUnavailable, Status: 503, Message: "down"}
	in := commentInput()
	in.Verify = true
	_, err := perform(t, &Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}}, in)
	wantAppErr(t, err, platform.CodeServiceUnavailable, false, ErrorDetails{Code: platform.CodeServiceUnavailable, Status: 503, Attempt: 1})
	if want := []string{"find"}; !reflect.DeepEqual(f.Calls(), want) {
		t.Fatalf("calls %v, want %v: never act when the look-up failed", f.Calls(), want)
	}
}

func TestPerformActionErrors(t *testing.T) {
	cases := []struct {
		name       string
		nilAdapter bool
		in         func(ActionInput) ActionInput
		actErr     error
		typ        string
		final      bool
		details    ErrorDetails
		calls      []string
	}{
		{
			name: "unknown action",
			in:   func(in ActionInput) ActionInput { in.Action = "like"; return in },
			typ:  ErrInvalidInput, final: true, details: ErrorDetails{Code: ErrInvalidInput, Attempt: 1},
		},
		{
			name: "unknown platform",
			in:   func(in ActionInput) ActionInput { in.Platform = domain.PlatformMastodon; return in },
			typ:  ErrUnknownPlatform, final: true, details: ErrorDetails{Code: ErrUnknownPlatform, Attempt: 1},
		},
		{
			name:       "nil adapter",
			nilAdapter: true,
			in:         func(in ActionInput) ActionInput { return in },
			typ:        ErrUnknownPlatform, final: true, details: ErrorDetails{Code: ErrUnknownPlatform, Attempt: 1},
		},
		{
			name:   "transient platform error",
			in:     func(in ActionInput) ActionInput { return in },
			actErr: &platform.Error{Code: platform.CodeRateLimit, Status: 429, RetryAfter: 5 * time.Second},
			typ:    platform.CodeRateLimit, final: false, details: ErrorDetails{Code: platform.CodeRateLimit, Status: 429, Attempt: 1},
			calls: []string{"comment"},
		},
		{
			name:   "final platform error",
			in:     func(in ActionInput) ActionInput { return in },
			actErr: &platform.Error{Code: platform.CodeForbidden, Status: 403},
			typ:    platform.CodeForbidden, final: true, details: ErrorDetails{Code: platform.CodeForbidden, Status: 403, Attempt: 1},
			calls: []string{"comment"},
		},
		{
			name:   "unclassified error is final",
			in:     func(in ActionInput) ActionInput { return in },
			actErr: errors.New("kaput"),
			typ:    platform.CodeUnexpected, final: true, details: ErrorDetails{Code: platform.CodeUnexpected, Attempt: 1},
			calls: []string{"comment"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.actErr = tc.actErr
			platforms := map[string]platform.Platform{domain.PlatformSim: f}
			if tc.nilAdapter {
				platforms[domain.PlatformSim] = nil
			}
			_, err := perform(t, &Activities{Platforms: platforms}, tc.in(commentInput()))
			wantAppErr(t, err, tc.typ, tc.final, tc.details)
			if code, attempt := FailureCode(err); code != tc.typ || attempt != 1 {
				t.Fatalf("FailureCode = %q %d, want %q 1", code, attempt, tc.typ)
			}
			if !reflect.DeepEqual(f.Calls(), tc.calls) {
				t.Fatalf("calls %v, want %v", f.Calls(), tc.calls)
			}
		})
	}
	// The unknown platform's message names it.
	_, err := perform(t, &Activities{}, func() ActionInput { in := commentInput(); in.Platform = "myspace"; return in }())
	if err == nil || !strings.Contains(err.Error(), `"myspace"`) {
		t.Fatalf("error %v does not name the platform", err)
	}
}

// performWorkflow runs PerformAction under a retry policy, as the post workflow does.
func performWorkflow(ctx workflow.Context, in ActionInput) (ActionResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: NonRetryableTypes},
	})
	var res ActionResult
	err := workflow.ExecuteActivity(ctx, "PerformAction", in).Get(ctx, &res)
	return res, err
}

// TestPerformActionVerifiesBeforeRetrying: the first attempt reaches the platform but its answer
// is lost (a timeout); the retry finds the effect by key and does not act a second time.
func TestPerformActionVerifiesBeforeRetrying(t *testing.T) {
	f := newFake()
	f.loseNext = []error{&platform.Error{Code: platform.CodeTimeout, Message: "no answer"}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}})
	env.RegisterWorkflow(performWorkflow)
	env.ExecuteWorkflow(performWorkflow, commentInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ActionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if want := []string{"comment", "find"}; !reflect.DeepEqual(f.Calls(), want) {
		t.Fatalf("calls %v, want %v: one effect per key", f.Calls(), want)
	}
	want := ActionResult{Effect: platform.Effect{ID: "c-" + testKey, IDs: []string{"c-" + testKey},
		URL: "https://example.test/p1/c-" + testKey, Replayed: true}, Attempts: 2, Verified: true}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
}

// A retry that finds nothing acts (the first attempt never reached the platform).
func TestPerformActionRetryActsWhenNothingWasDone(t *testing.T) {
	f := newFake()
	f.failNext = []error{&platform.Error{Code: platform.CodeServiceUnavailable, Status: 503}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}})
	env.RegisterWorkflow(performWorkflow)
	env.ExecuteWorkflow(performWorkflow, commentInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ActionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if want := []string{"comment", "find", "comment"}; !reflect.DeepEqual(f.Calls(), want) {
		t.Fatalf("calls %v, want %v", f.Calls(), want)
	}
	if res.Verified || res.Attempts != 2 || res.Effect.ID != "c-"+testKey {
		t.Fatalf("result %+v", res)
	}
}

func TestFetchMetrics(t *testing.T) {
	f := newFake()
	f.metrics = domain.MetricsSample{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Impressions: 10, Engagements: 2}
	acts := &Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	val, err := env.ExecuteActivity(acts.FetchMetrics, FetchMetricsInput{PostID: "p1", Platform: domain.PlatformSim})
	if err != nil {
		t.Fatal(err)
	}
	var got domain.MetricsSample
	if err := val.Get(&got); err != nil || !got.At.Equal(f.metrics.At) || got.Impressions != 10 || got.Engagements != 2 {
		t.Fatalf("sample %+v %v", got, err)
	}
	f.metErr = &platform.Error{Code: platform.CodePostGone, Status: 404}
	_, err = env.ExecuteActivity(acts.FetchMetrics, FetchMetricsInput{PostID: "p1", Platform: domain.PlatformSim})
	wantAppErr(t, err, platform.CodePostGone, true, ErrorDetails{Code: platform.CodePostGone, Status: 404, Attempt: 1})
	_, err = env.ExecuteActivity(acts.FetchMetrics, FetchMetricsInput{PostID: "p1", Platform: "nope"})
	wantAppErr(t, err, ErrUnknownPlatform, true, ErrorDetails{Code: ErrUnknownPlatform, Attempt: 1})
}

// A final error is not retried: the platform sees one call.
func TestPerformActionFinalErrorIsNotRetried(t *testing.T) {
	f := newFake()
	f.actErr = &platform.Error{Code: platform.CodeUnprocessable, Status: 422}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: f}})
	env.RegisterWorkflow(performWorkflow)
	env.ExecuteWorkflow(performWorkflow, commentInput())
	err := env.GetWorkflowError()
	if code, attempt := FailureCode(err); code != platform.CodeUnprocessable || attempt != 1 {
		t.Fatalf("FailureCode(%v) = %q %d, want %q 1", err, code, attempt, platform.CodeUnprocessable)
	}
	if want := []string{"comment"}; !reflect.DeepEqual(f.Calls(), want) {
		t.Fatalf("calls %v, want %v", f.Calls(), want)
	}
}
