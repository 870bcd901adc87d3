package domain

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// areq is a valid request: a comment on p1 by a1 on the simulated platform.
func areq() ArbitrationRequest {
	return ArbitrationRequest{PostID: "p1", Agent: "a1", Platform: PlatformSim, Action: ActionComment, Tier: Tier1,
		Key: keyP1Comment1, Texts: []string{"Worth a second look"}, Score: 0.8, At: t0}
}

func reqWith(f func(*ArbitrationRequest)) ArbitrationRequest {
	r := areq()
	f(&r)
	return r
}

// allowedAt returns n allowed changes to post at time at.
func allowedAt(post string, at time.Time, n int) []AllowedChange {
	out := make([]AllowedChange, n)
	for i := range out {
		out[i] = AllowedChange{PostID: post, At: at}
	}
	return out
}

func TestActionRisk(t *testing.T) {
	for a, want := range map[ActionType]int{ActionComment: 1, ActionEdit: 2, ActionQuote: 2, ActionThread: 3, "unknown": 3} {
		if got := ActionRisk(a); got != want {
			t.Errorf("ActionRisk(%q) = %d, want %d", a, got, want)
		}
	}
	if RiskLow != 1 || RiskMedium != 2 || RiskHigh != 3 {
		t.Fatal("risk constants changed")
	}
}

func TestDefaultSafetyPolicy(t *testing.T) {
	p := DefaultSafetyPolicy()
	want := SafetyPolicy{GlobalPerHour: 600, PerPostPerHour: 3,
		LengthLimits: map[string]int{"sim": 5000, "mastodon": 479, "bluesky": 300},
		BannedTerms:  []string{"guaranteed returns", "free money", "click here"},
		ApprovalRisk: 5, CriticalRisk: 6, ApprovalActions: []ActionType{}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("DefaultSafetyPolicy() = %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestArbitrateRuleOrder(t *testing.T) {
	p := DefaultSafetyPolicy()
	// Everything wrong at once: empty text, banned term, budgets exhausted, a thread.
	bad := reqWith(func(r *ArbitrationRequest) {
		r.Action, r.Texts = ActionThread, []string{"", "free money"}
	})
	full := allowedAt("p1", t0.Add(-time.Minute), 3)
	cases := []struct {
		name   string
		p      SafetyPolicy
		v      ArbiterView
		r      ArbitrationRequest
		want   Decision
		conf   float64
		lock   bool
		reason []string
	}{
		{
			name: "an active lock beats everything",
			p:    p, v: ArbiterView{LockActive: true, LockConfidence: 0.91, AgentTier: map[string]int{"a1": 3}, Allowed: full},
			r: bad, want: DecisionLock, conf: 0.91, lock: true,
			reason: []string{"existing lock state is active"},
		},
		{
			name: "an active lock refuses a perfect request",
			p:    p, v: ArbiterView{LockActive: true, LockConfidence: 0.7},
			r: areq(), want: DecisionLock, conf: 0.7, lock: true,
			reason: []string{"existing lock state is active"},
		},
		{
			name: "an agent at tier 3 locks, before any violation",
			p:    p, v: ArbiterView{AgentTier: map[string]int{"a1": 3}, Allowed: full},
			r: bad, want: DecisionLock, conf: 1, lock: true,
			reason: []string{"agent a1 is at anomaly tier 3"},
		},
		{
			name: "an agent at tier 3 locks even a low-risk comment",
			p:    p, v: ArbiterView{AgentTier: map[string]int{"a1": 3}},
			r: areq(), want: DecisionLock, conf: 1, lock: true,
			reason: []string{"agent a1 is at anomaly tier 3"},
		},
		{
			name: "another agent's tier does not count",
			p:    p, v: ArbiterView{AgentTier: map[string]int{"a2": 3}},
			r: areq(), want: DecisionAllow, conf: 1,
			reason: []string{"no policy violations detected"},
		},
		{
			name: "critical risk locks before violations",
			p:    SafetyPolicy{GlobalPerHour: 600, PerPostPerHour: 3, ApprovalRisk: 4, CriticalRisk: 5},
			v:    ArbiterView{AgentTier: map[string]int{"a1": 2}, Allowed: full},
			r:    bad, want: DecisionLock, conf: 1, lock: true,
			reason: []string{"critical risk 5: thread by an agent at anomaly tier 2"},
		},
		{
			name: "approval required: a thread by an agent at tier 2",
			p:    p, v: ArbiterView{AgentTier: map[string]int{"a1": 2}},
			r:    reqWith(func(r *ArbitrationRequest) { r.Action, r.Texts = ActionThread, []string{"one", "two"} }),
			want: DecisionDeny, conf: 1,
			reason: []string{"approval required: risk 5 (thread by an agent at anomaly tier 2)"},
		},
		{
			name: "an edit by an agent at tier 2 is allowed (risk 4)",
			p:    p, v: ArbiterView{AgentTier: map[string]int{"a1": 2}},
			r:    reqWith(func(r *ArbitrationRequest) { r.Action = ActionEdit }),
			want: DecisionAllow, conf: 1, reason: []string{"no policy violations detected"},
		},
		{
			name: "a thread by an agent at tier 1 is allowed (risk 4)",
			p:    p, v: ArbiterView{AgentTier: map[string]int{"a1": 1}},
			r:    reqWith(func(r *ArbitrationRequest) { r.Action = ActionThread }),
			want: DecisionAllow, conf: 1, reason: []string{"no policy violations detected"},
		},
		{
			name: "every violation is listed, approval last",
			p:    p,
			v:    ArbiterView{AgentTier: map[string]int{"a1": 2}, Allowed: full},
			r: reqWith(func(r *ArbitrationRequest) {
				r.Platform, r.Action = PlatformMastodon, ActionThread
				r.Texts = []string{" ", strings.Repeat("x", 490) + "Click HERE now", "ok"}
			}),
			want: DecisionDeny, conf: 1,
			reason: []string{
				"text 1 is empty",
				"text 2 is 504 characters, over the mastodon limit of 479",
				`text 2 contains the banned term "click here"`,
				"post budget exhausted: 3 changes to p1 in the last hour (limit 3)",
				"approval required: risk 5 (thread by an agent at anomaly tier 2)",
			},
		},
		{
			name: "allow",
			p:    p, v: ArbiterView{},
			r: areq(), want: DecisionAllow, conf: 1,
			reason: []string{"no policy violations detected"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(time.Second)
			d := Arbitrate(tc.p, tc.v, tc.r, now)
			if d.Decision != tc.want || d.Confidence != tc.conf || d.LockActive != tc.lock || !reflect.DeepEqual(d.Reasons, tc.reason) {
				t.Fatalf("got %s conf %v lock %v %q\nwant %s conf %v lock %v %q",
					d.Decision, d.Confidence, d.LockActive, d.Reasons, tc.want, tc.conf, tc.lock, tc.reason)
			}
			if d.Tier != tc.r.Tier || !d.At.Equal(now) {
				t.Fatalf("decision tier %q at %v, want %q at %v", d.Tier, d.At, tc.r.Tier, now)
			}
			if d.Allowed() != (tc.want == DecisionAllow) {
				t.Fatalf("Allowed() = %v for %s", d.Allowed(), d.Decision)
			}
		})
	}
}

func TestArbitrateBudgets(t *testing.T) {
	now := t0
	small := DefaultSafetyPolicy()
	small.GlobalPerHour = 5
	postMsg := "post budget exhausted: 3 changes to p1 in the last hour (limit 3)"
	cases := []struct {
		name    string
		p       SafetyPolicy
		allowed []AllowedChange
		reasons []string
	}{
		{"no history", DefaultSafetyPolicy(), nil, nil},
		{"2 on the post: the 3rd is allowed", DefaultSafetyPolicy(), allowedAt("p1", now.Add(-time.Minute), 2), nil},
		{"3 on the post: the 4th is denied", DefaultSafetyPolicy(), allowedAt("p1", now.Add(-time.Minute), 3), []string{postMsg}},
		{"changes older than an hour are ignored", DefaultSafetyPolicy(), allowedAt("p1", now.Add(-61*time.Minute), 3), nil},
		{"exactly an hour ago is ignored", DefaultSafetyPolicy(), allowedAt("p1", now.Add(-time.Hour), 3), nil},
		{"just inside the hour counts", DefaultSafetyPolicy(), allowedAt("p1", now.Add(-time.Hour+time.Nanosecond), 3), []string{postMsg}},
		{"other posts do not count towards the post budget", DefaultSafetyPolicy(), allowedAt("p2", now.Add(-time.Minute), 10), nil},
		{"global: 599 allowed, the 600th is allowed", DefaultSafetyPolicy(), allowedAt("p2", now.Add(-time.Minute), 599), nil},
		{"global: 600 allowed, the 601st is denied", DefaultSafetyPolicy(), allowedAt("p2", now.Add(-time.Minute), 600),
			[]string{"global budget exhausted: 600 autonomous changes in the last hour (limit 600)"}},
		{"global counts every post", small, append(allowedAt("p2", now.Add(-time.Minute), 3), allowedAt("p1", now.Add(-time.Minute), 2)...),
			[]string{"global budget exhausted: 5 autonomous changes in the last hour (limit 5)"}},
		{"global ignores old changes", small, append(allowedAt("p2", now.Add(-time.Minute), 4), allowedAt("p3", now.Add(-2*time.Hour), 10)...), nil},
		{"both budgets", small, append(allowedAt("p2", now.Add(-time.Minute), 2), allowedAt("p1", now.Add(-time.Minute), 3)...),
			[]string{"global budget exhausted: 5 autonomous changes in the last hour (limit 5)", postMsg}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Arbitrate(tc.p, ArbiterView{Allowed: tc.allowed}, areq(), now)
			if tc.reasons == nil {
				if d.Decision != DecisionAllow {
					t.Fatalf("want allow, got %s %q", d.Decision, d.Reasons)
				}
				return
			}
			if d.Decision != DecisionDeny || !reflect.DeepEqual(d.Reasons, tc.reasons) {
				t.Fatalf("got %s %q, want deny %q", d.Decision, d.Reasons, tc.reasons)
			}
		})
	}
	// The N-th allowed change fills the budget: simulate a caller that records allowed changes.
	var view ArbiterView
	for i := 1; i <= 4; i++ {
		d := Arbitrate(DefaultSafetyPolicy(), view, areq(), now.Add(time.Duration(i)*time.Second))
		if want := i <= 3; d.Allowed() != want {
			t.Fatalf("request %d: %s %q, want allowed %v", i, d.Decision, d.Reasons, want)
		}
		if d.Allowed() {
			view.Allowed = append(view.Allowed, AllowedChange{PostID: "p1", At: d.At})
		}
	}
}

// TestArbitrateBudgetRetryAt: a denial for the budgets only says when a slot frees, from the
// allowed changes the budget counts; any other reason leaves it zero.
func TestArbitrateBudgetRetryAt(t *testing.T) {
	now := t0
	small := DefaultSafetyPolicy()
	small.GlobalPerHour = 3
	at := func(post string, ago time.Duration) AllowedChange {
		return AllowedChange{PostID: post, At: now.Add(-ago)}
	}
	mins := func(m int) time.Duration { return time.Duration(m) * time.Minute }
	cases := []struct {
		name    string
		p       SafetyPolicy
		allowed []AllowedChange
		r       ArbitrationRequest
		want    time.Time // zero: no retry_at
	}{
		{"allowed: none", DefaultSafetyPolicy(), nil, areq(), time.Time{}},
		{"post budget: frees when the oldest of its 3 changes is an hour old", DefaultSafetyPolicy(),
			[]AllowedChange{at("p1", mins(10)), at("p1", mins(50)), at("p1", mins(30))}, areq(), now.Add(mins(10))},
		{"post budget over its limit (a smaller policy since): frees when enough have left", DefaultSafetyPolicy(),
			[]AllowedChange{at("p1", mins(5)), at("p1", mins(40)), at("p1", mins(20)), at("p1", mins(55))}, areq(), now.Add(mins(20))},
		{"global budget: the oldest counted change, older ones ignored", small,
			[]AllowedChange{at("p9", mins(90)), at("p2", mins(45)), at("p3", mins(15)), at("p4", mins(1))}, areq(), now.Add(mins(15))},
		{"both budgets: the later of the two", func() SafetyPolicy { p := DefaultSafetyPolicy(); p.GlobalPerHour = 4; return p }(),
			[]AllowedChange{at("p2", mins(59)), at("p2", mins(50)), at("p1", mins(30)), at("p1", mins(10)), at("p1", mins(2))}, areq(), now.Add(mins(30))},
		{"budget and a banned term: no retry_at (asking again changes nothing)", DefaultSafetyPolicy(),
			[]AllowedChange{at("p1", mins(10)), at("p1", mins(20)), at("p1", mins(30))},
			reqWith(func(r *ArbitrationRequest) { r.Texts = []string{"free money"} }), time.Time{}},
		{"budget and approval: no retry_at", func() SafetyPolicy {
			p := DefaultSafetyPolicy()
			p.ApprovalActions = []ActionType{ActionComment}
			return p
		}(),
			[]AllowedChange{at("p1", mins(10)), at("p1", mins(20)), at("p1", mins(30))}, areq(), time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Arbitrate(tc.p, ArbiterView{Allowed: tc.allowed}, tc.r, now)
			if !d.RetryAt.Equal(tc.want) {
				t.Fatalf("%s %q: retry_at %v, want %v", d.Decision, d.Reasons, d.RetryAt, tc.want)
			}
			if !tc.want.IsZero() {
				// Asking at retry_at is allowed (the arbiter prunes changes an hour old).
				again := Arbitrate(tc.p, ArbiterView{Allowed: tc.allowed}, tc.r, tc.want)
				before := Arbitrate(tc.p, ArbiterView{Allowed: tc.allowed}, tc.r, tc.want.Add(-time.Nanosecond))
				if !again.Allowed() || before.Allowed() {
					t.Fatalf("at retry_at: %s %q; just before: %s", again.Decision, again.Reasons, before.Decision)
				}
			}
		})
	}
}

func TestArbitrateContent(t *testing.T) {
	p := DefaultSafetyPolicy()
	noLimits := DefaultSafetyPolicy()
	noLimits.LengthLimits = nil
	zeroLimit := DefaultSafetyPolicy()
	zeroLimit.LengthLimits = map[string]int{PlatformMastodon: 0}
	cases := []struct {
		name     string
		p        SafetyPolicy
		platform string
		texts    []string
		reasons  []string
	}{
		{"sim: 5000 characters is the limit", p, PlatformSim, []string{strings.Repeat("a", 5000)}, nil},
		{"sim: 5001 is over", p, PlatformSim, []string{strings.Repeat("a", 5001)},
			[]string{"text 1 is 5001 characters, over the sim limit of 5000"}},
		{"mastodon: 479 is the limit", p, PlatformMastodon, []string{strings.Repeat("a", 479)}, nil},
		{"mastodon: 480 is over", p, PlatformMastodon, []string{strings.Repeat("a", 480)},
			[]string{"text 1 is 480 characters, over the mastodon limit of 479"}},
		{"characters, not bytes: 479 two-byte runes", p, PlatformMastodon, []string{strings.Repeat("é", 479)}, nil},
		{"characters, not bytes: 479 four-byte runes", p, PlatformMastodon, []string{strings.Repeat("😀", 479)}, nil},
		{"characters, not bytes: 480 two-byte runes", p, PlatformMastodon, []string{strings.Repeat("é", 480)},
			[]string{"text 1 is 480 characters, over the mastodon limit of 479"}},
		// A policy that does not list a platform (one written before the platform existed, carried
		// by an arbiter) holds its texts to the platform's own limit, not to sim's.
		{"an unlisted platform gets its own default", noLimits, PlatformMastodon, []string{strings.Repeat("a", 479)}, nil},
		{"an unlisted platform gets its own default, over", noLimits, PlatformMastodon, []string{strings.Repeat("a", 480)},
			[]string{"text 1 is 480 characters, over the mastodon limit of 479"}},
		{"an unlisted bluesky gets 300 graphemes", noLimits, PlatformBluesky, []string{strings.Repeat("a", 301)},
			[]string{"text 1 is 301 graphemes, over the bluesky limit of 300"}},
		{"an unlisted sim gets 5000", noLimits, PlatformSim, []string{strings.Repeat("a", 5000)}, nil},
		{"a zero limit means the default", zeroLimit, PlatformMastodon, []string{strings.Repeat("a", 479)}, nil},
		{"a zero limit means the default, over", zeroLimit, PlatformMastodon, []string{strings.Repeat("a", 480)},
			[]string{"text 1 is 480 characters, over the mastodon limit of 479"}},
		// Bluesky counts grapheme clusters: an emoji of several code points counts once.
		{"bluesky: 300 graphemes is the limit", p, PlatformBluesky, []string{strings.Repeat("a", 300)}, nil},
		{"bluesky: 301 is over", p, PlatformBluesky, []string{strings.Repeat("a", 301)},
			[]string{"text 1 is 301 graphemes, over the bluesky limit of 300"}},
		{"bluesky: 300 flags of 2 code points each", p, PlatformBluesky, []string{strings.Repeat("🇫🇷", 300)}, nil},
		{"bluesky: 300 combining sequences", p, PlatformBluesky, []string{strings.Repeat("e\u0301", 300)}, nil},
		{"bluesky: 301 flags is over", p, PlatformBluesky, []string{strings.Repeat("🇫🇷", 301)},
			[]string{"text 1 is 301 graphemes, over the bluesky limit of 300"}},
		{"mastodon counts code points: 240 flags are 480", p, PlatformMastodon, []string{strings.Repeat("🇫🇷", 240)},
			[]string{"text 1 is 480 characters, over the mastodon limit of 479"}},
		{"bluesky: within 300 graphemes but over 3000 bytes", p, PlatformBluesky, []string{strings.Repeat("👩‍👩‍👧‍👦", 200)},
			[]string{"text 1 is 5000 bytes, over the bluesky limit of 3000 bytes"}},
		{"each part of a thread is checked", p, PlatformMastodon, []string{"fine", strings.Repeat("a", 501), strings.Repeat("b", 600)},
			[]string{"text 2 is 501 characters, over the mastodon limit of 479", "text 3 is 600 characters, over the mastodon limit of 479"}},
		{"empty text", p, PlatformSim, []string{""}, []string{"text 1 is empty"}},
		{"blank text", p, PlatformSim, []string{" \t\n "}, []string{"text 1 is empty"}},
		{"banned term, exact", p, PlatformSim, []string{"get free money today"}, []string{`text 1 contains the banned term "free money"`}},
		{"banned term, upper case", p, PlatformSim, []string{"GUARANTEED RETURNS!"}, []string{`text 1 contains the banned term "guaranteed returns"`}},
		{"banned term, mixed case", p, PlatformSim, []string{"Click Here"}, []string{`text 1 contains the banned term "click here"`}},
		{"several banned terms in one text", p, PlatformSim, []string{"click here for FREE money"},
			[]string{`text 1 contains the banned term "free money"`, `text 1 contains the banned term "click here"`}},
		{"near misses are fine", p, PlatformSim, []string{"free of money worries; click, here"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := reqWith(func(r *ArbitrationRequest) { r.Platform, r.Texts = tc.platform, tc.texts })
			d := Arbitrate(tc.p, ArbiterView{}, r, t0)
			if tc.reasons == nil {
				if d.Decision != DecisionAllow {
					t.Fatalf("want allow, got %s %q", d.Decision, d.Reasons)
				}
				return
			}
			if d.Decision != DecisionDeny || !reflect.DeepEqual(d.Reasons, tc.reasons) {
				t.Fatalf("got %s %q, want deny %q", d.Decision, d.Reasons, tc.reasons)
			}
		})
	}
	// Banned terms configured in upper case match lower-case text; empty terms match nothing.
	q := DefaultSafetyPolicy()
	q.BannedTerms = []string{"", "SPAM"}
	d := Arbitrate(q, ArbiterView{}, reqWith(func(r *ArbitrationRequest) { r.Texts = []string{"no spam here"} }), t0)
	if want := []string{`text 1 contains the banned term "SPAM"`}; d.Decision != DecisionDeny || !reflect.DeepEqual(d.Reasons, want) {
		t.Fatalf("got %s %q, want deny %q", d.Decision, d.Reasons, want)
	}
	if d := Arbitrate(q, ArbiterView{}, areq(), t0); d.Decision != DecisionAllow {
		t.Fatalf("an empty banned term must not match everything: %s %q", d.Decision, d.Reasons)
	}
}

func TestLengthLimit(t *testing.T) {
	p := DefaultSafetyPolicy()
	p.LengthLimits["neg"] = -1
	for name, want := range map[string]int{PlatformSim: 5000, PlatformMastodon: 479, PlatformBluesky: 300, "other": DefaultLengthLimit, "neg": DefaultLengthLimit} {
		if got := p.LengthLimit(name); got != want {
			t.Errorf("LengthLimit(%q) = %d, want %d", name, got, want)
		}
	}
	if DefaultLengthLimit != 5000 {
		t.Fatal("DefaultLengthLimit changed")
	}
}

func TestValidateArbitrationRequest(t *testing.T) {
	if err := ValidateArbitrationRequest(areq()); err != nil {
		t.Fatalf("valid request rejected: %v", err)
	}
	ten := make([]string, MaxThreadParts)
	for i := range ten {
		ten[i] = "part"
	}
	if err := ValidateArbitrationRequest(reqWith(func(r *ArbitrationRequest) { r.Texts = ten })); err != nil {
		t.Fatalf("a %d-part thread rejected: %v", MaxThreadParts, err)
	}
	if err := ValidateArbitrationRequest(reqWith(func(r *ArbitrationRequest) { r.Platform = PlatformMastodon })); err != nil {
		t.Fatalf("mastodon rejected: %v", err)
	}
	cases := []struct {
		field string
		f     func(*ArbitrationRequest)
	}{
		{"request.post", func(r *ArbitrationRequest) { r.PostID = "" }},
		{"request.post", func(r *ArbitrationRequest) { r.PostID = "p 1" }},
		{"request.post", func(r *ArbitrationRequest) { r.PostID = strings.Repeat("p", MaxIDLen+1) }},
		{"request.agent", func(r *ArbitrationRequest) { r.Agent = "" }},
		{"request.agent", func(r *ArbitrationRequest) { r.Agent = "a\n1" }},
		{"request.platform", func(r *ArbitrationRequest) { r.Platform = "twitter" }},
		{"request.platform", func(r *ArbitrationRequest) { r.Platform = "" }},
		{"request.action", func(r *ArbitrationRequest) { r.Action = "like" }},
		{"request.action", func(r *ArbitrationRequest) { r.Action = "" }},
		{"request.tier", func(r *ArbitrationRequest) { r.Tier = "tier_4" }},
		{"request.tier", func(r *ArbitrationRequest) { r.Tier = "" }},
		{"request.idempotency_key", func(r *ArbitrationRequest) { r.Key = "" }},
		{"request.idempotency_key", func(r *ArbitrationRequest) { r.Key = "heal_878d89c30e92e1293270d561bfd03ec1" }},
		{"request.texts", func(r *ArbitrationRequest) { r.Texts = nil }},
		{"request.texts", func(r *ArbitrationRequest) { r.Texts = append(ten, "one too many") }},
		{"request.at", func(r *ArbitrationRequest) { r.At = time.Time{} }},
	}
	for _, tc := range cases {
		wantFieldErr(t, ValidateArbitrationRequest(reqWith(tc.f)), tc.field)
	}
}

func TestSafetyPolicyValidate(t *testing.T) {
	ok := []func(*SafetyPolicy){
		func(p *SafetyPolicy) {},
		func(p *SafetyPolicy) { p.GlobalPerHour, p.PerPostPerHour = 1, 1 },
		func(p *SafetyPolicy) { p.ApprovalRisk, p.CriticalRisk = 2, 2 },
		func(p *SafetyPolicy) { p.ApprovalRisk, p.CriticalRisk = 6, 6 },
		func(p *SafetyPolicy) { p.LengthLimits, p.BannedTerms = nil, nil },
		func(p *SafetyPolicy) { p.LengthLimits, p.BannedTerms = map[string]int{}, []string{} },
		func(p *SafetyPolicy) { p.ApprovalRisk, p.CriticalRisk = 7, 7 },
		func(p *SafetyPolicy) { p.LengthLimits = map[string]int{PlatformSim: 1, PlatformMastodon: MaxTextLen} },
		func(p *SafetyPolicy) { p.BannedTerms = []string{" spam ", strings.Repeat("é", MaxBannedTermLen)} },
		func(p *SafetyPolicy) {
			p.BannedTerms = make([]string, MaxBannedTerms)
			for i := range p.BannedTerms {
				p.BannedTerms[i] = fmt.Sprint("term ", i)
			}
		},
	}
	for i, f := range ok {
		p := DefaultSafetyPolicy()
		f(&p)
		if err := p.Validate(); err != nil {
			t.Errorf("valid policy %d rejected: %v", i, err)
		}
	}
	bad := []struct {
		field string
		f     func(*SafetyPolicy)
	}{
		{"policy.global_per_hour", func(p *SafetyPolicy) { p.GlobalPerHour = 0 }},
		{"policy.global_per_hour", func(p *SafetyPolicy) { p.GlobalPerHour = -5 }},
		{"policy.per_post_per_hour", func(p *SafetyPolicy) { p.PerPostPerHour = 0 }},
		{"policy.approval_risk", func(p *SafetyPolicy) { p.ApprovalRisk = 1 }},
		{"policy.approval_risk", func(p *SafetyPolicy) { p.ApprovalRisk, p.CriticalRisk = 6, 5 }},
		{"policy.approval_risk", func(p *SafetyPolicy) { p.ApprovalRisk, p.CriticalRisk = 0, 0 }},
		{"policy.critical_risk", func(p *SafetyPolicy) { p.CriticalRisk = 8 }},
		{"policy.length_limits.sim", func(p *SafetyPolicy) { p.LengthLimits[PlatformSim] = 0 }},
		{"policy.length_limits.mastodon", func(p *SafetyPolicy) { p.LengthLimits[PlatformMastodon] = -1 }},
		{"policy.length_limits.sim", func(p *SafetyPolicy) { p.LengthLimits[PlatformSim] = MaxTextLen + 1 }},
		{"policy.length_limits.twitter", func(p *SafetyPolicy) { p.LengthLimits["twitter"] = 280 }},
		{"policy.length_limits.", func(p *SafetyPolicy) { p.LengthLimits[""] = 280 }},
		{"policy.banned_terms[3]", func(p *SafetyPolicy) { p.BannedTerms = append(p.BannedTerms, "") }},
		{"policy.banned_terms[0]", func(p *SafetyPolicy) { p.BannedTerms[0] = "\n\t " }},
		{"policy.banned_terms[1]", func(p *SafetyPolicy) { p.BannedTerms[1] = strings.Repeat("x", MaxBannedTermLen+1) }},
		{"policy.banned_terms[2]", func(p *SafetyPolicy) { p.BannedTerms[2] = "\xff" }},
		{"policy.banned_terms[2]", func(p *SafetyPolicy) { p.BannedTerms[2] = "FREE Money" }},
		{"policy.banned_terms", func(p *SafetyPolicy) { p.BannedTerms = make([]string, MaxBannedTerms+1) }},
	}
	for _, tc := range bad {
		p := DefaultSafetyPolicy()
		tc.f(&p)
		wantFieldErr(t, p.Validate(), tc.field)
	}
}

func TestLockRequestValidate(t *testing.T) {
	valid := LockRequest{Source: "monitor-a1", Reason: "systemic anomaly", Tier: 3, Confidence: 0.9}
	for _, r := range []LockRequest{valid,
		{Source: "s", Reason: "r", Tier: 0, Confidence: 0},
		{Source: "s", Reason: "r", Tier: 3, Confidence: 1}} {
		if err := r.Validate(); err != nil {
			t.Errorf("valid %+v rejected: %v", r, err)
		}
	}
	cases := []struct {
		field string
		f     func(*LockRequest)
	}{
		{"lock.source", func(r *LockRequest) { r.Source = "" }},
		{"lock.reason", func(r *LockRequest) { r.Reason = "" }},
		{"lock.tier", func(r *LockRequest) { r.Tier = -1 }},
		{"lock.tier", func(r *LockRequest) { r.Tier = 4 }},
		{"lock.confidence", func(r *LockRequest) { r.Confidence = math.NaN() }},
		{"lock.confidence", func(r *LockRequest) { r.Confidence = -0.01 }},
		{"lock.confidence", func(r *LockRequest) { r.Confidence = 1.01 }},
		{"lock.confidence", func(r *LockRequest) { r.Confidence = math.Inf(1) }},
		{"lock.confidence", func(r *LockRequest) { r.Confidence = math.Inf(-1) }},
	}
	for _, tc := range cases {
		r := valid
		tc.f(&r)
		wantFieldErr(t, r.Validate(), tc.field)
	}
}

func TestReleaseRequestValidate(t *testing.T) {
	if err := (ReleaseRequest{Operator: "ops", Reason: "investigated"}).Validate(); err != nil {
		t.Fatal(err)
	}
	wantFieldErr(t, ReleaseRequest{Reason: "investigated"}.Validate(), "release.operator")
	wantFieldErr(t, ReleaseRequest{Operator: "ops"}.Validate(), "release.reason")
	wantFieldErr(t, ReleaseRequest{}.Validate(), "release.operator")
}

func TestAgentHealthValidate(t *testing.T) {
	valid := AgentHealth{Agent: "a1", Tier: 2, Confidence: 0.5, At: t0}
	for _, h := range []AgentHealth{valid, {Agent: "a1", Tier: 0, Confidence: 0}, {Agent: "a1", Tier: 3, Confidence: 1}} {
		if err := h.Validate(); err != nil {
			t.Errorf("valid %+v rejected: %v", h, err)
		}
	}
	cases := []struct {
		field string
		f     func(*AgentHealth)
	}{
		{"health.agent", func(h *AgentHealth) { h.Agent = "" }},
		{"health.agent", func(h *AgentHealth) { h.Agent = "a 1" }},
		{"health.agent", func(h *AgentHealth) { h.Agent = "a\x001" }},
		{"health.tier", func(h *AgentHealth) { h.Tier = -1 }},
		{"health.tier", func(h *AgentHealth) { h.Tier = 4 }},
		{"health.confidence", func(h *AgentHealth) { h.Confidence = math.NaN() }},
		{"health.confidence", func(h *AgentHealth) { h.Confidence = -0.5 }},
		{"health.confidence", func(h *AgentHealth) { h.Confidence = 1.5 }},
		{"health.confidence", func(h *AgentHealth) { h.Confidence = math.Inf(1) }},
	}
	for _, tc := range cases {
		h := valid
		tc.f(&h)
		wantFieldErr(t, h.Validate(), tc.field)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
