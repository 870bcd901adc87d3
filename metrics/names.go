// Package metrics names, records and serves Resurge's Prometheus metrics.
//
// A worker process with --metrics-addr serves one /metrics endpoint with three kinds of series:
//
//   - the Temporal SDK's own metrics (temporal_*), through the SDK's tally contrib with the
//     Prometheus naming scope, so counters end in _total and timers are _seconds histograms:
//     the names the Temporal SDK dashboard (temporalio/dashboards, Go/Java tally board) reads;
//   - Resurge's workflow-side metrics (actions, arbitration decisions, the lock, rejected
//     inputs), emitted from workflow code through workflow.GetMetricsHandler, which drops
//     everything while a workflow replays: each event is counted once, by the worker that
//     processed it, never again when another worker replays the history. The registry's
//     handler (Registry.SDKHandler) routes them to Resurge's own vectors, keeping of the SDK's
//     tags only namespace, task_queue and workflow_type;
//   - Resurge's activity-side metrics (platform calls, stagnation scores), recorded by the
//     worker that ran the activity, once per attempt.
//
// Every Resurge metric is per worker process: sum the counters over the fleet's workers. A
// counter starts at zero when its process starts (rate and increase handle that), and whatever a
// killed process had not been scraped for yet is lost with it. The names and labels below are
// stable: dashboards, alerts and the production harness refer to these constants.
package metrics

// Names of Resurge's metrics (Prometheus conventions: counters end in _total, durations are
// in seconds).
const (
	// ActionsTotal counts actions that reached their final status, by platform, action and
	// status (workflow side, counted by the post workflow).
	ActionsTotal = "resurge_actions_total"
	// ArbitrationDecisionsTotal counts the answers the post workflows received to their
	// arbitrations, by decision and by source: the arbiter, or the worker's lock view (a lock
	// refused without asking the arbiter, see workflows.SafetyClient.LockViewTTL). Workflow
	// side, counted by the post workflow once its Arbitrate activity has returned: unlike the
	// arbiter's update handler, which runs again when its workflow task is thrown away (an
	// aborted update), the post's task that takes the activity's result runs once, unless its
	// worker dies before completing it. An arbitration that failed is not a decision and is not
	// counted (the post records it blocked, in ActionsTotal).
	ArbitrationDecisionsTotal = "resurge_arbitration_decisions_total"
	// ArbiterLockActive is 1 while the arbiter's lock is on, 0 otherwise, as last seen by this
	// worker (workflow side). Read it together with ArbiterObservedTimestamp: see there.
	ArbiterLockActive = "resurge_arbiter_lock_active"
	// ArbiterObservedTimestamp is the arbiter's workflow time (Unix seconds) when this worker
	// last processed the arbiter. The singleton arbiter runs on one worker at a time and moves
	// when that worker's cache loses it; a worker it moved away from keeps its last (older)
	// values. The current lock state is therefore the ArbiterLockActive of the worker with the
	// newest ArbiterObservedTimestamp (CurrentLockQuery), not a sum or a max over workers.
	ArbiterObservedTimestamp = "resurge_arbiter_observed_timestamp_seconds"
	// RejectedInputsTotal counts inputs a workflow refused and recorded (bad samples, malformed
	// signals), by kind (workflow side).
	RejectedInputsTotal = "resurge_rejected_inputs_total"
	// PlatformCallDuration is the latency of each call to a platform adapter, by platform and
	// operation, failed calls included (activity side, every attempt).
	PlatformCallDuration = "resurge_platform_call_duration_seconds"
	// PlatformCallErrorsTotal counts failed platform calls by platform, operation and error
	// code (activity side, every attempt).
	PlatformCallErrorsTotal = "resurge_platform_call_errors_total"
	// StagnationScore is the distribution of the stagnation scores the planner computed, by
	// platform: one observation per evaluation with enough samples (activity side).
	StagnationScore = "resurge_stagnation_score"
	// ArbitrationRetriesTotal counts the arbitrate updates the server turned away for a
	// reason that asking again fixes, by reason: its limit of updates in flight per workflow
	// (10: three workers with 8 arbitrations in flight each exceed it) or an update aborted
	// (the arbiter continuing as new, a lost speculative task). Each is retried inside the
	// Arbitrate activity, by the SDK until the activity's deadline (client side, every
	// attempt; see UpdateRetryInterceptor).
	ArbitrationRetriesTotal = "resurge_arbitration_retries_total"
)

// Label names.
const (
	LabelPlatform  = "platform"  // sim, mastodon, ...
	LabelAction    = "action"    // comment, edit, thread
	LabelStatus    = "status"    // success, failed, blocked, rejected, expired
	LabelDecision  = "decision"  // allow, deny, lock
	LabelKind      = "kind"      // see RejectKind
	LabelOperation = "operation" // Op* below
	LabelCode      = "code"      // a platform error code (platform.Code*), or CodeCanceled
	LabelReason    = "reason"    // ReasonTooManyUpdates, ReasonUpdateAborted
	LabelSource    = "source"    // SourceArbiter, SourceLockView

	// Labels the SDK adds to everything emitted from workflow code.
	LabelNamespace    = "namespace"
	LabelTaskQueue    = "task_queue"
	LabelWorkflowType = "workflow_type"
)

// Values of LabelOperation: the platform adapter's methods.
const (
	OpMetrics    = "metrics"
	OpComment    = "comment"
	OpEdit       = "edit"
	OpThread     = "thread"
	OpQuote      = "quote"
	OpFindEffect = "find_effect"
)

// Values of LabelReason.
const (
	ReasonTooManyUpdates = "too_many_updates"
	ReasonUpdateAborted  = "update_aborted"
)

// Values of LabelSource: who answered an arbitration.
const (
	SourceArbiter  = "arbiter"
	SourceLockView = "lock_view"
)

// DecisionSource is the LabelSource of a decision: SourceLockView when the worker's lock view
// answered it (domain.ArbitrationDecision.Local), else SourceArbiter.
func DecisionSource(local bool) string {
	if local {
		return SourceLockView
	}
	return SourceArbiter
}

// CodeCanceled is the error code of a platform call whose context was cancelled (the worker
// stopping, or the activity timing out) before the platform answered.
const CodeCanceled = "canceled"

// CurrentLockQuery is the PromQL for the arbiter's current lock state across a fleet of
// workers, per namespace: the lock gauge of the worker that saw the arbiter last.
const CurrentLockQuery = `max by (namespace) (` + ArbiterLockActive + ` and on (instance, namespace) ` +
	`topk by (namespace) (1, ` + ArbiterObservedTimestamp + `))`

// ScoreBuckets are StagnationScore's bucket bounds. 0.55 and 0.8 are the tier boundaries
// (tier 2 from 0.55, tier 3 from 0.80), so the buckets also count scores by tier (a score of
// exactly 0.55 or 0.80 falls in the lower bucket).
var ScoreBuckets = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1}

// PlatformCallBuckets are PlatformCallDuration's bucket bounds, in seconds.
var PlatformCallBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Metric types, as the Prometheus exposition format names them.
const (
	TypeCounter   = "counter"
	TypeGauge     = "gauge"
	TypeHistogram = "histogram"
)

// Metric describes one of Resurge's metrics.
type Metric struct {
	Name   string
	Type   string
	Labels []string // every label of its series, the SDK's included; a histogram's "le" aside
	Help   string
	// Workflow is true for the metrics emitted from workflow code (through the SDK's handler).
	Workflow bool
}

var sdkWorkflowLabels = []string{LabelNamespace, LabelTaskQueue, LabelWorkflowType}

func withSDKLabels(labels ...string) []string {
	return append(append([]string(nil), sdkWorkflowLabels...), labels...)
}

// Catalogue lists every Resurge metric; the README's metrics table documents the same.
var Catalogue = []Metric{
	{ActionsTotal, TypeCounter, withSDKLabels(LabelPlatform, LabelAction, LabelStatus),
		"Actions that reached their final status (success, failed, blocked, rejected, expired), counted by the post workflow.", true},
	{ArbitrationDecisionsTotal, TypeCounter, withSDKLabels(LabelDecision, LabelSource),
		"Arbitration decisions (allow, deny, lock) the post workflows received, by source (arbiter, lock_view), each counted once by the post.", true},
	{ArbiterLockActive, TypeGauge, withSDKLabels(),
		"1 while the arbiter's lock is on, as this worker last saw it; read with " + ArbiterObservedTimestamp + ".", true},
	{ArbiterObservedTimestamp, TypeGauge, withSDKLabels(),
		"Arbiter workflow time (Unix seconds) when this worker last processed the arbiter; the newest one holds the current lock state.", true},
	{RejectedInputsTotal, TypeCounter, withSDKLabels(LabelKind),
		"Inputs a workflow refused and recorded (bad samples, malformed signals), by kind.", true},
	{PlatformCallDuration, TypeHistogram, []string{LabelPlatform, LabelOperation},
		"Latency of platform adapter calls, failed ones included, every attempt.", false},
	{PlatformCallErrorsTotal, TypeCounter, []string{LabelPlatform, LabelOperation, LabelCode},
		"Failed platform adapter calls by error code, every attempt.", false},
	{StagnationScore, TypeHistogram, []string{LabelPlatform},
		"Stagnation scores computed by the planner, one per evaluation with enough samples.", false},
	{ArbitrationRetriesTotal, TypeCounter, []string{LabelReason},
		"Arbitrate updates the server turned away for its in-flight limit (too_many_updates) or aborted, each retried, every attempt.", false},
}

// Lookup returns the catalogue entry of a metric name, or false.
func Lookup(name string) (Metric, bool) {
	for _, m := range Catalogue {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}
