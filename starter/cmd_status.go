package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"resurge/domain"
	"resurge/workflows"
)

const statusHelp = `Asks the post's workflow (running or closed) for its status: state, last score and tier,
the samples inside the window, the action log, the next sample and the cadence, the cooldowns, the arbiter's
last answer and the inputs it rejected. --json prints the status query's JSON as it is.
`

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("status")
	pos, err := e.parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	postID, err := e.postIDArg(ctx, "status", pos[0])
	if err != nil {
		return err
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	defer cancel()
	st, err := workflows.QueryPostStatus(qctx, c, postID)
	if err != nil {
		return describeServerError(postID, workflows.PostWorkflowID(postID), err)
	}
	if e.opts.json {
		return printJSON(e.stdout, st)
	}
	printStatus(e.stdout, st, e.now())
	return nil
}

// printStatus writes a post's status for people.
func printStatus(w io.Writer, st workflows.PostStatus, now time.Time) {
	p := st.Post
	kv := newTable(w, "")
	kv.maxCell = 0 // key-value lines are shown whole
	kv.row("", "post", fmt.Sprintf("%s on %s, agent %s (workflow %s)", p.ID, p.Platform, p.Agent, workflows.PostWorkflowID(p.ID)))
	state := st.State
	if st.EndReason != "" {
		state += " (ended: " + st.EndReason + ")"
	}
	kv.row("", "state", state)
	kv.row("", "watched", fmt.Sprintf("%s to %s", timestamp(st.StartedAt), when(st.EndsAt, now)))
	score := "-"
	if st.LastTier != "" {
		score = fmt.Sprintf("%.3f → %s", st.LastScore, st.LastTier)
	}
	kv.row("", "last score", score)
	kv.row("", "last plan", planLine(st.LastPlan))
	if st.EndReason == "" {
		kv.row("", "next sample", when(st.NextSampleAt, now))
		if c := st.Cadence; c.Interval > 0 {
			kv.row("", "cadence", fmt.Sprintf("%s, every %s: %s", c.Mode, c.Interval, c.Reason))
		}
		if t := st.BudgetRetryAt; t != nil {
			kv.row("", "budget", "asks the arbiter again "+when(*t, now))
		}
	}
	kv.row("", "cooldowns", cooldownsLine(st.Cooldowns, now))
	kv.row("", "last permission", permissionLine(st.LastPermission))
	kv.row("", "runs / cycles", fmt.Sprintf("%d / %d", st.Runs, st.Cycles))
	if st.LastError != "" {
		kv.row("", "last error", st.LastError)
	}
	kv.flush()

	if p := st.PendingApproval; p != nil {
		fmt.Fprintf(w, "\nawaiting approval:\n")
		printPending(w, "  ", *p, now)
	}

	fmt.Fprintf(w, "\nwindow: %d %s in the last %s (%d needed to plan)\n", len(st.Window), plural(len(st.Window), "sample", "samples"), shortDuration(st.Config.Window), st.Config.MinSamples)
	if len(st.Window) > 0 {
		t := newTable(w, "  ", "AT", "IMPRESSIONS", "ENGAGEMENTS")
		for _, s := range st.Window {
			t.row("  ", timestamp(s.At), strconv.FormatInt(s.Impressions, 10), strconv.FormatInt(s.Engagements, 10))
		}
		t.flush()
	}

	fmt.Fprintf(w, "\nactions: %d\n", len(st.Log))
	if len(st.Log) > 0 {
		t := newTable(w, "  ", "INITIATED", "ACTION", "TIER", "STATUS", "ATTEMPTS", "KEY", "DETAIL")
		for _, r := range st.Log {
			t.row("  ", timestamp(r.InitiatedAt), string(r.Action), string(r.Tier), string(r.Status),
				strconv.Itoa(r.Attempts), r.Key, recordDetail(r))
		}
		t.flush()
	}

	if st.RejectedCount > 0 {
		fmt.Fprintf(w, "\nrejected inputs: %d", st.RejectedCount)
		if len(st.Rejected) < st.RejectedCount {
			fmt.Fprintf(w, " (the last %d shown)", len(st.Rejected))
		}
		fmt.Fprintln(w)
		t := newTable(w, "  ", "AT", "WHAT", "ERROR")
		for _, r := range st.Rejected {
			t.row("  ", timestamp(r.At), r.What, r.Error)
		}
		t.flush()
	}
}

func planLine(p *domain.Plan) string {
	if p == nil {
		return "-"
	}
	if p.Eligible {
		return fmt.Sprintf("eligible: %s (%s)", p.Action, p.Key)
	}
	s := "not acting: " + string(p.Reason)
	if p.Action != "" {
		s += fmt.Sprintf(" (would be %s)", p.Action)
	}
	if p.CooldownUntil != nil {
		s += " until " + timestamp(*p.CooldownUntil)
	}
	if p.Reason == domain.ReasonInsufficientSamples {
		s += fmt.Sprintf(" (%d in the window)", p.SampleCount)
	}
	return s
}

func cooldownsLine(cds []workflows.Cooldown, now time.Time) string {
	if len(cds) == 0 {
		return "none"
	}
	parts := make([]string, len(cds))
	for i, c := range cds {
		parts[i] = fmt.Sprintf("%s until %s", c.Action, when(c.Until, now))
	}
	return strings.Join(parts, "; ")
}

func permissionLine(d *domain.ArbitrationDecision) string {
	if d == nil {
		return "-"
	}
	s := fmt.Sprintf("%s at %s", d.Decision, timestamp(d.At))
	if d.LockActive {
		s += " (lock active)"
	}
	if len(d.Reasons) > 0 {
		s += ": " + strings.Join(d.Reasons, "; ")
	}
	return s
}

// recordDetail is who acted (for a person's action), then an action record's error code,
// reasons or outcome, in that order.
func recordDetail(r domain.ActionRecord) string {
	var parts []string
	if r.Operator != "" {
		who := "by " + r.Operator
		if r.RequestID != "" {
			who += " (request " + r.RequestID + ")"
		}
		parts = append(parts, who+": "+r.Reason)
	}
	if r.ErrorCode != "" {
		parts = append(parts, "error "+r.ErrorCode)
	}
	if len(r.Reasons) > 0 {
		parts = append(parts, strings.Join(r.Reasons, "; "))
	}
	if r.Status == domain.StatusSuccess && len(r.Outcome) > 0 {
		parts = append(parts, string(r.Outcome))
	}
	return strings.Join(parts, " · ")
}
