package workflows

import "go.temporal.io/sdk/workflow"

// changeBudgetRetry versions the budget wait: when the arbiter refuses an action for its
// hourly budgets only, its answer says when a slot frees (retry_at), and the post does not
// ask again before then (plus a jitter of its own, never before its next sample). A run whose
// history predates it asked again at every cycle, and keeps doing so on replay: GetVersion is
// asked only when such an answer arrives, so other runs carry no marker.
const changeBudgetRetry = "budget-retry-at"

func (w *postWorkflow) budgetRetry(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeBudgetRetry, workflow.DefaultVersion, 1) >= 1
}
