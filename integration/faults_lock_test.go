package integration

import (
	"fmt"
	"testing"
	"time"

	"resurge/app"
	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/workflows"
)

// TestFaultLockUnderLoad: 500 posts acting; an operator's lock lands when a fifth of them have
// acted. No action whose arbitration came after the lock reaches the platform: every effect's
// key has an allow decision (in the arbiter's own history) made no later than the lock, and
// while locked the arbiter allows nothing. The worker's lock view (15 s) refuses most blocked
// posts itself, without an update: only allows must come from the arbiter. After the release,
// every post the lock refused (at the arbiter or at the worker) acts, on a decision made after
// the release; one effect per key in all.
//
// The posts sample every 20 s (20 simulated minutes at 60x; production samples every 10 real
// minutes) and are started over 60 s, so that actions are spread out when the lock lands and
// the arbiter sees about 8 requests a second. This 2-core box runs the server, the worker and
// the platform in one process; at twice that rate it saturates, and the server this module
// pins (v1.32.1) then hits temporalio/temporal#7741 (fixed upstream by #9138) on the arbiter,
// whose workflow tasks come from updates: "premature end of stream" task failures, and the
// arbiter answers nothing for minutes. Posts then fail closed (their arbitrations time out and
// they do not act), as they must, but the test would measure the box. Everything is checked
// from the platform, the arbiter's history and the posts' final logs: a status query per post
// would load the worker further.
func TestFaultLockUnderLoad(t *testing.T) {
	n := 500 * soakRounds()
	policy := domain.DefaultSafetyPolicy()
	// The hourly budgets would deny part of 500 posts' actions: this test is about the lock.
	policy.GlobalPerHour, policy.PerPostPerHour = 100*n, 100
	fs := startFaultStack(t, devstack.Options{Safety: app.SafetyConfig{Policy: policy, Monitor: loadTolerantMonitor()}})
	posts := faultcheck.CurvePosts("lock", n, func(i int) string { return fmt.Sprintf("agent-lock-%d", i%20) }, faultcheck.LockLoadConfig())
	ids := faultcheck.PostIDs(posts)
	waitStarted := faultcheck.StartPaced(t, fs.Client, posts, 60*time.Second)
	begin := time.Now()
	eventually(t, 2*time.Minute, "a fifth of the posts acting", func() (bool, string) {
		n := len(fs.Sim.Effects())
		return n >= len(posts)/5, fmt.Sprintf("%d effects", n)
	})
	lockReq := domain.LockRequest{Source: "operator/test", Reason: "lock under load", Tier: 3, Confidence: 1}
	if err := fs.safety.Lock(t.Context(), lockReq); err != nil {
		t.Fatal(err)
	}
	atLock, lockAfter := len(fs.Sim.Effects()), time.Since(begin)
	waitStarted()

	// Hold the lock until a good share of the posts were refused (each refused post asks again
	// at every sample): by the arbiter, or by the worker from its lock view, which asks the
	// arbiter again only once its last lock answer is older than the view's TTL.
	var state workflows.ArbiterState
	worker := fs.Wiring.Safety
	eventually(t, 2*time.Minute, "the lock refusing posts", func() (bool, string) {
		var err error
		state, err = fs.safety.ArbiterState(t.Context())
		if err != nil {
			return false, err.Error()
		}
		st := worker.Stats()
		return state.Lock.Active && st.LocalLocks+int64(state.Counters.Locked) >= int64(n/4),
			fmt.Sprintf("lock %+v, %d refused by the arbiter, %d by the worker", state.Lock.Active, state.Counters.Locked, st.LocalLocks)
	})
	if state.Lock.Source != lockReq.Source {
		t.Fatalf("the arbiter is locked by %q, not the test: %+v", state.Lock.Source, state.Lock)
	}
	since := state.Lock.Since
	effects := fs.Sim.Effects()
	faultcheck.CheckDecisionsAroundLock(t, arbiterDecisions(t, fs), effects, since, time.Time{})
	afterLock := 0
	for _, e := range effects {
		if e.CreatedAt.After(since) {
			afterLock++
		}
	}
	t.Logf("lock after %s at %d effects; %d effects while locked (%d created after the lock, allowed before it), %d requests refused",
		lockAfter.Round(time.Millisecond), atLock, len(effects), afterLock, state.Counters.Locked)

	if err := fs.safety.Release(t.Context(), domain.ReleaseRequest{Operator: "test", Reason: "lock under load checked"}); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	waitActed(t, fs, 3*time.Minute, "every post acting after the release", ids)
	t.Logf("all %d posts acted %s after the release", n, time.Since(released).Round(time.Millisecond))
	logs := faultcheck.StopPosts(t, fs.Client, ids)
	state, err := fs.safety.ArbiterState(t.Context())
	if err != nil || state.Lock.Active || state.Lock.ReleasedAt.IsZero() {
		t.Fatalf("the arbiter is not released: %+v %v", state.Lock, err)
	}
	decisions := arbiterDecisions(t, fs)
	effects = fs.Sim.Effects()
	faultcheck.CheckDecisionsAroundLock(t, decisions, effects, since, state.Lock.ReleasedAt)
	faultcheck.CheckOneEffectPerRecord(t, fs.Sim.Effects(), logs)

	// The lock refused posts mid-run, by the arbiter or from the worker's lock view, and every
	// one of them acted after the release.
	refused := faultcheck.LockRefusedKeys(decisions)
	arbiterRefused := len(refused)
	received, err := faultcheck.ReceivedDecisions(testContext(t, 5*time.Minute), fs.Client, ids)
	if err != nil {
		t.Fatal(err)
	}
	local := received.LocalLockKeys
	for k := range local {
		refused[k] = true
	}
	if st := worker.Stats(); len(local) == 0 || st.LocalLocks == 0 {
		t.Errorf("the worker's lock view refused nothing (%+v): every blocked post asked the arbiter", st)
	}
	t.Logf("refused by the arbiter: %d keys in %d lock answers; by the worker's lock view: %d keys (%+v)",
		arbiterRefused, state.Counters.Locked, len(local), worker.Stats())
	resumed := faultcheck.CheckRefusedResumed(t, refused, fs.Sim.Effects(), state.Lock.ReleasedAt)
	if resumed == 0 || atLock == 0 {
		t.Fatalf("the lock did not land mid-run: %d effects before it, %d keys refused", atLock, resumed)
	}
	t.Logf("%d keys refused by the lock, all acted after the release; %d effects, %d decisions", resumed, len(effects), len(decisions))
}
