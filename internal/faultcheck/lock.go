package faultcheck

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"resurge/domain"
	"resurge/platform/sim"
	"resurge/workflows"
)

// Environment variables for longer runs of the fault suites.
const (
	// EnvSoak=1 multiplies the trials and post counts of the fault tests.
	EnvSoak = "RESURGE_SOAK"
	// EnvSoakTrials sets the number of rounds of the soak-able fault tests directly.
	EnvSoakTrials = "RESURGE_SOAK_TRIALS"
)

// SoakRounds is how many rounds a soak-able fault test runs: RESURGE_SOAK_TRIALS, else soak
// with RESURGE_SOAK=1, else 1.
func SoakRounds(soak int) int {
	if n, err := strconv.Atoi(os.Getenv(EnvSoakTrials)); err == nil && n > 0 {
		return n
	}
	if os.Getenv(EnvSoak) == "1" {
		return soak
	}
	return 1
}

// Eventually polls cond every 250 ms until it holds or d passes, then fails the test with
// cond's last detail.
func Eventually(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last: %s)", d, what, last)
}

// LockLoadConfig is the configuration of the lock-under-load checks' posts: a sample every
// 20 s (20 simulated minutes at 60x), a plan from the second one on, so that with the posts
// started over a minute actions are spread out when the lock lands.
func LockLoadConfig() domain.EvaluationConfig {
	cfg := MassConfig()
	cfg.SampleInterval, cfg.MinSamples, cfg.Window, cfg.Horizon = 20*time.Second, 2, 50*time.Second, 20*time.Minute
	return cfg
}

// StartPaced starts the posts at a steady pace over d, 8 starts in flight at most, in the
// background: the lock lands while some are still starting, some sampling, some acting.
// wait returns once every start has been sent; a failed start fails the test.
func StartPaced(t testing.TB, c client.Client, posts []workflows.PostInput, d time.Duration) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pace := time.NewTicker(d / time.Duration(len(posts)))
		defer pace.Stop()
		errs := Parallel(len(posts), 8, func(i int) error {
			<-pace.C
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			_, err := workflows.StartPost(ctx, c, posts[i])
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("start %s: %v", posts[i].Post.ID, err)
			}
		}
	}()
	return func() { <-done }
}

// LockRefusedKeys are the keys the arbiter answered lock (its history's decisions).
func LockRefusedKeys(decisions []Decision) map[string]bool {
	refused := map[string]bool{}
	for _, d := range decisions {
		if d.Decision == domain.DecisionLock {
			refused[d.Key] = true
		}
	}
	return refused
}

// Received are the arbitration decisions the posts received, as their histories recorded
// the results of their Arbitrate activities (every run).
type Received struct {
	// LocalLockKeys are the keys a worker refused from its lock view (a lock decision marked
	// local, which never reached the arbiter).
	LocalLockKeys map[string]bool
	// Counts are the decisions received, by who answered and what.
	Counts map[ReceivedDecision]int
}

// ReceivedDecision is one kind of decision a post received: Local when a worker's lock view
// answered it, else the arbiter.
type ReceivedDecision struct {
	Local    bool
	Decision domain.Decision
}

// ReceivedDecisions reads the posts' histories for the decisions they received.
func ReceivedDecisions(ctx context.Context, c client.Client, ids []string) (Received, error) {
	dc := converter.GetDefaultDataConverter()
	var mu sync.Mutex
	out := Received{LocalLockKeys: map[string]bool{}, Counts: map[ReceivedDecision]int{}}
	errs := Parallel(len(ids), 8, func(i int) error {
		runs, err := RunHistories(ctx, c, workflows.PostWorkflowID(ids[i]))
		if err != nil {
			return err
		}
		for _, events := range runs {
			requests := map[int64]string{} // scheduled event ID → key
			for _, ev := range events {
				if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "Arbitrate" {
					var req domain.ArbitrationRequest
					if err := dc.FromPayloads(a.GetInput(), &req); err != nil {
						return err
					}
					requests[ev.GetEventId()] = req.Key
				}
				a := ev.GetActivityTaskCompletedEventAttributes()
				if a == nil {
					continue
				}
				key, ok := requests[a.GetScheduledEventId()]
				if !ok {
					continue
				}
				var d domain.ArbitrationDecision
				if err := dc.FromPayloads(a.GetResult(), &d); err != nil {
					return err
				}
				mu.Lock()
				out.Counts[ReceivedDecision{Local: d.Local, Decision: d.Decision}]++
				if d.Local && d.Decision == domain.DecisionLock {
					out.LocalLockKeys[key] = true
				}
				mu.Unlock()
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			return Received{}, fmt.Errorf("history of %s: %w", ids[i], err)
		}
	}
	return out, nil
}

// CheckRefusedResumed checks that every refused key has exactly one effect, made no earlier
// than the release. It returns how many keys were refused.
func CheckRefusedResumed(t testing.TB, refused map[string]bool, effects []sim.Effect, released time.Time) int {
	t.Helper()
	byKey := EffectsByKey(effects)
	for k := range refused {
		if es := byKey[k]; len(es) != 1 || es[0].CreatedAt.Before(released) {
			t.Errorf("key %s was refused by the lock and then has effects %+v, want one after the release", k, es)
		}
	}
	return len(refused)
}
