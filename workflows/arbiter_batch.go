package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"resurge/domain"
)

// UpdateArbitrateBatch decides several arbitration requests in one update. A worker whose
// posts become eligible together (after a release, when a budget frees) sends them in
// batches: the arbiter is one workflow, whose tasks run one at a time, and one update per
// request made its history, its workflow tasks and the server's 10-updates-in-flight limit
// the fleet's bottleneck (at 10,000 posts released at once, none acted within four minutes).
// Each request is decided exactly as the arbitrate update decides it, in the batch's order,
// after every signal received so far.
const UpdateArbitrateBatch = "arbitrate-batch"

// MaxArbitrationBatch is the most requests one batch carries (its validator refuses more). A
// request with its texts is at most a few KiB, so a batch stays far below the server's
// payload limits.
const MaxArbitrationBatch = 64

// batchUpdatePrefix starts every batch's update ID; a single arbitration's ID is its
// request's key@time (see ArbitrationID).
const batchUpdatePrefix = "batch:"

const descArbitrateBatch = `Decide allow / deny / lock for several proposed actions at once (sent by the workers). ` +
	`Payload: {"ids": ["key@time", ...], "requests": [<arbitrate payload>, ...]} (1 to 64, ids unique); ` +
	`each request is decided as the arbitrate update decides it, in order.`

// ArbitrationBatch is the arbitrate-batch update's argument: the requests and, for each, the
// ID a single arbitrate update would have had (a request asked again gets its first answer).
type ArbitrationBatch struct {
	IDs      []string                    `json:"ids"`
	Requests []domain.ArbitrationRequest `json:"requests"`
}

// BatchDecision is one request's answer in a batch: its decision, or why the request was
// refused (the arbitrate update's validator's error).
type BatchDecision struct {
	ID       string                     `json:"id"`
	Decision domain.ArbitrationDecision `json:"decision"`
	Error    string                     `json:"error,omitempty"`
}

// ArbitrationBatchResult answers an ArbitrationBatch, one BatchDecision per request in order.
type ArbitrationBatchResult struct {
	Decisions []BatchDecision `json:"decisions"`
}

// ArbitrationID is the update ID of a single arbitration of req, and its ID in a batch.
func ArbitrationID(req domain.ArbitrationRequest) string {
	return fmt.Sprintf("%s@%s", req.Key, req.At.UTC().Format("20060102T150405.000000000"))
}

// BatchUpdateID names a batch by its members, so the same batch sent again is the same update.
func BatchUpdateID(ids []string) string {
	h := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return batchUpdatePrefix + hex.EncodeToString(h[:16])
}

// IsBatchUpdateID reports whether an arbiter update ID is an arbitrate-batch update's.
func IsBatchUpdateID(id string) bool { return strings.HasPrefix(id, batchUpdatePrefix) }

// validate checks the batch's shape; each request is checked by the handler, so one bad
// request is refused alone instead of failing the others.
func (b ArbitrationBatch) validate() error {
	switch {
	case len(b.Requests) == 0:
		return errors.New("requests: empty batch")
	case len(b.Requests) > MaxArbitrationBatch:
		return fmt.Errorf("requests: %d in one batch, at most %d", len(b.Requests), MaxArbitrationBatch)
	case len(b.IDs) != len(b.Requests):
		return fmt.Errorf("ids: %d for %d requests", len(b.IDs), len(b.Requests))
	}
	seen := make(map[string]bool, len(b.IDs))
	for i, id := range b.IDs {
		if id == "" || seen[id] {
			return fmt.Errorf("ids[%d]: empty or repeated %q", i, id)
		}
		seen[id] = true
	}
	return nil
}

// arbitrateBatch is the arbitrate-batch handler. Like arbitrate it never blocks. A member
// answered earlier in this run (its batch's reply was lost and it was asked again in another)
// gets the same decision, as a single arbitrate update retried under its ID does.
func (a *arbiter) arbitrateBatch(ctx workflow.Context, b ArbitrationBatch) (ArbitrationBatchResult, error) {
	a.drainSignals(ctx)
	out := ArbitrationBatchResult{Decisions: make([]BatchDecision, len(b.Requests))}
	for i, req := range b.Requests {
		id := b.IDs[i]
		out.Decisions[i].ID = id
		if d, ok := a.answered[id]; ok {
			out.Decisions[i].Decision = d
			continue
		}
		if err := domain.ValidateArbitrationRequest(req); err != nil {
			out.Decisions[i].Error = err.Error()
			continue
		}
		d := a.decide(ctx, req)
		if a.answered == nil {
			a.answered = make(map[string]domain.ArbitrationDecision)
		}
		a.answered[id] = d
		out.Decisions[i].Decision = d
	}
	a.updateUI(ctx)
	return out, nil
}
