package activities

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"resurge/domain"
)

func TestClassifySafetyError(t *testing.T) {
	tooMany := serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, "too many updates")
	rejected := temporal.NewApplicationError("request.post: must not be empty", "FieldError")
	cases := []struct {
		name  string
		err   error
		typ   string
		final bool
	}{
		{"resource exhausted: too many updates", tooMany, ErrSafetyTransient, false},
		{"wrapped resource exhausted", fmt.Errorf("update arbiter: %w", tooMany), ErrSafetyTransient, false},
		{"unavailable", serviceerror.NewUnavailable("frontend restarting"), ErrSafetyTransient, false},
		{"not found (monitor not started yet)", serviceerror.NewNotFound("workflow not found"), ErrSafetyTransient, false},
		{"deadline exceeded", context.DeadlineExceeded, ErrSafetyTransient, false},
		{"wrapped deadline exceeded", fmt.Errorf("x: %w", context.DeadlineExceeded), ErrSafetyTransient, false},
		{"validator rejected the request", rejected, ErrRejectedRequest, true},
		{"wrapped rejection", fmt.Errorf("update: %w", rejected), ErrRejectedRequest, true},
		{"anything else is transient", errors.New("connection reset"), ErrSafetyTransient, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := classifySafetyError(tc.err)
			appErr := asAppErr(t, err)
			if appErr.Type() != tc.typ || appErr.NonRetryable() != tc.final {
				t.Fatalf("type %q non-retryable %v, want %q %v", appErr.Type(), appErr.NonRetryable(), tc.typ, tc.final)
			}
			if appErr.Message() != tc.err.Error() {
				t.Fatalf("message %q, want %q", appErr.Message(), tc.err.Error())
			}
			// The original error stays reachable.
			if !errors.Is(err, tc.err) && !errors.Is(appErr.Unwrap(), tc.err) {
				t.Fatalf("the cause %v is lost from %v", tc.err, err)
			}
		})
	}
	if err := classifySafetyError(nil); err != nil {
		t.Fatalf("classifySafetyError(nil) = %v", err)
	}
	var re *serviceerror.ResourceExhausted
	if !errors.As(classifySafetyError(tooMany), &re) || re.Message != "too many updates" {
		t.Fatal("the resource-exhausted cause must stay reachable")
	}
}

// fakeGateway records calls and answers with err.
type fakeGateway struct {
	mu       sync.Mutex
	err      error
	decision domain.ArbitrationDecision
	calls    []string
	reqs     []domain.ArbitrationRequest
	locks    []domain.LockRequest
}

func (g *fakeGateway) rec(c string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, c)
	return g.err
}

func (g *fakeGateway) Arbitrate(_ context.Context, r domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
	g.mu.Lock()
	g.reqs = append(g.reqs, r)
	g.mu.Unlock()
	if err := g.rec("arbitrate"); err != nil {
		return domain.ArbitrationDecision{}, err
	}
	return g.decision, nil
}
func (g *fakeGateway) ReportOutcome(context.Context, domain.Outcome) error { return g.rec("outcome") }
func (g *fakeGateway) ReportImpact(context.Context, domain.Impact) error   { return g.rec("impact") }
func (g *fakeGateway) ReportHealth(context.Context, domain.AgentHealth) error {
	return g.rec("health")
}
func (g *fakeGateway) Lock(_ context.Context, r domain.LockRequest) error {
	g.mu.Lock()
	g.locks = append(g.locks, r)
	g.mu.Unlock()
	return g.rec("lock")
}

var safetyAt = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func arbitrationRequest() domain.ArbitrationRequest {
	return domain.ArbitrationRequest{PostID: "p1", Agent: "a1", Platform: domain.PlatformSim, Action: domain.ActionComment,
		Tier: domain.Tier1, Key: testKey, Texts: []string{"hello"}, At: safetyAt}
}

func TestSafetyActivities(t *testing.T) {
	decision := domain.ArbitrationDecision{Decision: domain.DecisionDeny, Reasons: []string{"text 1 is empty"},
		Tier: domain.Tier1, Confidence: 1, At: safetyAt}
	g := &fakeGateway{decision: decision}
	acts := &Activities{Safety: g}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)

	val, err := env.ExecuteActivity(acts.Arbitrate, arbitrationRequest())
	if err != nil {
		t.Fatal(err)
	}
	var got domain.ArbitrationDecision
	if err := val.Get(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, decision) {
		t.Fatalf("decision %+v, want %+v", got, decision)
	}
	if len(g.reqs) != 1 || !reflect.DeepEqual(g.reqs[0], arbitrationRequest()) {
		t.Fatalf("gateway got %+v", g.reqs)
	}
	if _, err := env.ExecuteActivity(acts.ReportOutcome, domain.Outcome{Agent: "a1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(acts.ReportImpact, domain.Impact{Agent: "a1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(acts.ReportHealth, domain.AgentHealth{Agent: "a1"}); err != nil {
		t.Fatal(err)
	}
	lock := domain.LockRequest{Source: "monitor-a1", Reason: "systemic", Tier: 3, Confidence: 0.9}
	if _, err := env.ExecuteActivity(acts.SignalLock, lock); err != nil {
		t.Fatal(err)
	}
	if want := []string{"arbitrate", "outcome", "impact", "health", "lock"}; !reflect.DeepEqual(g.calls, want) {
		t.Fatalf("calls %v, want %v", g.calls, want)
	}
	if len(g.locks) != 1 || g.locks[0].Source != lock.Source || g.locks[0].Confidence != 0.9 {
		t.Fatalf("locks %+v", g.locks)
	}
}

func TestSafetyActivitiesClassifyErrors(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		typ   string
		final bool
	}{
		{"too many updates", serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT, "too many updates"), ErrSafetyTransient, false},
		{"rejected", temporal.NewApplicationError("bad request", "FieldError"), ErrRejectedRequest, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakeGateway{err: tc.err}
			acts := &Activities{Safety: g}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			runs := map[string]func() error{
				"Arbitrate": func() error { _, err := env.ExecuteActivity(acts.Arbitrate, arbitrationRequest()); return err },
				"ReportOutcome": func() error {
					_, err := env.ExecuteActivity(acts.ReportOutcome, domain.Outcome{Agent: "a1"})
					return err
				},
				"ReportImpact": func() error { _, err := env.ExecuteActivity(acts.ReportImpact, domain.Impact{}); return err },
				"ReportHealth": func() error { _, err := env.ExecuteActivity(acts.ReportHealth, domain.AgentHealth{}); return err },
				"SignalLock":   func() error { _, err := env.ExecuteActivity(acts.SignalLock, domain.LockRequest{}); return err },
			}
			for name, run := range runs {
				appErr := asAppErr(t, run())
				if appErr.Type() != tc.typ || appErr.NonRetryable() != tc.final {
					t.Errorf("%s: type %q non-retryable %v, want %q %v", name, appErr.Type(), appErr.NonRetryable(), tc.typ, tc.final)
				}
			}
		})
	}
}

func TestSafetyActivitiesWithoutGateway(t *testing.T) {
	acts := &Activities{}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.Arbitrate, arbitrationRequest())
	wantAppErr(t, err, ErrNoSafetyGateway, true, ErrorDetails{Code: ErrNoSafetyGateway, Attempt: 1})
	_, err = env.ExecuteActivity(acts.SignalLock, domain.LockRequest{})
	wantAppErr(t, err, ErrNoSafetyGateway, true, ErrorDetails{Code: ErrNoSafetyGateway, Attempt: 1})
	// Reports have nowhere to go: they succeed.
	if _, err := env.ExecuteActivity(acts.ReportOutcome, domain.Outcome{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(acts.ReportImpact, domain.Impact{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(acts.ReportHealth, domain.AgentHealth{}); err != nil {
		t.Fatal(err)
	}
}
