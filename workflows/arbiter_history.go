package workflows

import (
	"fmt"
	"strings"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"resurge/domain"
)

// RecordedDecision is one arbitration as the arbiter's history records it.
type RecordedDecision struct {
	// ID is the single arbitrate update's ID or the request's ID in its batch: the request's
	// idempotency key, "@", its time (ArbitrationID).
	ID string
	domain.ArbitrationDecision
}

// Key is the idempotency key of the request decided.
func (r RecordedDecision) Key() string {
	k, _, _ := strings.Cut(r.ID, "@")
	return k
}

// DecisionsIn decodes the decisions one event of the arbiter's history completed: one for an
// arbitrate update, each decided request of an arbitrate-batch update (those refused as
// invalid are left out), none for any other event. Every reader of the arbiter's decisions
// goes through it, so none can miss the decisions of batches.
func DecisionsIn(ev *historypb.HistoryEvent) ([]RecordedDecision, error) {
	a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
	if a == nil || a.GetOutcome().GetSuccess() == nil {
		return nil, nil
	}
	id := a.GetMeta().GetUpdateId()
	dc := converter.GetDefaultDataConverter()
	if !IsBatchUpdateID(id) {
		var d domain.ArbitrationDecision
		if err := dc.FromPayloads(a.GetOutcome().GetSuccess(), &d); err != nil {
			return nil, fmt.Errorf("arbiter decision %s: %w", id, err)
		}
		return []RecordedDecision{{ID: id, ArbitrationDecision: d}}, nil
	}
	var b ArbitrationBatchResult
	if err := dc.FromPayloads(a.GetOutcome().GetSuccess(), &b); err != nil {
		return nil, fmt.Errorf("arbiter batch %s: %w", id, err)
	}
	out := make([]RecordedDecision, 0, len(b.Decisions))
	for _, d := range b.Decisions {
		if d.Error == "" {
			out = append(out, RecordedDecision{ID: d.ID, ArbitrationDecision: d.Decision})
		}
	}
	return out, nil
}
