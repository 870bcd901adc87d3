package domain

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestBadInputCatalogue lists every kind of bad input the domain refuses, across its
// validators (posts, samples, counters, configuration, safety payloads), and checks that each
// is refused with a *FieldError naming the field at fault. The workflows, the starter and the
// adapters call these validators; the integration tests send the same kinds to running
// workflows.
func TestBadInputCatalogue(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	post := func(edit func(*Post)) func() error {
		return func() error {
			p := Post{ID: "p1", Platform: PlatformSim, Agent: "a1", CommentText: "c", EditText: "e", ThreadTexts: []string{"t1", "t2"}}
			edit(&p)
			return p.Validate()
		}
	}
	prev := MetricsSample{At: now.Add(-10 * time.Minute), Impressions: 1000, Engagements: 50}
	sample := func(s MetricsSample) func() error {
		return func() error { return ValidateSample(s, &prev, now) }
	}
	counter := func(raw string) func() error {
		return func() error { _, err := DecodeCounter("impressions", json.RawMessage(raw)); return err }
	}
	config := func(edit func(*EvaluationConfig)) func() error {
		return func() error {
			c := DefaultConfig()
			edit(&c)
			return c.Validate()
		}
	}
	request := func(edit func(*ArbitrationRequest)) func() error {
		return func() error {
			r := ArbitrationRequest{PostID: "p1", Agent: "a1", Platform: PlatformSim, Action: ActionComment, Tier: Tier1,
				Key: IdempotencyKey("p1", ActionComment, Tier1), Texts: []string{"hi"}, At: now}
			edit(&r)
			return ValidateArbitrationRequest(r)
		}
	}
	cases := []struct {
		name  string
		check func() error
		field string
	}{
		{"empty post ID", post(func(p *Post) { p.ID = "" }), "post.id"},
		{"oversized post ID", post(func(p *Post) { p.ID = strings.Repeat("x", MaxIDLen+1) }), "post.id"},
		{"post ID with NUL", post(func(p *Post) { p.ID = "p\x00" }), "post.id"},
		{"post ID with a newline", post(func(p *Post) { p.ID = "p\n1" }), "post.id"},
		{"post ID with a C1 control", post(func(p *Post) { p.ID = "p\u0085" }), "post.id"},
		{"post ID not UTF-8", post(func(p *Post) { p.ID = "p\xff" }), "post.id"},
		{"unknown platform", post(func(p *Post) { p.Platform = "myspace" }), "post.platform"},
		{"Bluesky post named by its bsky.app URL", post(func(p *Post) {
			p.Platform, p.ID = PlatformBluesky, "https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b"
		}), "post.id"},
		{"Bluesky post named by handle", post(func(p *Post) {
			p.Platform, p.ID = PlatformBluesky, "at://alice.test/app.bsky.feed.post/3l3qo2vuowo2b"
		}), "post.id"},
		{"Bluesky AT URI of a like", post(func(p *Post) {
			p.Platform, p.ID = PlatformBluesky, "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.like/3l3qo2vuowo2b"
		}), "post.id"},
		{"empty agent", post(func(p *Post) { p.Agent = "" }), "post.agent"},
		{"blank comment", post(func(p *Post) { p.CommentText = " \t\n" }), "post.comment_text"},
		{"comment not UTF-8", post(func(p *Post) { p.CommentText = "bad \xc3\x28" }), "post.comment_text"},
		{"oversized edit", post(func(p *Post) { p.EditText = strings.Repeat("é", MaxTextLen+1) }), "post.edit_text"},
		{"no thread parts", post(func(p *Post) { p.ThreadTexts = nil }), "post.thread_texts"},
		{"too many thread parts", post(func(p *Post) { p.ThreadTexts = make([]string, MaxThreadParts+1) }), "post.thread_texts"},
		{"empty thread part", post(func(p *Post) { p.ThreadTexts = []string{"one", ""} }), "post.thread_texts[1]"},
		{"negative impressions", sample(MetricsSample{At: now, Impressions: -1, Engagements: 60}), "sample.impressions"},
		{"negative engagements", sample(MetricsSample{At: now, Impressions: 1100, Engagements: -1}), "sample.engagements"},
		{"impressions going down", sample(MetricsSample{At: now, Impressions: 999, Engagements: 60}), "sample.impressions"},
		{"engagements going down", sample(MetricsSample{At: now, Impressions: 1100, Engagements: 49}), "sample.engagements"},
		{"sample in the future", sample(MetricsSample{At: now.Add(time.Second), Impressions: 1100, Engagements: 60}), "sample.at"},
		{"sample without a time", sample(MetricsSample{Impressions: 1100, Engagements: 60}), "sample.at"},
		{"sample going back in time", sample(MetricsSample{At: prev.At.Add(-time.Second), Impressions: 1100, Engagements: 60}), "sample.at"},
		{"NaN counter", counter(`"NaN"`), "impressions"},
		{"infinite counter", counter(`1e999`), "impressions"},
		{"Infinity counter", counter(`"Infinity"`), "impressions"},
		{"fractional counter", counter(`1.5`), "impressions"},
		{"counter above 2^53", counter(`9007199254740993`), "impressions"},
		{"counter as a boolean", counter(`true`), "impressions"},
		{"missing counter", counter(`null`), "impressions"},
		{"zero window", config(func(c *EvaluationConfig) { c.Window = 0 }), "config.window"},
		{"window over 30 days", config(func(c *EvaluationConfig) { c.Window = 31 * 24 * time.Hour }), "config.window"},
		{"negative cooldown", config(func(c *EvaluationConfig) { c.CommentCooldown = -time.Second }), "config.comment_cooldown"},
		{"negative quote cooldown", config(func(c *EvaluationConfig) { c.QuoteCooldown = -time.Second }), "config.quote_cooldown"},
		{"max actions 0", config(func(c *EvaluationConfig) { c.MaxActionsPerWindow = 0 }), "config.max_actions_per_window"},
		{"min samples 0", config(func(c *EvaluationConfig) { c.MinSamples = 0 }), "config.min_samples"},
		{"sample interval over the window", config(func(c *EvaluationConfig) { c.SampleInterval = c.Window + 1 }), "config.sample_interval"},
		{"horizon under the interval", config(func(c *EvaluationConfig) { c.Horizon = c.SampleInterval - 1 }), "config.horizon"},
		{"lock without source", func() error { return LockRequest{Reason: "r", Tier: 3, Confidence: 1}.Validate() }, "lock.source"},
		{"lock confidence NaN", func() error { return LockRequest{Source: "s", Reason: "r", Confidence: math.NaN()}.Validate() }, "lock.confidence"},
		{"release without operator", func() error { return ReleaseRequest{Reason: "r"}.Validate() }, "release.operator"},
		{"release without reason", func() error { return ReleaseRequest{Operator: "o"}.Validate() }, "release.reason"},
		{"health tier 4", func() error { return AgentHealth{Agent: "a", Tier: 4}.Validate() }, "health.tier"},
		{"outcome blocked", func() error {
			return Outcome{Agent: "a", PostID: "p", Action: ActionComment, Status: StatusBlocked, InitiatedAt: now, FinishedAt: now}.Validate()
		}, "outcome.status"},
		{"impact rate +Inf", func() error {
			return Impact{Agent: "a", PostID: "p", Key: "k", RateAfter: math.Inf(1)}.Validate()
		}, "impact.rate_after"},
		{"arbitration of an unknown action", request(func(r *ArbitrationRequest) { r.Action = "delete" }), "request.action"},
		{"arbitration of a quote on sim", request(func(r *ArbitrationRequest) { r.Action = ActionQuote }), "request.action"},
		{"arbitration of an edit on Bluesky", request(func(r *ArbitrationRequest) { r.Platform, r.Action = PlatformBluesky, ActionEdit }), "request.action"},
		{"arbitration without texts", request(func(r *ArbitrationRequest) { r.Texts = nil }), "request.texts"},
		{"arbitration key not sheal_", request(func(r *ArbitrationRequest) { r.Key = "k" }), "request.idempotency_key"},
		{"autonomous arbitration with an operator key", request(func(r *ArbitrationRequest) { r.Key = OperatorKey("p1", ActionComment, "r") }), "request.idempotency_key"},
		{"non-autonomous arbitration without an operator", request(func(r *ArbitrationRequest) { r.Autonomous = NotAutonomous() }), "request.operator"},
		{"approval timeout negative", config(func(c *EvaluationConfig) { c.ApprovalTimeout = -time.Second }), "config.approval_timeout"},
		{"approve without operator", func() error { return ApprovalAnswer{Reason: "r"}.Validate("approve") }, "approve.operator"},
		{"reject without reason", func() error { return ApprovalAnswer{Operator: "o"}.Validate("reject") }, "reject.reason"},
		{"approve naming a made-up key", func() error { return ApprovalAnswer{Operator: "o", Reason: "r", Key: "k"}.Validate("approve") }, "approve.idempotency_key"},
		{"act without request ID", func() error {
			return OperatorRequest{Operator: "o", Reason: "r", Action: ActionComment}.Validate(Post{ID: "p1", Platform: PlatformSim})
		}, "act.request_id"},
		{"act with an unknown action", func() error {
			return OperatorRequest{Operator: "o", Reason: "r", Action: "like", RequestID: "x"}.Validate(Post{ID: "p1", Platform: PlatformSim})
		}, "act.action"},
		{"policy approval action unknown", func() error {
			p := DefaultSafetyPolicy()
			p.ApprovalActions = []ActionType{"like"}
			return p.Validate()
		}, "policy.approval_actions[0]"},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d kinds", len(cases))
	}
	for _, c := range cases {
		err := c.check()
		var fe *FieldError
		switch {
		case err == nil:
			t.Errorf("%s: accepted", c.name)
		case !errors.As(err, &fe):
			t.Errorf("%s: %T %v, want a *FieldError", c.name, err, err)
		case fe.Field != c.field || fe.Reason == "" || !strings.HasPrefix(err.Error(), c.field+": "):
			t.Errorf("%s: %q, want an error naming %s", c.name, err, c.field)
		}
	}
}
