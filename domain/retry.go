package domain

import (
	"hash/fnv"
	"time"
)

// MaxBudgetRetryJitter bounds BudgetRetryJitter.
const MaxBudgetRetryJitter = time.Minute

// BudgetRetryJitter is how long after a budget's retry_at a post asks again: a fixed offset
// per post in [0, min(MaxBudgetRetryJitter, interval)), from a hash of its ID, so that the
// posts one freed slot wakes do not all ask at the same instant. It is a pure function of the
// post: a workflow computes it again on replay, and it costs no history.
func BudgetRetryJitter(postID string, interval time.Duration) time.Duration {
	span := min(MaxBudgetRetryJitter, interval)
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(postID))
	return time.Duration(h.Sum64() % uint64(span))
}

// BudgetRetryTime is when a post whose action the budgets refused until retryAt asks the
// arbiter again: retryAt plus the post's jitter, but never before its next sample, so that a
// budget that frees a slot every few seconds (a global budget under pressure) never makes a
// post ask more often than its cadence would.
func BudgetRetryTime(postID string, retryAt, nextSample time.Time, interval time.Duration) time.Time {
	t := retryAt.Add(BudgetRetryJitter(postID, interval))
	if t.Before(nextSample) {
		return nextSample
	}
	return t
}
