package workflows

import "go.temporal.io/sdk/workflow"

// QueryWorkflowMetadata is the SDK's built-in query that lists a workflow's signals, queries and
// updates with their descriptions (the SDK's client package does not export the name).
const QueryWorkflowMetadata = "__temporal_workflow_metadata"

// Descriptions of every signal, by workflow. Each workflow requests its signal channels at
// start with signalChannel, so the workflow's metadata query (QueryWorkflowMetadata),
// which the Web UI's "Send Signal" dialog and `temporal workflow metadata` read, lists each
// signal with the payload it takes. A signal sent by hand must be JSON.
const (
	descStop = `Stop watching this post; the workflow ends. Payload (optional): ` +
		`{"reason": "campaign over", "operator": "alice"}. Any payload stops it; one that is not this shape is recorded as rejected.`
	descApprove = `Approve the action awaiting approval: it runs now as a person's action (a lock does not stop it; ` +
		`banned terms and length limits still do). Payload: {"operator": "alice", "reason": "checked the texts", ` +
		`"idempotency_key": "sheal_..."}; operator and reason are required, the key is optional and must be the pending one. ` +
		`A malformed or stale answer is recorded as rejected and changes nothing.`
	descReject = `Reject the action awaiting approval: it is recorded as rejected and never proposed again for this post. ` +
		`Payload: {"operator": "alice", "reason": "off-brand", "idempotency_key": "sheal_..."} (key optional). ` +
		`A malformed or stale answer is recorded as rejected and changes nothing.`
	descAct = `Perform an operator's action now (a lock does not stop it; banned terms and length limits still do). Payload: ` +
		`{"operator": "alice", "reason": "why", "action": "comment|edit|thread", "request_id": "r-1", "texts": ["..."]}; ` +
		`texts are optional (the post's own by default); the same request_id acts once. A malformed one is recorded as rejected.`

	descLock = `Lock the arbiter: every autonomous change is refused until release-lock. Payload: ` +
		`{"source": "alice", "reason": "why", "tier": 3, "confidence": 1} (tier 0-3, confidence 0-1, optional "brief"). ` +
		`A malformed payload still locks (fail closed) and is recorded.`
	descReleaseLock = `Release the lock after review. Payload: {"operator": "alice", "reason": "checked the account"}; ` +
		`both are required, otherwise the release is recorded as rejected and the lock stays. Clears the agents' anomaly grades.`
	descAgentHealth = `A monitor's grade of an agent (sent by the monitors). Payload: ` +
		`{"agent": "brand", "tier": 2, "confidence": 0.8, "at": "2026-11-25T12:00:00Z"} (tier 0-3, confidence 0-1); tier 0 clears the agent.`
	descSetPolicy = `Change the safety policy in force. Payload: a JSON safety policy with any of global_per_hour, ` +
		`per_post_per_hour, length_limits, banned_terms, approval_risk, critical_risk, approval_actions (fields left out keep their values); ` +
		`an invalid one is recorded as rejected and changes nothing.`

	descOutcome = `How an action ended (sent by the agent's posts). Payload: {"agent", "post_id", "idempotency_key", ` +
		`"action_type": "comment|edit|thread", "tier", "status": "success|failed", "error_code", "attempts", ` +
		`"initiated_at", "finished_at", "rate_before", "autonomous"}; "autonomous": false marks a person's action, counted apart and not graded. ` +
		`An invalid one is recorded as rejected.`
	descImpact = `The engagement rate a post had in the window after a successful action (sent by the posts). Payload: ` +
		`{"agent", "post_id", "idempotency_key", "rate_before", "rate_after", "measured_at"}; an invalid one is recorded as rejected.`
)

// signalChannel requests a signal channel with its description. Requesting a channel adds no
// event to the history, so it changes no replay.
func signalChannel(ctx workflow.Context, name, description string) workflow.ReceiveChannel {
	return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: description})
}
