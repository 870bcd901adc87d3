package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"resurge/domain"
)

// People in the loop: an action the arbiter refused only for want of approval waits for an
// operator's approve or reject signal (or expires), and an operator may ask the post to act
// now with the act signal. Every such action is a person's: the lock does not stop it, the
// content rules still do, and the monitor does not grade it.

// changeHumanInTheLoop versions the behaviour: a run whose history predates it never awaited
// approval or read the new signals, and keeps replaying as it ran. GetVersion is asked only at
// the points where the new behaviour starts (an answer asking for approval, a person's signal),
// so the marker costs nothing to a run that never meets one.
const changeHumanInTheLoop = "human-in-the-loop"

func (w *postWorkflow) humanInTheLoop(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeHumanInTheLoop, workflow.DefaultVersion, 1) >= 1
}

// restingState is the state between actions: awaiting approval while an action waits for it.
func (w *postWorkflow) restingState() string {
	if w.c.Pending != nil {
		return StateAwaitingApproval
	}
	return StateWatching
}

// ApproveCommand and RejectCommand are the starter commands that answer an approval request.
func ApproveCommand(postID, key string) string {
	return fmt.Sprintf("go run ./starter approve %s --key %s --operator NAME --reason WHY", postID, key)
}

func RejectCommand(postID, key string) string {
	return fmt.Sprintf("go run ./starter reject %s --key %s --operator NAME --reason WHY", postID, key)
}

// awaitApproval records the job's key as awaiting approval, until the approval timeout (never
// past the horizon), and notifies the alert sink.
func (w *postWorkflow) awaitApproval(ctx workflow.Context, rec *domain.ActionRecord, j job, d domain.ArbitrationDecision, now time.Time) {
	until := now.Add(w.in.Config.ApprovalWait())
	if end := w.c.StartedAt.Add(w.in.Config.Horizon); end.Before(until) {
		until = end
	}
	rec.Status, rec.FinishedAt = domain.StatusAwaitingApproval, time.Time{}
	rec.Reasons = append([]string(nil), d.Reasons...)
	p := w.in.Post
	w.c.Pending = &domain.PendingApproval{
		PostID: p.ID, Agent: p.Agent, Platform: p.Platform, Action: j.action, Tier: j.tier, Key: j.key,
		Texts: append([]string(nil), j.texts...), Score: j.score, Reasons: rec.Reasons, Since: now, Until: until,
		ApproveCommand: ApproveCommand(p.ID, j.key), RejectCommand: RejectCommand(p.ID, j.key),
	}
	w.state = StateAwaitingApproval
	w.updateUI(ctx)
	alert := domain.Alert{
		Type: domain.AlertApprovalRequested, Severity: domain.SeverityInfo, Tier: j.tier.Level(), Confidence: d.Confidence,
		Agent: p.Agent, Timestamp: now, Approval: w.c.Pending,
	}
	opts := safetyActivityOptions(fmt.Sprintf("ask for approval: %s on %s", j.action, p.ID))
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), acts.SendAlert, alert).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not deliver the approval request", "key", j.key, "error", err)
	}
}

// peopleChannels are the signals people send a post, besides stop.
func (w *postWorkflow) peopleChannels() []workflow.ReceiveChannel {
	return []workflow.ReceiveChannel{w.rejectCh, w.approveCh, w.actCh}
}

// peopleWaiting reports whether a person's signal waits to be taken. In a run whose history
// predates people in the loop (see changeHumanInTheLoop) it cannot be: it is recorded as
// rejected, so that it is not silently lost.
func (w *postWorkflow) peopleWaiting(ctx workflow.Context) bool {
	waiting := false
	for _, ch := range w.peopleChannels() {
		waiting = waiting || ch.Len() > 0
	}
	if !waiting || w.humanInTheLoop(ctx) {
		return waiting
	}
	for _, ch := range w.peopleChannels() {
		var raw json.RawMessage
		for ch.ReceiveAsync(&raw) {
			w.reject(ctx, "signal to a run that predates approvals", errors.New("this run cannot take it: send it again after the post continues as new"))
		}
	}
	return false
}

// takePeopleInputs applies every person's signal received so far: rejections first (when two
// people disagree at once, restraint wins), then approvals, then operator actions.
func (w *postWorkflow) takePeopleInputs(ctx workflow.Context) {
	var raw json.RawMessage
	for w.rejectCh.ReceiveAsync(&raw) {
		w.answer(ctx, SignalReject, raw)
	}
	for w.approveCh.ReceiveAsync(&raw) {
		w.answer(ctx, SignalApprove, raw)
	}
	for w.actCh.ReceiveAsync(&raw) {
		w.operatorAct(ctx, raw)
	}
	w.state = w.restingState()
	w.updateUI(ctx)
}

// answer applies an approve or reject signal to the pending approval. A malformed answer, or
// one that finds nothing pending or names another key, is recorded as rejected input.
func (w *postWorkflow) answer(ctx workflow.Context, signal string, raw json.RawMessage) {
	what := signal + " signal"
	a, err := domain.DecodeApprovalAnswer(signal, raw)
	if err != nil {
		w.reject(ctx, what, err)
		return
	}
	p := w.c.Pending
	switch {
	case p == nil:
		key := a.Key
		if key == "" {
			key = "any key"
		}
		w.reject(ctx, what, fmt.Errorf("%s: nothing awaits approval (%s: answered, expired, or never asked)", signal, key))
		return
	case a.Key != "" && a.Key != p.Key:
		w.reject(ctx, what, fmt.Errorf("%s.idempotency_key: %s is not the key awaiting approval (%s)", signal, a.Key, p.Key))
		return
	}
	w.c.Pending = nil
	now := w.planTime(ctx)
	if signal == SignalReject {
		rec := w.findRecord(p.Key)
		rec.Status, rec.FinishedAt = domain.StatusRejected, now
		rec.Autonomous, rec.Operator, rec.Reason = domain.NotAutonomous(), a.Operator, a.Reason
		workflow.GetLogger(ctx).Info("approval rejected", "key", p.Key, "operator", a.Operator, "reason", a.Reason)
		w.countAction(ctx, *rec)
		return
	}
	workflow.GetLogger(ctx).Info("approved", "key", p.Key, "operator", a.Operator, "reason", a.Reason)
	w.runJob(ctx, job{key: p.Key, action: p.Action, tier: p.Tier, texts: p.Texts, score: p.Score,
		person: &person{operator: a.Operator, reason: a.Reason}}, now)
}

// operatorAct performs an operator's request with its own key. A request whose key already
// ran (or runs) is not performed again: the same request sent twice acts once.
func (w *postWorkflow) operatorAct(ctx workflow.Context, raw json.RawMessage) {
	req, err := domain.DecodeOperatorRequest(w.in.Post, raw)
	if err != nil {
		w.reject(ctx, "act signal", err)
		return
	}
	key := req.Key(w.in.Post)
	if domain.IsDuplicate(w.c.Log, key) {
		workflow.GetLogger(ctx).Info("operator request already done", "key", key, "request_id", req.RequestID)
		return
	}
	tier, _ := domain.TierOfAction(w.in.Post.Platform, req.Action) // the request was validated
	texts := req.Texts
	if len(texts) == 0 {
		texts = w.texts(req.Action)
	}
	w.runJob(ctx, job{key: key, action: req.Action, tier: tier, texts: texts,
		person: &person{operator: req.Operator, reason: req.Reason, requestID: req.RequestID}}, w.planTime(ctx))
}

// expireApproval ends an approval request nobody answered in time: the record becomes expired
// (reason says why) and the post plans normally again.
func (w *postWorkflow) expireApproval(ctx workflow.Context, now time.Time, reason string) {
	p := w.c.Pending
	if p == nil {
		return
	}
	w.c.Pending = nil
	if rec := w.findRecord(p.Key); rec != nil {
		rec.Status, rec.FinishedAt = domain.StatusExpired, now
		rec.Reasons = append(append([]string(nil), p.Reasons...), reason)
		w.countAction(ctx, *rec)
	}
	workflow.GetLogger(ctx).Info("approval request expired", "key", p.Key, "reason", reason)
	w.state = w.restingState()
	w.updateUI(ctx)
}
