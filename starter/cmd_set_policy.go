package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"resurge/domain"
	"resurge/workflows"
)

const setPolicyHelp = `Reads ONE JSON safety policy, decodes it onto the defaults and validates it, then signals it to
the safety arbiter (the set-policy signal; workflow safety-arbiter, started if it is not
running), which applies it to every later request and keeps it across continue-as-new. The
policy comes from --file F, the positional F, or stdin ("-" or nothing):

  {"global_per_hour": 600, "per_post_per_hour": 3,
   "length_limits": {"sim": 5000, "mastodon": 479, "bluesky": 300},
   "banned_terms": ["guaranteed returns", "free money", "click here"],
   "approval_risk": 5, "critical_risk": 6}

These are the defaults. Every field is optional: one left out takes its default (not the value
in force), length_limits are merged with the defaults platform by platform, and banned_terms
replaces the default list ([] bans nothing). The policy sent is complete, so it replaces the
policy in force whole. Bad input (invalid JSON, an unknown field, a budget below 1,
approval_risk above critical_risk, an empty banned term...) exits 2 with an error naming the
field, and nothing is sent.

The signal is processed asynchronously, so the command then reads the arbiter's state query
(for up to about 5 seconds) and prints the policy in force. Exit 1 if the arbiter rejected the
policy (its last rejected input is shown) or has not applied it yet. A worker started with
RESURGE_SAFETY_POLICY_FILE sends its file's policy each time it starts, replacing this one.
`

// setPolicyResult is set-policy's --json output.
type setPolicyResult struct {
	Applied    bool                `json:"applied"`
	WorkflowID string              `json:"workflow_id"`
	Policy     domain.SafetyPolicy `json:"policy"`
	// WasRunning is false when the arbiter was not running (set-policy started it).
	WasRunning    *bool                    `json:"was_running,omitempty"`
	InForce       *domain.SafetyPolicy     `json:"in_force,omitempty"`
	PolicyUpdates int                      `json:"policy_updates,omitempty"`
	PolicySetAt   time.Time                `json:"policy_set_at,omitzero"`
	LastRejected  *workflows.RejectedInput `json:"last_rejected,omitempty"`
	Error         string                   `json:"error,omitempty"`
}

func runSetPolicy(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("set-policy")
	file := fs.String("file", "", "read the policy from `F` (\"-\" for stdin)")
	pos, err := e.parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	data, path, err := readDocument(e, "set-policy", *file, pos, domain.MaxPolicyBytes, "the policy")
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(data)) == "" {
		return usageErrorf("set-policy: no input: want one JSON safety policy (run 'starter help set-policy')")
	}
	p, err := domain.DecodeSafetyPolicy(domain.DefaultSafetyPolicy(), data)
	if err != nil {
		if path != "" && path != "-" {
			return asUsage(fmt.Errorf("set-policy: %s: %w", path, err))
		}
		return asUsage(fmt.Errorf("set-policy: %w", err))
	}
	p = p.Complete()

	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	// Policy is the start input if the arbiter is not running yet.
	sc := &workflows.SafetyClient{Client: c, Policy: p}
	res := setPolicyResult{WorkflowID: workflows.ArbiterWorkflowID, Policy: p}

	// The state before: its counters tell a policy applied from one rejected or not processed
	// yet. An arbiter that is not running starts from zero. Without it (a slow query) the
	// policy is still sent, and the state is then compared with it.
	base, baseErr := arbiterState(ctx, sc, e.queryTimeout(e.safetyWait))
	if baseErr != nil && ctx.Err() != nil {
		return fmt.Errorf("set-policy: nothing was sent: %w", describeArbiterError(baseErr))
	}
	haveBase := baseErr == nil || isNotFound(baseErr)
	if haveBase {
		running := baseErr == nil
		res.WasRunning = &running
	}

	sctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	err = sc.SetPolicy(sctx, p)
	cancel()
	if err != nil {
		return fmt.Errorf("set-policy: %w", describeArbiterError(err))
	}

	st, read, qerr := e.pollArbiter(ctx, sc, func(st workflows.ArbiterState) bool {
		if haveBase {
			return st.Counters.PolicyUpdates > base.Counters.PolicyUpdates ||
				st.Counters.RejectedPolicies > base.Counters.RejectedPolicies
		}
		return samePolicy(st.Policy, p)
	})
	var failure error
	switch {
	case !read:
		failure = fmt.Errorf("set-policy: the policy was sent, but the arbiter's state could not be read: %w", describeArbiterError(qerr))
	case haveBase && st.Counters.RejectedPolicies > base.Counters.RejectedPolicies &&
		st.Counters.PolicyUpdates == base.Counters.PolicyUpdates:
		msg := "set-policy: the arbiter rejected the policy; the policy in force is unchanged"
		if r := lastRejected(st.Rejected); r != nil {
			msg += " (" + rejectedLine(*r) + ")"
		}
		failure = fmt.Errorf("%s", msg)
	case samePolicy(st.Policy, p) && (!haveBase || st.Counters.PolicyUpdates > base.Counters.PolicyUpdates):
		// Applied.
	case haveBase && st.Counters.PolicyUpdates > base.Counters.PolicyUpdates:
		failure = fmt.Errorf("set-policy: the policy was applied, but another one is in force now (another set-policy, or a worker " +
			"started with RESURGE_SAFETY_POLICY_FILE?); see 'starter arbiter'")
	default:
		msg := fmt.Sprintf("set-policy: the arbiter has not applied the policy after %s; the signal was sent and applies "+
			"when the arbiter processes it (is a worker running on task queue %s?)", shortDuration(e.safetyWait), workflows.SafetyTaskQueue)
		if r := lastRejected(st.Rejected); r != nil {
			msg += "; the arbiter's last rejected input: " + rejectedLine(*r)
		}
		failure = fmt.Errorf("%s", msg)
	}
	if read {
		inForce := st.Policy
		res.InForce, res.PolicyUpdates, res.PolicySetAt = &inForce, st.Counters.PolicyUpdates, st.PolicySetAt
		if failure != nil {
			res.LastRejected = lastRejected(st.Rejected)
		}
	}
	res.Applied = failure == nil
	if failure != nil {
		res.Error = failure.Error()
	}
	if done, err := e.reportResult(res, failure); done {
		return err
	}
	now := e.now()
	fmt.Fprintf(e.stdout, "policy set: %s\n", policySetLine(st, now))
	printPolicy(e.stdout, "  ", st.Policy)
	if res.WasRunning != nil && !*res.WasRunning {
		fmt.Fprintln(e.stdout, "note: the arbiter was not running; it was started with this policy")
	}
	return nil
}

// samePolicy reports whether two policies are the same, implicit defaults spelled out.
func samePolicy(a, b domain.SafetyPolicy) bool {
	return reflect.DeepEqual(a.Complete(), b.Complete())
}

// policySetLine says where the policy in force comes from: "update 2 at T (3m ago)".
func policySetLine(st workflows.ArbiterState, now time.Time) string {
	if st.Counters.PolicyUpdates == 0 || st.PolicySetAt.IsZero() {
		return "the arbiter's start input (no set-policy applied)"
	}
	return fmt.Sprintf("update %d at %s", st.Counters.PolicyUpdates, when(st.PolicySetAt, now))
}

// printPolicy writes a safety policy as a key-value table.
func printPolicy(w io.Writer, indent string, p domain.SafetyPolicy) {
	t := newTable(w, "")
	t.maxCell = 100
	t.row(indent, "global_per_hour", fmt.Sprintf("%d autonomous changes an hour across all posts", p.GlobalPerHour))
	t.row(indent, "per_post_per_hour", fmt.Sprintf("%d changes an hour to one post", p.PerPostPerHour))
	limits := make([]string, 0, len(p.LengthLimits))
	for _, name := range slices.Sorted(maps.Keys(p.LengthLimits)) {
		limits = append(limits, fmt.Sprintf("%s %d", name, p.LengthLimits[name]))
	}
	t.row(indent, "length_limits", fmt.Sprintf("%s (characters; graphemes on %s)", strings.Join(limits, ", "), domain.PlatformBluesky))
	terms := make([]string, len(p.BannedTerms))
	for i, term := range p.BannedTerms {
		terms[i] = fmt.Sprintf("%q", term)
	}
	banned := "none"
	if len(terms) > 0 {
		banned = fmt.Sprintf("%d: %s", len(terms), strings.Join(terms, ", "))
	}
	t.row(indent, "banned_terms", banned)
	t.row(indent, "approval_risk", fmt.Sprintf("%d (from this risk on, an action awaits a person's approval)", p.ApprovalRisk))
	t.row(indent, "critical_risk", fmt.Sprintf("%d (a request at this risk locks)", p.CriticalRisk))
	approval := "none"
	if len(p.ApprovalActions) > 0 {
		names := make([]string, len(p.ApprovalActions))
		for i, a := range p.ApprovalActions {
			names[i] = string(a)
		}
		approval = strings.Join(names, ", ") + " (whatever the risk, awaits a person's approval)"
	}
	t.row(indent, "approval_actions", approval)
	t.flush()
}
