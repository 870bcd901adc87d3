package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSparsestInterval(t *testing.T) {
	cfg := func(f func(*EvaluationConfig)) EvaluationConfig {
		c := DefaultConfig()
		f(&c)
		return c
	}
	cases := []struct {
		name string
		c    EvaluationConfig
		want time.Duration
	}{
		// 90 minutes less a thirtieth (3 minutes), over the 2 gaps between 3 samples.
		{"defaults: 3 samples in 90 minutes", DefaultConfig(), 43*time.Minute + 30*time.Second},
		{"4 samples", cfg(func(c *EvaluationConfig) { c.MinSamples = 4 }), 29 * time.Minute},
		{"1 sample: the window", cfg(func(c *EvaluationConfig) { c.MinSamples = 1 }), 90 * time.Minute},
		{"max_sample_interval below the limit", cfg(func(c *EvaluationConfig) { c.MaxSampleInterval = 20 * time.Minute }), 20 * time.Minute},
		{"max_sample_interval above the limit is capped", cfg(func(c *EvaluationConfig) { c.MaxSampleInterval = 80 * time.Minute }), 43*time.Minute + 30*time.Second},
		{"never below the sample interval", cfg(func(c *EvaluationConfig) { c.MinSamples = 100; c.SampleInterval = 5 * time.Minute }), 5 * time.Minute},
	}
	for _, c := range cases {
		if got := c.c.SparsestInterval(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		// The window always holds MinSamples samples at the sparsest interval, with room.
		if s := c.c.SparsestInterval(); c.c.MinSamples > 1 && s > c.c.SampleInterval && time.Duration(c.c.MinSamples-1)*s > c.c.Window*29/30 {
			t.Errorf("%s: %d samples every %s do not fit in %s", c.name, c.c.MinSamples, s, c.c.Window)
		}
	}
}

func TestNextCadence(t *testing.T) {
	adaptive := DefaultConfig()
	fixed := DefaultConfig()
	fixed.Cadence = CadenceFixed
	legacy := DefaultConfig()
	legacy.Cadence = ""
	start := t0
	at := func(d time.Duration) time.Time { return start.Add(d) }
	scored := func(score float64, tier Tier) Plan { return Plan{SampleCount: 9, Score: score, Tier: tier} }
	calmSince := func(c time.Time, score float64, tier Tier) *Cadence {
		return &Cadence{Mode: CadenceAdaptive, Interval: 20 * time.Minute, CalmSince: c, Score: score, Tier: tier, Scored: true}
	}
	acted := []ActionRecord{{Key: keyP1Comment1, PostID: "p1", Action: ActionComment, Tier: Tier1, InitiatedAt: at(20 * time.Minute), Status: StatusSuccess}}
	blocked := []ActionRecord{{Key: keyP1Comment1, PostID: "p1", Action: ActionComment, Tier: Tier1, InitiatedAt: at(5 * time.Hour), Status: StatusBlocked}}
	sparsest := adaptive.SparsestInterval()
	cases := []struct {
		name     string
		cfg      EvaluationConfig
		now      time.Time
		log      []ActionRecord
		plan     Plan
		prev     *Cadence
		want     time.Duration
		calm     time.Time
		reason   string
		wantMode string
	}{
		{"fixed: always the sample interval", fixed, at(30 * time.Hour), nil, scored(0, Tier1), nil, 10 * time.Minute, time.Time{}, "fixed cadence", CadenceFixed},
		{"no cadence (a post from before it existed): fixed", legacy, at(30 * time.Hour), nil, scored(0, Tier1), nil, 10 * time.Minute, time.Time{}, "fixed cadence", CadenceFixed},
		{"young: too few samples yet", adaptive, at(10 * time.Minute), nil, Plan{SampleCount: 2, Reason: ReasonInsufficientSamples}, nil,
			10 * time.Minute, at(10 * time.Minute), "2 samples in the window, too few to judge", CadenceAdaptive},
		{"young: the first window", adaptive, at(80 * time.Minute), nil, scored(0, Tier1), calmSince(at(20*time.Minute), 0, Tier1),
			10 * time.Minute, at(90 * time.Minute), "young: dense for the first 1h30m", CadenceAdaptive},
		{"just acted: half a window after the action", adaptive, at(2 * time.Hour), []ActionRecord{{Key: "k", PostID: "p1", Action: ActionEdit, Tier: Tier2, InitiatedAt: at(100 * time.Minute), Status: StatusSuccess}},
			scored(0.7, Tier2), calmSince(at(90*time.Minute), 0.7, Tier2), 10 * time.Minute, at(145 * time.Minute), "just acted at 13:40:00: dense for half a window", CadenceAdaptive},
		{"a failed action counts as acted", adaptive, at(2 * time.Hour), []ActionRecord{{Key: "k", PostID: "p1", Action: ActionEdit, Tier: Tier2, InitiatedAt: at(100 * time.Minute), Status: StatusFailed}},
			scored(0.7, Tier2), nil, 10 * time.Minute, at(145 * time.Minute), "just acted", CadenceAdaptive},
		{"calm: the first step doubles", adaptive, at(90 * time.Minute), acted, scored(0, Tier1), calmSince(at(90*time.Minute), 0, Tier1),
			20 * time.Minute, at(90 * time.Minute), "stable for 0s: ×2", CadenceAdaptive},
		{"calm for 44 minutes: still ×2", adaptive, at(134 * time.Minute), acted, scored(0.01, Tier1), calmSince(at(90*time.Minute), 0, Tier1),
			20 * time.Minute, at(90 * time.Minute), "stable for 44m: ×2", CadenceAdaptive},
		{"calm for half a window: ×4", adaptive, at(135 * time.Minute), acted, scored(0, Tier1), calmSince(at(90*time.Minute), 0, Tier1),
			40 * time.Minute, at(90 * time.Minute), "stable for 45m: ×4", CadenceAdaptive},
		{"calm for a window: ×8, capped at the sparsest", adaptive, at(180 * time.Minute), acted, scored(0, Tier1), calmSince(at(90*time.Minute), 0, Tier1),
			sparsest, at(90 * time.Minute), "stable for 1h30m: ×4, the sparsest (3 samples in a 1h30m window)", CadenceAdaptive},
		{"calm for a day", adaptive, at(25 * time.Hour), acted, scored(0, Tier1), calmSince(at(90*time.Minute), 0, Tier1),
			sparsest, at(90 * time.Minute), "stable for 23h30m", CadenceAdaptive},
		{"a blocked record is no action: calm since young", adaptive, at(6 * time.Hour), blocked, scored(0, Tier1), calmSince(at(90*time.Minute), 0, Tier1),
			sparsest, at(90 * time.Minute), "stable for 4h30m", CadenceAdaptive},
		{"the score moved: dense again", adaptive, at(25 * time.Hour), acted, scored(0.26, Tier1), calmSince(at(90*time.Minute), 0.2, Tier1),
			10 * time.Minute, at(25 * time.Hour), "score moved 0.20 → 0.26 (tier_1 → tier_1)", CadenceAdaptive},
		{"the tier changed: dense again", adaptive, at(25 * time.Hour), acted, scored(0.56, Tier2), calmSince(at(90*time.Minute), 0.54, Tier1),
			10 * time.Minute, at(25 * time.Hour), "score moved 0.54 → 0.56 (tier_1 → tier_2)", CadenceAdaptive},
		{"a small move is stable", adaptive, at(25 * time.Hour), acted, scored(0.24, Tier1), calmSince(at(90*time.Minute), 0.2, Tier1),
			sparsest, at(90 * time.Minute), "stable", CadenceAdaptive},
		{"after a move, calm since then", adaptive, at(25*time.Hour + 30*time.Minute), acted, scored(0.3, Tier1), calmSince(at(25*time.Hour), 0.29, Tier1),
			20 * time.Minute, at(25 * time.Hour), "stable for 30m: ×2", CadenceAdaptive},
		{"too few samples later on: dense", adaptive, at(25 * time.Hour), acted, Plan{SampleCount: 2, Reason: ReasonInsufficientSamples}, calmSince(at(90*time.Minute), 0, Tier1),
			10 * time.Minute, at(25 * time.Hour), "2 samples in the window", CadenceAdaptive},
		{"a previous cadence without a score does not move", adaptive, at(25 * time.Hour), acted, scored(0.9, Tier3),
			&Cadence{Mode: CadenceAdaptive, CalmSince: at(90 * time.Minute)}, sparsest, at(90 * time.Minute), "stable", CadenceAdaptive},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := NextCadence(CadenceInput{Config: c.cfg, PostID: "p1", StartedAt: start, Now: c.now, Log: c.log, Plan: c.plan, Previous: c.prev})
			if got.Interval != c.want || !got.CalmSince.Equal(c.calm) || got.Mode != c.wantMode || !strings.Contains(got.Reason, c.reason) {
				t.Fatalf("got %s %s calm since %v (%q), want %s %s calm since %v (%q)",
					got.Mode, got.Interval, got.CalmSince, got.Reason, c.wantMode, c.want, c.calm, c.reason)
			}
			if got.Score != c.plan.Score || got.Tier != c.plan.Tier || got.Scored != (c.plan.Reason != ReasonInsufficientSamples) {
				t.Fatalf("judged on %+v, want the plan's %+v", got, c.plan)
			}
		})
	}
}

// TestNextCadenceNeverTooSparse: whatever the configuration and the history, the adaptive
// interval stays between the sample interval and the sparsest one.
func TestNextCadenceNeverTooSparse(t *testing.T) {
	for _, m := range []int{1, 2, 3, 5, 9} {
		for _, w := range []time.Duration{10 * time.Minute, 90 * time.Minute, 6 * time.Hour} {
			cfg := DefaultConfig()
			cfg.MinSamples, cfg.Window, cfg.SampleInterval = m, w, min(10*time.Minute, w)
			prev := &Cadence{Mode: CadenceAdaptive, Scored: true, CalmSince: t0}
			for h := 0; h < 48; h++ {
				c := NextCadence(CadenceInput{Config: cfg, StartedAt: t0, Now: t0.Add(time.Duration(h) * time.Hour), Plan: Plan{SampleCount: m}, Previous: prev})
				if c.Interval < cfg.SampleInterval || c.Interval > cfg.SparsestInterval() || (m > 1 && c.Interval > cfg.SampleInterval && time.Duration(m-1)*c.Interval > w) {
					t.Fatalf("min_samples %d, window %s, at %dh: interval %s (sparsest %s)", m, w, h, c.Interval, cfg.SparsestInterval())
				}
				prev = &c
			}
		}
	}
}

func TestCadenceJSON(t *testing.T) {
	c := Cadence{Mode: CadenceAdaptive, Interval: 43*time.Minute + 30*time.Second, Reason: "stable", CalmSince: t0, Score: 0.5, Tier: Tier1, Scored: true}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"next_interval":"43m30s"`) {
		t.Fatalf("marshals to %s", data)
	}
	var back Cadence
	if err := json.Unmarshal(data, &back); err != nil || back != c {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"next_interval":"soon"}`), &back); err == nil || !strings.Contains(err.Error(), "cadence.next_interval") {
		t.Fatalf("a bad interval: %v", err)
	}
}
