// Package workflows holds Resurge's Temporal workflows: one PostWorkflow per watched post, a
// MonitorWorkflow per agent and the singleton ArbiterWorkflow.
package workflows

import "go.temporal.io/sdk/temporal"

// TaskQueue is the task queue every Resurge workflow and activity runs on.
const TaskQueue = "resurge"

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
