package metrics

import (
	"strings"
	"time"

	"go.temporal.io/sdk/client"
)

// The functions below record Resurge's workflow-side metrics on h, the handler of
// workflow.GetMetricsHandler(ctx): it is safe in workflow code (it adds nothing to the history)
// and records nothing while the workflow replays, so each event counts once across a fleet.

// ActionFinished counts an action that reached its final status (success, failed, blocked,
// rejected, expired).
func ActionFinished(h client.MetricsHandler, platform, action, status string) {
	h.WithTags(map[string]string{LabelPlatform: platform, LabelAction: action, LabelStatus: status}).
		Counter(ActionsTotal).Inc(1)
}

// ArbitrationDecision counts one arbitration decision (allow, deny, lock) a post received from
// source (SourceArbiter, SourceLockView).
func ArbitrationDecision(h client.MetricsHandler, decision, source string) {
	h.WithTags(map[string]string{LabelDecision: decision, LabelSource: source}).Counter(ArbitrationDecisionsTotal).Inc(1)
}

// ArbiterLock records the arbiter's lock state as of its workflow time now.
func ArbiterLock(h client.MetricsHandler, active bool, now time.Time) {
	v := 0.0
	if active {
		v = 1
	}
	h.Gauge(ArbiterLockActive).Update(v)
	h.Gauge(ArbiterObservedTimestamp).Update(float64(now.UnixMilli()) / 1000)
}

// RejectedInput counts an input a workflow refused and recorded; what is the workflow's own
// description of it (see RejectKind).
func RejectedInput(h client.MetricsHandler, what string) {
	h.WithTags(map[string]string{LabelKind: RejectKind(what)}).Counter(RejectedInputsTotal).Inc(1)
}

// RejectKind turns a workflow's description of a rejected input ("metrics sample", "lock
// signal (locked anyway)", "stop signal payload") into the value of the kind label: the words
// before any parenthesis, without a trailing "payload", lowercased, with spaces and hyphens as
// underscores ("metrics_sample", "lock_signal", "stop_signal").
func RejectKind(what string) string {
	what, _, _ = strings.Cut(what, "(")
	what = strings.TrimSuffix(strings.TrimSpace(strings.ToLower(what)), " payload")
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.TrimSpace(what))
}
