package main

import (
	"context"
	"fmt"

	"resurge/domain"
	"resurge/workflows"
)

const approveHelp = `Approves the action awaiting approval on a post (see 'starter approvals'): the post runs it now
as a person's action, approved by --operator: the arbiter is asked again with autonomous: false,
so a lock does not stop it, but banned terms and length limits still do; then the action runs
with its idempotency key (approving twice acts once). The command reads the post's status
first (nothing awaits approval, or --key is not the pending key: exit 1, nothing sent), sends
the approve signal with the pending key, then reads the status until the action has run (up to
--wait) and reports what happened. Exit 1 if the post refused the answer, the arbiter refused
the action, the action failed, or nothing showed in time.
`

const rejectHelp = `Rejects the action awaiting approval on a post: it is recorded as rejected with --operator and
--reason, and that key is never proposed again for the post (it starts no cooldown and does not
count toward the cap). The command reads the post's status first (nothing awaits approval, or
--key is not the pending key: exit 1, nothing sent), sends the reject signal with the pending
key, then reads the status until the record shows the rejection (up to --wait). Exit 1 if the
post refused the answer or nothing showed in time.
`

// answerResult is approve's and reject's --json output.
type answerResult struct {
	outcome
	PostID     string                  `json:"post_id"`
	WorkflowID string                  `json:"workflow_id"`
	Signal     string                  `json:"signal"`
	Answer     domain.ApprovalAnswer   `json:"answer"`
	Pending    *domain.PendingApproval `json:"pending_approval,omitempty"`
	// Record is the action's record as the post last showed it.
	Record   *domain.ActionRecord      `json:"record,omitempty"`
	Rejected []workflows.RejectedInput `json:"rejected_inputs,omitempty"`
}

func runApprove(ctx context.Context, e *env, args []string) error {
	return runAnswer(ctx, e, workflows.SignalApprove, args)
}

func runReject(ctx context.Context, e *env, args []string) error {
	return runAnswer(ctx, e, workflows.SignalReject, args)
}

// runAnswer is approve and reject: cmd is also the signal's name.
func runAnswer(ctx context.Context, e *env, cmd string, args []string) error {
	fs := e.newFlagSet(cmd)
	var who personFlags
	var key string
	wait := defaultPostWait
	who.register(fs, cmd+"s the action", "why")
	fs.StringVar(&key, "key", "", "idempotency `key` of the action awaiting approval (optional: it must be the pending one)")
	durationVar(fs, &wait, "wait", "how long to wait for the post to show the outcome")
	postID, err := e.parsePost(fs, args)
	if err != nil {
		return err
	}
	if err := who.check(cmd); err != nil {
		return err
	}
	answer := domain.ApprovalAnswer{Operator: who.operator, Reason: who.reason, Key: key}
	if err := answer.Validate(cmd); err != nil {
		return asUsage(fmt.Errorf("%s: %w (nothing was sent)", cmd, err))
	}
	c, base, err := e.connectToPost(ctx, cmd, postID)
	if err != nil {
		return err
	}
	wid := workflows.PostWorkflowID(postID)
	res := answerResult{PostID: postID, WorkflowID: wid, Signal: cmd, Answer: answer, Pending: base.PendingApproval}
	p := base.PendingApproval
	switch {
	case p == nil:
		msg := fmt.Sprintf("%s: nothing awaits approval on post %s (state %s); nothing was sent", cmd, postID, base.State)
		if key != "" {
			if r := recordByKey(base.Log, key); r != nil {
				res.Record = r
				msg += fmt.Sprintf("; %s is %s", key, recordLine(*r))
			}
		}
		return e.answerFailed(res, fmt.Errorf("%s", msg))
	case key != "" && key != p.Key:
		return e.answerFailed(res, fmt.Errorf("%s: %s is not the key awaiting approval on post %s (%s on %s is: %s); nothing was sent",
			cmd, key, postID, p.Action, p.Tier, p.Key))
	}
	// The pending key goes with the answer: should the request expire and another take its
	// place meanwhile, the post refuses this answer instead of applying it to the other one.
	answer.Key = p.Key
	res.Answer = answer
	sctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	if cmd == workflows.SignalApprove {
		err = workflows.ApprovePost(sctx, c, postID, answer)
	} else {
		err = workflows.RejectPost(sctx, c, postID, answer)
	}
	cancel()
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, describeServerError(postID, wid, err))
	}

	final := func(r *domain.ActionRecord) bool {
		return r != nil && r.Status != domain.StatusAwaitingApproval && r.Status != domain.StatusRunning
	}
	st, read, qerr := e.pollPost(ctx, c, postID, wait, func(st workflows.PostStatus) bool {
		return len(newRejections(base, st)) > 0 || final(recordByKey(st.Log, p.Key))
	})
	var failure error
	rec := recordByKey(st.Log, p.Key)
	switch {
	case !read:
		failure = fmt.Errorf("%s: the signal was sent, but the post's status could not be read: %w", cmd, describeServerError(postID, wid, qerr))
	case len(newRejections(base, st)) > 0:
		res.Rejected = newRejections(base, st)
		failure = fmt.Errorf("%s: post %s refused the answer: %s", cmd, postID, rejectionsLine(res.Rejected))
	case rec == nil || rec.Status == domain.StatusAwaitingApproval:
		failure = notProcessed(cmd, postID, wait)
	case cmd == workflows.SignalReject && rec.Status != domain.StatusRejected:
		failure = fmt.Errorf("%s: %s on post %s is %s, not rejected", cmd, p.Action, postID, recordLine(*rec))
	case cmd == workflows.SignalApprove && rec.Status == domain.StatusBlocked:
		failure = fmt.Errorf("%s: approved, but the arbiter refused the action: %s", cmd, recordDetail(*rec))
	case cmd == workflows.SignalApprove && rec.Status == domain.StatusFailed:
		failure = fmt.Errorf("%s: approved, but the action failed: %s", cmd, recordLine(*rec))
	case cmd == workflows.SignalApprove && rec.Status == domain.StatusExpired:
		failure = fmt.Errorf("%s: the request expired before the approval arrived: %s", cmd, recordDetail(*rec))
	}
	res.Record = rec
	if done, err := e.answerDone(res, failure); done {
		return err
	}
	now := e.now()
	switch {
	case cmd == workflows.SignalReject:
		fmt.Fprintf(e.stdout, "rejected: %s on post %s by %s (%s); this key is not proposed again\n", p.Action, postID, rec.Operator, rec.Reason)
	case rec.Status == domain.StatusRunning:
		fmt.Fprintf(e.stdout, "approved: %s on post %s is still running after %s; see 'starter status %s'\n", p.Action, postID, shortDuration(wait), postID)
	default:
		fmt.Fprintf(e.stdout, "approved: %s on post %s by %s ran at %s: %s\n", p.Action, postID, rec.Operator, when(rec.InitiatedAt, now), recordLine(*rec))
	}
	if rec.Operator != answer.Operator {
		fmt.Fprintf(e.stdout, "note: %s answered first\n", rec.Operator)
	}
	return nil
}

// answerFailed ends approve or reject on a failure found before anything was sent.
func (e *env) answerFailed(res answerResult, failure error) error {
	_, err := e.answerDone(res, failure)
	return err
}

// answerDone reports res (see reportResult), with failure in it.
func (e *env) answerDone(res answerResult, failure error) (bool, error) {
	res.set(failure)
	return e.reportResult(res, failure)
}
