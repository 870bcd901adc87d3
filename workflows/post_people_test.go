package workflows

import (
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"resurge/domain"
)

// fakeArbiter answers the fake safety gateway's arbitrations with the real rules
// (domain.Arbitrate), over a policy and a view that a test changes from its callbacks.
type fakeArbiter struct {
	mu     sync.Mutex
	policy domain.SafetyPolicy
	view   domain.ArbiterView
}

func (p *postTest) useArbiter(policy domain.SafetyPolicy) *fakeArbiter {
	a := &fakeArbiter{policy: policy}
	p.safety.decide = func(req domain.ArbitrationRequest) domain.ArbitrationDecision {
		a.mu.Lock()
		defer a.mu.Unlock()
		return domain.Arbitrate(a.policy, a.view, req, req.At)
	}
	return a
}

func (a *fakeArbiter) change(f func(p *domain.SafetyPolicy, v *domain.ArbiterView)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.policy, &a.view)
}

// threadsNeedApproval is the default policy with every thread needing approval.
func threadsNeedApproval() domain.SafetyPolicy {
	p := domain.DefaultSafetyPolicy()
	p.ApprovalActions = []domain.ActionType{domain.ActionThread}
	return p
}

func (p *postTest) at(d time.Duration, f func()) { p.env.RegisterDelayedCallback(f, d) }

func (p *postTest) signalAt(d time.Duration, name string, payload any) {
	p.at(d, func() { p.env.SignalWorkflow(name, payload) })
}

// statusAt answers the status query d after the start, into the returned value.
func (p *postTest) statusAt(d time.Duration) *PostStatus {
	st := &PostStatus{}
	p.at(d, func() {
		v, err := p.env.QueryWorkflow(QueryStatus)
		if err == nil {
			err = v.Get(st)
		}
		if err != nil {
			p.t.Errorf("status at %s: %v", d, err)
		}
	})
	return st
}

func answer(operator, reason, key string) domain.ApprovalAnswer {
	return domain.ApprovalAnswer{Operator: operator, Reason: reason, Key: key}
}

var (
	threadKey  = domain.IdempotencyKey("p1", domain.ActionThread, domain.Tier3)
	commentKey = domain.IdempotencyKey("p1", domain.ActionComment, domain.Tier1)
)

// recordOf is the record with key in st's log (a zero record when there is none).
func recordOf(log []domain.ActionRecord, key string) domain.ActionRecord {
	for _, r := range log {
		if r.Key == key {
			return r
		}
	}
	return domain.ActionRecord{}
}

// The stalling post plans a thread at 20 minutes (its third sample); with threads needing
// approval, it awaits approval from then on.

func TestApprovalApprovedActsOnceAsAPersonsAction(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.useArbiter(threadsNeedApproval())
	waiting := p.statusAt(35 * time.Minute)
	p.signalAt(40*time.Minute, SignalApprove, answer("alice", "checked the thread", threadKey))
	after := p.statusAt(50 * time.Minute)
	p.stopAfter(3 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	if waiting.State != StateAwaitingApproval || waiting.PendingApproval == nil {
		t.Fatalf("at 35m the post must await approval, got state %s pending %+v", waiting.State, waiting.PendingApproval)
	}
	pa := waiting.PendingApproval
	since := testStart.Add(20 * time.Minute)
	if pa.Key != threadKey || pa.Action != domain.ActionThread || pa.Tier != domain.Tier3 || !pa.Since.Equal(since) ||
		!pa.Until.Equal(since.Add(domain.DefaultApprovalTimeout)) || len(pa.Texts) != 2 || pa.Texts[0] != "1/2 more" ||
		!strings.Contains(pa.ApproveCommand, "starter approve p1 --key "+threadKey) || !strings.Contains(pa.RejectCommand, "starter reject p1") ||
		len(pa.Reasons) != 1 || !strings.Contains(pa.Reasons[0], "approval_actions") {
		t.Fatalf("pending approval incomplete: %+v", pa)
	}
	if r := recordOf(waiting.Log, threadKey); r.Status != domain.StatusAwaitingApproval || r.Attempts != 0 {
		t.Fatalf("the record must await approval, got %+v", r)
	}
	alerts := p.alerts.Recent()
	if len(alerts) != 1 || alerts[0].Type != domain.AlertApprovalRequested || alerts[0].Severity != domain.SeverityInfo ||
		alerts[0].Agent != "a1" || alerts[0].Approval == nil || alerts[0].Approval.PostID != "p1" || alerts[0].Approval.ApproveCommand != pa.ApproveCommand {
		t.Fatalf("want one approval_requested alert with the post, texts and commands, got %+v", alerts)
	}

	calls := p.fake.actionCalls()
	if len(calls) != 1 || calls[0].Key != threadKey || !calls[0].At.Equal(testStart.Add(40*time.Minute)) {
		t.Fatalf("want the thread exactly once, when approved at 40m, got %+v", calls)
	}
	reqs, outcomes, impacts := p.safety.snapshot()
	// Asked once at 20m (approval needed); nothing proposed while waiting; asked again as a
	// person's action when approved; then the key is a duplicate.
	if len(reqs) != 2 || !reqs[0].IsAutonomous() || reqs[1].IsAutonomous() || reqs[1].Operator != "alice" ||
		reqs[1].OperatorReason != "checked the thread" || reqs[1].Key != threadKey {
		t.Fatalf("want an autonomous request then alice's, got %+v", reqs)
	}
	r := recordOf(sum.Actions, threadKey)
	if r.Status != domain.StatusSuccess || r.IsAutonomous() || r.Operator != "alice" || r.Reason != "checked the thread" || r.Attempts != 1 {
		t.Fatalf("the record must be alice's approved success, got %+v", r)
	}
	if len(outcomes) != 1 || outcomes[0].IsAutonomous() || len(impacts) != 0 {
		t.Fatalf("the outcome goes to the monitor marked as a person's, with no impact measured: %+v / %+v", outcomes, impacts)
	}
	if after.State != StateWatching || after.PendingApproval != nil {
		t.Fatalf("after the approval the post watches again, got %s %+v", after.State, after.PendingApproval)
	}
}

func TestApprovalRejectedIsNeverProposedAgain(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.useArbiter(threadsNeedApproval())
	p.signalAt(40*time.Minute, SignalReject, answer("bob", "off-brand", ""))
	after := p.statusAt(2 * time.Hour)
	p.stopAfter(5 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	r := recordOf(sum.Actions, threadKey)
	if r.Status != domain.StatusRejected || r.Operator != "bob" || r.Reason != "off-brand" || r.IsAutonomous() ||
		!r.FinishedAt.Equal(testStart.Add(40*time.Minute)) {
		t.Fatalf("want the record rejected by bob, got %+v", r)
	}
	if calls := p.fake.actionCalls(); len(calls) != 0 {
		t.Fatalf("a rejected action reached the platform: %+v", calls)
	}
	if reqs, _, _ := p.safety.snapshot(); len(reqs) != 1 {
		t.Fatalf("a rejected key must not be proposed again, got %d arbitrations", len(reqs))
	}
	if after.State != StateWatching || after.LastPlan == nil || after.LastPlan.Reason != domain.ReasonDuplicateAction ||
		len(after.Cooldowns) != 0 || after.PendingApproval != nil {
		t.Fatalf("after a rejection: state %s plan %+v cooldowns %+v (a rejection starts no cooldown)", after.State, after.LastPlan, after.Cooldowns)
	}
}

func TestApprovalExpires(t *testing.T) {
	cfg := domain.DefaultConfig()
	cfg.ApprovalTimeout = time.Hour
	since := testStart.Add(20 * time.Minute)

	t.Run("then the post plans normally again", func(t *testing.T) {
		p := newPostTest(t, testStart, stalling(testStart), nil)
		arb := p.useArbiter(threadsNeedApproval())
		before := p.statusAt(79 * time.Minute)
		// Once expired, the same key is asked again: with the policy changed meanwhile, it acts.
		p.at(75*time.Minute, func() {
			arb.change(func(pol *domain.SafetyPolicy, _ *domain.ArbiterView) { pol.ApprovalActions = nil })
		})
		p.stopAfter(2 * time.Hour)
		sum := p.run(PostInput{Post: testPost(), Config: cfg})
		if before.PendingApproval == nil || !before.PendingApproval.Until.Equal(since.Add(time.Hour)) {
			t.Fatalf("want the approval pending until 80m, got %+v", before.PendingApproval)
		}
		calls := p.fake.actionCalls()
		if len(calls) != 1 || !calls[0].At.Equal(since.Add(time.Hour)) {
			t.Fatalf("want the thread when the approval expired (80m), got %+v", calls)
		}
		if r := recordOf(sum.Actions, threadKey); r.Status != domain.StatusSuccess || !r.IsAutonomous() {
			t.Fatalf("want the expired key to act autonomously afterwards, got %+v", r)
		}
	})

	t.Run("asks again, with a new request", func(t *testing.T) {
		p := newPostTest(t, testStart, stalling(testStart), nil)
		p.useArbiter(threadsNeedApproval())
		expired := p.statusAt(79*time.Minute + 59*time.Second)
		again := p.statusAt(85 * time.Minute)
		p.stopAfter(2 * time.Hour)
		p.run(PostInput{Post: testPost(), Config: cfg})
		if r := recordOf(expired.Log, threadKey); r.Status != domain.StatusAwaitingApproval {
			t.Fatalf("just before 80m still awaiting, got %+v", r)
		}
		if again.PendingApproval == nil || !again.PendingApproval.Since.Equal(since.Add(time.Hour)) {
			t.Fatalf("after expiry the post asks again from 80m, got %+v", again.PendingApproval)
		}
		if n := len(p.alerts.Recent()); n != 2 {
			t.Fatalf("want 2 approval requests (the first, and the one after it expired), got %d", n)
		}
		if calls := p.fake.actionCalls(); len(calls) != 0 {
			t.Fatalf("nothing approved, nothing acts: %+v", calls)
		}
	})

	t.Run("never past the horizon", func(t *testing.T) {
		p := newPostTest(t, testStart, stalling(testStart), nil)
		p.useArbiter(threadsNeedApproval())
		short := domain.DefaultConfig()
		short.Horizon = time.Hour
		waiting := p.statusAt(30 * time.Minute)
		sum := p.run(PostInput{Post: testPost(), Config: short})
		if waiting.PendingApproval == nil || !waiting.PendingApproval.Until.Equal(testStart.Add(time.Hour)) {
			t.Fatalf("the approval must expire at the horizon, got %+v", waiting.PendingApproval)
		}
		r := recordOf(sum.Actions, threadKey)
		if sum.EndReason != EndHorizon || r.Status != domain.StatusExpired || !strings.Contains(strings.Join(r.Reasons, "; "), "stopped watching (horizon)") {
			t.Fatalf("at the horizon the pending approval expires: %s %+v", sum.EndReason, r)
		}
	})
}

func TestApprovalWhileLockedActs(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	arb := p.useArbiter(threadsNeedApproval())
	p.at(30*time.Minute, func() {
		arb.change(func(_ *domain.SafetyPolicy, v *domain.ArbiterView) { v.LockActive, v.LockConfidence = true, 1 })
	})
	p.signalAt(40*time.Minute, SignalApprove, answer("alice", "the lock is about another agent", ""))
	p.stopAfter(2 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if calls := p.fake.actionCalls(); len(calls) != 1 || calls[0].Key != threadKey {
		t.Fatalf("an approved action passes the lock: want the thread once, got %+v", calls)
	}
	reqs, _, _ := p.safety.snapshot()
	if r := recordOf(sum.Actions, threadKey); r.Status != domain.StatusSuccess || r.Operator != "alice" || len(reqs) != 2 {
		t.Fatalf("want alice's thread to succeed after 2 arbitrations, got %+v (%d)", r, len(reqs))
	}
}

func TestApprovalRefusedByABannedTerm(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	arb := p.useArbiter(threadsNeedApproval())
	// The policy changes while the thread waits: its second part is now banned.
	p.at(30*time.Minute, func() {
		arb.change(func(pol *domain.SafetyPolicy, _ *domain.ArbiterView) {
			pol.BannedTerms = append(pol.BannedTerms, "2/2 END")
		})
	})
	p.signalAt(40*time.Minute, SignalApprove, answer("alice", "looks fine", threadKey))
	refused := p.statusAt(45 * time.Minute)
	p.stopAfter(time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if calls := p.fake.actionCalls(); len(calls) != 0 {
		t.Fatalf("a banned term must refuse even an approved action, got %+v", calls)
	}
	r := recordOf(refused.Log, threadKey)
	if r.Status != domain.StatusBlocked || r.Operator != "alice" || !strings.Contains(strings.Join(r.Reasons, "; "), `banned term "2/2 END"`) {
		t.Fatalf("want the approved thread blocked for the banned term, got %+v", r)
	}
	if refused.PendingApproval != nil || refused.State != StateWatching {
		t.Fatalf("the approval was used: %s %+v", refused.State, refused.PendingApproval)
	}
	// Asked again on its own, the thread has a violation now: blocked, not awaiting approval.
	if r := recordOf(sum.Actions, threadKey); r.Status != domain.StatusBlocked || r.Operator != "" {
		t.Fatalf("want the automation's later request blocked, got %+v", r)
	}
	if n := len(p.alerts.Recent()); n != 1 {
		t.Fatalf("want one approval request only, got %d", n)
	}
}

func TestApprovalTwiceActsOnce(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.useArbiter(threadsNeedApproval())
	p.at(40*time.Minute, func() {
		p.env.SignalWorkflow(SignalApprove, answer("alice", "go", ""))
		p.env.SignalWorkflow(SignalApprove, answer("bob", "go too", threadKey))
	})
	p.signalAt(60*time.Minute, SignalApprove, answer("carol", "late", threadKey))
	p.stopAfter(2 * time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if calls := p.fake.actionCalls(); len(calls) != 1 {
		t.Fatalf("two approvals (and a late third) must act once, got %+v", calls)
	}
	if r := recordOf(sum.Actions, threadKey); r.Operator != "alice" || r.Status != domain.StatusSuccess {
		t.Fatalf("the first approval acts, got %+v", r)
	}
	if reqs, _, _ := p.safety.snapshot(); len(reqs) != 2 {
		t.Fatalf("want 2 arbitrations, got %d", len(reqs))
	}
	if sum.Rejected != 2 {
		t.Fatalf("the stale approvals are recorded as rejected input, got %d", sum.Rejected)
	}
}

func TestApprovalNamingAnotherKeyIsRefused(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.useArbiter(threadsNeedApproval())
	p.signalAt(40*time.Minute, SignalApprove, answer("alice", "approve the comment", commentKey))
	refused := p.statusAt(45 * time.Minute)
	p.signalAt(50*time.Minute, SignalApprove, answer("alice", "the thread, then", ""))
	p.stopAfter(2 * time.Hour)
	p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if refused.PendingApproval == nil || refused.RejectedCount != 1 || !strings.Contains(refused.Rejected[0].Error, "approve.idempotency_key") ||
		refused.Rejected[0].What != "approve signal" {
		t.Fatalf("an answer for another key is refused and the approval still waits: %+v %+v", refused.PendingApproval, refused.Rejected)
	}
	calls := p.fake.actionCalls()
	if len(calls) != 1 || !calls[0].At.Equal(testStart.Add(50*time.Minute)) {
		t.Fatalf("want the thread once, at the second approval (50m), got %+v", calls)
	}
}

func TestApprovalSurvivesContinueAsNew(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.useArbiter(threadsNeedApproval())
	// Cycles at 0, 10, 20 (awaits approval) and 30 minutes, then the run continues as new.
	p.env.ExecuteWorkflow(PostWorkflow, PostInput{Post: testPost(), Config: domain.DefaultConfig(), MaxCyclesPerRun: 4})
	next := continuedInput(t, p.env.GetWorkflowError())
	if next.Carry == nil || next.Carry.Pending == nil || next.Carry.Pending.Key != threadKey ||
		recordOf(next.Carry.Log, threadKey).Status != domain.StatusAwaitingApproval {
		t.Fatalf("the pending approval must be carried over, got %+v", next.Carry)
	}
	next.MaxCyclesPerRun = 0
	q := newPostTest(t, p.env.Now(), nil, p.fake)
	q.useArbiter(threadsNeedApproval())
	waiting := q.statusAt(time.Minute)
	q.signalAt(5*time.Minute, SignalApprove, answer("alice", "after the hand-over", threadKey))
	q.stopAfter(time.Hour)
	sum := q.run(next)
	if waiting.State != StateAwaitingApproval || waiting.PendingApproval == nil {
		t.Fatalf("the next run shows the approval waiting, got %s %+v", waiting.State, waiting.PendingApproval)
	}
	if calls := q.fake.actionCalls(); len(calls) != 1 || calls[0].Key != threadKey {
		t.Fatalf("approved in the next run, the thread acts once: %+v", calls)
	}
	if r := recordOf(sum.Actions, threadKey); r.Status != domain.StatusSuccess || r.Operator != "alice" || sum.Runs != 2 {
		t.Fatalf("want alice's success in run 2, got %+v (runs %d)", r, sum.Runs)
	}
	if n := len(q.alerts.Recent()); n != 0 {
		t.Fatalf("the approval was asked for once, in the first run; the next one asked again %d times", n)
	}
}

func operatorRequest(action domain.ActionType, requestID string, texts ...string) domain.OperatorRequest {
	return domain.OperatorRequest{Operator: "alice", Reason: "answering a customer", Action: action, RequestID: requestID, Texts: texts}
}

func TestOperatorActionWhileLocked(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	arb := p.useArbiter(domain.DefaultSafetyPolicy())
	arb.change(func(_ *domain.SafetyPolicy, v *domain.ArbiterView) { v.LockActive, v.LockConfidence = true, 1 })
	p.signalAt(25*time.Minute, SignalAct, operatorRequest(domain.ActionComment, "r-1", "Thanks for the questions, answers below!"))
	p.stopAfter(time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})

	opKey := domain.OperatorKey("p1", domain.ActionComment, "r-1")
	calls := p.fake.actionCalls()
	if len(calls) != 1 || calls[0].Key != opKey || calls[0].Action != domain.ActionComment || !calls[0].At.Equal(testStart.Add(25*time.Minute)) {
		t.Fatalf("an operator's comment passes the lock: want it once at 25m with its own key, got %+v", calls)
	}
	r := recordOf(sum.Actions, opKey)
	if r.Status != domain.StatusSuccess || r.IsAutonomous() || r.Operator != "alice" || r.Reason != "answering a customer" ||
		r.RequestID != "r-1" || r.Tier != domain.Tier1 {
		t.Fatalf("the operator's record: %+v", r)
	}
	if th := recordOf(sum.Actions, threadKey); th.Status != domain.StatusBlocked {
		t.Fatalf("the automation's own thread stays locked out: %+v", th)
	}
	reqs, outcomes, _ := p.safety.snapshot()
	var opReq *domain.ArbitrationRequest
	for i := range reqs {
		if reqs[i].Key == opKey {
			opReq = &reqs[i]
		}
	}
	if opReq == nil || opReq.IsAutonomous() || opReq.Operator != "alice" || len(opReq.Texts) != 1 || opReq.Texts[0] != "Thanks for the questions, answers below!" {
		t.Fatalf("the operator's request must be arbitrated as a person's, with its text: %+v", opReq)
	}
	if len(outcomes) != 1 || outcomes[0].Key != opKey || outcomes[0].IsAutonomous() {
		t.Fatalf("the outcome goes to the monitor marked as a person's: %+v", outcomes)
	}
}

func TestOperatorActionSentTwiceActsOnce(t *testing.T) {
	p := newPostTest(t, testStart, healthy(testStart), nil)
	p.useArbiter(domain.DefaultSafetyPolicy())
	p.signalAt(5*time.Minute, SignalAct, operatorRequest(domain.ActionEdit, "r-1"))
	p.signalAt(6*time.Minute, SignalAct, operatorRequest(domain.ActionEdit, "r-1"))
	p.at(7*time.Minute, func() {
		p.env.SignalWorkflow(SignalAct, operatorRequest(domain.ActionEdit, "r-1", "another text, same request"))
		p.env.SignalWorkflow(SignalAct, operatorRequest(domain.ActionEdit, "r-2"))
	})
	p.stopAfter(9 * time.Minute)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	var keys []string
	for _, c := range p.fake.actionCalls() {
		keys = append(keys, c.Key)
	}
	want := []string{domain.OperatorKey("p1", domain.ActionEdit, "r-1"), domain.OperatorKey("p1", domain.ActionEdit, "r-2")}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Fatalf("request r-1 sent three times acts once, r-2 once: got %v, want %v", keys, want)
	}
	reqs, _, _ := p.safety.snapshot()
	if len(reqs) != 2 || reqs[0].Texts[0] != testPost().EditText {
		t.Fatalf("want 2 arbitrations, the first with the post's own edit text: %+v", reqs)
	}
	if sum.Rejected != 0 {
		t.Fatalf("a request sent again is no error: %d rejected", sum.Rejected)
	}
}

func TestMalformedPeopleSignalsAreRecordedAndChangeNothing(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.useArbiter(threadsNeedApproval())
	bad := []struct {
		signal  string
		payload any
		want    string
	}{
		{SignalApprove, map[string]string{"reason": "no operator"}, "approve.operator"},
		{SignalApprove, "yes", "approve: the payload must be a JSON object"},
		{SignalApprove, map[string]string{"operator": "a", "reason": "r", "key": threadKey}, "approve.key: unknown field"},
		{SignalReject, map[string]string{"operator": "a"}, "reject.reason"},
		{SignalReject, map[string]any{"operator": 7, "reason": "r"}, "reject.operator: must be a string"},
		{SignalAct, map[string]string{"operator": "a", "reason": "r", "action": "like", "request_id": "x"}, "act.action"},
		{SignalAct, map[string]string{"operator": "a", "reason": "r", "action": "comment"}, "act.request_id"},
		{SignalAct, map[string]any{"operator": "a", "reason": "r", "action": "comment", "request_id": "x", "texts": []string{"a", "b"}}, "act.texts"},
		{SignalAct, nil, "act: the payload must be a JSON object"},
	}
	p.at(30*time.Minute, func() {
		for _, b := range bad {
			p.env.SignalWorkflow(b.signal, b.payload)
		}
	})
	st := p.statusAt(35 * time.Minute)
	p.stopAfter(time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if calls := p.fake.actionCalls(); len(calls) != 0 {
		t.Fatalf("malformed signals must change nothing, got %+v", calls)
	}
	if st.PendingApproval == nil || st.State != StateAwaitingApproval || st.RejectedCount != len(bad) {
		t.Fatalf("want the approval still pending and %d rejected inputs, got %s %d %+v", len(bad), st.State, st.RejectedCount, st.Rejected)
	}
	for _, b := range bad {
		found := false
		for _, r := range st.Rejected {
			found = found || (r.What == b.signal+" signal" && strings.Contains(r.Error, b.want))
		}
		if !found {
			t.Errorf("no rejected %s signal saying %q in %+v", b.signal, b.want, st.Rejected)
		}
	}
	if r := recordOf(sum.Actions, threadKey); r.Status != domain.StatusExpired {
		t.Fatalf("stopped while awaiting, the record expires: %+v", r)
	}
}

// TestRunsBeforeApprovalsKeepTheOldBehaviour: a run whose history predates people in the loop
// (GetVersion answers the default version) blocks an action that needs approval, as it always
// did, and records people's signals as rejected instead of acting on them.
func TestRunsBeforeApprovalsKeepTheOldBehaviour(t *testing.T) {
	p := newPostTest(t, testStart, stalling(testStart), nil)
	p.env.OnGetVersion(changeHumanInTheLoop, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	p.useArbiter(threadsNeedApproval())
	p.signalAt(25*time.Minute, SignalApprove, answer("alice", "go", ""))
	p.signalAt(26*time.Minute, SignalAct, operatorRequest(domain.ActionComment, "r-1"))
	p.stopAfter(time.Hour)
	sum := p.run(PostInput{Post: testPost(), Config: domain.DefaultConfig()})
	if r := recordOf(sum.Actions, threadKey); r.Status != domain.StatusBlocked {
		t.Fatalf("want the thread blocked as before, got %+v", r)
	}
	if calls := p.fake.actionCalls(); len(calls) != 0 || sum.Rejected != 2 || len(p.alerts.Recent()) != 0 {
		t.Fatalf("nothing acts, both signals are recorded: calls %+v, rejected %d", calls, sum.Rejected)
	}
}
