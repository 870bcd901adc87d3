package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"resurge/domain"
)

// arbitrateBatch sends an arbitrate-batch update now (call from a delayed callback) under id.
func (a *arbiterTest) arbitrateBatch(id string, reqs ...domain.ArbitrationRequest) *ArbitrationBatchResult {
	b := ArbitrationBatch{}
	for _, r := range reqs {
		b.IDs, b.Requests = append(b.IDs, ArbitrationID(r)), append(b.Requests, r)
	}
	return a.sendBatch(id, b)
}

func (a *arbiterTest) sendBatch(id string, b ArbitrationBatch) *ArbitrationBatchResult {
	out := &ArbitrationBatchResult{}
	a.env.UpdateWorkflow(UpdateArbitrateBatch, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { a.rejected[id] = err },
		OnComplete: func(v any, err error) {
			if err != nil {
				a.t.Errorf("batch %s failed: %v", id, err)
				return
			}
			*out = v.(ArbitrationBatchResult)
		},
	}, b)
	return out
}

func batchDecisions(r *ArbitrationBatchResult) []domain.Decision {
	var out []domain.Decision
	for _, d := range r.Decisions {
		out = append(out, d.Decision.Decision)
	}
	return out
}

// TestArbiterBatchDecidesInOrder: a batch's requests are decided one by one as single
// arbitrations are, so the budget the first ones spend denies the later ones (with retry_at),
// an invalid request is refused alone, a request asked again in a later batch gets its first
// answer without being counted again, and a lock signalled before the batch refuses it whole.
func TestArbiterBatchDecidesInOrder(t *testing.T) {
	a := newArbiterTest(t)
	policy := domain.DefaultSafetyPolicy()
	policy.GlobalPerHour = 2
	var first, again, locked *ArbitrationBatchResult
	bad := arbitrationRequest("p-bad", "a1", domain.ActionComment)
	bad.Agent = ""
	reqs := []domain.ArbitrationRequest{
		arbitrationRequest("p1", "a1", domain.ActionComment), bad,
		arbitrationRequest("p2", "a1", domain.ActionComment), arbitrationRequest("p3", "a1", domain.ActionComment),
	}
	var afterFirst, final ArbiterState
	a.at(time.Minute, func() { first = a.arbitrateBatch("first", reqs...) })
	a.at(time.Minute+time.Second, func() { afterFirst = a.state() })
	a.at(2*time.Minute, func() {
		again = a.arbitrateBatch("again", reqs[0], arbitrationRequest("p4", "a1", domain.ActionComment))
	})
	a.at(3*time.Minute, func() {
		a.env.SignalWorkflow(SignalLock, domain.LockRequest{Source: "operator", Reason: "manual stop", Tier: 3, Confidence: 1})
		locked = a.arbitrateBatch("locked", arbitrationRequest("p5", "a1", domain.ActionComment), arbitrationRequest("p6", "a2", domain.ActionComment))
	})
	a.at(3*time.Minute+time.Second, func() { final = a.state() })
	a.at(4*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: policy})

	if got := batchDecisions(first); fmt.Sprint(got) != fmt.Sprint([]domain.Decision{domain.DecisionAllow, "", domain.DecisionAllow, domain.DecisionDeny}) {
		t.Fatalf("first batch %v (%+v)", got, first)
	}
	for i, d := range first.Decisions {
		if d.ID != ArbitrationID(reqs[i]) {
			t.Errorf("answer %d is for %q, want %q", i, d.ID, ArbitrationID(reqs[i]))
		}
	}
	if e := first.Decisions[1].Error; !strings.Contains(e, "agent") {
		t.Errorf("the invalid request's error %q does not name its field", e)
	}
	if d := first.Decisions[3].Decision; d.RetryAt.IsZero() {
		t.Errorf("a budget-only denial in a batch carries no retry_at: %+v", d)
	}
	if afterFirst.Counters.Allowed != 2 || afterFirst.Counters.Denied != 1 || afterFirst.UpdatesThisRun != 3 {
		t.Errorf("after the first batch: counters %+v, %d decisions this run", afterFirst.Counters, afterFirst.UpdatesThisRun)
	}
	if got := batchDecisions(again); fmt.Sprint(got) != fmt.Sprint([]domain.Decision{domain.DecisionAllow, domain.DecisionDeny}) ||
		again.Decisions[0].Decision.At != first.Decisions[0].Decision.At {
		t.Errorf("asked again, p1 must get its first answer and p4 meet the spent budget: %+v", again)
	}
	if got := batchDecisions(locked); fmt.Sprint(got) != fmt.Sprint([]domain.Decision{domain.DecisionLock, domain.DecisionLock}) {
		t.Errorf("after the lock signal: %v", got)
	}
	if final.Counters.Allowed != 2 || final.Counters.Denied != 2 || final.Counters.Locked != 2 {
		t.Errorf("final counters %+v (p1 asked again must not count twice)", final.Counters)
	}
}

// TestArbiterBatchValidator refuses batches of the wrong shape before they reach the history.
func TestArbiterBatchValidator(t *testing.T) {
	r := arbitrationRequest("p1", "a1", domain.ActionComment)
	many := ArbitrationBatch{}
	for i := range MaxArbitrationBatch + 1 {
		q := arbitrationRequest(fmt.Sprintf("p%d", i), "a1", domain.ActionComment)
		many.IDs, many.Requests = append(many.IDs, ArbitrationID(q)), append(many.Requests, q)
	}
	cases := map[string]struct {
		b    ArbitrationBatch
		want string
	}{
		"empty":     {ArbitrationBatch{}, "requests"},
		"too many":  {many, "at most 64"},
		"ids short": {ArbitrationBatch{Requests: []domain.ArbitrationRequest{r}}, "ids"},
		"repeated":  {ArbitrationBatch{IDs: []string{"x", "x"}, Requests: []domain.ArbitrationRequest{r, r}}, "repeated"},
		"empty id":  {ArbitrationBatch{IDs: []string{""}, Requests: []domain.ArbitrationRequest{r}}, "ids[0]"},
	}
	a := newArbiterTest(t)
	a.at(time.Minute, func() {
		for name, c := range cases {
			a.sendBatch(name, c.b)
		}
	})
	var st ArbiterState
	a.at(2*time.Minute, func() { st = a.state() })
	a.at(3*time.Minute, a.env.CancelWorkflow)
	a.env.ExecuteWorkflow(ArbiterWorkflow, ArbiterInput{Policy: domain.DefaultSafetyPolicy()})
	for name, c := range cases {
		if err := a.rejected[name]; err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: rejected with %v, want an error saying %q", name, err, c.want)
		}
	}
	if st.UpdatesThisRun != 0 || st.Counters.Allowed != 0 {
		t.Errorf("a rejected batch decided something: %+v", st)
	}
}
