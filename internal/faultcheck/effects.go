package faultcheck

import (
	"testing"
	"time"

	"resurge/domain"
	"resurge/platform/sim"
)

// EffectsByKey groups the platform's effects by idempotency key.
func EffectsByKey(effects []sim.Effect) map[string][]sim.Effect {
	m := map[string][]sim.Effect{}
	for _, e := range effects {
		m[e.Key] = append(m[e.Key], e)
	}
	return m
}

// CheckOneEffectPerRecord checks the platform's effects against the posts' final logs: every
// key has at most one effect; every successful record has exactly one effect, on its post;
// every record is final; and every effect on these posts belongs to a successful record
// (nothing reached the platform that the workflows do not know about, nothing they recorded
// as done is missing). It returns the number of effects checked.
func CheckOneEffectPerRecord(t testing.TB, effects []sim.Effect, logs map[string][]domain.ActionRecord) int {
	t.Helper()
	byKey := EffectsByKey(effects)
	for k, es := range byKey {
		if len(es) != 1 {
			t.Errorf("key %s has %d effects on the platform, want 1: %+v", k, len(es), es)
		}
	}
	recorded := map[string]bool{}
	for id, log := range logs {
		keys := map[string]int{}
		for _, r := range log {
			keys[r.Key]++
			if keys[r.Key] > 1 {
				t.Errorf("%s: key %s has %d records", id, r.Key, keys[r.Key])
			}
			if r.Status == domain.StatusRunning {
				t.Errorf("%s: record %s still running in a stopped post", id, r.Key)
			}
			if r.Status != domain.StatusSuccess {
				continue
			}
			recorded[r.Key] = true
			es := byKey[r.Key]
			if len(es) != 1 || es[0].PostID != id {
				t.Errorf("%s: successful record %s (%s) has effects %+v on the platform, want one on this post", id, r.Key, r.Action, es)
			}
		}
	}
	n := 0
	for k, es := range byKey {
		if _, ours := logs[es[0].PostID]; !ours {
			continue
		}
		n++
		if !recorded[k] {
			t.Errorf("effect %s (key %s, post %s) has no successful record in its post's log", es[0].ID, k, es[0].PostID)
		}
	}
	return n
}

// CheckDecisionsAroundLock checks the arbiter's decisions against a lock that began at since
// and was released at released (zero: still locked): the arbiter allowed nothing in between,
// and every effect's key has an allow decision made before the lock or after the release. (A
// decision made in the same workflow task as the lock, before it, has its time: a decision
// made after it would have been a lock.)
func CheckDecisionsAroundLock(t testing.TB, decisions []Decision, effects []sim.Effect, since, released time.Time) {
	t.Helper()
	inLock := func(at time.Time) bool {
		return at.After(since) && (released.IsZero() || at.Before(released))
	}
	allowed := map[string][]time.Time{}
	for _, d := range decisions {
		if d.Decision != domain.DecisionAllow {
			continue
		}
		allowed[d.Key] = append(allowed[d.Key], d.At)
		if inLock(d.At) {
			t.Errorf("the arbiter allowed %s at %s, during the lock (%s to %s)", d.Key, d.At, since, released)
		}
	}
	for _, e := range effects {
		ok := false
		for _, at := range allowed[e.Key] {
			ok = ok || !inLock(at)
		}
		if !ok {
			t.Errorf("effect %s on %s (key %s, created %s) has no allow decision outside the lock (%s to %s): allowed at %v",
				e.ID, e.PostID, e.Key, e.CreatedAt, since, released, allowed[e.Key])
		}
	}
}
