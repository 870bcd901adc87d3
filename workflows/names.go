// Package workflows holds Resurge's Temporal workflows: one PostWorkflow per watched post, a
// MonitorWorkflow per agent and the singleton ArbiterWorkflow.
package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// TaskQueue is the task queue of the post workflows and their activities.
const TaskQueue = "resurge"

// SafetyTaskQueue is the task queue of the arbiter and the monitors (and their activities).
// Every worker polls both, each with its own pollers and task slots: a workflow's tasks wait
// in its queue's backlog, and on a worker busy with thousands of posts the singleton arbiter's
// tasks waited behind theirs until its updates timed out (at 10,000 posts asking during a
// lock, the arbiter answered 2 updates a minute). Safety workflows started before this queue
// existed move to it at their next continue-as-new.
const SafetyTaskQueue = "resurge-safety"

// safetyQueueVersion marks the continue-as-new of a safety workflow that moves it to
// SafetyTaskQueue (workflow.GetVersion): runs from before it continue on TaskQueue.
const safetyQueueVersion = "safety-task-queue"

// onSafetyQueue is ctx for a safety workflow's continue-as-new: on SafetyTaskQueue, unless the
// run is replaying a history from before that queue.
func onSafetyQueue(ctx workflow.Context) workflow.Context {
	if workflow.GetVersion(ctx, safetyQueueVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return ctx
	}
	return workflow.WithWorkflowTaskQueue(ctx, SafetyTaskQueue)
}

// Names of the custom search attributes, all of type Keyword. The dev server registers them at
// start; docker-compose.yml registers the same names (a test keeps the two in step).
const (
	SearchAttrPostID     = "ResurgePostID"
	SearchAttrAgent      = "ResurgeAgent"
	SearchAttrState      = "ResurgeState"
	SearchAttrTier       = "ResurgeTier"
	SearchAttrLastAction = "ResurgeLastAction"
)

// SearchAttributeNames lists every custom search attribute, in a fixed order.
var SearchAttributeNames = []string{
	SearchAttrPostID, SearchAttrAgent, SearchAttrState, SearchAttrTier, SearchAttrLastAction,
}

// Typed keys for the search attributes.
var (
	PostIDKey     = temporal.NewSearchAttributeKeyKeyword(SearchAttrPostID)
	AgentKey      = temporal.NewSearchAttributeKeyKeyword(SearchAttrAgent)
	StateKey      = temporal.NewSearchAttributeKeyKeyword(SearchAttrState)
	TierKey       = temporal.NewSearchAttributeKeyKeyword(SearchAttrTier)
	LastActionKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrLastAction)
)
