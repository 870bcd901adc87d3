package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"resurge/domain"
)

// signalClient records SignalWithStartWorkflow calls; any other call panics.
type signalClient struct {
	client.Client
	calls []signalWithStart
}

type signalWithStart struct {
	id, name string
	arg      json.RawMessage
	opts     client.StartWorkflowOptions
	input    []any
}

func (c *signalClient) SignalWithStartWorkflow(_ context.Context, id, name string, arg any, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	data, err := json.Marshal(arg)
	if err != nil {
		return nil, err
	}
	c.calls = append(c.calls, signalWithStart{id: id, name: name, arg: data, opts: opts, input: args})
	return nil, nil
}

func TestSafetyClientSetPolicy(t *testing.T) {
	fc := &signalClient{}
	start := domain.DefaultSafetyPolicy()
	start.GlobalPerHour = 50
	sc := &SafetyClient{Client: fc, Policy: start}

	p := domain.DefaultSafetyPolicy()
	p.PerPostPerHour, p.BannedTerms = 1, nil
	p.LengthLimits = map[string]int{domain.PlatformMastodon: 400}
	if err := sc.SetPolicy(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if len(fc.calls) != 1 {
		t.Fatalf("calls %+v", fc.calls)
	}
	c := fc.calls[0]
	if c.id != ArbiterWorkflowID || c.name != SignalSetPolicy || c.opts.ID != ArbiterWorkflowID ||
		c.opts.TaskQueue != SafetyTaskQueue || c.opts.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
		t.Fatalf("signal-with-start %+v", c)
	}
	if len(c.input) != 1 || !reflect.DeepEqual(c.input[0], ArbiterInput{Policy: start}) {
		t.Fatalf("start input %+v, want the client's policy", c.input)
	}
	// Whatever policy the arbiter has in force, the signal replaces it whole.
	inForce := domain.DefaultSafetyPolicy()
	inForce.LengthLimits[domain.PlatformSim], inForce.ApprovalRisk, inForce.CriticalRisk = 280, 3, 3
	got, err := domain.DecodeSafetyPolicy(inForce, c.arg)
	if err != nil {
		t.Fatalf("the arbiter would reject %s: %v", c.arg, err)
	}
	if !reflect.DeepEqual(got, p.Complete()) {
		t.Fatalf("the arbiter would apply %+v, want %+v", got, p.Complete())
	}
}

func TestSafetyClientSetPolicyRefusesAnInvalidPolicy(t *testing.T) {
	fc := &signalClient{}
	sc := &SafetyClient{Client: fc}
	p := domain.DefaultSafetyPolicy()
	p.BannedTerms = []string{"spam", ""}
	err := sc.SetPolicy(context.Background(), p)
	var fe *domain.FieldError
	if !errors.As(err, &fe) || fe.Field != "policy.banned_terms[1]" {
		t.Fatalf("want a field error naming policy.banned_terms[1], got %v", err)
	}
	if len(fc.calls) != 0 {
		t.Fatalf("an invalid policy was sent: %+v", fc.calls)
	}
}

// TestSafetyClientBoundsArbitrationsInFlight: a burst of posts asking at once never has more
// than MaxArbitrationsInFlight updates in flight from one client (the server refuses more than
// 10 per workflow); the others wait for a slot, and a caller that gives up while waiting gets
// its context's error without calling the server.
// TestSafetyClientBatchesWithinItsBound: at most MaxArbitrationsInFlight updates are in flight;
// requests arriving meanwhile wait and then go in batches of at most MaxArbitrationBatch, each
// caller getting the answer to its own request; a waiting caller honours its deadline.
func TestSafetyClientBatchesWithinItsBound(t *testing.T) {
	release := make(chan struct{})
	fc := &arbiterClient{gate: release, answer: func(r domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
		return domain.ArbitrationDecision{Decision: domain.DecisionAllow, Reasons: []string{r.PostID}, At: time.Now()}, nil
	}}
	sc := &SafetyClient{Client: fc}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	inFlight := func() int { fc.mu.Lock(); defer fc.mu.Unlock(); return fc.inFlight }
	queued := func() int { sc.queue.mu.Lock(); defer sc.queue.mu.Unlock(); return len(sc.queue.waiting) }

	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	ask := func(post string) {
		wg.Go(func() {
			d, err := sc.Arbitrate(context.Background(), viewRequest(post))
			if err != nil || len(d.Reasons) != 1 || d.Reasons[0] != post {
				mu.Lock()
				wrong++
				mu.Unlock()
				t.Errorf("%s: got %+v, %v", post, d, err)
			}
		})
	}
	// The first requests each take a slot (and are a batch of one).
	for i := range MaxArbitrationsInFlight {
		ask(fmt.Sprintf("first-%d", i))
		waitFor("a slot taken", func() bool { return inFlight() == i+1 })
	}
	// The rest wait for a slot.
	const more = MaxArbitrationBatch + 36
	for i := range more {
		ask(fmt.Sprintf("more-%d", i))
	}
	waitFor("every later request queued", func() bool { return queued() == more })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := sc.Arbitrate(ctx, viewRequest("impatient")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a caller waiting for a slot past its deadline got %v", err)
	}
	if queued() != more {
		t.Errorf("the impatient caller left %d queued, want %d", queued(), more)
	}
	close(release)
	wg.Wait()
	if fc.peak != MaxArbitrationsInFlight {
		t.Errorf("at most %d in flight, want %d", fc.peak, MaxArbitrationsInFlight)
	}
	sizes := fc.batches
	if len(sizes) != MaxArbitrationsInFlight+2 || slices.Max(sizes) != MaxArbitrationBatch {
		t.Errorf("batches %v: want %d of one, then %d and 36", sizes, MaxArbitrationsInFlight, MaxArbitrationBatch)
	}
	if st := sc.Stats(); st.Updates != int64(len(sizes)) || st.Batched != int64(MaxArbitrationsInFlight+more) {
		t.Errorf("stats %+v", st)
	}
}

// TestSafetyClientRefusesAnInvalidRequestItself: the arbiter's validator would refuse it, so
// it is never sent (it would otherwise fail the batch it joined).
func TestSafetyClientRefusesAnInvalidRequestItself(t *testing.T) {
	fc := &arbiterClient{answer: func(domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
		return domain.ArbitrationDecision{Decision: domain.DecisionAllow}, nil
	}}
	sc := &SafetyClient{Client: fc}
	r := viewRequest("p1")
	r.Key = ""
	_, err := sc.Arbitrate(context.Background(), r)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), "idempotency_key") || fc.count() != 0 {
		t.Fatalf("got %v after %d updates, want a non-retryable error naming idempotency_key and no update", err, fc.count())
	}
}
