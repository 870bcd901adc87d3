package domain

// EngagementRate is new engagements per new impression over samples (in any order): the rate
// the stagnation score is computed from, 0 without new impressions.
func EngagementRate(samples []MetricsSample) float64 {
	if len(samples) < 2 {
		return 0
	}
	ordered := sortedByTime(samples)
	first, last := ordered[0], ordered[len(ordered)-1]
	impressions := max(0, last.Impressions-first.Impressions)
	engagements := max(0, last.Engagements-first.Engagements)
	if impressions == 0 {
		return 0
	}
	return float64(engagements) / float64(impressions)
}
