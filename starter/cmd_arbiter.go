package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"resurge/workflows"
)

const arbiterHelp = `Asks the safety arbiter (workflow safety-arbiter) for its state: whether the lock is on, with
its reason, source, time, tier and confidence; the last release; the counters; the policy in
force (and when 'starter set-policy' last set it); the agents' anomaly tiers as the monitors
reported them; the recent decisions; and the inputs it rejected. --json prints the state
query's JSON as it is.
`

func runArbiter(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("arbiter")
	if _, err := e.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	st, err := arbiterState(ctx, &workflows.SafetyClient{Client: c}, e.opts.timeout)
	if err != nil {
		return describeArbiterError(err)
	}
	if e.opts.json {
		return printJSON(e.stdout, st)
	}
	printArbiter(e.stdout, st, e.now())
	return nil
}

// printArbiter writes the arbiter's state for people.
func printArbiter(w io.Writer, st workflows.ArbiterState, now time.Time) {
	l := st.Lock
	kv := newTable(w, "")
	kv.maxCell = 0
	if l.Active {
		kv.row("", "lock", "ON: every autonomous change is refused until an operator releases it")
		kv.row("", "reason", l.Reason)
		kv.row("", "source", l.Source)
		kv.row("", "since", when(l.Since, now))
		kv.row("", "tier", fmt.Sprint(l.Tier))
		kv.row("", "confidence", fmt.Sprintf("%.2f", l.Confidence))
		if len(l.Brief) > 0 {
			kv.row("", "brief", fmt.Sprintf("%d bytes (see --json)", len(l.Brief)))
		}
	} else {
		kv.row("", "lock", "off")
	}
	kv.row("", "last release", releaseLine(l, now))
	n := st.Counters
	kv.row("", "decisions", fmt.Sprintf("allowed %d, denied %d (%d awaiting a person's approval), locked %d", n.Allowed, n.Denied, n.ApprovalRequests, n.Locked))
	kv.row("", "people's actions", fmt.Sprintf("allowed %d, denied %d (approved or asked for by an operator: not autonomous, outside the budgets)",
		n.OperatorAllowed, n.OperatorDenied))
	kv.row("", "signals", fmt.Sprintf("locks %d, releases %d, rejected releases %d, policy updates %d, rejected policies %d, rejected signals %d",
		n.Locks, n.Releases, n.RejectedReleases, n.PolicyUpdates, n.RejectedPolicies, n.RejectedSignals))
	kv.row("", "runs", fmt.Sprintf("%d (%d arbitrations this run)", st.Runs, st.UpdatesThisRun))
	kv.flush()

	if st.Policy.GlobalPerHour == 0 {
		fmt.Fprintln(w, "\npolicy: not reported (a worker older than set-policy answered)")
	} else {
		fmt.Fprintf(w, "\npolicy: %s\n", policySetLine(st, now))
		printPolicy(w, "  ", st.Policy)
	}

	fmt.Fprintf(w, "\nagent tiers: %d\n", len(st.AgentTiers))
	if len(st.AgentTiers) > 0 {
		t := newTable(w, "  ", "AGENT", "TIER", "CONFIDENCE", "REPORTED")
		for _, h := range st.AgentTiers {
			t.row("  ", h.Agent, fmt.Sprint(h.Tier), fmt.Sprintf("%.2f", h.Confidence), timestamp(h.At))
		}
		t.flush()
	}

	fmt.Fprintf(w, "\nrecent decisions: %d\n", len(st.Recent))
	if len(st.Recent) > 0 {
		t := newTable(w, "  ", "TIME", "POST", "AGENT", "ACTION", "DECISION", "REASONS")
		for _, r := range st.Recent {
			decision := string(r.Decision.Decision)
			if r.Operator != "" {
				decision += " (operator " + r.Operator + ")"
			} else if r.Decision.RequiresApproval {
				decision += " (for approval)"
			}
			t.row("  ", timestamp(r.Decision.At), r.Post, r.Agent, string(r.Action), decision, strings.Join(r.Decision.Reasons, "; "))
		}
		t.flush()
	}

	if len(st.Rejected) > 0 {
		fmt.Fprintf(w, "\nrejected inputs: %d", len(st.Rejected))
		if n.RejectedSignals > len(st.Rejected) {
			fmt.Fprintf(w, " (the last %d of %d)", len(st.Rejected), n.RejectedSignals)
		}
		fmt.Fprintln(w)
		t := newTable(w, "  ", "AT", "WHAT", "ERROR")
		for _, r := range st.Rejected {
			t.row("  ", timestamp(r.At), r.What, r.Error)
		}
		t.flush()
	}
}
