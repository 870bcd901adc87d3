package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/domain"
)

// arbiterClient answers every arbitrate-batch update with answer(request) for each request,
// after gate (if set) lets it through, and counts the updates, the requests they carried and
// how many updates were in flight at most.
type arbiterClient struct {
	client.Client
	mu             sync.Mutex
	answer         func(domain.ArbitrationRequest) (domain.ArbitrationDecision, error)
	gate           chan struct{}
	updates        int
	batches        []int // each batch's size
	requests       int   // the requests the batches carried
	inFlight, peak int
}

func (c *arbiterClient) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (c *arbiterClient) UpdateWithStartWorkflow(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if o.UpdateOptions.UpdateName != UpdateArbitrateBatch {
		return nil, errors.New("unexpected update " + o.UpdateOptions.UpdateName)
	}
	b := o.UpdateOptions.Args[0].(ArbitrationBatch)
	if err := b.validate(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.updates++
	c.batches = append(c.batches, len(b.Requests))
	c.requests += len(b.Requests)
	c.inFlight++
	c.peak = max(c.peak, c.inFlight)
	answer, gate := c.answer, c.gate
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var out ArbitrationBatchResult
	for i, r := range b.Requests {
		d, err := answer(r)
		if err != nil {
			return nil, err
		}
		out.Decisions = append(out.Decisions, BatchDecision{ID: b.IDs[i], Decision: d})
	}
	return batchHandle{out}, nil
}

// count is how many requests reached the arbiter (updates carry batches of them).
func (c *arbiterClient) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

func (c *arbiterClient) set(answer func(domain.ArbitrationRequest) (domain.ArbitrationDecision, error)) {
	c.mu.Lock()
	c.answer = answer
	c.mu.Unlock()
}

type batchHandle struct{ r ArbitrationBatchResult }

func (batchHandle) WorkflowID() string { return ArbiterWorkflowID }
func (batchHandle) RunID() string      { return "" }
func (batchHandle) UpdateID() string   { return "" }
func (h batchHandle) Get(_ context.Context, v any) error {
	*(v.(*ArbitrationBatchResult)) = h.r
	return nil
}

// arbiterAt answers like an arbiter whose clock reads now(): lock while *locked, else allow.
func arbiterAt(now func() time.Time, locked *bool, mu *sync.Mutex) func(domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
	return func(r domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
		mu.Lock()
		defer mu.Unlock()
		if r.IsAutonomous() && *locked {
			return domain.ArbitrationDecision{Decision: domain.DecisionLock, LockActive: true, Confidence: 0.9, At: now(), Reasons: []string{"existing lock state is active"}}, nil
		}
		return domain.ArbitrationDecision{Decision: domain.DecisionAllow, At: now(), Reasons: []string{"no policy violations detected"}}, nil
	}
}

func viewRequest(post string) domain.ArbitrationRequest {
	return domain.ArbitrationRequest{PostID: post, Agent: "a1", Platform: domain.PlatformSim, Action: domain.ActionComment,
		Tier: domain.Tier1, Key: domain.IdempotencyKey(post, domain.ActionComment, domain.Tier1), Texts: []string{"hi"}, At: time.Now()}
}

func personRequest(post string) domain.ArbitrationRequest {
	r := viewRequest(post)
	r.Autonomous, r.Operator, r.OperatorReason = domain.NotAutonomous(), "alice", "checked"
	return r
}

// TestLockViewAnswersLocallyWithinTheTTL: after the arbiter answers lock, the worker refuses
// autonomous requests itself (marked local, with when it saw the lock) until the TTL passes;
// then one request asks the arbiter again. A person's request always goes to the arbiter, and
// the arbiter's allow of it (it passes the lock) leaves the view as it is.
func TestLockViewAnswersLocallyWithinTheTTL(t *testing.T) {
	var mu sync.Mutex
	locked := true
	fc := &arbiterClient{}
	fc.set(arbiterAt(time.Now, &locked, &mu))
	const ttl = 300 * time.Millisecond
	sc := &SafetyClient{Client: fc, LockViewTTL: ttl}
	ctx := context.Background()

	d, err := sc.Arbitrate(ctx, viewRequest("p0"))
	if err != nil || d.Decision != domain.DecisionLock || d.Local {
		t.Fatalf("first answer %+v %v, want the arbiter's lock", d, err)
	}
	seen := time.Now()
	for i := range 20 {
		d, err := sc.Arbitrate(ctx, viewRequest("p1"))
		if time.Since(seen) > ttl/2 {
			break // a slow machine: the rest of the window is not ours to assert
		}
		if err != nil || d.Decision != domain.DecisionLock || !d.Local || !d.LockActive || d.LockSeenAt.IsZero() || d.Confidence != 0.9 {
			t.Fatalf("request %d within the TTL: %+v %v, want a local lock", i, d, err)
		}
		if !strings.Contains(d.Reasons[0], "answered by this worker") {
			t.Fatalf("local reason %q", d.Reasons)
		}
	}
	if n := fc.count(); n != 1 {
		t.Fatalf("%d updates within the TTL, want 1", n)
	}
	// A person's request passes the lock at the arbiter: never refused locally.
	if d, err := sc.Arbitrate(ctx, personRequest("p2")); err != nil || d.Decision != domain.DecisionAllow || d.Local {
		t.Fatalf("a person's request: %+v %v, want the arbiter's allow", d, err)
	}
	if n := fc.count(); n != 2 {
		t.Fatalf("%d updates, want 2 (the person's went to the arbiter)", n)
	}
	if d, _ := sc.Arbitrate(ctx, viewRequest("p3")); !d.Local && time.Since(seen) < ttl/2 {
		t.Fatalf("the person's allow cleared the view: %+v", d)
	}

	// Past the TTL: the next request asks the arbiter, still locked, and the view is fresh again.
	time.Sleep(ttl)
	before := fc.count()
	if d, err := sc.Arbitrate(ctx, viewRequest("p4")); err != nil || d.Local || d.Decision != domain.DecisionLock {
		t.Fatalf("after the TTL: %+v %v, want the arbiter's lock", d, err)
	}
	if fc.count() != before+1 {
		t.Fatalf("after the TTL: %d updates, want %d", fc.count(), before+1)
	}

	// Released: past the TTL the arbiter allows, and that clears the view at once.
	mu.Lock()
	locked = false
	mu.Unlock()
	time.Sleep(ttl)
	for i := range 3 {
		if d, err := sc.Arbitrate(ctx, viewRequest("p5")); err != nil || d.Decision != domain.DecisionAllow || d.Local {
			t.Fatalf("request %d after the release: %+v %v, want the arbiter's allow", i, d, err)
		}
	}
	st := sc.Stats()
	if st.LocalLocks == 0 || st.Updates != int64(fc.count()) || st.ArbiterLocks != 2 {
		t.Fatalf("stats %+v with %d updates", st, fc.count())
	}
}

// TestLockViewOneProbeAtATime: when the view expires under a burst of blocked posts, one
// request asks the arbiter while the others wait for its answer and are then refused locally.
// When the probe fails, a waiter becomes the next probe; when it allows, everyone asks.
func TestLockViewOneProbeAtATime(t *testing.T) {
	var mu sync.Mutex
	locked := true
	fc := &arbiterClient{}
	fc.set(arbiterAt(time.Now, &locked, &mu))
	sc := &SafetyClient{Client: fc, LockViewTTL: time.Minute}
	ctx := context.Background()
	if _, err := sc.Arbitrate(ctx, viewRequest("p0")); err != nil {
		t.Fatal(err)
	}
	expire := func() {
		sc.view.mu.Lock()
		sc.view.seen = time.Now().Add(-2 * time.Minute)
		sc.view.mu.Unlock()
	}
	// The probe is held at the arbiter while 50 requests come in.
	expire()
	gate := make(chan struct{})
	fc.mu.Lock()
	fc.gate = gate
	fc.mu.Unlock()
	done := make(chan []domain.ArbitrationDecision)
	go func() { done <- burst(t, sc, 50) }()
	waitFor(t, func() bool { return fc.count() == 2 })
	time.Sleep(20 * time.Millisecond) // the others are waiting, not asking
	if n := fc.count(); n != 2 {
		t.Fatalf("%d updates while the probe is in flight, want 2", n)
	}
	close(gate)
	ds := <-done
	fc.mu.Lock()
	fc.gate = nil
	fc.mu.Unlock()
	if local := countLocal(t, ds); local != 49 || fc.count() != 2 {
		t.Fatalf("%d local answers and %d updates, want 49 and 2", local, fc.count())
	}

	// A failing probe hands over to a waiter.
	fails := 1
	fc.set(func(r domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return domain.ArbitrationDecision{}, errors.New("unavailable")
		}
		return domain.ArbitrationDecision{Decision: domain.DecisionLock, At: time.Now()}, nil
	})
	expire()
	before := fc.count()
	var wg sync.WaitGroup
	var errs, locks int
	var emu sync.Mutex
	for range 10 {
		wg.Go(func() {
			d, err := sc.Arbitrate(ctx, viewRequest("p2"))
			emu.Lock()
			defer emu.Unlock()
			if err != nil {
				errs++
			} else if d.Decision == domain.DecisionLock {
				locks++
			}
		})
	}
	wg.Wait()
	if errs != 1 || locks != 9 || fc.count() != before+2 {
		t.Fatalf("%d errors, %d locks, %d updates: want the failed probe's error, 9 locks, 2 updates", errs, locks, fc.count()-before)
	}

	// Released: a probe's allow clears the view; the waiters then all ask the arbiter.
	mu.Lock()
	locked = false
	mu.Unlock()
	fc.set(arbiterAt(time.Now, &locked, &mu))
	expire()
	before = fc.count()
	for _, d := range burst(t, sc, 20) {
		if d.Decision != domain.DecisionAllow || d.Local {
			t.Fatalf("after the release: %+v, want the arbiter's allow", d)
		}
	}
	if fc.count() != before+20 {
		t.Fatalf("%d updates after the release, want 20", fc.count()-before)
	}
}

// TestLockViewIgnoresOvertakenAnswers: an allow decided before the lock answer the view rests
// on (a reply that arrived late) does not clear the view; a lock decided before the latest
// allow does not set it.
func TestLockViewIgnoresOvertakenAnswers(t *testing.T) {
	var v lockView
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	now := time.Now()
	v.observe(domain.ArbitrationDecision{Decision: domain.DecisionLock, At: t0}, nil, now)
	v.observe(domain.ArbitrationDecision{Decision: domain.DecisionAllow, At: t0.Add(-time.Millisecond)}, nil, now)
	if a := v.check(viewRequest("p"), time.Minute, now); !a.ok {
		t.Fatalf("an older allow cleared the view: %+v", a)
	}
	v.observe(domain.ArbitrationDecision{Decision: domain.DecisionDeny, At: t0.Add(time.Second)}, nil, now)
	if a := v.check(viewRequest("p"), time.Minute, now); !a.ok {
		t.Fatalf("a deny cleared the view: %+v", a)
	}
	v.observe(domain.ArbitrationDecision{Decision: domain.DecisionAllow, At: t0.Add(2 * time.Second)}, nil, now)
	if a := v.check(viewRequest("p"), time.Minute, now); a.ok || a.probe || a.wait != nil {
		t.Fatalf("a newer allow left the view: %+v", a)
	}
	v.observe(domain.ArbitrationDecision{Decision: domain.DecisionLock, At: t0.Add(time.Second)}, nil, now)
	if a := v.check(viewRequest("p"), time.Minute, now); a.ok {
		t.Fatalf("a lock older than the allow set the view: %+v", a)
	}
}

// burst sends n autonomous requests at once and returns the answers.
func burst(t *testing.T, sc *SafetyClient, n int) []domain.ArbitrationDecision {
	t.Helper()
	out := make([]domain.ArbitrationDecision, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := sc.Arbitrate(context.Background(), viewRequest("p"))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			out[i] = d
		})
	}
	wg.Wait()
	return out
}

// countLocal checks that every answer is a lock and counts the local ones.
func countLocal(t *testing.T, ds []domain.ArbitrationDecision) int {
	t.Helper()
	local := 0
	for _, d := range ds {
		if d.Decision != domain.DecisionLock {
			t.Fatalf("answer %+v, want lock", d)
		}
		if d.Local {
			local++
		}
	}
	return local
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLockViewRefusesRequestsThatWaitedForASlot: a burst arrives before any lock answer, so
// every request passes the view and queues for one of the MaxArbitrationsInFlight slots. Once
// the first updates answer lock, the requests still waiting for a slot are refused from the
// view instead of reaching the arbiter.
func TestLockViewRefusesRequestsThatWaitedForASlot(t *testing.T) {
	var mu sync.Mutex
	locked := true
	gate := make(chan struct{})
	fc := &arbiterClient{gate: gate}
	fc.set(arbiterAt(time.Now, &locked, &mu))
	sc := &SafetyClient{Client: fc, LockViewTTL: time.Minute}
	const n = 3 * MaxArbitrationsInFlight
	done := make(chan []domain.ArbitrationDecision)
	go func() { done <- burst(t, sc, n) }()
	waitFor(t, func() bool { return fc.count() == MaxArbitrationsInFlight })
	close(gate)
	local := countLocal(t, <-done)
	if fc.count() != MaxArbitrationsInFlight || local != n-MaxArbitrationsInFlight {
		t.Fatalf("%d updates and %d local answers, want %d and %d", fc.count(), local, MaxArbitrationsInFlight, n-MaxArbitrationsInFlight)
	}
}
