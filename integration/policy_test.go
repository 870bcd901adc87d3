package integration

import (
	"slices"
	"strings"
	"testing"
	"time"

	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/workflows"
)

// TestPolicyReachesTheRunningArbiter: a policy sent to the arbiter already running (what
// `starter set-policy` and a worker with RESURGE_SAFETY_POLICY_FILE do) applies to the next
// requests: a post whose comment the new policy bans is blocked with the policy's reason,
// while a post whose texts it allows still acts. The arbiter's state shows the policy.
func TestPolicyReachesTheRunningArbiter(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	fs := startFaultStack(t, devstack.Options{})
	ctx := testContext(t, 2*time.Minute)

	before, err := fs.safety.ArbiterState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before.Policy.BannedTerms, domain.DefaultSafetyPolicy().BannedTerms) {
		t.Fatalf("the arbiter starts with %+v, want the default policy", before.Policy)
	}
	policy := domain.DefaultSafetyPolicy()
	policy.BannedTerms = append(policy.BannedTerms, "what do you think")
	if err := fs.safety.SetPolicy(ctx, policy); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the arbiter applying the policy", func() (bool, string) {
		st, err := fs.safety.ArbiterState(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.Counters.PolicyUpdates == 1 && slices.Contains(st.Policy.BannedTerms, "what do you think"),
			strings.Join(st.Policy.BannedTerms, ", ")
	})

	banned := testPost("grow-policy", "agent-policy-1") // tier 1: "What do you think?"
	allowed := testPost("die-policy", "agent-policy-2") // tier 3: a thread "1/2", "2/2"
	startPosts(t, fs.Stack, banned, allowed)
	sts := waitPosts(t, fs, time.Minute, "both posts decided", []string{banned.Post.ID, allowed.Post.ID},
		func(st workflows.PostStatus) bool {
			return faultcheck.HasStatus(st, domain.StatusBlocked) || faultcheck.HasStatus(st, domain.StatusSuccess)
		})
	if r := sts[banned.Post.ID].Log[0]; r.Status != domain.StatusBlocked ||
		!strings.Contains(strings.Join(r.Reasons, "; "), `banned term "what do you think"`) {
		t.Errorf("%s: %+v, want blocked for the banned term", banned.Post.ID, r)
	}
	if r := sts[allowed.Post.ID].Log[0]; r.Status != domain.StatusSuccess {
		t.Errorf("%s: %+v, want it to act", allowed.Post.ID, r)
	}
	for _, e := range fs.Sim.Effects() {
		if e.PostID == banned.Post.ID {
			t.Errorf("the banned comment reached the platform: %+v", e)
		}
	}
}
