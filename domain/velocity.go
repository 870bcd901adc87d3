package domain

import "time"

// VelocityFloorPerHour is the engagement velocity (new engagements per hour) a post on a platform
// without impressions must reach to count as healthy when its own earlier velocity was lower
// still: the floor keeps a post that never took off from being compared only with itself.
const VelocityFloorPerHour = 1.0

// PlatformReportsImpressions reports whether a platform's metrics include impressions. Mastodon's
// and Bluesky's do not (their posts have no view counter; the adapters report 0 impressions):
// their posts are scored by VelocityStagnationScore. sim, and an unnamed platform (plan requests
// and inputs written before platforms mattered), report them and keep the reference formula,
// StagnationScore. See Capabilities.ReportsImpressions.
func PlatformReportsImpressions(platform string) bool {
	return CapabilitiesOf(platform).ReportsImpressions
}

// StagnationScoreFor scores samples with the formula that fits the platform: StagnationScore
// where there are impressions, VelocityStagnationScore where there are none.
func StagnationScoreFor(platform string, samples []MetricsSample) float64 {
	if PlatformReportsImpressions(platform) {
		return StagnationScore(samples)
	}
	return VelocityStagnationScore(samples)
}

// VelocityStagnationScore scores samples (in any order) between 0 (healthy) and 1 (no new
// engagement) from engagement velocity alone, for platforms that report no impressions. It maps
// onto the same tiers as StagnationScore (Tier2Threshold 0.55, Tier3Threshold 0.80).
//
// Over the samples s0..sn ordered by time (equal times keep their input order):
//
//   - split: sk is the last sample taken at or before the midpoint of t0 and tn, but at least s1
//     and at most s(n-1); with only two samples there is no earlier part (k = 0);
//   - recent velocity  vr = max(0, e(n) - e(k)) / hours(t(n) - t(k)), 0 when no time passed;
//   - earlier velocity ve = max(0, e(k) - e(0)) / hours(t(k) - t(0)), 0 when k = 0 or no time passed;
//   - reference = max(ve, VelocityFloorPerHour);
//   - score = 1 - min(1, vr / reference).
//
// So a post keeping its own pace (or at least one engagement an hour when its pace was slower)
// scores 0; one whose recent pace fell to 45% of the reference or less reaches tier 2 (edit), to
// 20% or less tier 3 (thread); one with no new engagement scores 1. Fewer than two samples score
// 1, as in StagnationScore.
func VelocityStagnationScore(samples []MetricsSample) float64 {
	if len(samples) < 2 {
		return 1
	}
	s := sortedByTime(samples)
	n := len(s) - 1
	k := 0
	if n >= 2 {
		mid := s[0].At.Add(s[n].At.Sub(s[0].At) / 2)
		k = 1
		for i := 1; i < n; i++ {
			if !s[i].At.After(mid) {
				k = i
			}
		}
	}
	recent := velocity(s[k], s[n])
	reference := VelocityFloorPerHour
	if k > 0 {
		reference = max(reference, velocity(s[0], s[k]))
	}
	return 1 - min(1, recent/reference)
}

// velocity is the new engagements per hour from a to b: 0 when they went down or no time passed.
func velocity(a, b MetricsSample) float64 {
	span := b.At.Sub(a.At)
	delta := b.Engagements - a.Engagements
	if span <= 0 || delta <= 0 {
		return 0
	}
	return float64(delta) / (float64(span) / float64(time.Hour))
}
