package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"

	"resurge/domain"
	"resurge/workflows"
)

const lockHelp = `Signals the safety arbiter (workflow safety-arbiter, started if it is not running) to lock:
from then on it answers every proposed autonomous change with lock, until an operator runs
'starter release-lock'. The lock is tier 3. The signal is processed asynchronously, so the
command then reads the arbiter's state query (for up to about 5 seconds) and prints whether the
lock is on; exit 1 if it could not see it on. --source defaults to operator:$USER. Locking an
arbiter that is already locked keeps the first lock's source and reason.
`

// lockResult is lock's --json output.
type lockResult struct {
	Locked     bool                 `json:"locked"`
	WorkflowID string               `json:"workflow_id"`
	Request    domain.LockRequest   `json:"request"`
	Lock       *workflows.LockState `json:"lock,omitempty"`
	Error      string               `json:"error,omitempty"`
}

func runLock(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("lock")
	source := "operator"
	if u := os.Getenv("USER"); u != "" {
		source += ":" + u
	}
	req := domain.LockRequest{Tier: 3, Confidence: 1}
	fs.StringVar(&req.Reason, "reason", "", "why every autonomous change must stop (required)")
	fs.StringVar(&req.Source, "source", source, "who or what locks, recorded with the lock")
	fs.Float64Var(&req.Confidence, "confidence", req.Confidence, "confidence in the reason to lock, 0 to 1")
	if _, err := e.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	req.Reason, req.Source = strings.TrimSpace(req.Reason), strings.TrimSpace(req.Source)
	switch {
	case req.Reason == "":
		return usageErrorf("lock: --reason is required (why every autonomous change must stop)")
	case req.Source == "":
		return usageErrorf("lock: --source must not be empty")
	case math.IsNaN(req.Confidence) || req.Confidence < 0 || req.Confidence > 1:
		return usageErrorf("lock: --confidence must be between 0 and 1, got %v", req.Confidence)
	}
	if err := req.Validate(); err != nil {
		return asUsage(fmt.Errorf("lock: %w", err))
	}

	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	sc := &workflows.SafetyClient{Client: c}
	sctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	err = sc.Lock(sctx, req)
	cancel()
	if err != nil {
		return fmt.Errorf("lock: %w", describeArbiterError(err))
	}

	st, read, qerr := e.pollArbiter(ctx, sc, func(st workflows.ArbiterState) bool { return st.Lock.Active })
	res := lockResult{WorkflowID: workflows.ArbiterWorkflowID, Request: req}
	var failure error
	switch {
	case !read:
		failure = fmt.Errorf("lock: the lock signal was sent, but the arbiter's state could not be read: %w", describeArbiterError(qerr))
	case !st.Lock.Active:
		msg := fmt.Sprintf("lock: the lock signal was sent, but the arbiter does not show the lock on after %s; "+
			"it applies when the arbiter processes it (is a worker running on task queue %s?)", shortDuration(e.safetyWait), workflows.SafetyTaskQueue)
		if r := lastRejected(st.Rejected); r != nil {
			msg += "; the arbiter's last rejected input: " + rejectedLine(*r)
		}
		failure = fmt.Errorf("%s", msg)
	}
	if read {
		res.Lock = &st.Lock
	}
	res.Locked = failure == nil
	if failure != nil {
		res.Error = failure.Error()
	}
	if done, err := e.reportResult(res, failure); done {
		return err
	}
	now := e.now()
	fmt.Fprintf(e.stdout, "lock on: %s\n", lockLine(st.Lock, now))
	if st.Lock.Source != req.Source || st.Lock.Reason != req.Reason {
		fmt.Fprintln(e.stdout, "note: the lock was already on; the arbiter keeps the first lock's source and reason")
	}
	fmt.Fprintln(e.stdout, "every autonomous change is refused until an operator runs 'starter release-lock --operator NAME --reason WHY'")
	return nil
}
