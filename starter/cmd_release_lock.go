package main

import (
	"context"
	"fmt"

	"resurge/domain"
	"resurge/workflows"
)

const releaseLockHelp = `Signals the safety arbiter (the release-lock signal) that an operator releases its lock, so
that autonomous changes may run again. Both --operator and --reason are required: nothing is
sent without them. The signal is processed asynchronously, so the command then reads the
arbiter's state query (for up to about 5 seconds) and prints whether the lock is off. Exit 1 if
it is still on: the arbiter rejected the release (its last rejected input is shown), a monitor
locked it again at once, or the arbiter has not processed the signal yet.
`

// releaseResult is release-lock's --json output.
type releaseResult struct {
	Released     bool                     `json:"released"`
	WorkflowID   string                   `json:"workflow_id"`
	Request      domain.ReleaseRequest    `json:"request"`
	WasLocked    *bool                    `json:"was_locked,omitempty"`
	Lock         *workflows.LockState     `json:"lock,omitempty"`
	LastRejected *workflows.RejectedInput `json:"last_rejected,omitempty"`
	Error        string                   `json:"error,omitempty"`
}

func runReleaseLock(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("release-lock")
	var who personFlags
	who.register(fs, "releases the lock", "why autonomous changes may run again")
	if _, err := e.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if err := who.check("release-lock"); err != nil {
		return err
	}
	req := domain.ReleaseRequest{Operator: who.operator, Reason: who.reason}
	if err := req.Validate(); err != nil {
		return asUsage(fmt.Errorf("release-lock: %w", err))
	}

	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	sc := &workflows.SafetyClient{Client: c}
	res := releaseResult{WorkflowID: workflows.ArbiterWorkflowID, Request: req}

	// The state before the release: its counters tell a rejected release, or one applied and
	// followed at once by a new lock, from one not processed yet. Without it (a slow query)
	// the release is still sent.
	base, baseErr := arbiterState(ctx, sc, e.queryTimeout(e.safetyWait))
	if baseErr != nil && (isNotFound(baseErr) || ctx.Err() != nil) {
		return fmt.Errorf("release-lock: nothing was sent: %w", describeArbiterError(baseErr))
	}
	haveBase := baseErr == nil
	if haveBase {
		was := base.Lock.Active
		res.WasLocked = &was
	}

	sctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	err = sc.Release(sctx, req)
	cancel()
	if err != nil {
		return fmt.Errorf("release-lock: %w", describeArbiterError(err))
	}

	st, read, qerr := e.pollArbiter(ctx, sc, func(st workflows.ArbiterState) bool {
		if !st.Lock.Active {
			return true
		}
		return haveBase && (st.Counters.Releases > base.Counters.Releases ||
			st.Counters.RejectedReleases > base.Counters.RejectedReleases)
	})
	now := e.now()
	var failure error
	switch {
	case !read:
		failure = fmt.Errorf("release-lock: the release signal was sent, but the arbiter's state could not be read: %w", describeArbiterError(qerr))
	case !st.Lock.Active:
		// Released.
	case haveBase && st.Counters.RejectedReleases > base.Counters.RejectedReleases:
		msg := "release-lock: the arbiter rejected the release; the lock is still on"
		if r := lastRejected(st.Rejected); r != nil {
			msg += " (" + rejectedLine(*r) + ")"
		}
		failure = fmt.Errorf("%s", msg)
	case haveBase && st.Counters.Releases > base.Counters.Releases:
		failure = fmt.Errorf("release-lock: the release was applied, but the lock is on again, %s", lockLine(st.Lock, now))
	default:
		msg := fmt.Sprintf("release-lock: the lock is still on after %s (%s); the release signal was sent and applies "+
			"when the arbiter processes it (is a worker running on task queue %s?)", shortDuration(e.safetyWait), lockLine(st.Lock, now), workflows.SafetyTaskQueue)
		if r := lastRejected(st.Rejected); r != nil {
			msg += "; the arbiter's last rejected input: " + rejectedLine(*r)
		}
		failure = fmt.Errorf("%s", msg)
	}
	if read {
		res.Lock = &st.Lock
		if st.Lock.Active {
			res.LastRejected = lastRejected(st.Rejected)
		}
	}
	res.Released = failure == nil
	if failure != nil {
		res.Error = failure.Error()
	}
	if done, err := e.reportResult(res, failure); done {
		return err
	}
	fmt.Fprintf(e.stdout, "lock off: released %s\n", releaseLine(st.Lock, now))
	if haveBase && !base.Lock.Active {
		fmt.Fprintln(e.stdout, "note: the lock was not on before this release")
	}
	return nil
}
