package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"resurge/domain"
)

const (
	// defaultMaxCyclesPerRun bounds one run's history (about 7 events per quiet cycle) well
	// below the server's continue-as-new suggestion, whatever the cadence.
	defaultMaxCyclesPerRun = 500
	// clockSkew is how far a platform's sample time may run ahead of workflow time: the metrics
	// are read after the workflow task started, so a platform clock is always a little ahead.
	clockSkew = time.Minute
	// maxRejectedKept bounds the rejected inputs kept for the status query.
	maxRejectedKept = 10
)

// PostWorkflow watches one post until its horizon, a stop signal, or the platform saying the post
// is gone: every sample interval it reads the metrics, plans, and — when the plan is eligible
// and the arbiter allows — performs the corrective action with its idempotency key.
func PostWorkflow(ctx workflow.Context, in PostInput) (PostSummary, error) {
	w, err := newPostWorkflow(ctx, in)
	if err != nil {
		return PostSummary{}, err
	}
	if err := w.setup(ctx); err != nil {
		return PostSummary{}, err
	}
	return w.run(ctx)
}

type postWorkflow struct {
	in        PostInput
	c         PostCarry
	state     string
	endReason string
	stopCh    workflow.ReceiveChannel
	// People's signals (see post_people.go).
	approveCh, rejectCh, actCh workflow.ReceiveChannel
	// slot is when the latest sample was due (NextSampleAt before it was taken).
	slot time.Time
}

// cadence is the cadence in force: the last plan's (nil before the first adaptive plan).
func (w *postWorkflow) cadence() *domain.Cadence {
	if p := w.c.LastPlan; p != nil {
		return p.Cadence
	}
	return nil
}

func newPostWorkflow(ctx workflow.Context, in PostInput) (*postWorkflow, error) {
	if err := in.Post.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid post: "+err.Error(), EndInvalid, err)
	}
	if err := in.Config.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid config: "+err.Error(), EndInvalid, err)
	}
	w := &postWorkflow{in: in, state: StateWatching}
	if in.Carry != nil {
		w.c = *in.Carry
	} else {
		now := workflow.Now(ctx)
		w.c = PostCarry{StartedAt: now, NextSampleAt: now}
	}
	w.c.Runs++
	w.state = w.restingState() // a run continued while an approval waits still awaits it
	if w.c.Shown == nil {
		w.c.Shown = map[string]string{}
		if in.Carry == nil {
			maps.Copy(w.c.Shown, in.ShownAtStart)
		}
	}
	return w, nil
}

func (w *postWorkflow) setup(ctx workflow.Context) error {
	w.stopCh = signalChannel(ctx, SignalStop, descStop)
	w.approveCh = signalChannel(ctx, SignalApprove, descApprove)
	w.rejectCh = signalChannel(ctx, SignalReject, descReject)
	w.actCh = signalChannel(ctx, SignalAct, descAct)
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (PostStatus, error) {
		return w.status(ctx), nil
	}, workflow.QueryHandlerOptions{Description: "Window, last score and tier, action log, next sample, cooldowns, last permission"}); err != nil {
		return err
	}
	// The search attributes are upserted from the workflow's own state, and only when a value
	// changes: a fresh run knows from its input what it was started with, a continued run was
	// handed what it showed. They are never read back (see PostInput.ShownAtStart). A fresh run
	// whose input does not say (started by other means than StartPost, or before the field
	// existed) sets the identifying ones first, on their own, as it always did.
	if w.in.Carry == nil && w.in.ShownAtStart == nil {
		if err := workflow.UpsertTypedSearchAttributes(ctx,
			PostIDKey.ValueSet(w.in.Post.ID), AgentKey.ValueSet(w.in.Post.Agent)); err != nil {
			return err
		}
		w.c.Shown[SearchAttrPostID], w.c.Shown[SearchAttrAgent] = w.in.Post.ID, w.in.Post.Agent
	}
	w.updateUI(ctx)
	return nil
}

func (w *postWorkflow) run(ctx workflow.Context) (PostSummary, error) {
	endAt := w.c.StartedAt.Add(w.in.Config.Horizon)
	cycles := 0
	for w.endReason == "" {
		if !workflow.Now(ctx).Before(endAt) {
			w.endReason = EndHorizon
			break
		}
		if cycles >= w.maxCyclesPerRun() || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if w.stopRequested(ctx) {
				break
			}
			if w.peopleWaiting(ctx) {
				w.takePeopleInputs(ctx) // before handing over, so that no answer is lost
				continue
			}
			return PostSummary{}, w.continueAsNew(ctx)
		}
		wake, sampleDue, summary := w.nextWake(endAt)
		switch w.sleepUntil(ctx, wake, summary) {
		case wokeByStop:
			return w.finish(ctx), nil
		case wokeByPeople:
			w.takePeopleInputs(ctx)
			continue
		}
		now := workflow.Now(ctx)
		if !now.Before(endAt) {
			w.endReason = EndHorizon
			break
		}
		if p := w.c.Pending; p != nil && !now.Before(p.Until) {
			w.expireApproval(ctx, now, "nobody answered by "+clock(p.Until))
		}
		cycles++
		w.c.Cycles++
		if sampleDue && !w.takeSample(ctx) {
			break
		}
		w.evaluate(ctx, sampleDue)
	}
	return w.finish(ctx), nil
}

func (w *postWorkflow) maxCyclesPerRun() int {
	if w.in.MaxCyclesPerRun > 0 {
		return w.in.MaxCyclesPerRun
	}
	return defaultMaxCyclesPerRun
}

// nextWake is the next sample, or the end of a blocking cooldown when that comes first (so the
// action runs exactly when the cooldown ends, with no polling), capped at the horizon.
func (w *postWorkflow) nextWake(endAt time.Time) (wake time.Time, sampleDue bool, summary string) {
	wake, sampleDue, summary = w.c.NextSampleAt, true, "next sample"
	// While an approval is pending nothing else is proposed: no cooldown to wake for, but its
	// expiry.
	if p := w.c.LastPlan; w.c.Pending == nil && p != nil && p.CooldownUntil != nil && p.CooldownUntil.Before(wake) {
		wake, sampleDue = *p.CooldownUntil, false
		if p.Reason == domain.ReasonWindowFrequency {
			summary = "window cap until " + clock(wake)
		} else {
			summary = fmt.Sprintf("cooldown: %s until %s", p.Action, clock(wake))
		}
	}
	// After a budget denial, the post asks again when the budget frees a slot (plus its
	// jitter), if its plan is still eligible then; samples before it do not ask.
	if t := w.c.BudgetRetryAt; w.c.Pending == nil && t != nil && t.Before(wake) && w.c.LastPlan != nil && w.c.LastPlan.Eligible {
		wake, sampleDue, summary = *t, false, "budget: ask again at "+clock(*t)
	}
	if p := w.c.Pending; p != nil && p.Until.Before(wake) {
		wake, sampleDue, summary = p.Until, false, fmt.Sprintf("approval of %s expires at %s", p.Action, clock(p.Until))
	}
	if endAt.Before(wake) {
		wake, sampleDue, summary = endAt, false, "horizon"
	}
	return wake, sampleDue, summary
}

// What ended a sleep.
type wokeBy int

const (
	wokeByTimer wokeBy = iota
	wokeByStop
	wokeByPeople
)

// sleepUntil waits on a durable timer until wake, or until a stop signal or a person's signal
// comes first.
func (w *postWorkflow) sleepUntil(ctx workflow.Context, wake time.Time, summary string) wokeBy {
	if w.peopleWaiting(ctx) {
		return wokeByPeople
	}
	d := wake.Sub(workflow.Now(ctx))
	if d <= 0 {
		if w.stopRequested(ctx) {
			return wokeByStop
		}
		return wokeByTimer
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimerWithOptions(timerCtx, d, workflow.TimerOptions{Summary: summary})
	fired, stopped, people := false, false, false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(workflow.Future) { fired = true })
	sel.AddReceive(w.stopCh, func(c workflow.ReceiveChannel, _ bool) {
		w.receiveStop(ctx, c)
		stopped = true
	})
	for _, ch := range w.peopleChannels() {
		sel.AddReceive(ch, func(workflow.ReceiveChannel, bool) { people = true }) // taken by takePeopleInputs
	}
	for {
		sel.Select(ctx)
		switch {
		case stopped:
			return wokeByStop
		case fired:
			return wokeByTimer
		case people && w.peopleWaiting(ctx):
			return wokeByPeople
		}
		people = false // a run that cannot take them recorded them: keep sleeping on the same timer
	}
}

// stopRequested consumes a pending stop signal, if any.
func (w *postWorkflow) stopRequested(ctx workflow.Context) bool {
	if w.stopCh.Len() == 0 {
		return false
	}
	w.receiveStop(ctx, w.stopCh)
	return true
}

// receiveStop takes one stop signal. Any payload stops the post (the channel carries nothing
// else); a payload that is not a StopRequest is recorded so the operator can see it.
func (w *postWorkflow) receiveStop(ctx workflow.Context, c workflow.ReceiveChannel) {
	var raw json.RawMessage
	c.ReceiveAsync(&raw)
	w.endReason = EndStopped
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	var req StopRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		w.reject(ctx, "stop signal payload", fmt.Errorf("not a stop request (stopped anyway): %w", err))
		return
	}
	if req.Reason != "" {
		w.endReason = EndStopped + ": " + req.Reason
	}
}

func (w *postWorkflow) continueAsNew(ctx workflow.Context) error {
	// Wait for any handler still running so nothing it started is lost with this run.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	next := w.in
	carry := w.c
	next.Carry = &carry
	next.ShownAtStart = nil // carried in Shown
	return workflow.NewContinueAsNewError(ctx, PostWorkflow, next)
}

func (w *postWorkflow) finish(ctx workflow.Context) PostSummary {
	now := workflow.Now(ctx)
	w.expireApproval(ctx, now, "the post stopped watching ("+w.endReason+") before anyone answered")
	// What people sent and the post can no longer take is recorded, not dropped in silence.
	for _, ch := range w.peopleChannels() {
		var raw json.RawMessage
		for ch.ReceiveAsync(&raw) {
			w.reject(ctx, "signal after the post stopped watching", errors.New("the post ended ("+w.endReason+"); nothing was done"))
		}
	}
	w.state = StateDone
	w.updateUI(ctx)
	return PostSummary{
		PostID:    w.in.Post.ID,
		EndReason: w.endReason,
		StartedAt: w.c.StartedAt,
		EndedAt:   now,
		Cycles:    w.c.Cycles,
		Runs:      w.c.Runs,
		LastScore: w.lastScore(),
		LastTier:  w.lastTier(),
		Actions:   w.c.Log,
		Rejected:  w.c.RejectedCount,
	}
}

// reject records an input that failed validation and is skipped.
func (w *postWorkflow) reject(ctx workflow.Context, what string, err error) {
	workflow.GetLogger(ctx).Warn("rejected input", "what", what, "error", err)
	countRejected(ctx, what)
	w.c.RejectedCount++
	w.c.Rejected = append(w.c.Rejected, RejectedInput{At: workflow.Now(ctx), What: what, Error: err.Error()})
	if len(w.c.Rejected) > maxRejectedKept {
		w.c.Rejected = w.c.Rejected[len(w.c.Rejected)-maxRejectedKept:]
	}
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }
