package integration

import (
	"fmt"
	"testing"
	"time"

	"resurge/app"
	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/workflows"
)

// TestBudgetDenialWaitsForAFreeSlot: with a global budget of one change an hour, a first post
// acts and a second is refused for the budget only. The refusal says when the slot frees
// (retry_at, an hour after the first change in the arbiter's record), and the second post keeps
// sampling without asking the arbiter again before then. Its history is the committed one of
// that path.
func TestBudgetDenialWaitsForAFreeSlot(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	policy := domain.DefaultSafetyPolicy()
	policy.GlobalPerHour = 1
	fs := startFaultStack(t, devstack.Options{Safety: app.SafetyConfig{Policy: policy}})
	ctx := testContext(t, 2*time.Minute)

	first, second := testPost("die-budget-1", "agent-budget"), testPost("grow-budget-2", "agent-budget")
	startPosts(t, fs.Stack, first)
	waitPosts(t, fs, time.Minute, "the first post acting", []string{first.Post.ID},
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })
	startPosts(t, fs.Stack, second)
	sts := waitPosts(t, fs, time.Minute, "the second post refused", []string{second.Post.ID},
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusBlocked) })
	st := sts[second.Post.ID]
	d := st.LastPermission
	arb, err := fs.safety.ArbiterState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || d.Decision != domain.DecisionDeny || len(arb.Allowed) != 1 || !d.RetryAt.Equal(arb.Allowed[0].At.Add(time.Hour)) {
		t.Fatalf("decision %+v, allowed %+v: want a budget denial until an hour after the one allowed change", d, arb.Allowed)
	}
	if st.BudgetRetryAt == nil || st.BudgetRetryAt.Before(d.RetryAt) || !st.BudgetRetryAt.Before(d.RetryAt.Add(second.Config.SampleInterval)) {
		t.Fatalf("budget_retry_at %v, want retry_at %s plus under one interval of jitter", st.BudgetRetryAt, d.RetryAt)
	}

	// It keeps sampling, eligible every cycle, and asks nothing more.
	cycles := st.Cycles
	eventually(t, time.Minute, "ten more cycles", func() (bool, string) {
		s, err := workflows.QueryPostStatus(ctx, fs.Client, second.Post.ID)
		if err != nil {
			return false, err.Error()
		}
		st = s
		return s.Cycles >= cycles+10, fmt.Sprintf("%d cycles", s.Cycles)
	})
	arb, err = fs.safety.ArbiterState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if arb.Counters.Denied != 1 || arb.Counters.Allowed != 1 || st.State != workflows.StateBlocked || st.LastPlan == nil || !st.LastPlan.Eligible {
		t.Fatalf("after %d cycles: arbiter %+v, post %s with plan %+v: want one denial, no new request, blocked and eligible",
			st.Cycles-cycles, arb.Counters, st.State, st.LastPlan)
	}
	if err := workflows.StopPost(ctx, fs.Client, second.Post.ID, workflows.StopRequest{Reason: "test done"}); err != nil {
		t.Fatal(err)
	}
	var sum workflows.PostSummary
	if err := fs.Client.GetWorkflow(ctx, workflows.PostWorkflowID(second.Post.ID), "").Get(ctx, &sum); err != nil {
		t.Fatal(err)
	}
	checkReplay(t, fs.Client, workflows.PostWorkflowID(second.Post.ID), "post_budget_retry")
}
