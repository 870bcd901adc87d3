package domain

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// vs builds samples from (minutes after t0, engagements) pairs; impressions stay 0, as Mastodon
// reports them.
func vs(pairs ...int64) []MetricsSample {
	out := make([]MetricsSample, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, MetricsSample{At: t0.Add(time.Duration(pairs[i]) * time.Minute), Engagements: pairs[i+1]})
	}
	return out
}

func TestVelocityStagnationScore(t *testing.T) {
	tests := []struct {
		name     string
		samples  []MetricsSample
		want     float64
		wantTier Tier
	}{
		{"no samples", nil, 1, Tier3},
		{"one sample", vs(0, 50), 1, Tier3},
		{"no new engagement", vs(0, 50, 60, 50, 120, 50), 1, Tier3},

		// Two samples: no earlier part, the floor (1/h) is the reference.
		{"two samples at the floor", vs(0, 0, 60, 1), 0, Tier1},
		{"two samples: 0.2/h against the floor is exactly 0.80", vs(0, 0, 300, 1), 0.8, Tier3},
		{"two samples: 0.45/h against the floor is exactly 0.55", vs(0, 0, 2000, 15), 0.55, Tier2},
		{"two samples above the floor clamp to 0", vs(0, 0, 60, 40), 0, Tier1},

		// Three samples an hour apart: earlier velocity e1-e0, recent e2-e1 (per hour).
		{"same pace scores 0", vs(0, 0, 60, 20, 120, 40), 0, Tier1},
		{"faster than before is clamped to 0", vs(0, 0, 60, 20, 120, 100), 0, Tier1},
		{"recent at 20% of earlier is exactly 0.80", vs(0, 0, 60, 20, 120, 24), 0.8, Tier3},
		{"recent just above 20% is tier 2", vs(0, 0, 60, 10000, 120, 12001), 0.7999, Tier2},
		{"recent at 45% of earlier is exactly 0.55", vs(0, 0, 60, 20, 120, 29), 0.55, Tier2},
		{"recent just above 45% is tier 1", vs(0, 0, 60, 10000, 120, 14501), 0.5499, Tier1},
		{"recent at 50% is tier 1", vs(0, 0, 60, 20, 120, 30), 0.5, Tier1},
		{"recent at 10% is tier 3", vs(0, 0, 60, 20, 120, 22), 0.9, Tier3},

		// The floor: an earlier pace below 1/h is replaced by 1/h.
		{"earlier below the floor: the floor is the reference", vs(0, 0, 300, 2, 600, 3), 0.8, Tier3},
		{"earlier exactly at the floor", vs(0, 0, 60, 1, 120, 1), 1, Tier3},
		{"no earlier engagement: 1/h now is healthy", vs(0, 0, 60, 0, 120, 1), 0, Tier1},
		{"no earlier engagement: 0.45/h now is exactly 0.55", vs(0, 0, 1200, 0, 2400, 9), 0.55, Tier2},
		{"earlier just above the floor is the reference", vs(0, 0, 60, 2, 120, 3), 0.5, Tier1},

		// Deltas below zero count as zero.
		{"recent engagements went down", vs(0, 0, 60, 20, 120, 10), 1, Tier3},
		{"earlier engagements went down: the floor is the reference", vs(0, 50, 60, 20, 120, 21), 0, Tier1},

		// The split: the last sample at or before the midpoint, at least the second one.
		{"the sample at the midpoint ends the earlier part", vs(0, 0, 30, 5, 60, 20, 120, 24), 0.8, Tier3},
		{"a split never takes the first sample", vs(0, 0, 50, 10, 60, 10), 1, Tier3},
		{"all samples at one time: no time passed", vs(0, 0, 0, 10, 0, 20), 1, Tier3},
		{"only first, split and last matter", vs(0, 0, 10, 500, 60, 20, 70, 0, 120, 24), 0.8, Tier3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]MetricsSample(nil), tc.samples...)
			got := VelocityStagnationScore(tc.samples)
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("score = %v, want %v", got, tc.want)
			}
			if got < 0 || got > 1 {
				t.Errorf("score %v is outside [0, 1]", got)
			}
			if tier := TierForScore(got); tier != tc.wantTier {
				t.Errorf("tier = %s (score %v), want %s", tier, got, tc.wantTier)
			}
			if !reflect.DeepEqual(in, tc.samples) {
				t.Errorf("VelocityStagnationScore modified its input")
			}
		})
	}
}

func TestVelocityStagnationScoreThresholdsAreExact(t *testing.T) {
	cases := []struct {
		samples []MetricsSample
		want    float64
	}{
		{vs(0, 0, 60, 20, 120, 24), Tier3Threshold},
		{vs(0, 0, 300, 1), Tier3Threshold},
		{vs(0, 0, 60, 20, 120, 29), Tier2Threshold},
		{vs(0, 0, 2000, 15), Tier2Threshold},
	}
	for _, tc := range cases {
		if got := VelocityStagnationScore(tc.samples); got != tc.want {
			t.Errorf("%v scores %v (%b), want exactly %v", tc.samples, got, got, tc.want)
		}
	}
}

func TestVelocityStagnationScoreOrdersByTime(t *testing.T) {
	ordered := vs(0, 0, 60, 20, 120, 24)
	shuffled := []MetricsSample{ordered[2], ordered[0], ordered[1]}
	if got := VelocityStagnationScore(shuffled); got != Tier3Threshold {
		t.Errorf("unsorted input scores %v, want %v", got, Tier3Threshold)
	}
	// Equal times keep their input order: listed first is earlier. The split is the second sample.
	eq := []MetricsSample{{At: t0, Engagements: 0}, {At: t0, Engagements: 2}, {At: t0.Add(2 * time.Hour), Engagements: 2}}
	if got := VelocityStagnationScore(eq); got != 1 {
		t.Errorf("equal times in input order score %v, want 1 (nothing new after the split)", got)
	}
	eq[0], eq[1] = eq[1], eq[0]
	if got := VelocityStagnationScore(eq); got != 0 {
		t.Errorf("equal times reversed score %v, want 0 (1/h after the split)", got)
	}
}

func TestPlatformReportsImpressions(t *testing.T) {
	for p, want := range map[string]bool{PlatformSim: true, "": true, "other": true, PlatformMastodon: false, PlatformBluesky: false} {
		if got := PlatformReportsImpressions(p); got != want {
			t.Errorf("PlatformReportsImpressions(%q) = %v, want %v", p, got, want)
		}
	}
}

// Platforms that report impressions keep the reference formula, whatever the samples.
func TestStagnationScoreForPlatformsWithImpressionsIsTheReference(t *testing.T) {
	inputs := [][]MetricsSample{
		nil,
		stagnant(t0),
		healthy(t0),
		series(t0, 20*time.Minute, 3, 100, 1),
		series(t0, 20*time.Minute, 3, 400, 9),
		vs(0, 0, 60, 20, 120, 40), // no impressions: the reference scores 1, velocity 0
	}
	for i, in := range inputs {
		for _, p := range []string{PlatformSim, ""} {
			if got, want := StagnationScoreFor(p, in), StagnationScore(in); got != want {
				t.Errorf("input %d on %q: %v, want the reference %v", i, p, got, want)
			}
		}
		for _, p := range []string{PlatformMastodon, PlatformBluesky} {
			if got, want := StagnationScoreFor(p, in), VelocityStagnationScore(in); got != want {
				t.Errorf("input %d on %s: %v, want the velocity score %v", i, p, got, want)
			}
		}
	}
}

func TestPlanActionForChoosesTheFormulaByPlatform(t *testing.T) {
	cfg := DefaultConfig()
	// Steady engagement, no impressions (what the Mastodon adapter reports): healthy by velocity,
	// stagnant by the reference formula (no new impressions).
	samples := []MetricsSample{
		{At: t0.Add(-40 * time.Minute), Engagements: 0},
		{At: t0.Add(-20 * time.Minute), Engagements: 10},
		{At: t0, Engagements: 20},
	}
	sim := PlanActionFor(PlatformSim, "p1", nil, samples, cfg, t0)
	ref := PlanAction("p1", nil, samples, cfg, t0)
	if !reflect.DeepEqual(sim, ref) {
		t.Errorf("sim plan %+v differs from the reference planner's %+v", sim, ref)
	}
	if sim.Score != 1 || sim.Action != ActionThread || sim.Key != keyP1Thread3 {
		t.Errorf("sim plan %+v, want score 1, a thread, key %s", sim, keyP1Thread3)
	}
	m := PlanActionFor(PlatformMastodon, "p1", nil, samples, cfg, t0)
	if !m.Eligible || m.Score != 0 || m.Tier != Tier1 || m.Action != ActionComment || m.Key != keyP1Comment1 {
		t.Errorf("mastodon plan %+v, want eligible, score 0, a comment, key %s", m, keyP1Comment1)
	}
	// The rules are the same: a succeeded comment makes it a duplicate.
	log := []ActionRecord{rec("p1", ActionComment, Tier1, StatusSuccess, t0.Add(-time.Hour))}
	if m := PlanActionFor(PlatformMastodon, "p1", log, samples, cfg, t0); m.Eligible || m.Reason != ReasonDuplicateAction {
		t.Errorf("mastodon plan with a done comment %+v, want duplicate_action", m)
	}
	// Too few samples is too few on every platform.
	if m := PlanActionFor(PlatformMastodon, "p1", nil, samples[:2], cfg, t0); m.Reason != ReasonInsufficientSamples {
		t.Errorf("mastodon plan with 2 samples %+v, want insufficient_samples", m)
	}
}
