package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTierActionsByPlatform(t *testing.T) {
	tests := []struct {
		platform string
		want     [3]ActionType
	}{
		{PlatformSim, [3]ActionType{ActionComment, ActionEdit, ActionThread}},
		{PlatformMastodon, [3]ActionType{ActionComment, ActionEdit, ActionThread}},
		{PlatformBluesky, [3]ActionType{ActionComment, ActionQuote, ActionThread}},
		{"", [3]ActionType{ActionComment, ActionEdit, ActionThread}}, // plan requests without a platform
		{"other", [3]ActionType{ActionComment, ActionEdit, ActionThread}},
	}
	for _, tc := range tests {
		for i, tier := range []Tier{Tier1, Tier2, Tier3} {
			if got := ActionForTierOn(tc.platform, tier); got != tc.want[i] {
				t.Errorf("%q %s: %s, want %s", tc.platform, tier, got, tc.want[i])
			}
			if tc.platform != PlatformBluesky && ActionForTierOn(tc.platform, tier) != ActionForTier(tier) {
				t.Errorf("%q %s differs from the reference mapping", tc.platform, tier)
			}
		}
		if got := ActionForTierOn(tc.platform, "bogus"); got != ActionThread {
			t.Errorf("%q: an unknown tier maps to %s, want thread (as ActionForTier)", tc.platform, got)
		}
	}
}

func TestCapabilitiesSupports(t *testing.T) {
	tests := []struct {
		platform string
		action   ActionType
		want     bool
	}{
		{PlatformSim, ActionEdit, true},
		{PlatformSim, ActionQuote, false},
		{PlatformMastodon, ActionEdit, true},
		{PlatformMastodon, ActionQuote, false},
		{PlatformBluesky, ActionComment, true},
		{PlatformBluesky, ActionQuote, true},
		{PlatformBluesky, ActionThread, true},
		{PlatformBluesky, ActionEdit, false}, // Bluesky posts cannot be edited
		{PlatformBluesky, "bogus", false},
	}
	for _, tc := range tests {
		if got := CapabilitiesOf(tc.platform).Supports(tc.action); got != tc.want {
			t.Errorf("%s supports %s = %v, want %v", tc.platform, tc.action, got, tc.want)
		}
	}
}

func TestActionKeys(t *testing.T) {
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "sheal_" + hex.EncodeToString(h[:])[:32]
	}
	const uri = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b"
	tests := []struct {
		platform, post string
		want           []string // the hashed strings, tier by tier
	}{
		// sim and Mastodon keep the seed's keys.
		{PlatformSim, "p1", []string{"p1:comment:tier_1", "p1:edit:tier_2", "p1:thread:tier_3"}},
		{PlatformMastodon, "113", []string{"113:comment:tier_1", "113:edit:tier_2", "113:thread:tier_3"}},
		{PlatformBluesky, uri, []string{uri + ":comment:tier_1", uri + ":quote:tier_2", uri + ":thread:tier_3"}},
	}
	for _, tc := range tests {
		got := ActionKeys(tc.platform, tc.post)
		if len(got) != 3 {
			t.Fatalf("%s: %d keys", tc.platform, len(got))
		}
		for i, k := range got {
			if k.Key != sum(tc.want[i]) {
				t.Errorf("%s tier %d: key %s, want SHA-256 of %q", tc.platform, i+1, k.Key, tc.want[i])
			}
			if k.Key != IdempotencyKey(tc.post, k.Action, k.Tier) || k.Tier.Level() != i+1 {
				t.Errorf("%s: %+v is not the planner's key for its tier", tc.platform, k)
			}
		}
	}
}

func TestPlanActionForBlueskyQuotesAtTier2(t *testing.T) {
	const uri = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b"
	cfg := DefaultConfig()
	// No impressions (Bluesky has none): engagement 20 in the first 40 minutes, 6 in the next
	// 40 — the recent pace at 30% of the earlier one, a velocity score of 0.7: tier 2.
	samples := []MetricsSample{
		{At: t0.Add(-80 * time.Minute), Engagements: 0},
		{At: t0.Add(-40 * time.Minute), Engagements: 20},
		{At: t0, Engagements: 26},
	}
	now := t0
	plan := PlanActionFor(PlatformBluesky, uri, nil, samples, cfg, now)
	if !plan.Eligible || plan.Tier != Tier2 || plan.Action != ActionQuote {
		t.Fatalf("plan = %+v, want an eligible tier-2 quote", plan)
	}
	if plan.Key != IdempotencyKey(uri, ActionQuote, Tier2) {
		t.Fatalf("key %s is not the quote's", plan.Key)
	}
	// The same samples on Mastodon edit, with the edit's key.
	if m := PlanActionFor(PlatformMastodon, uri, nil, samples, cfg, now); m.Action != ActionEdit || m.Key != IdempotencyKey(uri, ActionEdit, Tier2) {
		t.Fatalf("mastodon plan = %+v", m)
	}
	// A quote's cooldown is its own (the edit's default), and a quote record counts as one.
	log := []ActionRecord{{Key: plan.Key, PostID: uri, Action: ActionQuote, Tier: Tier2, InitiatedAt: now.Add(-time.Hour), Status: StatusFailed}}
	again := PlanActionFor(PlatformBluesky, uri, log, samples, cfg, now)
	if again.Eligible || again.Reason != ReasonCooldownActive || !again.CooldownUntil.Equal(now.Add(time.Hour)) {
		t.Fatalf("after a quote an hour ago: %+v, want the quote cooldown until %s", again, now.Add(time.Hour))
	}
	cfg.QuoteCooldown = 30 * time.Minute
	if p := PlanActionFor(PlatformBluesky, uri, log, samples, cfg, now); !p.Eligible {
		t.Fatalf("with a 30m quote cooldown: %+v, want eligible", p)
	}
}

func TestValidatePostID(t *testing.T) {
	const good = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b"
	tests := []struct {
		name, platform, id string
		ok                 bool
	}{
		{"bluesky AT URI", PlatformBluesky, good, true},
		{"did:web author", PlatformBluesky, "at://did:web:example.com/app.bsky.feed.post/3l3qo2vuowo2b", true},
		{"handle authority", PlatformBluesky, "at://alice.bsky.social/app.bsky.feed.post/3l3qo2vuowo2b", false},
		{"bsky.app URL", PlatformBluesky, "https://bsky.app/profile/alice.bsky.social/post/3l3qo2vuowo2b", false},
		{"another collection", PlatformBluesky, "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.like/3l3qo2vuowo2b", false},
		{"no record key", PlatformBluesky, "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post", false},
		{"repo only", PlatformBluesky, "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz", false},
		{"query", PlatformBluesky, good + "?x=1", false},
		{"fragment", PlatformBluesky, good + "#x", false},
		{"further path", PlatformBluesky, good + "/more", false},
		{"not canonical: upper-case collection", PlatformBluesky, "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/APP.bsky.feed.post/3l3qo2vuowo2b", false},
		{"bare rkey", PlatformBluesky, "3l3qo2vuowo2b", false},
		{"empty", PlatformBluesky, "", false},
		{"space", PlatformBluesky, "at://did:plc:x /app.bsky.feed.post/3l3qo2vuowo2b", false},
		{"sim takes any ID", PlatformSim, "grow-1", true},
		{"mastodon takes any ID", PlatformMastodon, "113456789012345678", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePostID("post.id", tc.platform, tc.id)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidatePostID(%q) = %v, want ok %v", tc.id, err, tc.ok)
			}
			var fe *FieldError
			if err != nil && (!errors.As(err, &fe) || fe.Field != "post.id") {
				t.Fatalf("error %v does not name post.id", err)
			}
			if err != nil && tc.platform == PlatformBluesky && tc.id != "" && !strings.Contains(tc.id, " ") && !strings.Contains(err.Error(), "at://<did>/app.bsky.feed.post/<rkey>") {
				t.Errorf("error %q does not say what a Bluesky post ID looks like", err)
			}
		})
	}
	// Post.Validate applies it.
	p := Post{ID: "https://bsky.app/profile/alice.bsky.social/post/3l3qo2vuowo2b", Platform: PlatformBluesky, Agent: "a",
		CommentText: "c", EditText: "q", ThreadTexts: []string{"t"}}
	if err := p.Validate(); err == nil {
		t.Fatal("a Bluesky post named by its URL validated")
	}
	p.ID = good
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestArbitrationRequestActionMustSuitThePlatform(t *testing.T) {
	tests := []struct {
		platform string
		action   ActionType
		ok       bool
	}{
		{PlatformBluesky, ActionQuote, true},
		{PlatformBluesky, ActionEdit, false},
		{PlatformMastodon, ActionQuote, false},
		{PlatformSim, ActionQuote, false},
		{PlatformSim, ActionEdit, true},
	}
	for _, tc := range tests {
		r := reqWith(func(r *ArbitrationRequest) { r.Platform, r.Action, r.Tier = tc.platform, tc.action, Tier2 })
		err := ValidateArbitrationRequest(r)
		if (err == nil) != tc.ok {
			t.Errorf("%s on %s: %v, want ok %v", tc.action, tc.platform, err, tc.ok)
		}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "request.action") {
			t.Errorf("%s on %s: %v does not name request.action", tc.action, tc.platform, err)
		}
	}
	// A quote is an edit's risk: a tier-2 agent's quote (2+2) is allowed, a tier-3 agent locks.
	r := reqWith(func(r *ArbitrationRequest) { r.Platform, r.Action, r.Tier = PlatformBluesky, ActionQuote, Tier2 })
	if d := Arbitrate(DefaultSafetyPolicy(), ArbiterView{AgentTier: map[string]int{"a1": 2}}, r, t0); d.Decision != DecisionAllow {
		t.Fatalf("a tier-2 agent's quote: %s %q, want allow (risk 4)", d.Decision, d.Reasons)
	}
	p := DefaultSafetyPolicy()
	p.ApprovalRisk = 4
	if d := Arbitrate(p, ArbiterView{AgentTier: map[string]int{"a1": 2}}, r, t0); d.Decision != DecisionDeny {
		t.Fatalf("with approval_risk 4 a tier-2 agent's quote (risk 4) is denied, got %s", d.Decision)
	}
}

func TestTextLength(t *testing.T) {
	tests := []struct {
		platform, text string
		want           int
	}{
		{PlatformBluesky, "hello", 5},
		{PlatformBluesky, "🇫🇷", 1},
		{PlatformBluesky, "👩‍👩‍👧‍👦", 1},
		{PlatformBluesky, "e\u0301", 1},
		{PlatformMastodon, "🇫🇷", 2},
		{PlatformMastodon, "e\u0301", 2},
		{PlatformSim, "héllo", 5},
	}
	for _, tc := range tests {
		if got := CapabilitiesOf(tc.platform).TextLength(tc.text); got != tc.want {
			t.Errorf("%s %q: %d, want %d", tc.platform, tc.text, got, tc.want)
		}
	}
}
