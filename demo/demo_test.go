package demo

import (
	"strings"
	"testing"

	"resurge/domain"
)

// TestDemoShowsEverything: the demo set has a post for each story it tells, one action that
// awaits approval under its policy (die-teaser's thread), and a faulty agent whose posts do not
// wait for anyone (their first actions fail, so the monitor locks).
func TestDemoShowsEverything(t *testing.T) {
	p := Policy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	faults := map[string]bool{}
	for _, r := range Faults().Rules {
		faults[r.PostID] = true
	}
	awaiting, faulty := 0, 0
	for _, post := range Posts() {
		in := post.Input
		if err := in.Post.Validate(); err != nil {
			t.Fatalf("%s: %v", in.Post.ID, err)
		}
		if err := in.Config.Validate(); err != nil {
			t.Fatalf("%s: %v", in.Post.ID, err)
		}
		// The simulated platform picks the curve from the prefix: die- stagnates (a thread).
		thread := strings.HasPrefix(in.Post.ID, "die-")
		if thread && p.NeedsApproval(domain.ActionThread) {
			awaiting++
			if in.Post.ID != ApprovalPostID || !strings.Contains(post.Shows, "approval") {
				t.Errorf("%s would await approval; only %s should, and say so (%q)", in.Post.ID, ApprovalPostID, post.Shows)
			}
		}
		if in.Post.Agent == FaultyAgent {
			faulty++
			if thread || !faults[in.Post.ID] {
				t.Errorf("faulty post %s must act at once (no thread to approve) and fail its first action", in.Post.ID)
			}
		}
	}
	if awaiting != 1 || faulty != FaultyPosts {
		t.Fatalf("want 1 post awaiting approval and %d faulty ones, got %d and %d", FaultyPosts, awaiting, faulty)
	}
	if !strings.Contains(ApproveCommand, "starter approve "+ApprovalPostID+" --operator ") {
		t.Fatalf("approve command %q", ApproveCommand)
	}
}
