package workflows

import (
	"fmt"
	"sync"
	"time"

	"resurge/domain"
)

// DefaultLockViewTTL is how long a worker answers lock by itself after the arbiter last told
// it lock (see SafetyClient.LockViewTTL).
const DefaultLockViewTTL = 15 * time.Second

// lockView is one worker's memory of the arbiter's lock. While the arbiter's last lock answer
// is younger than the TTL, autonomous arbitrations are refused here, without an update: a
// refusal is always safe, and only an allow must come from the arbiter. Once the view is
// older than the TTL, one arbitration (the probe) asks the arbiter for real while the others
// wait for its answer, so that a lock costs the arbiter about one update per TTL per worker
// whatever the number of blocked posts. An allow decided after the lock answer clears the view.
type lockView struct {
	mu sync.Mutex
	// seen is when (this worker's clock) the last lock answer arrived; zero: no lock in view.
	seen time.Time
	// decidedAt is the arbiter's time of the last lock or allow the view took: an answer
	// decided before it does not change the view.
	decidedAt  time.Time
	confidence float64
	// probe is open while one arbitration asks the arbiter to refresh an expired view.
	probe chan struct{}
}

// viewAnswer is what the view says about one autonomous request.
type viewAnswer struct {
	// local is a lock answered from the view (ok true).
	local domain.ArbitrationDecision
	ok    bool
	// probe: this caller asks the arbiter for the view and must call done. wait: another
	// caller is asking; check again once it closes.
	probe bool
	wait  <-chan struct{}
}

// check answers from the view if it is fresh, else tells the caller to probe or to wait.
func (v *lockView) check(req domain.ArbitrationRequest, ttl time.Duration, now time.Time) viewAnswer {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case v.seen.IsZero():
		return viewAnswer{}
	case now.Sub(v.seen) < ttl:
		return viewAnswer{ok: true, local: v.localLock(req, ttl, now)}
	case v.probe == nil:
		v.probe = make(chan struct{})
		return viewAnswer{probe: true}
	}
	return viewAnswer{wait: v.probe}
}

// fresh answers from the view if it is fresh, and says nothing otherwise.
func (v *lockView) fresh(req domain.ArbitrationRequest, ttl time.Duration, now time.Time) (domain.ArbitrationDecision, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen.IsZero() || now.Sub(v.seen) >= ttl {
		return domain.ArbitrationDecision{}, false
	}
	return v.localLock(req, ttl, now), true
}

func (v *lockView) localLock(req domain.ArbitrationRequest, ttl time.Duration, now time.Time) domain.ArbitrationDecision {
	seen := v.seen.UTC()
	return domain.ArbitrationDecision{
		Decision: domain.DecisionLock, LockActive: true, Tier: req.Tier, Confidence: v.confidence, At: now.UTC(),
		Local: true, LockSeenAt: seen,
		Reasons: []string{fmt.Sprintf("existing lock state is active (answered by this worker: the arbiter answered lock at %s, %s ago; it is asked again %s after that)",
			seen.Format(time.RFC3339Nano), now.Sub(v.seen).Round(time.Millisecond), ttl)},
	}
}

// observe takes the arbiter's answer to an autonomous request (err: none).
func (v *lockView) observe(d domain.ArbitrationDecision, err error, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// An answer decided before the one the view rests on (replies can overtake each other)
	// changes nothing.
	if err == nil && !d.At.Before(v.decidedAt) {
		switch d.Decision {
		case domain.DecisionLock:
			v.seen, v.decidedAt, v.confidence = now, d.At, d.Confidence
		case domain.DecisionAllow:
			v.seen, v.decidedAt = time.Time{}, d.At
		}
	}
}

// endProbe releases the callers waiting for the probe's answer (observed first, if any).
func (v *lockView) endProbe() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.probe != nil {
		close(v.probe)
		v.probe = nil
	}
}
