package benchlib

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"resurge/domain"
	"resurge/workflows"
)

type arbitration struct {
	sent, got time.Time
	decision  domain.Decision
	err       error
}

// runLock measures how fast a lock takes effect: LockClients goroutines ask the arbiter in a
// tight loop (each request a new post, so the hourly budgets never deny), the lock signal is
// sent after LockPre, and the answers and the arbiter's history are examined.
func (r *runner) runLock(ctx context.Context, s *stack) (*Lock, error) {
	return r.lockLatency(ctx, s.wiring.Safety, s.client)
}

// lockLatency is runLock through any safety client: the embedded stack's worker's, or the
// fleet phase's own client to the production topology.
func (r *runner) lockLatency(ctx context.Context, safety *workflows.SafetyClient, c client.Client) (*Lock, error) {
	o := r.o
	res := &Lock{Clients: o.LockClients}
	if st, err := safety.ArbiterState(ctx); err == nil && st.Lock.Active {
		if err := safety.Release(ctx, domain.ReleaseRequest{Operator: "bench", Reason: "before the lock-latency phase"}); err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}

	var (
		mu      sync.Mutex
		results []arbitration
		stop    atomic.Bool
		sawLock = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
	)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for g := 0; g < o.LockClients; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				post := fmt.Sprintf("lock-%02d-%06d", g, i)
				req := domain.ArbitrationRequest{
					PostID: post, Agent: "bench-lock", Platform: domain.PlatformSim,
					Action: domain.ActionComment, Tier: domain.Tier1,
					Key:   domain.IdempotencyKey(post, domain.ActionComment, domain.Tier1),
					Texts: []string{"What do you think?"}, Score: 0.1, At: time.Now().UTC(),
				}
				cctx, ccancel := context.WithTimeout(lctx, 30*time.Second)
				a := arbitration{sent: time.Now()}
				d, err := safety.Arbitrate(cctx, req)
				ccancel()
				a.got, a.decision, a.err = time.Now(), d.Decision, err
				if err != nil && lctx.Err() != nil {
					return
				}
				mu.Lock()
				results = append(results, a)
				mu.Unlock()
				if err == nil && d.Decision == domain.DecisionLock {
					once.Do(func() { close(sawLock) })
				}
			}
		}()
	}

	r.progress("lock: %d clients arbitrating in a tight loop for %s, then the lock", o.LockClients, o.LockPre)
	t0 := time.Now()
	if err := sleep(ctx, o.LockPre); err != nil {
		return nil, err
	}
	lockSent := time.Now()
	err := safety.Lock(ctx, domain.LockRequest{Source: "bench", Reason: "lock-latency benchmark", Tier: 3, Confidence: 1})
	lockAcked := time.Now()
	if err != nil {
		stop.Store(true)
		cancel()
		wg.Wait()
		return nil, fmt.Errorf("lock signal: %w", err)
	}
	res.SignalSeconds = lockAcked.Sub(lockSent).Seconds()
	select {
	case <-sawLock:
	case <-time.After(30 * time.Second):
		r.progress("lock: no lock answer 30s after the signal")
	case <-ctx.Done():
	}
	_ = sleep(ctx, time.Second) // a few more answers after the first lock
	stop.Store(true)
	wg.Wait()

	var first time.Time
	for _, a := range results {
		if a.err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = a.err.Error()
			}
			continue
		}
		if a.got.Before(lockSent) {
			res.ArbitrationsBefore++
		}
		if a.decision == domain.DecisionLock {
			res.LockDecisions++
			if !a.got.Before(lockSent) && (first.IsZero() || a.got.Before(first)) {
				first = a.got
			}
		}
		if a.decision == domain.DecisionAllow && !a.sent.Before(lockAcked) {
			res.AllowedAfterLockAck++
		}
	}
	res.ArbitrationsPerS = float64(res.ArbitrationsBefore) / lockSent.Sub(t0).Seconds()
	if !first.IsZero() {
		res.LatencySeconds = first.Sub(lockSent).Seconds()
	} else {
		res.LatencySeconds = -1
	}

	hctx, hcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer hcancel()
	runs, err := readRuns(hctx, c, workflows.ArbiterWorkflowID, 1000)
	if err != nil {
		return nil, fmt.Errorf("arbiter history: %w", err)
	}
	res.ArbiterRuns = len(runs)
	if err := lockAfterSignal(runs, lockSent.Add(-time.Second), res); err != nil {
		return nil, err
	}
	r.progress("lock: %.0f arbitrations/s before; first lock answer %.3fs after the signal (server %.3fs); %d allowed after the lock was recorded, %d after it was acknowledged; %d errors",
		res.ArbitrationsPerS, res.LatencySeconds, res.ServerLatencySeconds, res.AllowedAfterLockRecorded, res.AllowedAfterLockAck, res.Errors)

	if err := safety.Release(ctx, domain.ReleaseRequest{Operator: "bench", Reason: "lock-latency benchmark done"}); err != nil {
		r.progress("lock: release: %v", err)
	}
	return res, nil
}

// lockAfterSignal finds the first lock signal at or after notBefore in the arbiter's runs
// (oldest first) and examines every update completed after it: allow decisions there were
// made with the lock already in the history.
func lockAfterSignal(runs [][]*historypb.HistoryEvent, notBefore time.Time, res *Lock) error {
	var signalAt time.Time
	for _, run := range runs {
		for _, e := range run {
			if !res.Found {
				sig := e.GetWorkflowExecutionSignaledEventAttributes()
				if sig != nil && sig.GetSignalName() == workflows.SignalLock && !e.GetEventTime().AsTime().Before(notBefore) {
					res.Found, signalAt = true, e.GetEventTime().AsTime()
				}
				continue
			}
			ds, err := workflows.DecisionsIn(e)
			if err != nil {
				return err
			}
			for _, d := range ds {
				switch d.Decision {
				case domain.DecisionAllow:
					res.AllowedAfterLockRecorded++
				case domain.DecisionLock:
					if res.ServerLatencySeconds == 0 {
						res.ServerLatencySeconds = e.GetEventTime().AsTime().Sub(signalAt).Seconds()
					}
				}
			}
		}
	}
	return nil
}
