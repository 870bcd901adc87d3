package workflows

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

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
	// MaxInFlight bounds this client's arbitrate-batch updates in flight (0: MaxArbitrationsInFlight).
	MaxInFlight int

	// slots bounds this client's arbitrations in flight (see MaxArbitrationsInFlight).
	slotsOnce sync.Once
	slots     chan struct{}
	queue     arbitrationQueue
	view      lockView
	stats     arbitrationCounters
}

// ArbitrationStats count what one SafetyClient's arbitrations did since it was made.
type ArbitrationStats struct {
	// Updates are the arbitrate-batch updates sent to the arbiter (answered or not), and
	// Batched the requests they carried.
	Updates int64 `json:"updates"`
	Batched int64 `json:"batched"`
	// LocalLocks are the arbitrations refused from the lock view, without an update.
	LocalLocks int64 `json:"local_locks"`
	// ArbiterLocks are lock answers from the arbiter.
	ArbiterLocks int64 `json:"arbiter_locks"`
}

type arbitrationCounters struct{ updates, batched, localLocks, arbiterLocks atomic.Int64 }

// Stats returns the client's arbitration counters.
func (s *SafetyClient) Stats() ArbitrationStats {
	return ArbitrationStats{Updates: s.stats.updates.Load(), Batched: s.stats.batched.Load(), LocalLocks: s.stats.localLocks.Load(), ArbiterLocks: s.stats.arbiterLocks.Load()}
}

// MaxArbitrationsInFlight is how many arbitrate-batch updates one SafetyClient (one worker) has
// in flight at most. The server takes at most 10 updates in flight per workflow and answers the
// rest "too many updates"; when many posts become eligible at once, the extra ones wait here and
// go together in the next batch instead of retrying against the singleton arbiter, whose
// update-driven workflow tasks were seen to fail for minutes under such a burst on a busy
// 2-core machine. Two keep one batch filling while the other is answered, and let five workers
// share the server's 10 without configuration (RESURGE_ARBITRATIONS_IN_FLIGHT).
const MaxArbitrationsInFlight = 2

var _ activities.SafetyGateway = (*SafetyClient)(nil)

func (s *SafetyClient) arbiterStartOptions() client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       ArbiterWorkflowID,
		TaskQueue:                SafetyTaskQueue,
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

// arbitrate queues the request and waits for its answer. Whoever holds a free slot sends the
// requests queued so far (up to MaxArbitrationBatch) as one arbitrate-batch update, so that a
// burst of eligible posts costs the arbiter a few updates instead of one each. With the lock
// view (viewed), a request that waited while a lock answer arrived is refused from the view
// instead (the probe asks whatever the view says), and the answers update the view before
// anyone waiting on them is told.
func (s *SafetyClient) arbitrate(ctx context.Context, req domain.ArbitrationRequest, viewed, probe bool) (domain.ArbitrationDecision, error) {
	if err := domain.ValidateArbitrationRequest(req); err != nil {
		// What the arbiter's validator would answer, without asking it.
		return domain.ArbitrationDecision{}, rejectedRequest(err.Error(), err)
	}
	s.slotsOnce.Do(func() {
		n := s.MaxInFlight
		if n <= 0 {
			n = MaxArbitrationsInFlight
		}
		s.slots = make(chan struct{}, n)
	})
	w := &queuedArbitration{req: req, id: ArbitrationID(req), viewed: viewed, probe: probe, done: make(chan arbitrationAnswer, 1)}
	s.queue.push(w)
	for {
		slots := s.slots
		select {
		case r := <-w.done:
			return r.d, r.err
		default:
			if !s.queue.has(w) {
				slots = nil // in another caller's batch: only its answer is awaited
			}
		}
		select {
		case r := <-w.done:
			return r.d, r.err
		case slots <- struct{}{}:
			s.sendQueued(ctx, w)
			<-s.slots
		case <-ctx.Done():
			// Taken into a batch already or not, nobody waits for the answer now (done is
			// buffered, so the sender does not block on it).
			s.queue.remove(w)
			return domain.ArbitrationDecision{}, ctx.Err()
		}
	}
}

// sendQueued sends the queued requests, oldest first and a batch at a time (the caller holds
// a slot), until own is answered or none is left: a caller does not go on working for the
// others, who take the slot when it is freed. Requests the lock view refuses meanwhile are
// answered from it.
func (s *SafetyClient) sendQueued(ctx context.Context, own *queuedArbitration) {
	for len(own.done) == 0 {
		batch := s.queue.take(MaxArbitrationBatch, func(w *queuedArbitration) bool {
			if !w.viewed || w.probe {
				return false
			}
			local, ok := s.view.fresh(w.req, s.LockViewTTL, time.Now())
			if ok {
				s.stats.localLocks.Add(1)
				w.done <- arbitrationAnswer{d: local}
			}
			return ok
		})
		if len(batch) == 0 {
			return
		}
		s.sendBatch(ctx, batch)
		if ctx.Err() != nil {
			return
		}
	}
}

// rejectedRequest is a request the arbiter's validator refuses, as the Arbitrate activity
// reports it: final, asking again changes nothing.
func rejectedRequest(msg string, cause error) error {
	return temporal.NewNonRetryableApplicationError(msg, activities.ErrRejectedRequest, cause)
}

// sendBatch sends one arbitrate-batch update and hands each member its answer.
func (s *SafetyClient) sendBatch(ctx context.Context, batch []*queuedArbitration) {
	in := ArbitrationBatch{IDs: make([]string, len(batch)), Requests: make([]domain.ArbitrationRequest, len(batch))}
	for i, w := range batch {
		in.IDs[i], in.Requests[i] = w.id, w.req
	}
	start := s.Client.NewWithStartWorkflowOperation(s.arbiterStartOptions(), ArbiterWorkflow, s.arbiterInput())
	h, err := s.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     BatchUpdateID(in.IDs),
			UpdateName:   UpdateArbitrateBatch,
			Args:         []any{in},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	s.stats.updates.Add(1)
	s.stats.batched.Add(int64(len(batch)))
	var out ArbitrationBatchResult
	if err == nil {
		err = h.Get(ctx, &out)
	}
	if err == nil && len(out.Decisions) != len(batch) {
		err = fmt.Errorf("arbitrate-batch: %d answers for %d requests", len(out.Decisions), len(batch))
	}
	now := time.Now()
	answers := make([]arbitrationAnswer, len(batch))
	for i, w := range batch {
		switch {
		case err != nil:
			answers[i].err = err
		case out.Decisions[i].ID != w.id:
			answers[i].err = fmt.Errorf("arbitrate-batch: answer %d is for %q, not %q", i, out.Decisions[i].ID, w.id)
		case out.Decisions[i].Error != "":
			answers[i].err = rejectedRequest(out.Decisions[i].Error, nil)
		default:
			answers[i].d = out.Decisions[i].Decision
			if answers[i].d.Decision == domain.DecisionLock {
				s.stats.arbiterLocks.Add(1)
			}
		}
		if w.viewed {
			s.view.observe(answers[i].d, answers[i].err, now)
		}
	}
	for i, w := range batch {
		w.done <- answers[i]
	}
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
		TaskQueue:                SafetyTaskQueue,
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
