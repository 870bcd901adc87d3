package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"resurge/domain"
	"resurge/workflows"
)

const actHelp = `Asks a post to perform an operator's action now: a comment, an edit, a thread (or a quote on
Bluesky), as a person's action, not an autonomous one. The arbiter is asked with autonomous:
false, so a lock does not stop it, and it is outside the budgets of autonomous changes; banned
terms and length limits still apply. The texts default to the post's configured ones (--text for
a comment, edit or quote; --thread once per part of a thread).

The action's idempotency key comes from the post, the action and a request ID (op_ keys, never
the automation's sheal_ ones). The command makes up a request ID and prints it; run the same
command again with --request-id ID and it acts once (a failed or refused request is tried
again). The command reads the post's status, sends the act signal, then reads the status until
the action has run (up to --wait) and reports what happened. Exit 2 for a bad request (nothing
sent), 1 if the post refused it, the arbiter refused the action, the action failed, or nothing
showed in time. The action is recorded in the post's log with the operator and reason, and its
outcome goes to the agent's monitor marked as a person's (monitors grade the automation only).
`

// actResult is act's --json output.
type actResult struct {
	outcome
	PostID     string                    `json:"post_id"`
	WorkflowID string                    `json:"workflow_id"`
	Request    domain.OperatorRequest    `json:"request"`
	Key        string                    `json:"idempotency_key"`
	Sent       bool                      `json:"sent"`
	Record     *domain.ActionRecord      `json:"record,omitempty"`
	Rejected   []workflows.RejectedInput `json:"rejected_inputs,omitempty"`
}

func runAct(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("act")
	var who personFlags
	var action, text, requestID string
	var parts stringList
	wait := defaultPostWait
	who.register(fs, "asks for the action", "why")
	fs.StringVar(&action, "action", "", "the `action`: comment, edit, thread or quote (required)")
	fs.StringVar(&text, "text", "", "`text` of a comment, edit or quote (default: the post's own)")
	fs.Var(&parts, "thread", "`text` of one part of a thread, once per part (default: the post's own)")
	fs.StringVar(&requestID, "request-id", "", "`ID` of the request: the same ID acts once (default: a new one, printed)")
	durationVar(fs, &wait, "wait", "how long to wait for the post to show the outcome")
	postID, err := e.parsePost(fs, args)
	if err != nil {
		return err
	}
	req := domain.OperatorRequest{Action: domain.ActionType(strings.TrimSpace(action)), RequestID: requestID}
	switch {
	case action == "":
		return usageErrorf("act: --action is required (comment, edit, thread or quote); nothing was sent")
	case !req.Action.Valid():
		return usageErrorf("act: --action: unknown action %q (comment, edit, thread or quote); nothing was sent", action)
	case req.Action == domain.ActionThread && text != "":
		return usageErrorf("act: a thread takes --thread once per part, not --text; nothing was sent")
	case req.Action != domain.ActionThread && len(parts) > 0:
		return usageErrorf("act: --thread is for a thread; a %s takes --text; nothing was sent", req.Action)
	}
	if err := who.check("act"); err != nil {
		return err
	}
	req.Operator, req.Reason = who.operator, who.reason
	if text != "" {
		req.Texts = []string{text}
	} else if len(parts) > 0 {
		req.Texts = parts
	}
	if req.RequestID == "" {
		req.RequestID = newRequestID()
	}
	c, base, err := e.connectToPost(ctx, "act", postID)
	if err != nil {
		return err
	}
	wid := workflows.PostWorkflowID(postID)
	// The post's own configuration says which actions and texts are valid for it.
	if err := req.Validate(base.Post); err != nil {
		return asUsage(fmt.Errorf("act: %w (nothing was sent)", err))
	}
	key := req.Key(base.Post)
	res := actResult{PostID: postID, WorkflowID: wid, Request: req, Key: key}
	if !e.opts.json {
		fmt.Fprintf(e.stdout, "request %s (key %s): run again with --request-id %s to retry without acting twice\n", req.RequestID, key, req.RequestID)
	}
	if r := recordByKey(base.Log, key); r != nil && domain.IsDuplicate(base.Log, key) {
		// Already done (or running): sending it again would change nothing.
		res.Record = r
		if done, err := e.actDone(res, nil); done {
			return err
		}
		fmt.Fprintf(e.stdout, "already done: %s on post %s by %s: %s (nothing sent again)\n", r.Action, postID, r.Operator, recordLine(*r))
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	err = workflows.ActOnPost(sctx, c, postID, req)
	cancel()
	if err != nil {
		return fmt.Errorf("act: %w", describeServerError(postID, wid, err))
	}
	res.Sent = true

	before := recordByKey(base.Log, key)
	changed := func(r *domain.ActionRecord) bool {
		return r != nil && r.Status != domain.StatusRunning && (before == nil || !r.InitiatedAt.Equal(before.InitiatedAt))
	}
	st, read, qerr := e.pollPost(ctx, c, postID, wait, func(st workflows.PostStatus) bool {
		return len(newRejections(base, st)) > 0 || changed(recordByKey(st.Log, key))
	})
	rec := recordByKey(st.Log, key)
	res.Record = rec
	var failure error
	switch {
	case !read:
		failure = fmt.Errorf("act: the signal was sent, but the post's status could not be read: %w", describeServerError(postID, wid, qerr))
	case len(newRejections(base, st)) > 0:
		res.Rejected = newRejections(base, st)
		failure = fmt.Errorf("act: post %s refused the request: %s", postID, rejectionsLine(res.Rejected))
	case rec == nil || (rec.Status != domain.StatusRunning && !changed(rec)):
		failure = notProcessed("act", postID, wait)
	case rec.Status == domain.StatusBlocked:
		failure = fmt.Errorf("act: the arbiter refused the action: %s", recordDetail(*rec))
	case rec.Status == domain.StatusFailed:
		failure = fmt.Errorf("act: the action failed: %s", recordLine(*rec))
	}
	if done, err := e.actDone(res, failure); done {
		return err
	}
	if rec.Status == domain.StatusRunning {
		fmt.Fprintf(e.stdout, "%s on post %s is still running after %s; see 'starter status %s'\n", rec.Action, postID, shortDuration(wait), postID)
		return nil
	}
	fmt.Fprintf(e.stdout, "done: %s on post %s by %s at %s: %s\n", rec.Action, postID, rec.Operator, when(rec.InitiatedAt, e.now()), recordLine(*rec))
	return nil
}

func (e *env) actDone(res actResult, failure error) (bool, error) {
	res.set(failure)
	return e.reportResult(res, failure)
}

// newRequestID is a fresh request ID: 12 random hex digits.
func newRequestID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return "r-" + hex.EncodeToString(b)
}
