package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"resurge/domain"
)

const (
	defaultMaxUpdatesPerRun = 1000
	maxRecentDecisions      = 50
)

// ArbiterWorkflow is the singleton safety arbiter. Post workflows ask it, through the
// arbitrate update, before every action; monitors lock it with a signal when an agent
// misbehaves; operators release it with a signal. While locked it answers every request with
// lock.
func ArbiterWorkflow(ctx workflow.Context, in ArbiterInput) error {
	a := newArbiter(in)
	if err := a.setup(ctx); err != nil {
		return err
	}
	return a.run(ctx)
}

type arbiter struct {
	in        ArbiterInput
	c         ArbiterCarry
	updates   int
	lockCh    workflow.ReceiveChannel
	releaseCh workflow.ReceiveChannel
	healthCh  workflow.ReceiveChannel
	policyCh  workflow.ReceiveChannel
	// answered holds this run's batch members' decisions by ID (see arbitrateBatch).
	answered map[string]domain.ArbitrationDecision
}

func newArbiter(in ArbiterInput) *arbiter {
	if in.Policy.Validate() != nil {
		in.Policy = domain.DefaultSafetyPolicy()
	}
	a := &arbiter{in: in}
	if in.Carry != nil {
		a.c = *in.Carry
	}
	a.c.Runs++
	return a
}

func (a *arbiter) setup(ctx workflow.Context) error {
	a.lockCh = signalChannel(ctx, SignalLock, descLock)
	a.releaseCh = signalChannel(ctx, SignalReleaseLock, descReleaseLock)
	a.healthCh = signalChannel(ctx, SignalAgentHealth, descAgentHealth)
	a.policyCh = signalChannel(ctx, SignalSetPolicy, descSetPolicy)
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryArbiterState, func() (ArbiterState, error) {
		return ArbiterState{ArbiterCarry: a.c, Policy: a.in.Policy, UpdatesThisRun: a.updates}, nil
	}, workflow.QueryHandlerOptions{Description: "Lock state, policy in force, recent decisions and counters"}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateArbitrate, a.arbitrate, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, req domain.ArbitrationRequest) error {
			return domain.ValidateArbitrationRequest(req)
		},
		Description: "Decide allow / deny / lock for a proposed action",
	}); err != nil {
		return err
	}
	// Registering a handler adds no event, so histories from before batches replay unchanged.
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateArbitrateBatch, a.arbitrateBatch, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, b ArbitrationBatch) error {
			return b.validate()
		},
		Description: descArbitrateBatch,
	}); err != nil {
		return err
	}
	a.updateUI(ctx)
	return nil
}

func (a *arbiter) run(ctx workflow.Context) error {
	for {
		err := workflow.Await(ctx, func() bool {
			return a.lockCh.Len() > 0 || a.releaseCh.Len() > 0 || a.healthCh.Len() > 0 || a.policyCh.Len() > 0 ||
				a.shouldContinueAsNew(ctx)
		})
		if err != nil {
			return err
		}
		a.drainSignals(ctx)
		if a.shouldContinueAsNew(ctx) {
			// Let every arbitration in flight finish so none is lost, then hand over.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			a.drainSignals(ctx)
			next := a.in
			carry := a.c
			next.Carry = &carry
			return workflow.NewContinueAsNewError(onSafetyQueue(ctx), ArbiterWorkflow, next)
		}
	}
}

func (a *arbiter) shouldContinueAsNew(ctx workflow.Context) bool {
	limit := a.in.MaxUpdatesPerRun
	if limit <= 0 {
		limit = defaultMaxUpdatesPerRun
	}
	return a.updates >= limit || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// drainSignals applies every pending signal. The arbitrate handler calls it first, so a lock
// that reached the workflow before (or together with) a request always wins over it.
func (a *arbiter) drainSignals(ctx workflow.Context) {
	changed := false
	for {
		var raw json.RawMessage
		switch {
		case a.lockCh.ReceiveAsync(&raw):
			a.applyLock(ctx, raw)
		case a.releaseCh.ReceiveAsync(&raw):
			a.applyRelease(ctx, raw)
		case a.healthCh.ReceiveAsync(&raw):
			a.applyHealth(ctx, raw)
		case a.policyCh.ReceiveAsync(&raw):
			a.applyPolicy(ctx, raw)
		default:
			if changed {
				a.updateUI(ctx)
			}
			return
		}
		changed = true
	}
}

// applyLock turns the lock on. A malformed lock still locks (fail closed: a safety signal that
// cannot be read is no reason to keep acting), and the malformed payload is recorded.
func (a *arbiter) applyLock(ctx workflow.Context, raw json.RawMessage) {
	var req domain.LockRequest
	err := json.Unmarshal(raw, &req)
	if err == nil {
		err = req.Validate()
	}
	if err != nil {
		a.rejectSignal(ctx, "lock signal (locked anyway)", err)
		req = domain.LockRequest{Source: "unknown", Reason: "malformed lock signal: " + err.Error(), Tier: 3, Confidence: 1}
	}
	a.c.Counters.Locks++
	if a.c.Lock.Active {
		return // already locked: keep the original reason and time
	}
	a.c.Lock = LockState{
		Active: true, Source: req.Source, Reason: req.Reason, Since: workflow.Now(ctx),
		Tier: req.Tier, Confidence: req.Confidence, Brief: req.Brief,
		ReleasedBy: a.c.Lock.ReleasedBy, ReleaseReason: a.c.Lock.ReleaseReason, ReleasedAt: a.c.Lock.ReleasedAt,
	}
	workflow.GetLogger(ctx).Warn("safety lock on", "source", req.Source, "reason", req.Reason)
}

// applyRelease turns the lock off when the release names an operator and a reason; a malformed
// release is recorded as rejected and the lock stays.
func (a *arbiter) applyRelease(ctx workflow.Context, raw json.RawMessage) {
	var req domain.ReleaseRequest
	err := json.Unmarshal(raw, &req)
	if err == nil {
		err = req.Validate()
	}
	if err != nil {
		a.c.Counters.RejectedReleases++
		a.rejectSignal(ctx, "release-lock signal (lock kept)", err)
		return
	}
	a.c.Counters.Releases++
	now := workflow.Now(ctx)
	a.c.Lock = LockState{ReleasedBy: req.Operator, ReleaseReason: req.Reason, ReleasedAt: now}
	// The operator has looked at the agents: forget their grades, or a stale tier 3 would lock
	// again on the next request. Monitors lock again (and re-grade) on new evidence only.
	a.c.AgentTiers = nil
	workflow.GetLogger(ctx).Info("safety lock released", "operator", req.Operator, "reason", req.Reason)
}

func (a *arbiter) applyHealth(ctx workflow.Context, raw json.RawMessage) {
	var h domain.AgentHealth
	err := json.Unmarshal(raw, &h)
	if err == nil {
		err = h.Validate()
	}
	if err != nil {
		a.rejectSignal(ctx, "agent-health signal", err)
		return
	}
	i := slices.IndexFunc(a.c.AgentTiers, func(x domain.AgentHealth) bool { return x.Agent == h.Agent })
	switch {
	case i >= 0 && h.Tier == 0:
		a.c.AgentTiers = slices.Delete(a.c.AgentTiers, i, i+1)
	case i >= 0:
		a.c.AgentTiers[i] = h
	case h.Tier > 0:
		a.c.AgentTiers = append(a.c.AgentTiers, h)
		slices.SortFunc(a.c.AgentTiers, func(x, y domain.AgentHealth) int { return strings.Compare(x.Agent, y.Agent) })
	}
}

// applyPolicy decodes a set-policy signal onto the policy in force and, if it is valid, makes it
// the policy of every later request. It is kept in the input, so it survives continue-as-new.
// An invalid policy is recorded as rejected and changes nothing.
func (a *arbiter) applyPolicy(ctx workflow.Context, raw json.RawMessage) {
	p, err := domain.DecodeSafetyPolicy(a.in.Policy, raw)
	if err != nil {
		a.c.Counters.RejectedPolicies++
		a.rejectSignal(ctx, "set-policy signal (policy kept)", err)
		return
	}
	a.in.Policy = p
	a.c.Counters.PolicyUpdates++
	a.c.PolicySetAt = workflow.Now(ctx)
	workflow.GetLogger(ctx).Info("safety policy set", "global_per_hour", p.GlobalPerHour, "per_post_per_hour", p.PerPostPerHour,
		"approval_risk", p.ApprovalRisk, "critical_risk", p.CriticalRisk, "banned_terms", len(p.BannedTerms), "approval_actions", p.ApprovalActions)
}

func (a *arbiter) rejectSignal(ctx workflow.Context, what string, err error) {
	workflow.GetLogger(ctx).Warn("rejected signal", "what", what, "error", err)
	countRejected(ctx, what)
	a.c.Counters.RejectedSignals++
	a.c.Rejected = append(a.c.Rejected, RejectedInput{At: workflow.Now(ctx), What: what, Error: err.Error()})
	if len(a.c.Rejected) > maxRejectedKept {
		a.c.Rejected = a.c.Rejected[len(a.c.Rejected)-maxRejectedKept:]
	}
}

// arbitrate is the update handler. It never blocks, so decisions are made in the order the
// requests reach the workflow, each after every signal received so far.
func (a *arbiter) arbitrate(ctx workflow.Context, req domain.ArbitrationRequest) (domain.ArbitrationDecision, error) {
	a.drainSignals(ctx)
	d := a.decide(ctx, req)
	a.updateUI(ctx)
	return d, nil
}

// decide decides one request and records it; the caller has drained the signals.
func (a *arbiter) decide(ctx workflow.Context, req domain.ArbitrationRequest) domain.ArbitrationDecision {
	a.updates++
	now := workflow.Now(ctx)
	a.pruneAllowed(now)
	// The decision is counted by the post that receives it (countDecision), not here: this
	// handler runs again whenever the server throws its workflow task away.
	d := domain.Arbitrate(a.in.Policy, a.view(), req, now)
	switch {
	case !req.IsAutonomous():
		// A person's action (approved, or an operator's own): counted apart, and never in the
		// budgets of autonomous changes. Only requests that say so take this branch, so
		// histories from before people could act replay unchanged.
		if d.Allowed() {
			a.c.Counters.OperatorAllowed++
		} else {
			a.c.Counters.OperatorDenied++
		}
	case d.Decision == domain.DecisionAllow:
		a.c.Counters.Allowed++
		a.c.Allowed = append(a.c.Allowed, domain.AllowedChange{PostID: req.PostID, At: now})
	case d.Decision == domain.DecisionDeny:
		a.c.Counters.Denied++
		if d.RequiresApproval {
			a.c.Counters.ApprovalRequests++
		}
	case d.Decision == domain.DecisionLock:
		a.c.Counters.Locked++
		if !a.c.Lock.Active {
			// The request itself called for a lock: the lock state turns on.
			a.c.Counters.Locks++
			a.c.Lock = LockState{
				Active: true, Source: "arbiter", Reason: strings.Join(d.Reasons, "; "), Since: now, Tier: 3, Confidence: d.Confidence,
				ReleasedBy: a.c.Lock.ReleasedBy, ReleaseReason: a.c.Lock.ReleaseReason, ReleasedAt: a.c.Lock.ReleasedAt,
			}
		}
	}
	a.c.Recent = append(a.c.Recent, DecisionRecord{Post: req.PostID, Agent: req.Agent, Action: req.Action, Key: req.Key, Decision: d,
		Autonomous: req.Autonomous, Operator: req.Operator})
	if len(a.c.Recent) > maxRecentDecisions {
		a.c.Recent = a.c.Recent[len(a.c.Recent)-maxRecentDecisions:]
	}
	return d
}

func (a *arbiter) view() domain.ArbiterView {
	tiers := make(map[string]int, len(a.c.AgentTiers))
	for _, h := range a.c.AgentTiers {
		tiers[h.Agent] = h.Tier
	}
	return domain.ArbiterView{
		LockActive: a.c.Lock.Active, LockConfidence: a.c.Lock.Confidence, AgentTier: tiers, Allowed: a.c.Allowed,
	}
}

// pruneAllowed keeps only the allowed changes the hourly budgets still look at.
func (a *arbiter) pruneAllowed(now time.Time) {
	hourAgo := now.Add(-time.Hour)
	i := 0
	for i < len(a.c.Allowed) && !a.c.Allowed[i].At.After(hourAgo) {
		i++
	}
	a.c.Allowed = a.c.Allowed[i:]
}

func (a *arbiter) updateUI(ctx workflow.Context) {
	var b strings.Builder
	if l := a.c.Lock; l.Active {
		fmt.Fprintf(&b, "🔒 **LOCKED** since %s by %s: %s\n\nRelease: `go run ./starter release-lock --operator NAME --reason WHY`", clock(l.Since), l.Source, l.Reason)
	} else {
		b.WriteString("✅ unlocked: autonomous changes are arbitrated by policy")
		if a.c.Lock.ReleasedBy != "" {
			fmt.Fprintf(&b, "\n\nlast released by %s at %s: %s", a.c.Lock.ReleasedBy, clock(a.c.Lock.ReleasedAt), a.c.Lock.ReleaseReason)
		}
	}
	cn := a.c.Counters
	fmt.Fprintf(&b, "\n\nallowed %d · denied %d (%d for approval) · locked %d · rejected releases %d", cn.Allowed, cn.Denied, cn.ApprovalRequests, cn.Locked, cn.RejectedReleases)
	fmt.Fprintf(&b, "\n\noperators' actions (not autonomous, outside the budgets): allowed %d · denied %d", cn.OperatorAllowed, cn.OperatorDenied)
	p := a.in.Policy
	fmt.Fprintf(&b, "\n\npolicy: %d changes/h in all, %d/h per post, approval at risk %d, lock at risk %d, %d banned terms",
		p.GlobalPerHour, p.PerPostPerHour, p.ApprovalRisk, p.CriticalRisk, len(p.BannedTerms))
	if len(p.ApprovalActions) > 0 {
		fmt.Fprintf(&b, ", approval for every %v", p.ApprovalActions)
	}
	if !a.c.PolicySetAt.IsZero() {
		fmt.Fprintf(&b, " (set at %s, %d updates)", clock(a.c.PolicySetAt), cn.PolicyUpdates)
	}
	workflow.SetCurrentDetails(ctx, b.String())
	a.reportLockState(ctx)
}
