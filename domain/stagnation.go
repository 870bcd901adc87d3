package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
)

// Stagnation thresholds: a score at or above Tier3Threshold calls for a thread, at or above
// Tier2Threshold for an edit, anything lower for a comment.
const (
	Tier3Threshold = 0.80
	Tier2Threshold = 0.55
	// rateScale turns an engagement rate into the score: a 5% rate or better scores 0.
	rateScale = 20.0
)

// StagnationScore scores samples (in any order) between 0 (healthy) and 1 (no engagement at
// all): over the samples ordered by time, rate = engagement delta / impression delta (0 without
// new impressions), score = 1 - min(1, rate*20). Deltas below zero count as zero.
func StagnationScore(samples []MetricsSample) float64 {
	if len(samples) == 0 {
		return 1
	}
	return 1 - min(1, EngagementRate(samples)*rateScale)
}

// TierForScore maps a stagnation score to its tier.
func TierForScore(score float64) Tier {
	switch {
	case score >= Tier3Threshold:
		return Tier3
	case score >= Tier2Threshold:
		return Tier2
	default:
		return Tier1
	}
}

// ActionForTier is the corrective action each tier calls for on the reference platform (sim);
// ActionForTierOn gives a platform's.
func ActionForTier(t Tier) ActionType {
	switch t {
	case Tier1:
		return ActionComment
	case Tier2:
		return ActionEdit
	default:
		return ActionThread
	}
}

// IdempotencyKey is "sheal_" + the first 32 hex digits of SHA-256("<postID>:<action>:<tier>"),
// the key the reference executor produced, so migrated histories keep their de-duplication.
func IdempotencyKey(postID string, action ActionType, tier Tier) string {
	sum := sha256.Sum256([]byte(postID + ":" + string(action) + ":" + string(tier)))
	return "sheal_" + hex.EncodeToString(sum[:])[:32]
}

// sortedByTime returns a copy of samples ordered by time; equal times keep their input order.
func sortedByTime(samples []MetricsSample) []MetricsSample {
	out := append([]MetricsSample(nil), samples...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
