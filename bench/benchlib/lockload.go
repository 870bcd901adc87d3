package benchlib

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"resurge/app"
	"resurge/bench/analysis"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/workflows"
)

// The lock-load phase measures the arbiter's load while it is locked and every post is
// eligible: N posts, their sample times spread over one interval, become eligible while the
// arbiter is locked, so that each asks at every sample. With the worker's lock view (the
// default TTL) they are refused at the worker; with the TTL set to 0 (how every worker asked
// before the view) each ask is an update on the arbiter. It also measures the lock's latency
// under that load (a probe asking in a loop), that nothing is allowed after the lock, and,
// with the view, how soon every post acts after the release.

// LockLoad is the lock-load phase: one run per lock-view TTL.
type LockLoad struct {
	Posts           int           `json:"posts"`
	IntervalSeconds float64       `json:"sample_interval_s"`
	Runs            []LockLoadRun `json:"runs"`
	// UpdatesRatio is the arbiter's updates per lock-minute with the view over those with
	// the TTL at 0 (both batched).
	UpdatesRatio float64 `json:"updates_ratio"`
	// UnbatchedRatio is the arbiter's updates per lock-minute with the view over the
	// decisions per lock-minute with the TTL at 0: what a client sending one update per
	// arbitration (as before batches) would have sent. The target is on this one.
	UnbatchedRatio float64 `json:"updates_vs_one_per_decision_ratio"`
	// StickyCache and HistoryCache are the worker's and the server's workflow caches the phase
	// ran with: sized for its posts unless --sticky-cache / --history-cache say otherwise.
	StickyCache  int `json:"worker_sticky_cache"`
	HistoryCache int `json:"server_history_cache"`
}

// lockLoadCaches sizes both workflow caches for the phase's posts (scaleCache), as a worker
// for that many posts would be configured, unless the options set them. A cache a little
// smaller than the posts it serves misses on every task: the posts run round-robin, so the
// least recently used one is always the next due, and each of its workflow tasks replays its
// history (worker) or reloads its mutable state (server).
func (r *runner) lockLoadCaches() (sticky, history int) {
	n := r.o.LockLoadPosts
	return cmp.Or(r.o.StickyCache, scaleCache(n)), cmp.Or(r.o.HistoryCache, scaleCache(n))
}

// LockLoadRun is the phase with one lock-view TTL.
type LockLoadRun struct {
	TTLSeconds float64 `json:"lock_view_ttl_s"`
	// StartSeconds is how long the starts took (spread over one interval on purpose).
	StartSeconds float64 `json:"start_seconds"`
	// Latency from sending the lock signal to the probe's first lock answer (the probe asks
	// the arbiter every 20 ms through a client without a lock view, and is allowed until then).
	LatencySeconds float64 `json:"lock_latency_s"`
	// The measuring window: every post eligible and asking once per interval, the arbiter
	// locked. Updates are the arbitrate updates the arbiter accepted in it (its history);
	// Asks the arbitrations the posts made (the worker's counters: requests sent in batches
	// plus local refusals).
	WindowSeconds    float64 `json:"window_seconds"`
	Updates          int     `json:"arbiter_updates"`
	UpdatesPerMinute float64 `json:"arbiter_updates_per_lock_minute"`
	// Decisions are the arbitrations those updates decided (a batch decides several).
	Decisions          int     `json:"arbiter_decisions"`
	DecisionsPerMinute float64 `json:"arbiter_decisions_per_lock_minute"`
	Asks               int64   `json:"post_arbitrations"`
	AsksPerMinute      float64 `json:"post_arbitrations_per_lock_minute"`
	LocalLocks         int64   `json:"local_refusals"`
	OfferedPerMinute   float64 `json:"offered_arbitrations_per_minute"`
	ArbiterRuns        int     `json:"arbiter_runs_read"`
	AllowedAfterLock   int     `json:"allowed_after_lock"`
	LockFound          bool    `json:"lock_found_in_history"`
	// After the release (ReleaseChecked): how long until each post acted, measured to the due
	// time of the cycle that acted (Acted*: every post within one interval plus the TTL) and to
	// its first platform effect (Effect*: the machine's processing added).
	ReleaseChecked   bool    `json:"release_checked"`
	Acted            int     `json:"acted_after_release"`
	ActedP50Seconds  float64 `json:"acted_p50_s,omitempty"`
	ActedMaxSeconds  float64 `json:"acted_max_s,omitempty"`
	EffectP50Seconds float64 `json:"effect_p50_s,omitempty"`
	EffectMaxSeconds float64 `json:"effect_max_s,omitempty"`
	ActBoundSeconds  float64 `json:"act_bound_s,omitempty"`
	// ActsPerSecond is the posts that acted over the time to the last effect: the machine's
	// acting rate when every post is released at once.
	ActsPerSecond float64  `json:"acts_per_s_after_release,omitempty"`
	OtherCPU      float64  `json:"other_processes_cpu_cores"`
	Errors        []string `json:"errors,omitempty"`
}

const lockLoadAgents = 200

func lockLoadConfig(interval time.Duration) domain.EvaluationConfig {
	c := domain.DefaultConfig()
	c.Cadence = domain.CadenceFixed
	c.SampleInterval = interval
	c.Window = 4 * interval
	c.MinSamples = 3 // eligible at the third sample: two intervals after its start
	c.CommentCooldown, c.EditCooldown, c.ThreadCooldown, c.QuoteCooldown = interval, interval, interval, interval
	c.Horizon = 24 * time.Hour
	return c
}

func lockLoadPostID(i int) string { return fmt.Sprintf("grow-lockload-%06d", i) }

func (r *runner) runLockLoad(ctx context.Context) (*LockLoad, error) {
	o := r.o
	res := &LockLoad{Posts: o.LockLoadPosts, IntervalSeconds: o.LockLoadInterval.Seconds()}
	res.StickyCache, res.HistoryCache = r.lockLoadCaches()
	ttls := []time.Duration{0, workflows.DefaultLockViewTTL}
	if o.LockLoadViewOnly {
		ttls = ttls[1:]
	}
	for _, ttl := range ttls {
		run, err := r.lockLoadRun(ctx, ttl, ttl > 0)
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, run)
	}
	if len(res.Runs) == 2 {
		res.UpdatesRatio = ratio(res.Runs[1].UpdatesPerMinute, res.Runs[0].UpdatesPerMinute)
		res.UnbatchedRatio = ratio(res.Runs[1].UpdatesPerMinute, res.Runs[0].DecisionsPerMinute)
	}
	return res, nil
}

func (r *runner) lockLoadRun(ctx context.Context, ttl time.Duration, checkRelease bool) (LockLoadRun, error) {
	o := r.o
	n, iv := o.LockLoadPosts, o.LockLoadInterval
	run := LockLoadRun{TTLSeconds: ttl.Seconds(), OfferedPerMinute: float64(n) / iv.Minutes()}
	viewTTL := ttl
	if ttl == 0 {
		viewTTL = -1 // app.SafetyConfig: off
	}
	safety := app.SafetyConfig{Policy: benchPolicy(), Monitor: workflows.MonitorConfig{EvalInterval: iv}, LockViewTTL: viewTTL}
	so := r.stackOptions(&safety)
	sticky, history := r.lockLoadCaches()
	so.historyCache = history
	defer withStickyCache(sticky, o.StickyCache)()
	s, err := r.startStack(ctx, fmt.Sprintf("lockload-ttl%gs", ttl.Seconds()), so)
	if err != nil {
		return run, err
	}
	defer r.stopStack(s)
	worker := s.wiring.Safety
	probe := &workflows.SafetyClient{Client: s.client, Policy: worker.Policy}

	// Start the posts over one interval, so their samples are spread as a fleet's are.
	cfg := lockLoadConfig(iv)
	r.progress("lock load (TTL %s): starting %d posts over %s", ttl, n, iv)
	t0 := time.Now()
	pace := time.NewTicker(max(iv/time.Duration(n), time.Microsecond))
	failed := startAll(ctx, n, o.StartConcurrency, func(ctx context.Context, i int) error {
		<-pace.C
		_, err := workflows.StartPost(ctx, s.client, workflows.PostInput{
			Post: benchPost(lockLoadPostID(i), fmt.Sprintf("bench-lockload-%03d", i%lockLoadAgents)), Config: cfg})
		return err
	})
	pace.Stop()
	run.StartSeconds = time.Since(t0).Seconds()
	if failed > 0 {
		run.Errors = append(run.Errors, fmt.Sprintf("%d posts could not be started", failed))
	}

	// Lock before the first post is eligible (two intervals after its start), with the probe
	// asking meanwhile.
	lockSent, err := r.lockUnderProbe(ctx, probe, worker, &run)
	if err != nil {
		return run, err
	}
	if time.Since(t0) > 2*iv {
		run.Errors = append(run.Errors, "the lock landed after the first posts were eligible: they acted before it")
	}

	// Every post eligible (the last started + two intervals), then one interval to measure.
	if err := sleep(ctx, time.Until(t0.Add(time.Duration(run.StartSeconds*float64(time.Second))+2*iv+iv/10))); err != nil {
		return run, err
	}
	busy0, cpu0 := machineBusySeconds(), cpuSeconds()
	st0, w0 := worker.Stats(), time.Now()
	if err := sleep(ctx, iv); err != nil {
		return run, err
	}
	st1, w1 := worker.Stats(), time.Now()
	run.OtherCPU = max(0, (machineBusySeconds()-busy0)-(cpuSeconds()-cpu0)) / w1.Sub(w0).Seconds()
	run.WindowSeconds = w1.Sub(w0).Seconds()
	run.Asks = (st1.Batched - st0.Batched) + (st1.LocalLocks - st0.LocalLocks)
	run.LocalLocks = st1.LocalLocks - st0.LocalLocks
	run.AsksPerMinute = float64(run.Asks) / w1.Sub(w0).Minutes()

	var released time.Time
	if checkRelease {
		released = time.Now()
		if err := worker.Release(ctx, domain.ReleaseRequest{Operator: "bench", Reason: "lock-load phase: release"}); err != nil {
			return run, fmt.Errorf("lock load: release: %w", err)
		}
		run.ReleaseChecked = true
		run.ActBoundSeconds = (iv + ttl).Seconds()
		r.acted(ctx, s, n, released, iv+ttl, &run)
	}

	hctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	runs, err := readRuns(hctx, s.client, workflows.ArbiterWorkflowID, 10000)
	if err != nil {
		return run, fmt.Errorf("lock load: arbiter history: %w", err)
	}
	run.ArbiterRuns = len(runs)
	run.Updates, run.Decisions, err = updatesBetween(runs, w0, w1)
	if err != nil {
		return run, fmt.Errorf("lock load: arbiter history: %w", err)
	}
	run.UpdatesPerMinute = float64(run.Updates) / w1.Sub(w0).Minutes()
	run.DecisionsPerMinute = float64(run.Decisions) / w1.Sub(w0).Minutes()
	run.AllowedAfterLock, run.LockFound, err = allowsWhileLocked(runs, lockSent.Add(-time.Second))
	if err != nil {
		return run, fmt.Errorf("lock load: arbiter history: %w", err)
	}
	r.progress("lock load (TTL %s): lock latency %.3fs; %.0f arbiter updates per lock-minute (posts asked %.0f/min, offered %.0f/min); %d allowed after the lock; acted after the release: %d of %d, max %.1fs (bound %.0fs)",
		ttl, run.LatencySeconds, run.UpdatesPerMinute, run.AsksPerMinute, run.OfferedPerMinute, run.AllowedAfterLock, run.Acted, n, run.ActedMaxSeconds, run.ActBoundSeconds)
	return run, nil
}

// lockUnderProbe sends the lock while a probe asks the arbiter every 20 ms, and records the
// latency to the probe's first lock answer.
func (r *runner) lockUnderProbe(ctx context.Context, probe, worker *workflows.SafetyClient, run *LockLoadRun) (time.Time, error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sawLock := make(chan time.Time, 1)
	go func() {
		for i := 0; pctx.Err() == nil; i++ {
			post := fmt.Sprintf("lockprobe-%06d", i)
			req := domain.ArbitrationRequest{PostID: post, Agent: "bench-lockprobe", Platform: domain.PlatformSim, Action: domain.ActionComment,
				Tier: domain.Tier1, Key: domain.IdempotencyKey(post, domain.ActionComment, domain.Tier1), Texts: []string{"What do you think?"}, At: time.Now().UTC()}
			cctx, ccancel := context.WithTimeout(pctx, 30*time.Second)
			d, err := probe.Arbitrate(cctx, req)
			ccancel()
			if err == nil && d.Decision == domain.DecisionLock {
				sawLock <- time.Now()
				return
			}
			_ = sleep(pctx, 20*time.Millisecond)
		}
	}()
	if err := sleep(ctx, 2*time.Second); err != nil {
		return time.Time{}, err
	}
	sent := time.Now()
	if err := worker.Lock(ctx, domain.LockRequest{Source: "bench", Reason: "lock-load phase", Tier: 3, Confidence: 1}); err != nil {
		return sent, fmt.Errorf("lock load: lock: %w", err)
	}
	select {
	case at := <-sawLock:
		run.LatencySeconds = at.Sub(sent).Seconds()
	case <-time.After(time.Minute):
		run.LatencySeconds = -1
		run.Errors = append(run.Errors, "the probe saw no lock answer within a minute of the signal")
	case <-ctx.Done():
		return sent, ctx.Err()
	}
	return sent, nil
}

// actedStall is how long acted keeps waiting, past the bound, for a post's first effect after
// the last one arrived; actedCap bounds the whole wait.
const (
	actedStall = 90 * time.Second
	actedCap   = 30 * time.Minute
)

// acted waits for every post's first platform effect and records how long after the release
// each came. Past the bound it keeps waiting while effects still arrive (at most actedStall
// apart, actedCap in all): with thousands of posts released at once, what trails is the
// machine's acting throughput (each action is an arbiter update, the platform call and its
// records), which the phase reports instead of cutting it off.
func (r *runner) acted(ctx context.Context, s *stack, n int, released time.Time, bound time.Duration, run *LockLoadRun) {
	deadline, lastCount := released.Add(bound+time.Minute), 0
	var after []float64
	for {
		first := map[string]time.Time{}
		for _, e := range s.sim.Effects() {
			if t, ok := first[e.PostID]; !ok || e.CreatedAt.Before(t) {
				first[e.PostID] = e.CreatedAt
			}
		}
		after = after[:0]
		for i := range n {
			if t, ok := first[lockLoadPostID(i)]; ok {
				after = append(after, t.Sub(released).Seconds())
			}
		}
		if len(after) > lastCount {
			lastCount = len(after)
			if stall := time.Now().Add(actedStall); stall.After(deadline) {
				deadline = stall
			}
		}
		if len(after) == n || time.Now().After(deadline) || time.Since(released) > actedCap || sleep(ctx, time.Second) != nil {
			break
		}
	}
	run.Acted = len(after)
	if len(after) > 0 {
		run.EffectP50Seconds, run.EffectMaxSeconds = analysis.Quantile(after, 0.5), slices.Max(after)
		if run.EffectMaxSeconds > 0 {
			run.ActsPerSecond = float64(len(after)) / run.EffectMaxSeconds
		}
	}
	if neg := slices.IndexFunc(after, func(x float64) bool { return x < 0 }); neg >= 0 {
		run.Errors = append(run.Errors, fmt.Sprintf("a post acted %.1fs before the release", after[neg]))
	}
	// What the design bounds: the due time of the cycle that acted (how late a busy machine
	// ran it, and the action's own time, left out), from each post's history.
	hctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	due := make([]float64, n)
	errs := faultcheck.Parallel(n, 8, func(i int) error {
		due[i] = math.NaN()
		events, err := readHistory(hctx, s.client, workflows.PostWorkflowID(lockLoadPostID(i)), "")
		if err != nil {
			return err
		}
		if slots := analysis.ActionSlots(events); len(slots) > 0 {
			due[i] = slots[0].Due.Sub(released).Seconds()
		}
		return nil
	})
	var ok []float64
	for i, err := range errs {
		switch {
		case err != nil:
			run.Errors = append(run.Errors, fmt.Sprintf("history of %s: %v", lockLoadPostID(i), err))
		case !math.IsNaN(due[i]):
			ok = append(ok, due[i])
		}
	}
	if len(ok) > 0 {
		run.ActedP50Seconds, run.ActedMaxSeconds = analysis.Quantile(ok, 0.5), slices.Max(ok)
	}
}

// updatesBetween counts the updates (single arbitrations and batches) the arbiter accepted in
// [from, to), and the decisions completed in it.
func updatesBetween(runs [][]*historypb.HistoryEvent, from, to time.Time) (updates, decisions int, err error) {
	for _, run := range runs {
		for _, e := range run {
			if t := e.GetEventTime().AsTime(); t.Before(from) || !t.Before(to) {
				continue
			}
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED {
				updates++
			}
			ds, err := workflows.DecisionsIn(e)
			if err != nil {
				return 0, 0, err
			}
			decisions += len(ds)
		}
	}
	return updates, decisions, nil
}

// allowsWhileLocked finds the first lock signal at or after notBefore and counts the allow
// decisions of autonomous requests completed after it and before the next release-lock signal.
func allowsWhileLocked(runs [][]*historypb.HistoryEvent, notBefore time.Time) (allowed int, found bool, err error) {
	locked := false
	for _, run := range runs {
		for _, e := range run {
			if sig := e.GetWorkflowExecutionSignaledEventAttributes(); sig != nil && !e.GetEventTime().AsTime().Before(notBefore) {
				switch {
				case sig.GetSignalName() == workflows.SignalLock && !found:
					found, locked = true, true
				case sig.GetSignalName() == workflows.SignalReleaseLock && locked:
					return allowed, found, nil
				}
				continue
			}
			if !locked {
				continue
			}
			ds, err := workflows.DecisionsIn(e)
			if err != nil {
				return 0, found, err
			}
			for _, d := range ds {
				if d.Decision == domain.DecisionAllow {
					allowed++ // nothing in the phase is a person's action, which would pass the lock
				}
			}
		}
	}
	return allowed, found, nil
}

// lockLoadTarget is the lock-load phase's target (issue 13 §1).
func lockLoadTarget(l *LockLoad) Target {
	t := Target{Name: "arbiter load during a lock, every post eligible", Goal: "updates per lock-minute ≤ 1% of one per decision of the TTL-0 run (today's); lock latency ≤ 1 s; 0 allowed after the lock; after the release every post acts within one interval + the TTL"}
	if l != nil && len(l.Runs) == 1 && l.Runs[0].TTLSeconds > 0 {
		return lockViewOnlyTarget(t, l)
	}
	if l == nil || len(l.Runs) != 2 {
		t.Met = "n/a"
		return t
	}
	off, on := l.Runs[0], l.Runs[1]
	t.Measured = fmt.Sprintf("N=%d at a %s interval: %.0f updates/lock-minute with the %gs view vs %.0f decisions/lock-minute without (%.2f%%; in %.0f batched updates, %.2f%%; the posts asked %.0f/min); lock latency %.3f s / %.3f s; allowed after the lock %d / %d; after the release %d of %d acted, the last cycle due %.1f s after it (bound %.0f s; its effect %.1f s)",
		l.Posts, time.Duration(l.IntervalSeconds*float64(time.Second)), on.UpdatesPerMinute, on.TTLSeconds, off.DecisionsPerMinute, 100*l.UnbatchedRatio, off.UpdatesPerMinute, 100*l.UpdatesRatio, on.AsksPerMinute,
		off.LatencySeconds, on.LatencySeconds, off.AllowedAfterLock, on.AllowedAfterLock, on.Acted, l.Posts, on.ActedMaxSeconds, on.ActBoundSeconds, on.EffectMaxSeconds)
	ok := l.UnbatchedRatio <= 0.01 && off.DecisionsPerMinute > 0
	for _, r := range l.Runs {
		ok = ok && r.lockHeld()
	}
	ok = ok && on.releasedInTime(l.Posts)
	t.Met = yesNo(ok)
	var why []string
	if off.DecisionsPerMinute < 0.9*off.OfferedPerMinute {
		why = append(why, fmt.Sprintf("without the view the arbiter answered only %.0f of the %.0f asks offered per minute (saturated): the ratio is conservative", off.DecisionsPerMinute, off.OfferedPerMinute))
	}
	if on.ReleaseChecked && on.EffectMaxSeconds > on.ActBoundSeconds {
		why = append(why, fmt.Sprintf("every post's acting cycle is what the view bounds; the effects trail it because the machine acted at %.1f posts/s once all %d were released together (%.1f/s offered)",
			on.ActsPerSecond, l.Posts, float64(l.Posts)/on.ActBoundSeconds))
	}
	t.Why = strings.Join(why, "; ")
	return t
}

// lockViewOnlyTarget judges a --lock-load-view-only phase on what it measured: the lock
// latency, the allows after the lock and the release; the updates ratio is left unjudged.
func lockViewOnlyTarget(t Target, l *LockLoad) Target {
	on := l.Runs[0]
	t.Measured = fmt.Sprintf("N=%d at a %s interval, the %gs view only (updates ratio not measured): lock latency %.3f s; allowed after the lock %d; after the release %d of %d acted, the last cycle due %.1f s after it (bound %.0f s; its effect %.1f s)",
		l.Posts, time.Duration(l.IntervalSeconds*float64(time.Second)), on.TTLSeconds, on.LatencySeconds, on.AllowedAfterLock, on.Acted, l.Posts, on.ActedMaxSeconds, on.ActBoundSeconds, on.EffectMaxSeconds)
	t.Met = yesNo(on.lockHeld() && on.releasedInTime(l.Posts)) + " (without the updates ratio)"
	return t
}

// lockHeld: the lock answered within a second, was found in the arbiter's history, and
// nothing was allowed after it.
func (r LockLoadRun) lockHeld() bool {
	return r.LatencySeconds >= 0 && r.LatencySeconds <= 1 && r.AllowedAfterLock == 0 && r.LockFound && len(r.Errors) == 0
}

// releasedInTime: after the release all n posts acted in a cycle due within the bound.
func (r LockLoadRun) releasedInTime(n int) bool {
	return r.ReleaseChecked && r.Acted == n && r.ActedMaxSeconds <= r.ActBoundSeconds
}

// writeLockLoad prints the lock-load phase.
func writeLockLoad(w io.Writer, l *LockLoad) {
	if l == nil {
		return
	}
	fmt.Fprintf(w, "\nLock load (%d posts, all eligible during the lock, sampling every %s", l.Posts, time.Duration(l.IntervalSeconds*float64(time.Second)))
	if l.StickyCache > 0 {
		fmt.Fprintf(w, "; caches: worker %d, server %d workflows", l.StickyCache, l.HistoryCache)
	}
	fmt.Fprintln(w, "):")
	for _, r := range l.Runs {
		fmt.Fprintf(w, "  lock view TTL %4gs: %6.0f arbiter updates (%.0f decisions) per lock-minute (posts asked %.0f/min, %d refused locally; offered %.0f/min); lock latency %.3f s; %d allowed after the lock",
			r.TTLSeconds, r.UpdatesPerMinute, r.DecisionsPerMinute, r.AsksPerMinute, r.LocalLocks, r.OfferedPerMinute, r.LatencySeconds, r.AllowedAfterLock)
		if r.ReleaseChecked {
			fmt.Fprintf(w, "; after the release %d acted: the cycles acting due p50 %.1f s, last %.1f s (bound %.0f s); their effects p50 %.1f s, last %.1f s (%.1f posts acted per second)",
				r.Acted, r.ActedP50Seconds, r.ActedMaxSeconds, r.ActBoundSeconds, r.EffectP50Seconds, r.EffectMaxSeconds, r.ActsPerSecond)
		}
		fmt.Fprintln(w)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "    error: %s\n", e)
		}
	}
	if len(l.Runs) == 2 {
		fmt.Fprintf(w, "  with the view: %.2f%% of one update per decision without it (%.2f%% of the batched updates)\n", 100*l.UnbatchedRatio, 100*l.UpdatesRatio)
	}
}
