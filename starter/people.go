package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/domain"
	"resurge/workflows"
)

// Helpers shared by the commands people answer posts with: approvals, approve, reject, act.

// defaultPostWait is how long approve, reject and act wait for the post to report what
// happened: the post arbitrates and acts (with retries) before its status shows the outcome.
const defaultPostWait = 30 * time.Second

// outcome is the ok / error part of a --json result.
type outcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// set records failure (nil: ok).
func (o *outcome) set(failure error) {
	o.OK = failure == nil
	if failure != nil {
		o.Error = failure.Error()
	}
}

// personFlags are who answers and why: --operator and --reason, both required.
type personFlags struct {
	operator, reason string
}

func (p *personFlags) register(fs *flag.FlagSet, who, why string) {
	fs.StringVar(&p.operator, "operator", "", "`name` of the operator who "+who+" (required)")
	fs.StringVar(&p.reason, "reason", "", why+" (required)")
}

// check trims both and refuses blank ones, naming every missing flag: nothing is sent then.
func (p *personFlags) check(cmd string) error {
	p.operator, p.reason = strings.TrimSpace(p.operator), strings.TrimSpace(p.reason)
	var missing []string
	if p.operator == "" {
		missing = append(missing, "--operator")
	}
	if p.reason == "" {
		missing = append(missing, "--reason")
	}
	if len(missing) > 0 {
		return usageErrorf("%s: %s required and must not be blank; nothing was sent (usage: starter %s)",
			cmd, strings.Join(missing, " and ")+plural(len(missing), " is", " are"), synopsis(cmd))
	}
	return nil
}

// parsePost parses a command's flags and its one argument, a post ID.
func (e *env) parsePost(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := e.parseArgs(fs, args, 1, 1)
	if err != nil {
		return "", err
	}
	if err := domain.ValidateID("post", pos[0]); err != nil {
		return "", asUsage(fmt.Errorf("%s: %w", fs.Name(), err))
	}
	return pos[0], nil
}

// connectToPost dials Temporal and reads the post's status before anything is sent: the base
// the command compares the post's later status with.
func (e *env) connectToPost(ctx context.Context, cmd, postID string) (client.Client, workflows.PostStatus, error) {
	c, err := e.client(ctx)
	if err != nil {
		return nil, workflows.PostStatus{}, err
	}
	base, err := postStatusWithin(ctx, c, postID, e.opts.timeout)
	if err != nil {
		return nil, base, fmt.Errorf("%s: nothing was sent: %w", cmd, describeServerError(postID, workflows.PostWorkflowID(postID), err))
	}
	return c, base, nil
}

// postStatusWithin queries a post's status once, within d.
func postStatusWithin(ctx context.Context, c client.Client, postID string, d time.Duration) (workflows.PostStatus, error) {
	qctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return workflows.QueryPostStatus(qctx, c, postID)
}

// pollPost reads a post's status query until stop(status) is true or wait has passed.
func (e *env) pollPost(ctx context.Context, c client.Client, postID string, wait time.Duration, stop func(workflows.PostStatus) bool) (workflows.PostStatus, bool, error) {
	return poll(ctx, e, wait, func(d time.Duration) (workflows.PostStatus, error) { return postStatusWithin(ctx, c, postID, d) }, stop)
}

// recordByKey is the post's record with key, nil when there is none.
func recordByKey(log []domain.ActionRecord, key string) *domain.ActionRecord {
	for i := range log {
		if log[i].Key == key {
			r := log[i]
			return &r
		}
	}
	return nil
}

// newRejections are the rejected inputs the post recorded since base (at most the ones it
// keeps).
func newRejections(base, now workflows.PostStatus) []workflows.RejectedInput {
	n := now.RejectedCount - base.RejectedCount
	if n <= 0 {
		return nil
	}
	return now.Rejected[max(0, len(now.Rejected)-n):]
}

// rejectionsLine joins rejected inputs on one line.
func rejectionsLine(rs []workflows.RejectedInput) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = rejectedLine(r)
	}
	return strings.Join(parts, "; ")
}

// notProcessed says that the post did not show the signal's effect in time.
func notProcessed(cmd, postID string, wait time.Duration) error {
	return fmt.Errorf("%s: the signal was sent, but post %s did not show its effect within %s; it applies when the post's "+
		"workflow processes it (is a worker running on task queue %s?); check with 'starter status %s'",
		cmd, postID, shortDuration(wait), workflows.TaskQueue, postID)
}

// printPending writes what awaits approval on one post.
func printPending(w io.Writer, indent string, p domain.PendingApproval, now time.Time) {
	kv := newTable(w, "")
	kv.maxCell = 0
	kv.row(indent, "action", fmt.Sprintf("%s (%s, score %.2f), key %s", p.Action, p.Tier, p.Score, p.Key))
	kv.row(indent, "since", when(p.Since, now))
	kv.row(indent, "expires", when(p.Until, now))
	for i, t := range p.Texts {
		name := "text"
		if len(p.Texts) > 1 {
			name = fmt.Sprintf("part %d", i+1)
		}
		kv.row(indent, name, cell(t, 200))
	}
	kv.row(indent, "why", strings.Join(p.Reasons, "; "))
	kv.row(indent, "approve", p.ApproveCommand)
	kv.row(indent, "reject", p.RejectCommand)
	kv.flush()
}

// recordLine is one action record for people: "success after 1 attempt (effect ...)".
func recordLine(r domain.ActionRecord) string {
	s := string(r.Status)
	if r.Attempts > 0 {
		s += fmt.Sprintf(" after %d %s", r.Attempts, plural(r.Attempts, "attempt", "attempts"))
	}
	if d := recordDetail(r); d != "" {
		s += ": " + d
	}
	return s
}
