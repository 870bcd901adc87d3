package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// opReq is a non-autonomous request: the automation's comment, approved by alice.
func opReq(f func(*ArbitrationRequest)) ArbitrationRequest {
	return reqWith(func(r *ArbitrationRequest) {
		r.Autonomous, r.Operator, r.OperatorReason = NotAutonomous(), "alice", "reviewed the text"
		if f != nil {
			f(r)
		}
	})
}

func TestArbitrateRequiresApproval(t *testing.T) {
	threads := DefaultSafetyPolicy()
	threads.ApprovalActions = []ActionType{ActionThread}
	thread := reqWith(func(r *ArbitrationRequest) { r.Action, r.Texts = ActionThread, []string{"one", "two"} })
	full := allowedAt("p1", t0.Add(-time.Minute), 3)
	cases := []struct {
		name     string
		p        SafetyPolicy
		v        ArbiterView
		r        ArbitrationRequest
		want     Decision
		approval bool
		reasons  []string
	}{
		{"approval_actions lists the action: approval only", threads, ArbiterView{}, thread, DecisionDeny, true,
			[]string{"approval required: the policy's approval_actions list thread"}},
		{"approval_actions does not list the action", threads, ArbiterView{}, areq(), DecisionAllow, false,
			[]string{"no policy violations detected"}},
		{"risk alone: approval only", DefaultSafetyPolicy(), ArbiterView{AgentTier: map[string]int{"a1": 2}}, thread, DecisionDeny, true,
			[]string{"approval required: risk 5 (thread by an agent at anomaly tier 2)"}},
		{"risk and the list: both reasons, still approval only", threads, ArbiterView{AgentTier: map[string]int{"a1": 2}}, thread, DecisionDeny, true,
			[]string{"approval required: risk 5 (thread by an agent at anomaly tier 2)", "approval required: the policy's approval_actions list thread"}},
		{"a violation too: not approval only", threads, ArbiterView{Allowed: full}, thread, DecisionDeny, false,
			[]string{"post budget exhausted: 3 changes to p1 in the last hour (limit 3)", "approval required: the policy's approval_actions list thread"}},
		{"a banned term too: not approval only", threads, ArbiterView{},
			reqWith(func(r *ArbitrationRequest) { r.Action, r.Texts = ActionThread, []string{"free money"} }), DecisionDeny, false,
			[]string{`text 1 contains the banned term "free money"`, "approval required: the policy's approval_actions list thread"}},
		{"a lock beats approval", threads, ArbiterView{LockActive: true, LockConfidence: 1}, thread, DecisionLock, false,
			[]string{"existing lock state is active"}},
		{"a plain violation is not approval", DefaultSafetyPolicy(), ArbiterView{Allowed: full}, areq(), DecisionDeny, false,
			[]string{"post budget exhausted: 3 changes to p1 in the last hour (limit 3)"}},

		// A person's action: the lock, the approval rules and the budgets do not apply.
		{"approved thread passes the approval rule", threads, ArbiterView{}, opReq(func(r *ArbitrationRequest) { r.Action, r.Texts = ActionThread, []string{"one"} }),
			DecisionAllow, false, []string{"no content violations; thread by operator alice (not autonomous)"}},
		{"a lock does not stop a person's action", DefaultSafetyPolicy(), ArbiterView{LockActive: true, LockConfidence: 1}, opReq(nil),
			DecisionAllow, false, []string{"no content violations; comment by operator alice (not autonomous)"}},
		{"nor an agent at tier 3", DefaultSafetyPolicy(), ArbiterView{AgentTier: map[string]int{"a1": 3}}, opReq(func(r *ArbitrationRequest) { r.Action = ActionThread }),
			DecisionAllow, false, []string{"no content violations; thread by operator alice (not autonomous)"}},
		{"nor exhausted budgets", DefaultSafetyPolicy(), ArbiterView{Allowed: append(full, allowedAt("p2", t0.Add(-time.Minute), 600)...)}, opReq(nil),
			DecisionAllow, false, []string{"no content violations; comment by operator alice (not autonomous)"}},
		{"a banned term refuses a person's action, even while locked", DefaultSafetyPolicy(), ArbiterView{LockActive: true},
			opReq(func(r *ArbitrationRequest) { r.Texts = []string{"Free Money inside"} }), DecisionDeny, false,
			[]string{`text 1 contains the banned term "free money"`}},
		{"so does the length limit", DefaultSafetyPolicy(), ArbiterView{},
			opReq(func(r *ArbitrationRequest) {
				r.Platform, r.Texts = PlatformMastodon, []string{strings.Repeat("x", 480)}
			}), DecisionDeny, false,
			[]string{"text 1 is 480 characters, over the mastodon limit of 479"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Arbitrate(tc.p, tc.v, tc.r, t0)
			if d.Decision != tc.want || d.RequiresApproval != tc.approval || !reflect.DeepEqual(d.Reasons, tc.reasons) {
				t.Fatalf("got %s requires_approval=%v %q\nwant %s requires_approval=%v %q", d.Decision, d.RequiresApproval, d.Reasons, tc.want, tc.approval, tc.reasons)
			}
			if !tc.r.IsAutonomous() && d.LockActive {
				t.Fatal("a person's action must never turn the lock on")
			}
		})
	}
}

func TestValidateArbitrationRequestAutonomy(t *testing.T) {
	opKey := OperatorKey("p1", ActionComment, "r1")
	for name, r := range map[string]ArbitrationRequest{
		"an approved automation key": opReq(nil),
		"an operator key":            opReq(func(r *ArbitrationRequest) { r.Key = opKey }),
		"autonomous: true, spelled":  reqWith(func(r *ArbitrationRequest) { v := true; r.Autonomous = &v }),
	} {
		if err := ValidateArbitrationRequest(r); err != nil {
			t.Errorf("%s rejected: %v", name, err)
		}
	}
	cases := []struct {
		name  string
		r     ArbitrationRequest
		field string
	}{
		{"the automation with an operator key", reqWith(func(r *ArbitrationRequest) { r.Key = opKey }), "request.idempotency_key"},
		{"the automation naming an operator", reqWith(func(r *ArbitrationRequest) { r.Operator = "alice" }), "request.operator"},
		{"a person's action without an operator", opReq(func(r *ArbitrationRequest) { r.Operator = " " }), "request.operator"},
		{"a person's action without a reason", opReq(func(r *ArbitrationRequest) { r.OperatorReason = "" }), "request.reason"},
		{"a person's action with a made-up key", opReq(func(r *ArbitrationRequest) { r.Key = "op_mine" }), "request.idempotency_key"},
		{"a person's action with a sheal_ prefix and no hash", opReq(func(r *ArbitrationRequest) { r.Key = "sheal_x" }), "request.idempotency_key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantFieldErr(t, ValidateArbitrationRequest(tc.r), tc.field) })
	}
}

func TestOperatorKey(t *testing.T) {
	k := OperatorKey("p1", ActionComment, "r1")
	if !IsOperatorKey(k) || IsAutomationKey(k) || !strings.HasPrefix(k, "op_") || len(k) != len("op_")+32 {
		t.Fatalf("operator key %q has the wrong shape", k)
	}
	if k != OperatorKey("p1", ActionComment, "r1") {
		t.Fatal("the same request must get the same key")
	}
	for _, other := range []string{OperatorKey("p2", ActionComment, "r1"), OperatorKey("p1", ActionEdit, "r1"), OperatorKey("p1", ActionComment, "r2")} {
		if other == k {
			t.Fatalf("a different post, action or request ID gets the same key %s", k)
		}
	}
	// Never one of the automation's keys, whatever the request ID.
	for _, id := range []string{"tier_1", "p1:comment:tier_1", ""} {
		for _, tier := range []Tier{Tier1, Tier2, Tier3} {
			if OperatorKey("p1", ActionComment, id) == IdempotencyKey("p1", ActionComment, tier) {
				t.Fatalf("operator key collides with the automation's for %q", id)
			}
		}
	}
	if !IsAutomationKey(keyP1Comment1) || IsOperatorKey(keyP1Comment1) || IsAutomationKey("sheal_878D89C30E92E1293270D561BFD03EC1") {
		t.Fatal("IsAutomationKey/IsOperatorKey misclassify")
	}
}

func TestTierOfAction(t *testing.T) {
	for a, want := range map[ActionType]Tier{ActionComment: Tier1, ActionEdit: Tier2, ActionThread: Tier3} {
		if got, ok := TierOfAction(PlatformSim, a); !ok || got != want {
			t.Errorf("%s: %s %v, want %s", a, got, ok, want)
		}
	}
	if _, ok := TierOfAction(PlatformSim, "like"); ok {
		t.Error("an unknown action has a tier")
	}
	// The platform's actions: Bluesky quotes at tier 2 and cannot edit; sim cannot quote.
	if got, ok := TierOfAction(PlatformBluesky, ActionQuote); !ok || got != Tier2 {
		t.Errorf("quote on bluesky: %s %v, want tier_2", got, ok)
	}
	if _, ok := TierOfAction(PlatformBluesky, ActionEdit); ok {
		t.Error("bluesky has an edit tier")
	}
	if _, ok := TierOfAction(PlatformSim, ActionQuote); ok {
		t.Error("sim has a quote tier")
	}
}

func TestApprovalAnswerValidate(t *testing.T) {
	ok := ApprovalAnswer{Operator: "alice", Reason: "looks right"}
	if err := ok.Validate("approve"); err != nil {
		t.Fatal(err)
	}
	ok.Key = keyP1Thread3
	if err := ok.Validate("approve"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		a     ApprovalAnswer
		field string
	}{
		{ApprovalAnswer{Reason: "r"}, "reject.operator"},
		{ApprovalAnswer{Operator: " \t", Reason: "r"}, "reject.operator"},
		{ApprovalAnswer{Operator: "alice"}, "reject.reason"},
		{ApprovalAnswer{Operator: "al\nice", Reason: "r"}, "reject.operator"},
		{ApprovalAnswer{Operator: strings.Repeat("a", MaxOperatorLen+1), Reason: "r"}, "reject.operator"},
		{ApprovalAnswer{Operator: "alice", Reason: strings.Repeat("r", MaxReasonLen+1)}, "reject.reason"},
		{ApprovalAnswer{Operator: "alice", Reason: "bad \xff"}, "reject.reason"},
		{ApprovalAnswer{Operator: "alice", Reason: "r", Key: "sheal_nothex"}, "reject.idempotency_key"},
		{ApprovalAnswer{Operator: "alice", Reason: "r", Key: OperatorKey("p1", ActionComment, "r1")}, "reject.idempotency_key"},
	}
	for _, tc := range cases {
		wantFieldErr(t, tc.a.Validate("reject"), tc.field)
	}
}

func TestOperatorRequestValidate(t *testing.T) {
	p := Post{ID: "p1", Platform: PlatformSim, Agent: "a1", CommentText: "c", EditText: "e", ThreadTexts: []string{"t1", "t2"}}
	base := OperatorRequest{Operator: "alice", Reason: "answering a customer", Action: ActionComment, RequestID: "20261125-ab12"}
	with := func(f func(*OperatorRequest)) OperatorRequest {
		r := base
		f(&r)
		return r
	}
	for name, r := range map[string]OperatorRequest{
		"the post's own text":   base,
		"its own text":          with(func(r *OperatorRequest) { r.Texts = []string{"Thanks, fixed!"} }),
		"a thread of its own":   with(func(r *OperatorRequest) { r.Action, r.Texts = ActionThread, []string{"1/3", "2/3", "3/3"} }),
		"an edit, default text": with(func(r *OperatorRequest) { r.Action = ActionEdit }),
	} {
		if err := r.Validate(p); err != nil {
			t.Errorf("%s rejected: %v", name, err)
		}
	}
	if base.Key(p) != OperatorKey("p1", ActionComment, "20261125-ab12") {
		t.Fatal("Key is not the request's operator key")
	}
	cases := []struct {
		name  string
		r     OperatorRequest
		field string
	}{
		{"no operator", with(func(r *OperatorRequest) { r.Operator = "" }), "act.operator"},
		{"no reason", with(func(r *OperatorRequest) { r.Reason = "  " }), "act.reason"},
		{"no request ID", with(func(r *OperatorRequest) { r.RequestID = "" }), "act.request_id"},
		{"a request ID with a space", with(func(r *OperatorRequest) { r.RequestID = "a b" }), "act.request_id"},
		{"a long request ID", with(func(r *OperatorRequest) { r.RequestID = strings.Repeat("r", MaxRequestIDLen+1) }), "act.request_id"},
		{"an unknown action", with(func(r *OperatorRequest) { r.Action = "like" }), "act.action"},
		{"no action", with(func(r *OperatorRequest) { r.Action = "" }), "act.action"},
		{"two texts for a comment", with(func(r *OperatorRequest) { r.Texts = []string{"a", "b"} }), "act.texts"},
		{"too many thread parts", with(func(r *OperatorRequest) { r.Action, r.Texts = ActionThread, make([]string, MaxThreadParts+1) }), "act.texts"},
		{"a blank text", with(func(r *OperatorRequest) { r.Texts = []string{" "} }), "act.texts[0]"},
		{"a blank thread part", with(func(r *OperatorRequest) { r.Action, r.Texts = ActionThread, []string{"one", ""} }), "act.texts[1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantFieldErr(t, tc.r.Validate(p), tc.field) })
	}
}

func TestApprovalActionsValidate(t *testing.T) {
	for _, tc := range []struct {
		actions []ActionType
		field   string
	}{
		{[]ActionType{"like"}, "policy.approval_actions[0]"},
		{[]ActionType{ActionThread, ""}, "policy.approval_actions[1]"},
		{[]ActionType{ActionThread, ActionEdit, ActionThread}, "policy.approval_actions[2]"},
	} {
		p := DefaultSafetyPolicy()
		p.ApprovalActions = tc.actions
		wantFieldErr(t, p.Validate(), tc.field)
	}
	p := DefaultSafetyPolicy()
	p.ApprovalActions = ActionTypes
	if err := p.Validate(); err != nil || !p.NeedsApproval(ActionEdit) || DefaultSafetyPolicy().NeedsApproval(ActionThread) {
		t.Fatalf("every action listed: %v", err)
	}
}

// TestPlannerAndPeople: what people decided keeps the planner from proposing a key again
// (awaiting approval, rejected), lets it propose it again (expired), and never counts toward
// the cap or a cooldown unless it reached the platform.
func TestPlannerAndPeople(t *testing.T) {
	cfg := DefaultConfig()
	samples := stagnant(t0) // tier 3, thread: keyP1Thread3
	for _, tc := range []struct {
		status    ActionStatus
		duplicate bool
	}{
		{StatusAwaitingApproval, true},
		{StatusRejected, true},
		{StatusExpired, false},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			log := []ActionRecord{rec("p1", ActionThread, Tier3, tc.status, t0.Add(-time.Minute))}
			plan := PlanAction("p1", log, samples, cfg, t0)
			if got := plan.Reason == ReasonDuplicateAction; got != tc.duplicate {
				t.Fatalf("plan %+v: duplicate = %v, want %v", plan, got, tc.duplicate)
			}
			if !tc.duplicate && !plan.Eligible {
				t.Fatalf("an expired record must not block the plan (no cooldown, no cap): %+v", plan)
			}
			if _, ok := CooldownEnd("p1", log, ActionThread, cfg); ok {
				t.Fatal("a record that never reached the platform starts a cooldown")
			}
		})
	}
	// Two rejected records of other keys do not fill the cap of 2.
	log := []ActionRecord{
		rec("p1", ActionComment, Tier1, StatusRejected, t0.Add(-time.Minute)),
		rec("p1", ActionEdit, Tier2, StatusExpired, t0.Add(-time.Minute)),
	}
	if plan := PlanAction("p1", log, samples, cfg, t0); !plan.Eligible {
		t.Fatalf("rejected and expired records count toward the cap: %+v", plan)
	}
	// An operator's successful comment did reach the platform: it starts the comment cooldown.
	op := ActionRecord{Key: OperatorKey("p1", ActionComment, "r1"), PostID: "p1", Action: ActionComment, Tier: Tier1,
		InitiatedAt: t0.Add(-time.Minute), Status: StatusSuccess, Autonomous: NotAutonomous(), Operator: "alice", Reason: "r"}
	if until, ok := CooldownEnd("p1", []ActionRecord{op}, ActionComment, cfg); !ok || !until.Equal(op.InitiatedAt.Add(cfg.CommentCooldown)) {
		t.Fatalf("an operator's comment must start the comment cooldown, got %v %v", until, ok)
	}
	if op.IsAutonomous() || !rec("p1", ActionComment, Tier1, StatusSuccess, t0).IsAutonomous() {
		t.Fatal("IsAutonomous misreads the record")
	}
	if err := ValidateRecord(0, op); err != nil {
		t.Fatalf("an operator's record is refused: %v", err)
	}
}
