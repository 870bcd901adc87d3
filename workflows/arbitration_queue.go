package workflows

import (
	"slices"
	"sync"

	"resurge/domain"
)

// queuedArbitration is one request waiting in a SafetyClient for its batch's answer.
type queuedArbitration struct {
	req    domain.ArbitrationRequest
	id     string
	viewed bool
	probe  bool
	done   chan arbitrationAnswer // buffered: the sender never waits for the asker
}

type arbitrationAnswer struct {
	d   domain.ArbitrationDecision
	err error
}

// arbitrationQueue holds the requests not yet sent, oldest first.
type arbitrationQueue struct {
	mu      sync.Mutex
	waiting []*queuedArbitration
}

func (q *arbitrationQueue) push(w *queuedArbitration) {
	q.mu.Lock()
	q.waiting = append(q.waiting, w)
	q.mu.Unlock()
}

func (q *arbitrationQueue) has(w *queuedArbitration) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Contains(q.waiting, w)
}

// remove drops w if it is still waiting.
func (q *arbitrationQueue) remove(w *queuedArbitration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.waiting, w); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
	}
}

// take removes and returns up to n waiting requests, oldest first, after dropping those
// answered (answeredHere returns true once it has answered one itself). A request whose ID is
// already in the batch waits for the next one: a batch's IDs are unique.
func (q *arbitrationQueue) take(n int, answeredHere func(*queuedArbitration) bool) []*queuedArbitration {
	q.mu.Lock()
	defer q.mu.Unlock()
	var batch, keep []*queuedArbitration
	ids := make(map[string]bool)
	for _, w := range q.waiting {
		switch {
		case len(batch) == n || ids[w.id]:
			keep = append(keep, w)
		case answeredHere(w):
		default:
			ids[w.id] = true
			batch = append(batch, w)
		}
	}
	q.waiting = keep
	return batch
}
