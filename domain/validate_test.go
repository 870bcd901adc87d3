package domain

import (
	"strings"
	"testing"
	"time"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{"simple", "p1", true},
		{"platform style", "109876543210987654", true},
		{"url-ish", "https://mastodon.example/@a/1", true},
		{"unicode", "пост-42", true},
		{"emoji", "📮✉️", true},
		{"exactly the limit", strings.Repeat("a", MaxIDLen), true},
		{"empty", "", false},
		{"one byte over the limit", strings.Repeat("a", MaxIDLen+1), false},
		{"over the limit in bytes, not runes", strings.Repeat("п", MaxIDLen/2+1), false},
		{"space", "p 1", false},
		{"leading space", " p1", false},
		{"tab", "p\t1", false},
		{"newline", "p1\n", false},
		{"NUL", "p\x001", false},
		{"DEL", "p\x7f1", false},
		{"C1 control", "p\u00851", false},
		{"no-break space", "p\u00a01", false},
		{"ideographic space", "p\u30001", false},
		{"invalid UTF-8", "p\xff1", false},
		{"truncated UTF-8", "p\xd0", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateID("post.id", tc.id)
			if tc.ok {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			wantFieldErr(t, err, "post.id")
		})
	}
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"simple", "Still curious? Here is the thread.", true},
		{"newlines and tabs are fine in texts", "line 1\n\tline 2", true},
		{"one character", "x", true},
		{"exactly the limit in characters", strings.Repeat("ж", MaxTextLen), true},
		{"empty", "", false},
		{"blank", " \n\t ", false},
		{"one over the limit", strings.Repeat("a", MaxTextLen+1), false},
		{"over the limit in characters", strings.Repeat("ж", MaxTextLen+1), false},
		{"invalid UTF-8", "hello \xff", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateText("post.comment_text", tc.text)
			if tc.ok {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			wantFieldErr(t, err, "post.comment_text")
		})
	}
}

func TestPostValidate(t *testing.T) {
	good := func() Post {
		return Post{
			ID: "p1", Platform: PlatformSim, Agent: "agent-1",
			CommentText: "comment", EditText: "edit", ThreadTexts: []string{"one", "two"},
		}
	}
	parts := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "part"
		}
		return out
	}
	tests := []struct {
		name  string
		edit  func(p *Post)
		field string
	}{
		{"valid sim", func(p *Post) {}, ""},
		{"valid mastodon", func(p *Post) { p.Platform = PlatformMastodon }, ""},
		{"one thread part", func(p *Post) { p.ThreadTexts = parts(1) }, ""},
		{"max thread parts", func(p *Post) { p.ThreadTexts = parts(MaxThreadParts) }, ""},
		{"empty id", func(p *Post) { p.ID = "" }, "post.id"},
		{"id with control char", func(p *Post) { p.ID = "p\x01" }, "post.id"},
		{"unknown platform", func(p *Post) { p.Platform = "myspace" }, "post.platform"},
		{"empty platform", func(p *Post) { p.Platform = "" }, "post.platform"},
		{"platform is case-sensitive", func(p *Post) { p.Platform = "Sim" }, "post.platform"},
		{"empty agent", func(p *Post) { p.Agent = "" }, "post.agent"},
		{"agent with space", func(p *Post) { p.Agent = "agent 1" }, "post.agent"},
		{"agent too long", func(p *Post) { p.Agent = strings.Repeat("a", MaxIDLen+1) }, "post.agent"},
		{"blank comment", func(p *Post) { p.CommentText = "  " }, "post.comment_text"},
		{"edit too long", func(p *Post) { p.EditText = strings.Repeat("e", MaxTextLen+1) }, "post.edit_text"},
		{"edit invalid UTF-8", func(p *Post) { p.EditText = "\xc3\x28" }, "post.edit_text"},
		{"no thread parts", func(p *Post) { p.ThreadTexts = nil }, "post.thread_texts"},
		{"too many thread parts", func(p *Post) { p.ThreadTexts = parts(MaxThreadParts + 1) }, "post.thread_texts"},
		{"blank thread part is indexed", func(p *Post) { p.ThreadTexts = []string{"ok", "ok", ""} }, "post.thread_texts[2]"},
		{"first bad field is named", func(p *Post) { p.ID, p.Agent = "", "" }, "post.id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.edit(&p)
			err := p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			wantFieldErr(t, err, tc.field)
		})
	}
	if !KnownPlatform(PlatformSim) || !KnownPlatform(PlatformMastodon) || KnownPlatform("x") {
		t.Error("KnownPlatform")
	}
}

func TestValidateSample(t *testing.T) {
	prev := MetricsSample{At: t0.Add(-10 * time.Minute), Impressions: 100, Engagements: 10}
	tests := []struct {
		name  string
		s     MetricsSample
		prev  *MetricsSample
		field string
	}{
		{"first sample", MetricsSample{At: t0.Add(-time.Minute), Impressions: 5, Engagements: 1}, nil, ""},
		{"zero counters", MetricsSample{At: t0, Impressions: 0, Engagements: 0}, nil, ""},
		{"exactly now is not the future", MetricsSample{At: t0}, nil, ""},
		{"missing time", MetricsSample{Impressions: 1}, nil, "sample.at"},
		{"1ns in the future", MetricsSample{At: t0.Add(time.Nanosecond)}, nil, "sample.at"},
		{"negative impressions", MetricsSample{At: t0, Impressions: -1}, nil, "sample.impressions"},
		{"negative engagements", MetricsSample{At: t0, Engagements: -1}, nil, "sample.engagements"},
		{"more engagements than impressions is allowed", MetricsSample{At: t0, Impressions: 1, Engagements: 5}, nil, ""},
		{"follows prev", MetricsSample{At: t0, Impressions: 150, Engagements: 12}, &prev, ""},
		{"same time and counters as prev", prev, &prev, ""},
		{"before prev", MetricsSample{At: prev.At.Add(-time.Nanosecond), Impressions: 150, Engagements: 12}, &prev, "sample.at"},
		{"impressions go down", MetricsSample{At: t0, Impressions: 99, Engagements: 12}, &prev, "sample.impressions"},
		{"engagements go down", MetricsSample{At: t0, Impressions: 150, Engagements: 9}, &prev, "sample.engagements"},
		{"future beats going back", MetricsSample{At: t0.Add(time.Hour), Impressions: 1}, &prev, "sample.at"},
		{"negative beats going down", MetricsSample{At: t0, Impressions: -5}, &prev, "sample.impressions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSample(tc.s, tc.prev, t0)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			wantFieldErr(t, err, tc.field)
		})
	}
}

func TestValidateRecord(t *testing.T) {
	good := func() ActionRecord { return rec("p1", ActionComment, Tier1, StatusSuccess, t0) }
	tests := []struct {
		name  string
		edit  func(r *ActionRecord)
		field string
	}{
		{"valid", func(r *ActionRecord) {}, ""},
		{"every status", func(r *ActionRecord) { r.Status = StatusBlocked }, ""},
		{"zero attempts", func(r *ActionRecord) { r.Attempts = 0 }, ""},
		{"key without prefix", func(r *ActionRecord) { r.Key = strings.TrimPrefix(r.Key, "sheal_") }, "log[3].idempotency_key"},
		{"key too short", func(r *ActionRecord) { r.Key = r.Key[:len(r.Key)-1] }, "log[3].idempotency_key"},
		{"key too long", func(r *ActionRecord) { r.Key += "0" }, "log[3].idempotency_key"},
		{"key not hex", func(r *ActionRecord) { r.Key = "sheal_" + strings.Repeat("z", 32) }, "log[3].idempotency_key"},
		{"key upper-case hex", func(r *ActionRecord) { r.Key = strings.ToUpper(r.Key[6:]); r.Key = "sheal_" + r.Key }, "log[3].idempotency_key"},
		{"key with control characters", func(r *ActionRecord) { r.Key = "sheal_" + strings.Repeat("\x00", 32) }, "log[3].idempotency_key"},
		{"empty key", func(r *ActionRecord) { r.Key = "" }, "log[3].idempotency_key"},
		{"bad action", func(r *ActionRecord) { r.Action = "delete" }, "log[3].action_type"},
		{"bad tier", func(r *ActionRecord) { r.Tier = "tier_9" }, "log[3].tier"},
		{"bad status", func(r *ActionRecord) { r.Status = "done" }, "log[3].status"},
		{"missing initiated_at", func(r *ActionRecord) { r.InitiatedAt = time.Time{} }, "log[3].initiated_at"},
		{"negative attempts", func(r *ActionRecord) { r.Attempts = -1 }, "log[3].attempts"},
		{"empty post id", func(r *ActionRecord) { r.PostID = "" }, "log[3].post_id"},
		{"post id with space", func(r *ActionRecord) { r.PostID = "p 1" }, "log[3].post_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.edit(&r)
			err := ValidateRecord(3, r)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			wantFieldErr(t, err, tc.field)
		})
	}
}
