package domain

import (
	"math"
	"regexp"
	"testing"
	"time"
)

func TestStagnationScore(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name      string
		samples   []MetricsSample
		wantScore float64
		wantTier  Tier
	}{
		{"no samples", nil, 1, Tier3},
		{"one sample", []MetricsSample{{at(0), 100, 5}}, 1, Tier3},
		// rate = 1/100 = .01, rate*20 = .2 exactly as in Python: 1-.2 == 0.8.
		{"exactly 0.80 is tier 3", series(t0, 20*time.Minute, 3, 100, 1), 0.8, Tier3},
		{"exactly 0.80 from larger deltas", series(t0, 20*time.Minute, 3, 2000, 20), 0.8, Tier3},
		// Python gives 0.79998 and 0.54998 for the two "just below" cases.
		{"just below 0.80 is tier 2", series(t0, 20*time.Minute, 3, 1_000_000, 10_001), 0.79998, Tier2},
		// rate = 9/400 = .0225, rate*20 = .45: 1-.45 == 0.55 in float64, as in Python.
		{"exactly 0.55 is tier 2", series(t0, 20*time.Minute, 3, 400, 9), 0.55, Tier2},
		{"exactly 0.55 from larger deltas", series(t0, 20*time.Minute, 3, 2000, 45), 0.55, Tier2},
		{"just below 0.55 is tier 1", series(t0, 20*time.Minute, 3, 1_000_000, 22_501), 0.54998, Tier1},
		{"rate 5% scores 0", series(t0, 20*time.Minute, 3, 100, 5), 0, Tier1},
		{"rate above 5% is clamped to 0", series(t0, 20*time.Minute, 3, 100, 90), 0, Tier1},
		{"engagements above impressions clamp to 0", series(t0, 20*time.Minute, 3, 10, 500), 0, Tier1},
		{"zero impressions delta: rate 0", []MetricsSample{{at(0), 100, 0}, {at(10), 100, 50}}, 1, Tier3},
		{"zero impressions at all", []MetricsSample{{at(0), 0, 0}, {at(10), 0, 0}, {at(20), 0, 0}}, 1, Tier3},
		{"negative impressions delta counts as 0", []MetricsSample{{at(0), 500, 0}, {at(10), 100, 50}}, 1, Tier3},
		{"negative engagements delta counts as 0", []MetricsSample{{at(0), 100, 50}, {at(10), 200, 10}}, 1, Tier3},
		{"only first and last matter", []MetricsSample{{at(0), 0, 0}, {at(5), 5000, 4000}, {at(10), 100, 1}}, 0.8, Tier3},
		{
			"unsorted input is ordered by time",
			[]MetricsSample{{at(20), 400, 9}, {at(0), 0, 0}, {at(10), 200, 5}},
			0.55, Tier2,
		},
		{
			"equal timestamps keep input order (first listed is first)",
			[]MetricsSample{{at(0), 0, 0}, {at(0), 100, 1}},
			0.8, Tier3,
		},
		{
			"equal timestamps keep input order (reversed gives negative deltas)",
			[]MetricsSample{{at(0), 100, 1}, {at(0), 0, 0}},
			1, Tier3,
		},
		{
			"equal last timestamps: the later-listed one is last",
			[]MetricsSample{{at(0), 0, 0}, {at(10), 100, 50}, {at(10), 400, 9}},
			0.55, Tier2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]MetricsSample(nil), tc.samples...)
			got := StagnationScore(tc.samples)
			if got != tc.wantScore {
				t.Errorf("score = %v (%b), want %v (%b)", got, got, tc.wantScore, tc.wantScore)
			}
			if tier := TierForScore(got); tier != tc.wantTier {
				t.Errorf("tier = %s, want %s", tier, tc.wantTier)
			}
			for i := range in {
				if in[i] != tc.samples[i] {
					t.Fatalf("StagnationScore reordered its input")
				}
			}
		})
	}
}

func TestStagnationScoreThresholdsAreExact(t *testing.T) {
	// The constructed boundary samples must hit the thresholds exactly, not approximately.
	if got := StagnationScore(series(t0, time.Minute, 2, 100, 1)); got != Tier3Threshold {
		t.Fatalf("100/1 scores %v, want exactly %v", got, Tier3Threshold)
	}
	if got := StagnationScore(series(t0, time.Minute, 2, 400, 9)); got != Tier2Threshold {
		t.Fatalf("400/9 scores %v, want exactly %v", got, Tier2Threshold)
	}
}

func TestTierForScore(t *testing.T) {
	tests := []struct {
		score float64
		want  Tier
	}{
		{1, Tier3},
		{0.8, Tier3},
		{math.Nextafter(0.8, 0), Tier2},
		{0.7, Tier2},
		{0.55, Tier2},
		{math.Nextafter(0.55, 0), Tier1},
		{0.3, Tier1},
		{0, Tier1},
	}
	for _, tc := range tests {
		if got := TierForScore(tc.score); got != tc.want {
			t.Errorf("TierForScore(%v) = %s, want %s", tc.score, got, tc.want)
		}
	}
}

func TestActionForTier(t *testing.T) {
	tests := []struct {
		tier Tier
		want ActionType
	}{
		{Tier1, ActionComment},
		{Tier2, ActionEdit},
		{Tier3, ActionThread},
	}
	for _, tc := range tests {
		if got := ActionForTier(tc.tier); got != tc.want {
			t.Errorf("ActionForTier(%s) = %s, want %s", tc.tier, got, tc.want)
		}
	}
}

func TestTypesValid(t *testing.T) {
	for _, a := range ActionTypes {
		if !a.Valid() {
			t.Errorf("%q not valid", a)
		}
	}
	for _, a := range []ActionType{"", "Comment", "delete", "comment "} {
		if a.Valid() {
			t.Errorf("%q valid", a)
		}
	}
	for i, tier := range []Tier{Tier1, Tier2, Tier3} {
		if !tier.Valid() || tier.Level() != i+1 {
			t.Errorf("%q: valid %v level %d", tier, tier.Valid(), tier.Level())
		}
	}
	for _, tier := range []Tier{"", "tier_0", "tier_4", "TIER_1"} {
		if tier.Valid() || tier.Level() != 0 {
			t.Errorf("%q: valid %v level %d", tier, tier.Valid(), tier.Level())
		}
	}
	for _, s := range []ActionStatus{StatusRunning, StatusSuccess, StatusFailed, StatusBlocked} {
		if !s.Valid() {
			t.Errorf("%q not valid", s)
		}
	}
	for _, s := range []ActionStatus{"", "pending", "SUCCESS"} {
		if s.Valid() {
			t.Errorf("%q valid", s)
		}
	}
	finished := map[ActionStatus]bool{StatusRunning: false, StatusSuccess: true, StatusFailed: true, StatusBlocked: false}
	for s, want := range finished {
		if got := (ActionRecord{Status: s}).Finished(); got != want {
			t.Errorf("Finished(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestIdempotencyKeyParity(t *testing.T) {
	// Expected values computed once with Python's hashlib (the reference executor's algorithm).
	tests := []struct {
		post   string
		action ActionType
		tier   Tier
		want   string
	}{
		{"p1", ActionComment, Tier1, keyP1Comment1},
		{"p1", ActionEdit, Tier2, keyP1Edit2},
		{"p1", ActionThread, Tier3, keyP1Thread3},
		{"p2", ActionThread, Tier3, keyP2Thread3},
		{"пост-42", ActionComment, Tier1, "sheal_17c88b1d9cf77e2ada20c265223fcccf"},
		{"📮✉️", ActionThread, Tier3, "sheal_de75cbb5d7e32c65c9cb569f1ba339ce"},
	}
	format := regexp.MustCompile(`^sheal_[0-9a-f]{32}$`)
	for _, tc := range tests {
		got := IdempotencyKey(tc.post, tc.action, tc.tier)
		if got != tc.want {
			t.Errorf("IdempotencyKey(%q, %s, %s) = %s, want %s", tc.post, tc.action, tc.tier, got, tc.want)
		}
		if !format.MatchString(got) {
			t.Errorf("key %q is not sheal_ + 32 lowercase hex digits", got)
		}
	}
	// Every part of the fingerprint matters.
	if IdempotencyKey("p1", ActionComment, Tier1) == IdempotencyKey("p1", ActionComment, Tier2) ||
		IdempotencyKey("p1", ActionComment, Tier1) == IdempotencyKey("p1", ActionEdit, Tier1) ||
		IdempotencyKey("p1", ActionComment, Tier1) == IdempotencyKey("p2", ActionComment, Tier1) {
		t.Error("keys collide across post, action or tier")
	}
}

func TestSamplesInWindow(t *testing.T) {
	w := 90 * time.Minute
	edge := t0.Add(-w)
	tests := []struct {
		name string
		in   []MetricsSample
		want []time.Time
	}{
		{"empty", nil, nil},
		{"edge now-window is inside", []MetricsSample{{At: edge}}, []time.Time{edge}},
		{"1ns before the edge is outside", []MetricsSample{{At: edge.Add(-time.Nanosecond)}}, nil},
		{"now is inside", []MetricsSample{{At: t0}}, []time.Time{t0}},
		{"1ns after now is outside", []MetricsSample{{At: t0.Add(time.Nanosecond)}}, nil},
		{
			"mixed and unsorted, returned in time order",
			[]MetricsSample{
				{At: t0.Add(-time.Minute)}, {At: t0.Add(time.Hour)}, {At: edge}, {At: edge.Add(-time.Nanosecond)},
				{At: t0}, {At: t0.Add(-45 * time.Minute)},
			},
			[]time.Time{edge, t0.Add(-45 * time.Minute), t0.Add(-time.Minute), t0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SamplesInWindow(tc.in, w, t0)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d samples %v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if !got[i].At.Equal(tc.want[i]) {
					t.Errorf("[%d] at %s, want %s", i, got[i].At, tc.want[i])
				}
			}
		})
	}
}
