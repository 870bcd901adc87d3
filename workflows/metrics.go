package workflows

import (
	"go.temporal.io/sdk/workflow"

	"resurge/domain"
	"resurge/metrics"
)

// Workflow-side metrics go through workflow.GetMetricsHandler: it adds nothing to the history
// and records nothing while the workflow replays, so each event counts once, on the worker
// that processed it (see package metrics).

// countAction counts an action that reached its final status: success, failed or blocked, and
// for one that awaited approval also rejected or expired.
func (w *postWorkflow) countAction(ctx workflow.Context, rec domain.ActionRecord) {
	metrics.ActionFinished(workflow.GetMetricsHandler(ctx), w.in.Post.Platform, string(rec.Action), string(rec.Status))
}

// reportLockState records the lock as this worker sees it now; updateUI calls it after every
// change, so the worker that processes the arbiter always exports its current state.
func (a *arbiter) reportLockState(ctx workflow.Context) {
	metrics.ArbiterLock(workflow.GetMetricsHandler(ctx), a.c.Lock.Active, workflow.Now(ctx))
}

// countDecision counts an answer the post received to its arbitration, from the arbiter or
// from its worker's lock view. It is counted here rather than in the arbiter's update handler:
// a handler runs again when the server throws its workflow task away (updates aborted or
// refused under load), which counted decisions twice; the post's task that takes the
// Arbitrate activity's result is an ordinary one, completed once.
func countDecision(ctx workflow.Context, d domain.ArbitrationDecision) {
	metrics.ArbitrationDecision(workflow.GetMetricsHandler(ctx), string(d.Decision), metrics.DecisionSource(d.Local))
}

// countRejected counts an input a workflow refused and recorded.
func countRejected(ctx workflow.Context, what string) {
	metrics.RejectedInput(workflow.GetMetricsHandler(ctx), what)
}
