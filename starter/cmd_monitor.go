package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"resurge/domain"
	"resurge/workflows"
)

const monitorHelp = `Asks an agent's monitor (workflow monitor/<agent>) for its status: the snapshot of its last
evaluation (success rate, efficiency, response time, market impact, outcomes, consecutive
failures), the current anomaly tier with its escalation and confidence, whether it locked the
automation, and its alerts. A monitor starts with the agent's first action outcome; before that
there is none (exit 1). --json prints the status query's JSON as it is.
`

func runMonitor(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("monitor")
	pos, err := e.parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	agent := pos[0]
	if err := domain.ValidateID("agent", agent); err != nil {
		return asUsage(fmt.Errorf("monitor: %w", err))
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	defer cancel()
	st, err := (&workflows.SafetyClient{Client: c}).MonitorStatus(qctx, agent)
	if err != nil {
		wid := workflows.MonitorWorkflowID(agent)
		switch {
		case isNotFound(err):
			return fmt.Errorf("no monitor for agent %s yet (it starts with the agent's first action outcome)", agent)
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("agent %s: the monitor (workflow %s) did not answer in time (is a worker running on task queue %s?): %w",
				agent, wid, workflows.SafetyTaskQueue, err)
		}
		return fmt.Errorf("agent %s: monitor (workflow %s): %w", agent, wid, err)
	}
	if e.opts.json {
		return printJSON(e.stdout, st)
	}
	printMonitor(e.stdout, st, e.now())
	return nil
}

// printMonitor writes a monitor's status for people.
func printMonitor(w io.Writer, st workflows.MonitorStatus, now time.Time) {
	kv := newTable(w, "")
	kv.maxCell = 0
	kv.row("", "monitor", fmt.Sprintf("agent %s (workflow %s): %d %s received, %d %s, %d %s",
		st.Agent, workflows.MonitorWorkflowID(st.Agent), st.OutcomeSeq, plural(st.OutcomeSeq, "outcome", "outcomes"),
		st.Evaluations, plural(st.Evaluations, "evaluation", "evaluations"), st.Runs, plural(st.Runs, "run", "runs")))
	if a := st.Last; a != nil {
		s := a.Snapshot
		kv.row("", "snapshot", fmt.Sprintf("%s, over the last %d %s", when(s.At, now), s.Outcomes, plural(s.Outcomes, "outcome", "outcomes")))
		kv.row("", "success rate", fmt.Sprintf("%.2f (%d of %d succeeded)", s.SuccessRate, s.Successes, s.Outcomes))
		kv.row("", "efficiency", fmt.Sprintf("%.2f", s.EfficiencyScore))
		kv.row("", "response time", fmt.Sprintf("%.1fs (mean)", s.ResponseTime))
		kv.row("", "market impact", fmt.Sprintf("%.2f (%d measured)", s.MarketImpact, s.Measured))
		kv.row("", "outcomes", fmt.Sprint(s.Outcomes))
		kv.row("", "consec. failures", fmt.Sprint(s.ConsecutiveFailures))
		kv.row("", "tier", tierLine(*a, st.Escalation))
		kv.row("", "confidence", fmt.Sprintf("%.2f", a.Confidence))
		if t := a.Recommendation.TriggerMetrics; len(t) > 0 {
			kv.row("", "triggers", triggersLine(t))
		}
	} else {
		kv.row("", "snapshot", "not evaluated yet")
		kv.row("", "tier", fmt.Sprintf("%d", st.Escalation.Tier))
	}
	kv.row("", "reported tier", fmt.Sprintf("%d (to the arbiter)", st.ReportedTier))
	kv.row("", "people's actions", fmt.Sprintf("%d %s (approved or an operator's: not graded)", st.PeopleOutcomes, plural(st.PeopleOutcomes, "outcome", "outcomes")))
	kv.row("", "locked", lockedLine(st))
	kv.flush()

	fmt.Fprintf(w, "\nalerts: %d\n", len(st.Alerts))
	if len(st.Alerts) > 0 {
		t := newTable(w, "  ", "TIME", "TYPE", "SEVERITY", "TIER", "CONFIDENCE", "ESCALATED", "TRIGGERS")
		t.maxCell = 120
		for _, al := range st.Alerts {
			t.row("  ", timestamp(al.Timestamp), al.Type, al.Severity, fmt.Sprint(al.Tier), fmt.Sprintf("%.2f", al.Confidence),
				yesNo(al.Escalated), triggersLine(al.Recommendation.TriggerMetrics))
		}
		t.flush()
	}

	if len(st.Rejected) > 0 {
		fmt.Fprintf(w, "\nrejected inputs: %d\n", len(st.Rejected))
		t := newTable(w, "  ", "AT", "WHAT", "ERROR")
		for _, r := range st.Rejected {
			t.row("  ", timestamp(r.At), r.What, r.Error)
		}
		t.flush()
	}
}

// tierLine is the assessment's tier with its escalation: "2 (classified 1, escalated; iteration 1)".
func tierLine(a domain.Assessment, esc domain.Escalation) string {
	if a.Tier == 0 {
		return "0 (healthy)"
	}
	s := fmt.Sprintf("%d (classified %d", a.Tier, a.Classified)
	if a.Escalated {
		s += ", escalated"
	}
	s += fmt.Sprintf("; iteration %d", esc.Iterations)
	if m := a.Recommendation.MaxIterations; m > 0 && a.Tier < 3 {
		s += fmt.Sprintf(" of %d with new evidence before escalating", m)
	}
	return s + ")"
}

// lockedLine says whether the monitor locked the automation.
func lockedLine(st workflows.MonitorStatus) string {
	meets := st.Last != nil && st.Last.Lock
	switch {
	case st.LockedAtSeq > 0 && meets:
		return fmt.Sprintf("yes, at outcome #%d; the last assessment still meets the lock criteria", st.LockedAtSeq)
	case st.LockedAtSeq > 0:
		return fmt.Sprintf("yes, at outcome #%d", st.LockedAtSeq)
	case meets:
		return "no, though the last assessment meets the lock criteria"
	}
	return "no"
}

// triggersLine is "success_rate 0.40 <= 0.55; response_time 95.0 >= 90".
func triggersLine(ts []domain.TriggerMetric) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s %.2f %s %g", t.Metric, t.Value, t.Op, t.Threshold)
	}
	return strings.Join(parts, "; ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
