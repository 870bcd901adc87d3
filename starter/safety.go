package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"resurge/workflows"
)

// Helpers shared by the safety commands: lock, release-lock, arbiter and monitor.

// queryTimeout is the limit of one state query while polling: the time left (at least a
// second, so that there is always one real attempt), never more than --timeout.
func (e *env) queryTimeout(left time.Duration) time.Duration {
	return min(e.opts.timeout, max(left, time.Second))
}

// arbiterState queries the arbiter once, within the time limit d.
func arbiterState(ctx context.Context, sc *workflows.SafetyClient, d time.Duration) (workflows.ArbiterState, error) {
	qctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return sc.ArbiterState(qctx)
}

// pollArbiter reads the arbiter's state query until stop(state) is true or e.safetyWait has
// passed. Signals are processed asynchronously, so the state shows their effect a moment after
// they are sent. It returns the last state read and whether there was one; err is the last
// query error (it ends the polling at once for a missing workflow or a cancelled context).
func (e *env) pollArbiter(ctx context.Context, sc *workflows.SafetyClient, stop func(workflows.ArbiterState) bool) (last workflows.ArbiterState, read bool, err error) {
	return poll(ctx, e, e.safetyWait, func(d time.Duration) (workflows.ArbiterState, error) { return arbiterState(ctx, sc, d) }, stop)
}

// poll runs query (each call limited to the time it is given) until stop(answer) is true or
// wait has passed, pausing e.safetyPoll between two queries. It returns the last answer and
// whether there was one; err is the last query error (a missing workflow or a cancelled
// context ends the polling at once).
func poll[T any](ctx context.Context, e *env, wait time.Duration, query func(time.Duration) (T, error), stop func(T) bool) (last T, read bool, err error) {
	deadline := time.Now().Add(wait)
	for {
		v, qerr := query(e.queryTimeout(time.Until(deadline)))
		if qerr == nil {
			last, read, err = v, true, nil
			if stop(v) {
				return last, read, nil
			}
		} else {
			err = qerr
			if isNotFound(qerr) || ctx.Err() != nil {
				return last, read, err
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return last, read, err
		}
		t := time.NewTimer(min(e.safetyPoll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return last, read, ctx.Err()
		case <-t.C:
		}
	}
}

// describeArbiterError makes an error about the arbiter readable.
func describeArbiterError(err error) error {
	switch {
	case isNotFound(err):
		return fmt.Errorf("no arbiter running (workflow %s; it starts with the first arbitration or lock): %w", workflows.ArbiterWorkflowID, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the arbiter (workflow %s) did not answer in time (is a worker running on task queue %s?): %w",
			workflows.ArbiterWorkflowID, workflows.SafetyTaskQueue, err)
	}
	return fmt.Errorf("arbiter (workflow %s): %w", workflows.ArbiterWorkflowID, err)
}

// lockLine is "source, tier 3, confidence 1.00, since T (3m ago): reason".
func lockLine(l workflows.LockState, now time.Time) string {
	return fmt.Sprintf("by %s since %s, tier %d, confidence %.2f: %s", l.Source, when(l.Since, now), l.Tier, l.Confidence, l.Reason)
}

// releaseLine is the last release, "-" when there was none.
func releaseLine(l workflows.LockState, now time.Time) string {
	if l.ReleasedBy == "" && l.ReleasedAt.IsZero() {
		return "-"
	}
	return fmt.Sprintf("by %s at %s: %s", l.ReleasedBy, when(l.ReleasedAt, now), l.ReleaseReason)
}

// lastRejected is the newest of the rejected inputs, nil if there is none.
func lastRejected(rs []workflows.RejectedInput) *workflows.RejectedInput {
	if len(rs) == 0 {
		return nil
	}
	r := rs[len(rs)-1]
	return &r
}

// rejectedLine is one rejected input on one line.
func rejectedLine(r workflows.RejectedInput) string {
	return fmt.Sprintf("%s at %s: %s", r.What, timestamp(r.At), r.Error)
}

// blank reports whether a required text flag is missing or only spaces.
func blank(s string) bool { return strings.TrimSpace(s) == "" }
