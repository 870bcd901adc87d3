package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

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
