package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform/sim"
	"resurge/workflows"
)

// TestFaultWorkerKilledMidAction: the platform holds every action's reply, so each action has
// reached the platform (its effect exists) but the worker has not heard back; the worker is
// then killed (its connections dropped first, no drain) and a new one started on a new client.
// The server retries each action only after its start-to-close timeout (30 s); the retry looks
// the effect up before acting (verify-before-retry). Each post is one trial; RESURGE_SOAK runs
// more rounds, each with its own kill.
func TestFaultWorkerKilledMidAction(t *testing.T) {
	// Not parallel: its 50 posts ask the arbiter at the same moment, and beside another test's
	// load on a 2-core box the arbiter was seen to stall for minutes (see TestFaultLockUnderLoad).
	const perRound = 50
	fs := startFaultStack(t, devstack.Options{SeparateWorkerClient: true})
	cfg := faultcheck.FastConfig()
	for round := range soakRounds() {
		start := time.Now()
		if err := fs.Sim.SetFaults(sim.Faults{HoldActions: true}); err != nil {
			t.Fatal(err)
		}
		posts := faultcheck.CurvePosts(fmt.Sprintf("kill%d", round), perRound, func(i int) string { return fmt.Sprintf("agent-kill-%d", i%10) }, cfg)
		faultcheck.StartPosts(t, fs.Client, posts)
		if err := fs.Sim.WaitHeld(testContext(t, 2*time.Minute), perRound); err != nil {
			t.Fatalf("round %d: %d of %d actions held at the platform: %v", round, fs.Sim.Held(), perRound, err)
		}
		if n := len(fs.Sim.Effects()); n < perRound*(round+1) {
			t.Fatalf("round %d: %d effects with every action held, want %d", round, n, perRound*(round+1))
		}
		held := time.Now()
		if err := fs.KillWorker(); err != nil {
			t.Fatal(err)
		}
		// The platform works normally again; the held replies' callers are gone already.
		if err := fs.Sim.SetFaults(sim.Faults{}); err != nil {
			t.Fatal(err)
		}
		if err := fs.StartWorker(testContext(t, time.Minute)); err != nil {
			t.Fatalf("restart the worker: %v", err)
		}
		sts := waitPosts(t, fs, 3*time.Minute, "every action recorded as a success after the worker's death", faultcheck.PostIDs(posts),
			func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })
		for _, p := range posts {
			id := p.Post.ID
			rec, eff := faultcheck.SuccessOutcome(t, id, sts[id])
			// The first attempt died with the worker; the retry found the effect instead of
			// acting again.
			if rec.Attempts < 2 || !eff.Replayed {
				t.Errorf("%s: %d attempts, replayed %v: the kill did not land mid-action (%+v)", id, rec.Attempts, eff.Replayed, rec)
			}
		}
		faultcheck.CheckOneEffectPerRecord(t, fs.Sim.Effects(), faultcheck.StopPosts(t, fs.Client, faultcheck.PostIDs(posts)))
		t.Logf("round %d: %d posts held at the platform after %s, all recorded once %s after the kill",
			round, perRound, held.Sub(start).Round(time.Millisecond), time.Since(held).Round(time.Millisecond))
	}
}

// TestFaultUnknownOutcomeWithoutIdempotency: the platform ignores idempotency keys (a repeated
// key makes a second effect) and the first attempt of every action makes its effect and then
// loses the reply: the connection drops, or the reply stalls past the client's 10 s timeout.
// The retry must find the effect through the effects lookup instead of acting twice.
func TestFaultUnknownOutcomeWithoutIdempotency(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	const n = 12
	cfg := faultcheck.FastConfig()
	posts := faultcheck.CurvePosts("unknown", n, func(i int) string { return fmt.Sprintf("agent-unknown-%d", i) }, cfg)
	var rules []sim.FaultRule
	for i, p := range posts {
		kind := sim.FaultDrop
		if i%2 == 1 {
			kind = sim.FaultSlow // stalls past the client's timeout
		}
		rules = append(rules, sim.FaultRule{Kind: kind, Scope: sim.ScopeActions, PostID: p.Post.ID, Next: 1,
			EffectFirst: true, Delay: 12 * time.Second})
	}
	fs := startFaultStack(t, devstack.Options{SimFaults: sim.Faults{IgnoreIdempotency: true, Rules: rules}})
	faultcheck.StartPosts(t, fs.Client, posts)
	sts := waitPosts(t, fs, 2*time.Minute, "every action recorded as a success", faultcheck.PostIDs(posts),
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })

	for _, p := range posts {
		id := p.Post.ID
		rec, eff := faultcheck.SuccessOutcome(t, id, sts[id])
		if rec.Attempts != 2 || !eff.Replayed {
			t.Errorf("%s: %d attempts, replayed %v, want the second attempt to find the first one's effect (%+v)", id, rec.Attempts, eff.Replayed, rec)
		}
		// The platform saw exactly one action call for the post: the client did not resend it
		// on its own either.
		calls := fs.logs.requestsMatching(func(r simRequest) bool {
			return r.Method != "GET" && (r.Path == "/v1/posts/"+id || strings.HasPrefix(r.Path, "/v1/posts/"+id+"/"))
		})
		if len(calls) != 1 {
			t.Errorf("%s: the platform received %d action calls, want 1: %+v", id, len(calls), calls)
		}
	}
	faultcheck.CheckOneEffectPerRecord(t, fs.Sim.Effects(), faultcheck.StopPosts(t, fs.Client, faultcheck.PostIDs(posts)))
	// The faults did fire: every rule's Next is used up.
	for i, r := range fs.Sim.Faults().Rules {
		if r.Next != 0 {
			t.Errorf("rule %d (%s on %s) never fired", i, r.Kind, r.PostID)
		}
	}
}
