package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

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
		c.opts.TaskQueue != TaskQueue || c.opts.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
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
func TestSafetyClientBoundsArbitrationsInFlight(t *testing.T) {
	release := make(chan struct{})
	fc := &arbiterClient{gate: release, answer: func(domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
		return domain.ArbitrationDecision{}, errors.New("released")
	}}
	sc := &SafetyClient{Client: fc}
	const n = 3 * MaxArbitrationsInFlight
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { sc.Arbitrate(context.Background(), domain.ArbitrationRequest{}) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fc.mu.Lock()
		inFlight := fc.inFlight
		fc.mu.Unlock()
		if inFlight == MaxArbitrationsInFlight || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := sc.Arbitrate(ctx, domain.ArbitrationRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a caller waiting for a slot past its deadline got %v", err)
	}
	close(release)
	wg.Wait()
	if fc.peak != MaxArbitrationsInFlight || fc.updates != n {
		t.Fatalf("%d calls, at most %d in flight: want %d calls, at most %d", fc.updates, fc.peak, n, MaxArbitrationsInFlight)
	}
}
