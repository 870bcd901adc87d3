package domain

import (
	"testing"
	"time"
)

func TestPlanActionReasons(t *testing.T) {
	cfg := DefaultConfig()
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	type want struct {
		eligible bool
		reason   Reason
		tier     Tier
		action   ActionType
		key      string
		until    *time.Time
		count    int
	}
	tests := []struct {
		name    string
		postID  string
		samples []MetricsSample
		log     []ActionRecord
		cfg     *EvaluationConfig
		want    want
	}{
		// --- samples ---
		{
			name:    "no samples",
			samples: nil,
			want:    want{reason: ReasonInsufficientSamples},
		},
		{
			name:    "two samples in the window, one outside",
			samples: append(series(t0, 10*time.Minute, 2, 100, 0), MetricsSample{At: ago(91 * time.Minute)}),
			want:    want{reason: ReasonInsufficientSamples, count: 2},
		},
		{
			name:    "samples after now do not count",
			samples: append(series(t0, 10*time.Minute, 2, 100, 0), MetricsSample{At: t0.Add(time.Nanosecond), Impressions: 5000}),
			want:    want{reason: ReasonInsufficientSamples, count: 2},
		},
		{
			name: "sample exactly at now-window counts",
			samples: []MetricsSample{
				{At: ago(90 * time.Minute), Impressions: 0},
				{At: ago(45 * time.Minute), Impressions: 50},
				{At: t0, Impressions: 100, Engagements: 1},
			},
			want: want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name: "sample 1ns before now-window does not count",
			samples: []MetricsSample{
				{At: ago(90*time.Minute + time.Nanosecond)},
				{At: ago(45 * time.Minute), Impressions: 50},
				{At: t0, Impressions: 100, Engagements: 1},
			},
			want: want{reason: ReasonInsufficientSamples, count: 2},
		},
		{
			name:    "insufficient samples beats duplicate, cap and cooldown",
			samples: series(t0, 10*time.Minute, 2, 100, 0),
			log: []ActionRecord{
				rec("p1", ActionThread, Tier3, StatusSuccess, ago(time.Minute)),
				rec("p1", ActionThread, Tier3, StatusRunning, ago(2*time.Minute)),
			},
			want: want{reason: ReasonInsufficientSamples, count: 2},
		},
		{
			name:    "min_samples from the config",
			samples: series(t0, 10*time.Minute, 2, 100, 0),
			cfg:     &EvaluationConfig{Window: time.Hour, MinSamples: 2, SampleInterval: time.Minute, MaxActionsPerWindow: 1, Horizon: time.Hour},
			want:    want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 2},
		},
		// --- eligible, by tier ---
		{
			name:    "score exactly 0.80: thread",
			samples: series(t0, 20*time.Minute, 3, 100, 1),
			want:    want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "score exactly 0.55: edit",
			samples: series(t0, 20*time.Minute, 3, 400, 9),
			want:    want{eligible: true, tier: Tier2, action: ActionEdit, key: keyP1Edit2, count: 3},
		},
		{
			name:    "score just below 0.55: comment",
			samples: series(t0, 20*time.Minute, 3, 1_000_000, 22_501),
			want:    want{eligible: true, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3},
		},
		// --- duplicate ---
		{
			name:    "duplicate: same key running",
			samples: stagnant(t0),
			log:     []ActionRecord{rec("p1", ActionThread, Tier3, StatusRunning, ago(4*time.Hour))},
			want:    want{reason: ReasonDuplicateAction, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "duplicate: same key succeeded long ago",
			samples: stagnant(t0),
			log:     []ActionRecord{rec("p1", ActionThread, Tier3, StatusSuccess, ago(40*time.Hour))},
			want:    want{reason: ReasonDuplicateAction, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "not duplicate: same key failed long ago",
			samples: stagnant(t0),
			log:     []ActionRecord{rec("p1", ActionThread, Tier3, StatusFailed, ago(4*time.Hour))},
			want:    want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "not duplicate: same key blocked just now",
			samples: stagnant(t0),
			log:     []ActionRecord{rec("p1", ActionThread, Tier3, StatusBlocked, ago(time.Minute))},
			want:    want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "not duplicate: another tier's key",
			samples: stagnant(t0),
			log:     []ActionRecord{rec("p1", ActionEdit, Tier2, StatusSuccess, ago(4*time.Hour))},
			want:    want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "duplicate beats window cap and cooldown",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionThread, Tier3, StatusSuccess, ago(2*time.Minute)),
				rec("p1", ActionComment, Tier1, StatusSuccess, ago(time.Minute)),
			},
			want: want{reason: ReasonDuplicateAction, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		// --- window cap ---
		{
			name:    "window cap: two actions inside the window",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier1, StatusSuccess, ago(80*time.Minute)),
				rec("p1", ActionEdit, Tier2, StatusSuccess, ago(10*time.Minute)),
			},
			want: want{
				reason: ReasonWindowFrequency, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				// The oldest one leaves the window 1ns after it is exactly 90m old.
				until: ptrTime(t0.Add(10*time.Minute + time.Nanosecond)),
			},
		},
		{
			name:    "window cap: an action exactly at now-window counts",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier1, StatusSuccess, ago(90*time.Minute)),
				rec("p1", ActionEdit, Tier2, StatusSuccess, ago(10*time.Minute)),
			},
			want: want{
				reason: ReasonWindowFrequency, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				until: ptrTime(t0.Add(time.Nanosecond)),
			},
		},
		{
			name:    "window cap: an action 1ns before now-window does not count",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier1, StatusSuccess, ago(90*time.Minute+time.Nanosecond)),
				rec("p1", ActionEdit, Tier2, StatusSuccess, ago(10*time.Minute)),
			},
			want: want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "window cap: three actions, lifts when the second oldest leaves",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionEdit, Tier2, StatusSuccess, ago(20*time.Minute)),
				rec("p1", ActionComment, Tier1, StatusFailed, ago(85*time.Minute)),
				rec("p1", ActionComment, Tier1, StatusSuccess, ago(50*time.Minute)),
			},
			want: want{
				reason: ReasonWindowFrequency, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				until: ptrTime(t0.Add(40*time.Minute + time.Nanosecond)),
			},
		},
		{
			name:    "window cap: failed records count",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier1, StatusFailed, ago(60*time.Minute)),
				rec("p1", ActionEdit, Tier2, StatusFailed, ago(30*time.Minute)),
			},
			want: want{
				reason: ReasonWindowFrequency, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				until: ptrTime(t0.Add(30*time.Minute + time.Nanosecond)),
			},
		},
		{
			name:    "window cap: running records count",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier1, StatusRunning, ago(60*time.Minute)),
				rec("p1", ActionEdit, Tier2, StatusRunning, ago(30*time.Minute)),
			},
			want: want{
				reason: ReasonWindowFrequency, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				until: ptrTime(t0.Add(30*time.Minute + time.Nanosecond)),
			},
		},
		{
			name:    "window cap: blocked records do not count",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier1, StatusBlocked, ago(60*time.Minute)),
				rec("p1", ActionEdit, Tier2, StatusBlocked, ago(30*time.Minute)),
				rec("p1", ActionEdit, Tier2, StatusSuccess, ago(20*time.Minute)),
			},
			want: want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "window cap: another post's records do not count",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p2", ActionComment, Tier1, StatusSuccess, ago(60*time.Minute)),
				rec("p2", ActionEdit, Tier2, StatusSuccess, ago(30*time.Minute)),
				rec("p2", ActionThread, Tier3, StatusRunning, ago(time.Minute)),
			},
			want: want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "window cap from the config: max 1",
			samples: stagnant(t0),
			cfg: func() *EvaluationConfig {
				c := DefaultConfig()
				c.MaxActionsPerWindow = 1
				return &c
			}(),
			log: []ActionRecord{rec("p1", ActionComment, Tier1, StatusSuccess, ago(60*time.Minute))},
			want: want{
				reason: ReasonWindowFrequency, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				until: ptrTime(t0.Add(30*time.Minute + time.Nanosecond)),
			},
		},
		{
			name:    "window cap beats cooldown",
			samples: stagnant(t0),
			log: []ActionRecord{
				rec("p1", ActionThread, Tier2, StatusFailed, ago(70*time.Minute)), // a thread, other key
				rec("p1", ActionThread, Tier1, StatusFailed, ago(5*time.Minute)),
			},
			want: want{
				reason: ReasonWindowFrequency, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				until: ptrTime(t0.Add(20*time.Minute + time.Nanosecond)),
			},
		},
		// --- cooldown ---
		{
			name:    "cooldown: comment 10 minutes ago",
			samples: healthy(t0),
			log:     []ActionRecord{rec("p1", ActionComment, Tier3, StatusSuccess, ago(10*time.Minute))},
			want: want{
				reason: ReasonCooldownActive, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3,
				until: ptrTime(t0.Add(20 * time.Minute)),
			},
		},
		{
			name:    "cooldown: ends exactly at initiated_at+cooldown",
			samples: healthy(t0),
			log:     []ActionRecord{rec("p1", ActionComment, Tier3, StatusSuccess, ago(30*time.Minute))},
			want:    want{eligible: true, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3},
		},
		{
			name:    "cooldown: still active 1ns before its end",
			samples: healthy(t0),
			log:     []ActionRecord{rec("p1", ActionComment, Tier3, StatusSuccess, ago(30*time.Minute-time.Nanosecond))},
			want: want{
				reason: ReasonCooldownActive, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3,
				until: ptrTime(t0.Add(time.Nanosecond)),
			},
		},
		{
			name:    "cooldown: edit is 2h, outlasting the window",
			samples: series(t0, 20*time.Minute, 3, 400, 9),
			log:     []ActionRecord{rec("p1", ActionEdit, Tier3, StatusSuccess, ago(100*time.Minute))},
			want: want{
				reason: ReasonCooldownActive, tier: Tier2, action: ActionEdit, key: keyP1Edit2, count: 3,
				until: ptrTime(t0.Add(20 * time.Minute)),
			},
		},
		{
			name:    "cooldown: thread is 3h",
			samples: stagnant(t0),
			log:     []ActionRecord{rec("p1", ActionThread, Tier2, StatusSuccess, ago(2*time.Hour+59*time.Minute))},
			want: want{
				reason: ReasonCooldownActive, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3,
				until: ptrTime(t0.Add(time.Minute)),
			},
		},
		{
			name:    "cooldown: thread over after 3h",
			samples: stagnant(t0),
			log:     []ActionRecord{rec("p1", ActionThread, Tier2, StatusSuccess, ago(3*time.Hour))},
			want:    want{eligible: true, tier: Tier3, action: ActionThread, key: keyP1Thread3, count: 3},
		},
		{
			name:    "cooldown: failed records count",
			samples: healthy(t0),
			log:     []ActionRecord{rec("p1", ActionComment, Tier1, StatusFailed, ago(5*time.Minute))},
			want: want{
				reason: ReasonCooldownActive, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3,
				until: ptrTime(t0.Add(25 * time.Minute)),
			},
		},
		{
			name:    "cooldown: blocked records do not count",
			samples: healthy(t0),
			log:     []ActionRecord{rec("p1", ActionComment, Tier1, StatusBlocked, ago(5*time.Minute))},
			want:    want{eligible: true, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3},
		},
		{
			name:    "cooldown: a blocked newer record does not hide an older counting one",
			samples: healthy(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier2, StatusFailed, ago(20*time.Minute)),
				rec("p1", ActionComment, Tier1, StatusBlocked, ago(time.Minute)),
			},
			want: want{
				reason: ReasonCooldownActive, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3,
				until: ptrTime(t0.Add(10 * time.Minute)),
			},
		},
		{
			name:    "cooldown: another post's records do not count",
			samples: healthy(t0),
			log:     []ActionRecord{rec("p2", ActionComment, Tier1, StatusSuccess, ago(time.Minute))},
			want:    want{eligible: true, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3},
		},
		{
			name:    "cooldown: another action type does not count",
			samples: healthy(t0),
			log:     []ActionRecord{rec("p1", ActionEdit, Tier2, StatusSuccess, ago(time.Minute))},
			want:    want{eligible: true, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3},
		},
		{
			name:    "cooldown: measured from the most recent record, whatever the log order",
			samples: healthy(t0),
			log: []ActionRecord{
				rec("p1", ActionComment, Tier2, StatusSuccess, ago(15*time.Minute)),
				rec("p1", ActionComment, Tier3, StatusSuccess, ago(100*time.Minute)),
			},
			want: want{
				reason: ReasonCooldownActive, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3,
				until: ptrTime(t0.Add(15 * time.Minute)),
			},
		},
		{
			name:    "cooldown: zero cooldown never blocks",
			samples: healthy(t0),
			cfg: func() *EvaluationConfig {
				c := DefaultConfig()
				c.CommentCooldown = 0
				return &c
			}(),
			log:  []ActionRecord{rec("p1", ActionComment, Tier2, StatusSuccess, t0)},
			want: want{eligible: true, tier: Tier1, action: ActionComment, key: keyP1Comment1, count: 3},
		},
		{
			name:    "unicode post ID",
			postID:  "пост-42",
			samples: healthy(t0),
			want:    want{eligible: true, tier: Tier1, action: ActionComment, key: "sheal_17c88b1d9cf77e2ada20c265223fcccf", count: 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			post := tc.postID
			if post == "" {
				post = "p1"
			}
			c := cfg
			if tc.cfg != nil {
				c = *tc.cfg
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("test config invalid: %v", err)
			}
			p := PlanAction(post, tc.log, tc.samples, c, t0)
			w := tc.want
			if p.PostID != post {
				t.Errorf("post_id = %q", p.PostID)
			}
			if p.Eligible != w.eligible || p.Reason != w.reason {
				t.Fatalf("eligible=%v reason=%q, want eligible=%v reason=%q (plan %+v)", p.Eligible, p.Reason, w.eligible, w.reason, p)
			}
			if p.SampleCount != w.count {
				t.Errorf("sample_count = %d, want %d", p.SampleCount, w.count)
			}
			if p.Tier != w.tier || p.Action != w.action || p.Key != w.key {
				t.Errorf("tier/action/key = %s/%s/%s, want %s/%s/%s", p.Tier, p.Action, p.Key, w.tier, w.action, w.key)
			}
			switch {
			case w.until == nil && p.CooldownUntil != nil:
				t.Errorf("cooldown_until = %s, want none", p.CooldownUntil)
			case w.until != nil && p.CooldownUntil == nil:
				t.Errorf("cooldown_until missing, want %s", w.until)
			case w.until != nil && !p.CooldownUntil.Equal(*w.until):
				t.Errorf("cooldown_until = %s, want %s", p.CooldownUntil.Format(time.RFC3339Nano), w.until.Format(time.RFC3339Nano))
			}
			if w.reason == ReasonInsufficientSamples && (p.Score != 0 || p.Tier != "" || p.Key != "") {
				t.Errorf("insufficient plan carries a score: %+v", p)
			}
		})
	}
}

// TestCooldownUntilIsExact re-plans at cooldown_until and 1ns before it: the blocking rule must
// hold just before and be gone exactly at that moment.
func TestCooldownUntilIsExact(t *testing.T) {
	cases := []struct {
		name    string
		log     []ActionRecord
		samples func(now time.Time) []MetricsSample
		reason  Reason
	}{
		{
			name:    "cooldown",
			log:     []ActionRecord{rec("p1", ActionComment, Tier2, StatusSuccess, t0.Add(-7*time.Minute-3*time.Nanosecond))},
			samples: healthy,
			reason:  ReasonCooldownActive,
		},
		{
			name: "window cap",
			log: []ActionRecord{
				rec("p1", ActionEdit, Tier2, StatusSuccess, t0.Add(-33*time.Minute-time.Microsecond)),
				rec("p1", ActionComment, Tier1, StatusSuccess, t0.Add(-61*time.Minute)),
				rec("p1", ActionEdit, Tier1, StatusFailed, t0.Add(-5*time.Minute)),
			},
			samples: stagnant,
			reason:  ReasonWindowFrequency,
		},
	}
	cfg := DefaultConfig()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanAction("p1", tc.log, tc.samples(t0), cfg, t0)
			if p.Reason != tc.reason || p.CooldownUntil == nil {
				t.Fatalf("plan at t0: %+v, want %s with cooldown_until", p, tc.reason)
			}
			until := *p.CooldownUntil
			before := until.Add(-time.Nanosecond)
			if q := PlanAction("p1", tc.log, tc.samples(before), cfg, before); q.Reason != tc.reason {
				t.Errorf("1ns before cooldown_until: reason %q, want %q", q.Reason, tc.reason)
			}
			if q := PlanAction("p1", tc.log, tc.samples(until), cfg, until); q.Reason == tc.reason {
				t.Errorf("at cooldown_until %s still blocked by %s", until.Format(time.RFC3339Nano), q.Reason)
			}
		})
	}
}

func TestPlanActionDoesNotModifyInputs(t *testing.T) {
	samples := []MetricsSample{{t0, 100, 1}, {t0.Add(-20 * time.Minute), 0, 0}, {t0.Add(-10 * time.Minute), 50, 0}}
	log := []ActionRecord{
		rec("p1", ActionEdit, Tier2, StatusSuccess, t0.Add(-time.Minute)),
		rec("p1", ActionComment, Tier1, StatusSuccess, t0.Add(-80*time.Minute)),
		rec("p1", ActionComment, Tier1, StatusFailed, t0.Add(-30*time.Minute)),
	}
	s0 := append([]MetricsSample(nil), samples...)
	l0 := append([]ActionRecord(nil), log...)
	p := PlanAction("p1", log, samples, DefaultConfig(), t0)
	if p.Reason != ReasonWindowFrequency {
		t.Fatalf("reason %q", p.Reason)
	}
	for i := range samples {
		if samples[i] != s0[i] {
			t.Fatalf("samples[%d] changed", i)
		}
	}
	for i := range log {
		if log[i].InitiatedAt != l0[i].InitiatedAt || log[i].Key != l0[i].Key {
			t.Fatalf("log[%d] changed", i)
		}
	}
}

func TestIsDuplicate(t *testing.T) {
	for _, tc := range []struct {
		status ActionStatus
		want   bool
	}{
		{StatusRunning, true},
		{StatusSuccess, true},
		{StatusFailed, false},
		{StatusBlocked, false},
		{StatusAwaitingApproval, true},
		{StatusRejected, true},
		{StatusExpired, false},
		{"", false},
	} {
		log := []ActionRecord{{Key: keyP1Comment1, PostID: "p1", Status: tc.status}}
		if got := IsDuplicate(log, keyP1Comment1); got != tc.want {
			t.Errorf("status %q: IsDuplicate = %v, want %v", tc.status, got, tc.want)
		}
		if IsDuplicate(log, keyP1Edit2) {
			t.Errorf("status %q: another key is a duplicate", tc.status)
		}
	}
	if IsDuplicate(nil, keyP1Comment1) {
		t.Error("empty log has a duplicate")
	}
}
