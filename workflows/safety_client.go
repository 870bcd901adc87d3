package workflows

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"resurge/activities"
	"resurge/domain"
)

// SafetyClient reaches the arbiter and the monitors through a Temporal client. It implements
// activities.SafetyGateway, and it is what the starter uses for lock, release and set-policy.
type SafetyClient struct {
	Client  client.Client
	Policy  domain.SafetyPolicy
	Monitor MonitorConfig
	// LockViewTTL, when positive, lets this client refuse autonomous arbitrations by itself
	// for that long after the arbiter last answered it lock (see lockView): a blocked post
	// then costs the arbiter nothing, and the first arbitration after the TTL asks for real.
	// A person's request (not autonomous) always goes to the arbiter, which lets it pass the
	// lock. Zero asks the arbiter every time. Workers use DefaultLockViewTTL.
	LockViewTTL time.Duration
	// MaxInFlight bounds this client's arbitrations in flight (0: MaxArbitrationsInFlight).
	MaxInFlight int

	// slots bounds this client's arbitrations in flight (see MaxArbitrationsInFlight).
	slotsOnce sync.Once
	slots     chan struct{}
	view      lockView
	stats     arbitrationCounters
}

// ArbitrationStats count what one SafetyClient's arbitrations did since it was made.
type ArbitrationStats struct {
	// Updates are the arbitrate updates sent to the arbiter (answered or not).
	Updates int64 `json:"updates"`
	// LocalLocks are the arbitrations refused from the lock view, without an update.
	LocalLocks int64 `json:"local_locks"`
	// ArbiterLocks are lock answers from the arbiter.
	ArbiterLocks int64 `json:"arbiter_locks"`
}

type arbitrationCounters struct{ updates, localLocks, arbiterLocks atomic.Int64 }

// Stats returns the client's arbitration counters.
func (s *SafetyClient) Stats() ArbitrationStats {
	return ArbitrationStats{Updates: s.stats.updates.Load(), LocalLocks: s.stats.localLocks.Load(), ArbiterLocks: s.stats.arbiterLocks.Load()}
}

// MaxArbitrationsInFlight is how many arbitrate updates one SafetyClient (one worker) has in
// flight at most. The server takes at most 10 updates in flight per workflow and answers the
// rest "too many updates"; when many posts become eligible at once, the extra ones wait here
// for a slot instead of retrying against the singleton arbiter, whose update-driven workflow
// tasks were seen to fail for minutes under such a burst on a busy 2-core machine.
const MaxArbitrationsInFlight = 8

var _ activities.SafetyGateway = (*SafetyClient)(nil)

func (s *SafetyClient) arbiterStartOptions() client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       ArbiterWorkflowID,
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "safety arbiter: allow / deny / lock for every autonomous change",
	}
}

func (s *SafetyClient) arbiterInput() ArbiterInput { return ArbiterInput{Policy: s.Policy} }

// EnsureArbiter starts the arbiter unless it is already running.
func (s *SafetyClient) EnsureArbiter(ctx context.Context) error {
	_, err := s.Client.ExecuteWorkflow(ctx, s.arbiterStartOptions(), ArbiterWorkflow, s.arbiterInput())
	return err
}

// Arbitrate sends the arbitrate update (starting the arbiter if it is not running). The update
// ID is derived from the request, so a retried call after a lost reply gets the same decision
// instead of a second one.
//
// With a LockViewTTL, an autonomous request may instead be refused from the client's lock
// view (a decision marked Local): see lockView.
func (s *SafetyClient) Arbitrate(ctx context.Context, req domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
	if s.LockViewTTL <= 0 || !req.IsAutonomous() {
		return s.arbitrate(ctx, req, false, false)
	}
	for {
		a := s.view.check(req, s.LockViewTTL, time.Now())
		switch {
		case a.ok:
			s.stats.localLocks.Add(1)
			return a.local, nil
		case a.wait != nil:
			select {
			case <-a.wait:
				continue
			case <-ctx.Done():
				return domain.ArbitrationDecision{}, ctx.Err()
			}
		case a.probe:
			defer s.view.endProbe()
		}
		return s.arbitrate(ctx, req, true, a.probe)
	}
}

// arbitrate sends the update once it has a slot. With the lock view (viewed), a request that
// waited for its slot while a lock answer arrived is refused from the view instead (the probe
// asks whatever the view says), and the answer updates the view before the slot is freed.
func (s *SafetyClient) arbitrate(ctx context.Context, req domain.ArbitrationRequest, viewed, probe bool) (domain.ArbitrationDecision, error) {
	var d domain.ArbitrationDecision
	s.slotsOnce.Do(func() {
		n := s.MaxInFlight
		if n <= 0 {
			n = MaxArbitrationsInFlight
		}
		s.slots = make(chan struct{}, n)
	})
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return d, ctx.Err()
	}
	if viewed && !probe {
		if local, ok := s.view.fresh(req, s.LockViewTTL, time.Now()); ok {
			s.stats.localLocks.Add(1)
			return local, nil
		}
	}
	start := s.Client.NewWithStartWorkflowOperation(s.arbiterStartOptions(), ArbiterWorkflow, s.arbiterInput())
	h, err := s.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     fmt.Sprintf("%s@%s", req.Key, req.At.UTC().Format("20060102T150405.000000000")),
			UpdateName:   UpdateArbitrate,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	s.stats.updates.Add(1)
	if err == nil {
		err = h.Get(ctx, &d)
	}
	if err == nil && d.Decision == domain.DecisionLock {
		s.stats.arbiterLocks.Add(1)
	}
	if viewed {
		s.view.observe(d, err, time.Now())
	}
	return d, err
}

// Lock signals the arbiter's lock (starting the arbiter if needed).
func (s *SafetyClient) Lock(ctx context.Context, req domain.LockRequest) error {
	_, err := s.Client.SignalWithStartWorkflow(ctx, ArbiterWorkflowID, SignalLock, req, s.arbiterStartOptions(), ArbiterWorkflow, s.arbiterInput())
	return err
}

// SetPolicy signals a new safety policy to the arbiter (starting it if needed, with this
// client's Policy as its start input); it replaces the policy in force whole. The policy is
// validated first: an invalid one is not sent. The signal is applied asynchronously; the arbiter's state query shows the policy in
// force and Counters.PolicyUpdates / RejectedPolicies once it has processed it.
func (s *SafetyClient) SetPolicy(ctx context.Context, p domain.SafetyPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	// The arbiter decodes the signal onto the policy in force, merging the length limits
	// platform by platform and refusing nulls: send every field, so that p replaces it whole.
	_, err := s.Client.SignalWithStartWorkflow(ctx, ArbiterWorkflowID, SignalSetPolicy, p.Complete(), s.arbiterStartOptions(), ArbiterWorkflow, s.arbiterInput())
	return err
}

// Release signals the operator's release of the lock.
func (s *SafetyClient) Release(ctx context.Context, req domain.ReleaseRequest) error {
	return s.Client.SignalWorkflow(ctx, ArbiterWorkflowID, "", SignalReleaseLock, req)
}

// ReportHealth signals a monitor's grade of an agent to the arbiter.
func (s *SafetyClient) ReportHealth(ctx context.Context, h domain.AgentHealth) error {
	_, err := s.Client.SignalWithStartWorkflow(ctx, ArbiterWorkflowID, SignalAgentHealth, h, s.arbiterStartOptions(), ArbiterWorkflow, s.arbiterInput())
	return err
}

// ArbiterState queries the arbiter.
func (s *SafetyClient) ArbiterState(ctx context.Context) (ArbiterState, error) {
	var st ArbiterState
	v, err := s.Client.QueryWorkflow(ctx, ArbiterWorkflowID, "", QueryArbiterState)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func (s *SafetyClient) monitorStart(agent string) (client.StartWorkflowOptions, MonitorInput) {
	return client.StartWorkflowOptions{
		ID:                       MonitorWorkflowID(agent),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "monitor of agent " + agent + ": grades the automation's own performance",
	}, MonitorInput{Agent: agent, Config: s.Monitor}
}

// ReportOutcome signals an action outcome to the agent's monitor, starting it on first use.
func (s *SafetyClient) ReportOutcome(ctx context.Context, o domain.Outcome) error {
	opts, in := s.monitorStart(o.Agent)
	_, err := s.Client.SignalWithStartWorkflow(ctx, opts.ID, SignalOutcome, o, opts, MonitorWorkflow, in)
	return err
}

// ReportImpact signals an impact measurement to the agent's monitor.
func (s *SafetyClient) ReportImpact(ctx context.Context, im domain.Impact) error {
	opts, in := s.monitorStart(im.Agent)
	_, err := s.Client.SignalWithStartWorkflow(ctx, opts.ID, SignalImpact, im, opts, MonitorWorkflow, in)
	return err
}

// MonitorStatus queries an agent's monitor.
func (s *SafetyClient) MonitorStatus(ctx context.Context, agent string) (MonitorStatus, error) {
	var st MonitorStatus
	if err := domain.ValidateID("agent", agent); err != nil {
		return st, err
	}
	v, err := s.Client.QueryWorkflow(ctx, MonitorWorkflowID(agent), "", QueryMonitorStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}
