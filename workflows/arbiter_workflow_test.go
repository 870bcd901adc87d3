package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"resurge/domain"
	"resurge/metrics"
)

type arbiterTest struct {
	t         *testing.T
	env       *testsuite.TestWorkflowEnvironment
	decisions map[string]domain.ArbitrationDecision
	rejected  map[string]error
	order     []string
}

func newArbiterTest(t *testing.T) *arbiterTest { return newMeteredArbiterTest(t, nil) }

// newMeteredArbiterTest is newArbiterTest recording the workflow's metrics in reg.
func newMeteredArbiterTest(t *testing.T, reg *metrics.Registry) *arbiterTest {
	env := newTestEnv(testStart, sdkHandler(reg))
	env.RegisterWorkflow(ArbiterWorkflow)
	return &arbiterTest{t: t, env: env, decisions: map[string]domain.ArbitrationDecision{}, rejected: map[string]error{}}
}

func arbitrationRequest(post, agent string, action domain.ActionType) domain.ArbitrationRequest {
	tier := map[domain.ActionType]domain.Tier{domain.ActionComment: domain.Tier1, domain.ActionEdit: domain.Tier2, domain.ActionThread: domain.Tier3}[action]
	return domain.ArbitrationRequest{
		PostID: post, Agent: agent, Platform: domain.PlatformSim, Action: action, Tier: tier,
		Key: domain.IdempotencyKey(post, action, tier), Texts: []string{"hello there"}, At: testStart,
	}
}

// arbitrate sends an arbitrate update now (call from a delayed callback) under id.
func (a *arbiterTest) arbitrate(id string, req domain.ArbitrationRequest) {
	a.env.UpdateWorkflow(UpdateArbitrate, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { a.rejected[id] = err },
		OnComplete: func(v any, err error) {
			if err != nil {
				a.t.Errorf("update %s failed: %v", id, err)
				return
			}
			a.decisions[id] = v.(domain.ArbitrationDecision)
			a.order = append(a.order, id)
		},
	}, req)
}

func (a *arbiterTest) at(d time.Duration, f func()) { a.env.RegisterDelayedCallback(f, d) }

func (a *arbiterTest) state() ArbiterState {
	a.t.Helper()
	v, err := a.env.QueryWorkflow(QueryArbiterState)
	if err != nil {
		a.t.Fatal(err)
	}
	var st ArbiterState
	if err := v.Get(&st); err != nil {
		a.t.Fatal(err)
	}
	return st
}

func (a *arbiterTest) decision(id string) domain.Decision {
	a.t.Helper()
	d, ok := a.decisions[id]
	if !ok {
		a.t.Fatalf("no decision for %s (rejected: %v)", id, a.rejected[id])
	}
	return d.Decision
}

func TestArbiterLockReleaseAndMalformedRelease(t *testing.T) {
	simActions := domain.CapabilitiesOf(domain.PlatformSim).TierActions // the requests are on sim
	a := newArbiterTest(t)
	var locked, afterBadRelease, released ArbiterState
	a.at(time.Minute, func() { a.arbitrate("before", arbitrationRequest("p1", "a1", domain.ActionComment)) })
	a.at(2*time.Minute, func() {
		a.env.SignalWorkflow(SignalLock, domain.LockRequest{Source: "monitor/a1", Reason: "systemic anomaly", Tier: 3, Confidence: 0.9})
	})
	a.at(3*time.Minute, func() {
		for i, act := range simActions {
			a.arbitrate(fmt.Sprintf("locked-%d", i), arbitrationRequest(fmt.Sprintf("p%d", i+2), "a2", act))
		}
		locked = a.state()
	})
	a.at(4*time.Minute, func() { a.env.SignalWorkflow(SignalReleaseLock, map[string]string{"operator": "ops"}) })
	a.at(5*time.Minute, func() {
		a.arbitrate("after-bad-release", arbitrationRequest("p9", "a1", domain.ActionComment))
	})
	a.at(5*time.Minute+time.Second, func() { afterBadRelease = a.state() })
	a.at(6*time.Minute, func() {
		a.env.SignalWorkflow(SignalReleaseLock, domain.ReleaseRequest{Operator: "ops", Reason: "false alarm, checked the account"})
	})
	a.at(7*time.Minute, func() {
		a.arbitrate("after-release", arbitrationRequest("p10", "a1", domain.ActionComment))
	})
	a.at(7*time.Minute+time.Second, func() { released = a.state() })
	a.at(8*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})

	if a.decision("before") != domain.DecisionAllow {
		t.Fatalf("before the lock: want allow, got %+v", a.decisions["before"])
	}
	for i := range simActions {
		id := fmt.Sprintf("locked-%d", i)
		if d := a.decisions[id]; d.Decision != domain.DecisionLock || !d.LockActive || d.Reasons[0] != "existing lock state is active" {
			t.Fatalf("%s: want lock with the existing-lock reason, got %+v", id, d)
		}
	}
	if !locked.Lock.Active || locked.Lock.Source != "monitor/a1" || locked.Lock.Since != testStart.Add(2*time.Minute) {
		t.Fatalf("lock state not recorded: %+v", locked.Lock)
	}
	if a.decision("after-bad-release") != domain.DecisionLock || !afterBadRelease.Lock.Active ||
		afterBadRelease.Counters.RejectedReleases != 1 || len(afterBadRelease.Rejected) != 1 {
		t.Fatalf("a release without a reason must be rejected and keep the lock: %+v", afterBadRelease)
	}
	if a.decision("after-release") != domain.DecisionAllow || released.Lock.Active || released.Lock.ReleasedBy != "ops" {
		t.Fatalf("after the release actions must be allowed again: %+v", released)
	}
	if released.Counters.Allowed != 2 || released.Counters.Locked != 4 || released.Counters.Releases != 1 {
		t.Fatalf("unexpected counters %+v", released.Counters)
	}
}

func TestArbiterNoAllowAfterTheLockAmongConcurrentRequests(t *testing.T) {
	a := newArbiterTest(t)
	const n = 30
	var final ArbiterState
	a.at(time.Minute, func() {
		for i := 0; i < n; i++ {
			a.arbitrate(fmt.Sprintf("r%02d", i), arbitrationRequest(fmt.Sprintf("post-%d", i), "a1", domain.ActionComment))
			if i == n/2 {
				a.env.SignalWorkflow(SignalLock, domain.LockRequest{Source: "operator", Reason: "manual stop", Tier: 3, Confidence: 1})
			}
		}
	})
	a.at(2*time.Minute, func() { final = a.state() })
	a.at(3*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})

	if len(a.decisions) != n {
		t.Fatalf("want %d decisions, got %d", n, len(a.decisions))
	}
	// In the order the arbiter decided, once one request is answered lock none is allowed.
	seenLock := false
	for _, rec := range final.Recent {
		switch {
		case rec.Decision.Decision == domain.DecisionLock:
			seenLock = true
		case seenLock && rec.Decision.Decision == domain.DecisionAllow:
			t.Fatalf("allowed %s after the lock was recorded", rec.Post)
		}
	}
	for i := n/2 + 1; i < n; i++ {
		if d := a.decision(fmt.Sprintf("r%02d", i)); d != domain.DecisionLock {
			t.Fatalf("request r%02d was sent after the lock signal and got %s", i, d)
		}
	}
	if !seenLock || final.Counters.Allowed+final.Counters.Locked != n {
		t.Fatalf("unexpected counters %+v", final.Counters)
	}
}

func TestArbiterLocksOnAgentTierThreeAndDeniesViolations(t *testing.T) {
	a := newArbiterTest(t)
	banned := arbitrationRequest("p2", "a1", domain.ActionComment)
	banned.Texts = []string{"Click here for free money"}
	var st ArbiterState
	a.at(time.Minute, func() {
		a.arbitrate("banned", banned)
		for i := 0; i < 4; i++ { // the per-post budget is 3 an hour
			a.arbitrate(fmt.Sprintf("budget-%d", i), arbitrationRequest("p3", "a1", domain.ActionComment))
		}
		a.env.SignalWorkflow(SignalAgentHealth, domain.AgentHealth{Agent: "bad", Tier: 3, Confidence: 0.9, At: testStart})
		a.arbitrate("bad-agent", arbitrationRequest("p4", "bad", domain.ActionComment))
		a.arbitrate("other-agent", arbitrationRequest("p5", "a1", domain.ActionComment))
	})
	a.at(time.Minute+time.Second, func() { st = a.state() })
	a.at(2*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})

	if d := a.decisions["banned"]; d.Decision != domain.DecisionDeny || len(d.Reasons) != 2 {
		t.Fatalf("want deny naming both banned terms, got %+v", d)
	}
	if a.decision("budget-2") != domain.DecisionAllow || a.decision("budget-3") != domain.DecisionDeny {
		t.Fatalf("per-post budget: want the 4th change in an hour denied, got %+v", a.decisions)
	}
	if a.decision("bad-agent") != domain.DecisionLock || !st.Lock.Active || st.Lock.Source != "arbiter" {
		t.Fatalf("an agent at tier 3 must lock, and the lock state turn on: %+v", st.Lock)
	}
	if a.decision("other-agent") != domain.DecisionLock {
		t.Fatal("once locked, every agent's request must be answered lock")
	}
}

func TestArbiterRejectsMalformedRequests(t *testing.T) {
	a := newArbiterTest(t)
	bad := arbitrationRequest("p1", "a1", domain.ActionComment)
	bad.Action = "delete"
	a.at(time.Minute, func() { a.arbitrate("bad", bad) })
	a.at(2*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})
	if err := a.rejected["bad"]; err == nil || !contains(err.Error(), "request.action") {
		t.Fatalf("want the validator to reject the request naming request.action, got %v", err)
	}
}

func TestArbiterLockSurvivesContinueAsNew(t *testing.T) {
	a := newArbiterTest(t)
	a.at(time.Minute, func() {
		a.env.SignalWorkflow(SignalLock, domain.LockRequest{Source: "monitor/a1", Reason: "systemic anomaly", Tier: 3, Confidence: 0.8})
	})
	a.at(2*time.Minute, func() {
		a.arbitrate("x1", arbitrationRequest("p1", "a1", domain.ActionComment))
		a.arbitrate("x2", arbitrationRequest("p2", "a1", domain.ActionComment))
	})
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy(), MaxUpdatesPerRun: 2})
	next := continuedArbiterInput(t, a.env.GetWorkflowError())
	if next.Carry == nil || !next.Carry.Lock.Active || next.Carry.Counters.Locked != 2 {
		t.Fatalf("the lock must be carried over, got %+v", next.Carry)
	}
	// A run started on the posts' queue (before the safety queue existed) moves to it.
	var can *workflow.ContinueAsNewError
	if !errors.As(a.env.GetWorkflowError(), &can) || can.TaskQueueName != SafetyTaskQueue {
		t.Fatalf("continued as new on %q, want %q", can.TaskQueueName, SafetyTaskQueue)
	}

	b := newArbiterTest(t)
	b.at(time.Minute, func() { b.arbitrate("y", arbitrationRequest("p3", "a1", domain.ActionComment)) })
	b.at(2*time.Minute, b.env.CancelWorkflow)
	b.env.ExecuteWorkflow(ArbiterWorkflow, next)
	if b.decision("y") != domain.DecisionLock {
		t.Fatal("after continue-as-new the lock must still answer lock")
	}
}

func continuedArbiterInput(t *testing.T, err error) ArbiterInput {
	t.Helper()
	var in ArbiterInput
	decodeContinueAsNew(t, err, &in)
	return in
}

func TestArbiterReleaseForgetsAgentGrades(t *testing.T) {
	a := newArbiterTest(t)
	a.at(time.Minute, func() {
		a.env.SignalWorkflow(SignalAgentHealth, domain.AgentHealth{Agent: "bad", Tier: 3, Confidence: 0.9, At: testStart})
		a.arbitrate("locks", arbitrationRequest("p1", "bad", domain.ActionComment))
	})
	a.at(2*time.Minute, func() {
		a.env.SignalWorkflow(SignalReleaseLock, domain.ReleaseRequest{Operator: "ops", Reason: "agent fixed"})
	})
	// Without new evidence from its monitor, the agent's old tier 3 must not lock again.
	a.at(3*time.Minute, func() { a.arbitrate("after", arbitrationRequest("p2", "bad", domain.ActionComment)) })
	a.at(4*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})
	if a.decision("locks") != domain.DecisionLock || a.decision("after") != domain.DecisionAllow {
		t.Fatalf("want lock before the release and allow after, got %+v", a.decisions)
	}
}

func TestArbiterSetPolicyLowersTheBudget(t *testing.T) {
	a := newArbiterTest(t)
	var before, after ArbiterState
	a.at(time.Minute, func() {
		a.arbitrate("first", arbitrationRequest("p1", "a1", domain.ActionComment))
		before = a.state()
	})
	// A partial policy, as an operator might send it with the temporal CLI: the rest is kept.
	a.at(2*time.Minute, func() { a.env.SignalWorkflow(SignalSetPolicy, map[string]any{"per_post_per_hour": 1}) })
	a.at(2*time.Minute+time.Second, func() { after = a.state() })
	a.at(3*time.Minute, func() {
		a.arbitrate("second", arbitrationRequest("p1", "a1", domain.ActionComment))
		a.arbitrate("other-post", arbitrationRequest("p2", "a1", domain.ActionComment))
	})
	// A whole policy, as SafetyClient.SetPolicy sends it, in the same task as a request: the
	// request is decided under it.
	raised := domain.DefaultSafetyPolicy()
	raised.PerPostPerHour = 5
	a.at(4*time.Minute, func() {
		a.env.SignalWorkflow(SignalSetPolicy, raised.Complete())
		a.arbitrate("raised", arbitrationRequest("p1", "a1", domain.ActionComment))
	})
	var final ArbiterState
	a.at(4*time.Minute+time.Second, func() { final = a.state() })
	a.at(5*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})

	if a.decision("first") != domain.DecisionAllow {
		t.Fatalf("first: %+v", a.decisions["first"])
	}
	if !reflect.DeepEqual(before.Policy, domain.DefaultSafetyPolicy()) || before.Counters.PolicyUpdates != 0 || !before.PolicySetAt.IsZero() {
		t.Fatalf("before the signal the state must show the start policy: %+v", before)
	}
	want := domain.DefaultSafetyPolicy()
	want.PerPostPerHour = 1
	if !reflect.DeepEqual(after.Policy, want) {
		t.Fatalf("policy in force %+v, want %+v", after.Policy, want)
	}
	if after.Counters.PolicyUpdates != 1 || after.PolicySetAt != testStart.Add(2*time.Minute) || after.Counters.RejectedSignals != 0 {
		t.Fatalf("the update must be recorded: %+v", after)
	}
	d := a.decisions["second"]
	if d.Decision != domain.DecisionDeny || len(d.Reasons) != 1 || !contains(d.Reasons[0], "post budget exhausted") || !contains(d.Reasons[0], "(limit 1)") {
		t.Fatalf("second change to p1 within the hour: want deny for the new budget, got %+v", d)
	}
	if a.decision("other-post") != domain.DecisionAllow {
		t.Fatalf("other post: %+v", a.decisions["other-post"])
	}
	if a.decision("raised") != domain.DecisionAllow {
		t.Fatalf("after the budget is raised in the same task, want allow, got %+v", a.decisions["raised"])
	}
	if final.Policy.PerPostPerHour != 5 || final.Counters.PolicyUpdates != 2 || final.PolicySetAt != testStart.Add(4*time.Minute) {
		t.Fatalf("final state %+v", final)
	}
}

func TestArbiterRejectsBadPolicies(t *testing.T) {
	a := newArbiterTest(t)
	lowered := domain.DefaultSafetyPolicy()
	lowered.PerPostPerHour, lowered.BannedTerms = 2, []string{"spam"}
	a.at(time.Minute, func() { a.env.SignalWorkflow(SignalSetPolicy, lowered) })
	bad := []any{
		"not a policy",                                                                 // not an object
		map[string]any{"per_post_per_day": 1},                                          // unknown field
		map[string]any{"per_post_per_hour": 0},                                         // invalid value
		map[string]any{"global_per_hour": "lots"},                                      // wrong type
		map[string]any{"banned_terms": []string{""}},                                   // empty term
		map[string]any{"approval_risk": 6, "critical_risk": 5, "per_post_per_hour": 9}, // invalid as a whole
		nil,                       // no payload
		json.RawMessage(`null`),   // null
		json.RawMessage(`[1, 2]`), // an array
	}
	a.at(2*time.Minute, func() {
		for _, p := range bad {
			a.env.SignalWorkflow(SignalSetPolicy, p)
		}
	})
	var st ArbiterState
	a.at(3*time.Minute, func() {
		for i := range 3 {
			a.arbitrate(fmt.Sprintf("p1-%d", i), arbitrationRequest("p1", "a1", domain.ActionComment))
		}
		st = a.state()
	})
	a.at(4*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})

	if !reflect.DeepEqual(st.Policy, lowered.Complete()) {
		t.Fatalf("bad policies must change nothing: in force %+v, want %+v", st.Policy, lowered.Complete())
	}
	n := len(bad)
	if st.Counters.PolicyUpdates != 1 || st.Counters.RejectedPolicies != n || st.Counters.RejectedSignals != n ||
		len(st.Rejected) != n || st.PolicySetAt != testStart.Add(time.Minute) {
		t.Fatalf("want 1 update and %d rejections recorded: %+v", n, st)
	}
	wantErr := []string{"must be a JSON object", "policy.per_post_per_day: unknown field", "policy.per_post_per_hour: must be at least 1",
		"policy.global_per_hour: must be a whole number", "policy.banned_terms[0]", "policy.approval_risk", "no input",
		"must be a JSON object, got null", "must be a JSON object, got array"}
	for i, r := range st.Rejected {
		if r.What != "set-policy signal (policy kept)" || !contains(r.Error, wantErr[i]) {
			t.Errorf("rejected[%d] = %+v, want an error with %q", i, r, wantErr[i])
		}
	}
	if a.decision("p1-1") != domain.DecisionAllow || a.decision("p1-2") != domain.DecisionDeny {
		t.Fatalf("the policy kept (2 per post an hour) must apply: %+v", a.decisions)
	}
}

func TestArbiterPolicySurvivesContinueAsNew(t *testing.T) {
	a := newArbiterTest(t)
	a.at(time.Minute, func() {
		a.env.SignalWorkflow(SignalSetPolicy, map[string]any{"per_post_per_hour": 1, "banned_terms": []string{"spam"}})
	})
	a.at(2*time.Minute, func() {
		a.arbitrate("x1", arbitrationRequest("p1", "a1", domain.ActionComment))
		a.arbitrate("x2", arbitrationRequest("p1", "a1", domain.ActionComment))
	})
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy(), MaxUpdatesPerRun: 2})
	next := continuedArbiterInput(t, a.env.GetWorkflowError())
	want := domain.DefaultSafetyPolicy()
	want.PerPostPerHour, want.BannedTerms = 1, []string{"spam"}
	if !reflect.DeepEqual(next.Policy, want) {
		t.Fatalf("the policy must be carried over: %+v, want %+v", next.Policy, want)
	}
	if next.Carry == nil || next.Carry.Counters.PolicyUpdates != 1 || next.Carry.PolicySetAt != testStart.Add(time.Minute) {
		t.Fatalf("the policy's record must be carried over: %+v", next.Carry)
	}
	if a.decision("x2") != domain.DecisionDeny {
		t.Fatalf("x2: %+v", a.decisions["x2"])
	}

	b := newArbiterTest(t)
	spam := arbitrationRequest("p2", "a1", domain.ActionComment)
	spam.Texts = []string{"no spam here"}
	var st ArbiterState
	b.at(time.Minute, func() {
		b.arbitrate("spam", spam)
		b.arbitrate("budget", arbitrationRequest("p1", "a1", domain.ActionComment))
		st = b.state()
	})
	b.at(2*time.Minute, b.env.CancelWorkflow)
	b.env.ExecuteWorkflow(ArbiterWorkflow, next)
	if d := b.decisions["spam"]; d.Decision != domain.DecisionDeny || !contains(d.Reasons[0], `banned term "spam"`) {
		t.Fatalf("after continue-as-new the banned terms set must apply: %+v", d)
	}
	if d := b.decisions["budget"]; d.Decision != domain.DecisionDeny || !contains(d.Reasons[0], "(limit 1)") {
		t.Fatalf("after continue-as-new the budget set must apply: %+v", d)
	}
	if !reflect.DeepEqual(st.Policy, want) || st.Counters.PolicyUpdates != 1 || st.Runs != 2 {
		t.Fatalf("state after continue-as-new: %+v", st)
	}
}

// TestArbiterPeoplesActions: a person's request (autonomous: false) passes the lock, is
// counted apart, never fills the autonomous budgets, and is still refused for a banned term;
// a request the automation makes with an operator key is rejected by the validator. A deny
// for want of approval says so.
func TestArbiterPeoplesActions(t *testing.T) {
	a := newArbiterTest(t)
	policy := domain.DefaultSafetyPolicy()
	policy.ApprovalActions = []domain.ActionType{domain.ActionThread}
	person := func(post string, action domain.ActionType, key string) domain.ArbitrationRequest {
		r := arbitrationRequest(post, "a1", action)
		r.Key, r.Autonomous, r.Operator, r.OperatorReason = key, domain.NotAutonomous(), "alice", "a customer asked"
		return r
	}
	var st ArbiterState
	a.at(time.Minute, func() {
		a.arbitrate("needs-approval", arbitrationRequest("p1", "a1", domain.ActionThread))
		for i := 0; i < 4; i++ { // more than the per-post budget of 3
			a.arbitrate(fmt.Sprintf("op-%d", i), person("p2", domain.ActionComment, domain.OperatorKey("p2", domain.ActionComment, fmt.Sprint(i))))
		}
		a.arbitrate("autonomous-after-ops", arbitrationRequest("p2", "a1", domain.ActionComment))
		a.arbitrate("forged", func() domain.ArbitrationRequest {
			r := arbitrationRequest("p2", "a1", domain.ActionComment)
			r.Key = domain.OperatorKey("p2", domain.ActionComment, "x")
			return r
		}())
	})
	a.at(2*time.Minute, func() {
		a.env.SignalWorkflow(SignalLock, domain.LockRequest{Source: "operator", Reason: "review", Tier: 3, Confidence: 1})
	})
	a.at(3*time.Minute, func() {
		a.arbitrate("approved-while-locked", person("p1", domain.ActionThread, domain.IdempotencyKey("p1", domain.ActionThread, domain.Tier3)))
		banned := person("p3", domain.ActionComment, domain.OperatorKey("p3", domain.ActionComment, "b"))
		banned.Texts = []string{"free money for all"}
		a.arbitrate("banned-while-locked", banned)
		a.arbitrate("autonomous-while-locked", arbitrationRequest("p4", "a1", domain.ActionComment))
	})
	a.at(3*time.Minute+time.Second, func() { st = a.state() })
	a.at(4*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: policy})

	if d := a.decisions["needs-approval"]; d.Decision != domain.DecisionDeny || !d.RequiresApproval {
		t.Fatalf("a thread under approval_actions: want deny with requires_approval, got %+v", d)
	}
	for i := 0; i < 4; i++ {
		if d := a.decision(fmt.Sprintf("op-%d", i)); d != domain.DecisionAllow {
			t.Fatalf("operator request %d: %s (operators' actions are outside the budgets)", i, d)
		}
	}
	if a.decision("autonomous-after-ops") != domain.DecisionAllow {
		t.Fatalf("operators' actions must not use the post's autonomous budget: %+v", a.decisions["autonomous-after-ops"])
	}
	if err := a.rejected["forged"]; err == nil || !contains(err.Error(), "request.idempotency_key") {
		t.Fatalf("the automation asking with an operator key must be rejected, got %v", err)
	}
	if d := a.decisions["approved-while-locked"]; d.Decision != domain.DecisionAllow || d.LockActive {
		t.Fatalf("an approved thread passes the lock: %+v", d)
	}
	if d := a.decisions["banned-while-locked"]; d.Decision != domain.DecisionDeny || len(d.Reasons) != 1 {
		t.Fatalf("a banned term refuses a person's action: %+v", d)
	}
	if a.decision("autonomous-while-locked") != domain.DecisionLock {
		t.Fatal("the automation stays locked")
	}
	c := st.Counters
	if c.OperatorAllowed != 5 || c.OperatorDenied != 1 || c.Allowed != 1 || c.Denied != 1 || c.ApprovalRequests != 1 || c.Locked != 1 || len(st.Allowed) != 1 {
		t.Fatalf("counters %+v, %d in the budgets: want 5 operators' allowed, 1 denied, 1 autonomous allowed in the budgets", c, len(st.Allowed))
	}
	last := st.Recent[len(st.Recent)-2]
	if last.Operator != "alice" || last.Autonomous == nil || *last.Autonomous {
		t.Fatalf("recent decisions name the person: %+v", last)
	}
}
