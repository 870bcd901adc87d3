package production

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/metrics"
	"resurge/workflows"
)

// TestFleetLockUnderLoad (check 5): 500 posts acting over three workers, which share the
// server's 10 updates in flight per workflow on the singleton arbiter; any update the server
// turns away ("limit on number of concurrent in-flight updates") or aborts is retried by the
// SDK inside the Arbitrate activity until its deadline. An operator's lock lands when a fifth
// of the posts have acted. No allow after the lock was recorded (the arbiter's own history);
// after the release every refused post acts, once; and no post records an arbitration that
// failed. The in-flight refusals are counted by the server (its Prometheus metrics) and by the
// workers (resurge_arbitration_retries_total).
func TestFleetLockUnderLoad(t *testing.T) {
	n := 500 * soakRounds()
	// The hourly budgets would deny part of 500 posts' actions, and a thread of an agent the
	// load made slow would wait for a person's approval: this check is about the lock.
	policy, err := json.Marshal(map[string]int{"global_per_hour": 100 * n, "per_post_per_hour": 100, "approval_risk": 7, "critical_risk": 7})
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, policy, 0o644); err != nil {
		t.Fatal(err)
	}
	// Three workers coordinate their arbitrations as README "Batches" says a fleet may: 3
	// batches in flight each, 9 in all, under the server's 10 per workflow (the default, 2
	// each, is below it too). Before batches, with 8 arbitrations each (24 in all), the server
	// turned arbitrations away and aborted them by the thousand and the arbiter stopped
	// answering on this 2-core machine (README has the figures); the in-flight refusals that
	// remain are counted.
	top := startTopology(t, Options{WorkerEnv: []string{"RESURGE_SAFETY_POLICY_FILE=" + policyFile, "RESURGE_ARBITRATIONS_IN_FLIGHT=3"}})
	safety := &workflows.SafetyClient{Client: top.Client}
	faultcheck.Eventually(t, time.Minute, "the workers' policy in force", func() (bool, string) {
		st, err := safety.ArbiterState(t.Context())
		return err == nil && st.Policy.GlobalPerHour == 100*n, fmt.Sprintf("%+v %v", st.Policy, err)
	})

	// As integration's TestFaultLockUnderLoad: started over 60 s, a sample every 20 s.
	posts := faultcheck.CurvePosts("lock", n, func(i int) string { return fmt.Sprintf("agent-lock-%d", i%20) }, faultcheck.LockLoadConfig())
	ids := faultcheck.PostIDs(posts)
	waitStarted := faultcheck.StartPaced(t, top.Client, posts, 60*time.Second)
	begin := time.Now()
	stopProgress := logProgress(t, top, safety, 15*time.Second)
	defer stopProgress()
	faultcheck.Eventually(t, 3*time.Minute, "a fifth of the posts acting", func() (bool, string) {
		k := len(effects(t, top))
		return k >= n/5, fmt.Sprintf("%d effects", k)
	})
	lockReq := domain.LockRequest{Source: "operator/test", Reason: "lock under load across the fleet", Tier: 3, Confidence: 1}
	if err := safety.Lock(t.Context(), lockReq); err != nil {
		t.Fatal(err)
	}
	atLock, lockAfter := len(effects(t, top)), time.Since(begin)
	waitStarted()

	// Hold the lock until a good share of the posts were refused (each refused post asks again
	// at every sample), by the arbiter or by a worker from its lock view: the posts' blocked
	// records, counted on every worker's /metrics.
	var state workflows.ArbiterState
	faultcheck.Eventually(t, 3*time.Minute, "the lock refusing posts", func() (bool, string) {
		var err error
		state, err = safety.ArbiterState(t.Context())
		if err != nil {
			return false, err.Error()
		}
		blocked := sumOver(scrapeWorkers(t, top), metrics.ActionsTotal, map[string]string{metrics.LabelStatus: string(domain.StatusBlocked)})
		return state.Lock.Active && blocked >= float64(n/4), fmt.Sprintf("lock %+v, %.0f blocked records, %d lock answers", state.Lock.Active, blocked, state.Counters.Locked)
	})
	if state.Lock.Source != lockReq.Source {
		t.Fatalf("the arbiter is locked by %q, not the test: %+v", state.Lock.Source, state.Lock)
	}
	since := state.Lock.Since
	decisions, err := faultcheck.ArbiterDecisions(testContext(t, time.Minute), top.Client)
	if err != nil {
		t.Fatal(err)
	}
	faultcheck.CheckDecisionsAroundLock(t, decisions, effects(t, top), since, time.Time{})
	t.Logf("lock after %s at %d effects; %d requests refused while locked", lockAfter.Round(time.Millisecond), atLock, state.Counters.Locked)

	if err := safety.Release(t.Context(), domain.ReleaseRequest{Operator: "test", Reason: "lock under load checked"}); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	faultcheck.Eventually(t, 4*time.Minute, "every post acting after the release", func() (bool, string) {
		acted := map[string]bool{}
		for _, e := range effects(t, top) {
			acted[e.PostID] = true
		}
		missing := 0
		for _, id := range ids {
			if !acted[id] {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d posts without an effect", missing, n)
	})
	t.Logf("all %d posts acted %s after the release", n, time.Since(released).Round(time.Millisecond))

	checkNoneLost(t, top, ids)
	logs := faultcheck.StopPosts(t, top.Client, ids)
	state, err = safety.ArbiterState(t.Context())
	if err != nil || state.Lock.Active || state.Lock.ReleasedAt.IsZero() {
		t.Fatalf("the arbiter is not released: %+v %v", state.Lock, err)
	}
	if decisions, err = faultcheck.ArbiterDecisions(testContext(t, time.Minute), top.Client); err != nil {
		t.Fatal(err)
	}
	final := effects(t, top)
	faultcheck.CheckDecisionsAroundLock(t, decisions, final, since, state.Lock.ReleasedAt)
	faultcheck.CheckOneEffectPerRecord(t, final, logs)

	// Every key the lock refused (the arbiter, or a worker from its lock view) acted once,
	// after the release.
	refusedKeys := faultcheck.LockRefusedKeys(decisions)
	byArbiter := len(refusedKeys)
	received, err := faultcheck.ReceivedDecisions(testContext(t, 5*time.Minute), top.Client, ids)
	if err != nil {
		t.Fatal(err)
	}
	local := received.LocalLockKeys
	for k := range local {
		refusedKeys[k] = true
	}
	refused := faultcheck.CheckRefusedResumed(t, refusedKeys, final, state.Lock.ReleasedAt)
	t.Logf("%d keys refused by the arbiter, %d by the workers' lock views", byArbiter, len(local))
	if refused == 0 || atLock == 0 {
		t.Fatalf("the lock did not land mid-run: %d effects before it, %d keys refused", atLock, refused)
	}
	// No arbitration failed, for the in-flight limit or any other reason: a post that could
	// not reach the arbiter records a blocked entry saying so.
	failed := 0
	for id, log := range logs {
		for _, r := range log {
			if r.Status == domain.StatusBlocked && strings.HasPrefix(strings.Join(r.Reasons, " "), "arbitration failed") {
				failed++
				if failed <= 5 {
					t.Errorf("%s: a failed arbitration: %+v", id, r)
				}
			}
		}
	}
	stopProgress()
	limited := inFlightRefusals(t, top)
	checkMetricsAgainstPlatform(t, top, final, decisions, received)
	checkToken(t, top)
	t.Logf("%d keys refused by the lock, all acted after the release; %d effects, %d decisions, %d failed arbitrations; %s",
		refused, len(final), len(decisions), failed, limited)
}

// logProgress logs, every period until stopped, what the platform and the arbiter have done
// and how often the in-flight limit turned arbitrations away: what explains a timeout.
func logProgress(t *testing.T, top *Topology, safety *workflows.SafetyClient, period time.Duration) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(period)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			es, held, err := top.SimAdmin.Effects(t.Context())
			st, qerr := safety.ArbiterState(t.Context())
			c := st.Counters
			t.Logf("after %s: %d effects (%d held, %v); arbiter %d allowed %d denied %d locked, lock %v (%v); %s",
				time.Since(start).Round(time.Second), len(es), held, err, c.Allowed, c.Denied, c.Locked, st.Lock.Active, qerr, limits(t, top))
		}
	}()
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// limits describes how often the server refused updates for its in-flight limit and the
// workers retried arbitrations (best effort: for progress logs).
func limits(t *testing.T, top *Topology) string {
	server, err := metrics.Scrape(t.Context(), top.ServerMetricsURL())
	if err != nil {
		return err.Error()
	}
	retries := map[string]float64{}
	for i := range top.Workers {
		if f, err := metrics.Scrape(t.Context(), top.WorkerMetricsURL(i)); err == nil {
			for _, r := range []string{metrics.ReasonTooManyUpdates, metrics.ReasonUpdateAborted} {
				retries[r] += f.Sum(metrics.ArbitrationRetriesTotal, map[string]string{metrics.LabelReason: r})
			}
		}
	}
	return fmt.Sprintf("server refused %.0f updates (in-flight limit), aborted %.0f; workers retried %v",
		serverSum(server, "workflow_update_request_rate_limited"), serverSum(server, "workflow_update_aborted"), retries)
}

// serverSum is a server counter's total, whichever suffix its exporter gives it.
func serverSum(f metrics.Families, name string) float64 {
	return f.Sum(name, nil) + f.Sum(name+"_total", nil)
}

// inFlightRefusals reads how often the server refused an update for its in-flight limit
// (its workflow_update_request_rate_limited counter) and how often the workers retried an
// arbitration for it, and describes both.
func inFlightRefusals(t *testing.T, top *Topology) string {
	t.Helper()
	server, err := metrics.Scrape(testContext(t, time.Minute), top.ServerMetricsURL())
	if err != nil {
		t.Fatalf("scrape the server: %v", err)
	}
	return fmt.Sprintf("the server refused %.0f updates for the in-flight limit and aborted %.0f",
		serverSum(server, "workflow_update_request_rate_limited"), serverSum(server, "workflow_update_aborted"))
}
