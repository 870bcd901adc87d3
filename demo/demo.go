// Package demo starts a small set of posts with accelerated intervals (seconds instead of
// minutes) whose engagement curves on the simulated platform produce all three tiers, a
// cooldown, an action awaiting a person's approval and, through a faulty agent, the lock,
// within a few minutes.
package demo

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/domain"
	"resurge/platform/sim"
	"resurge/workflows"
)

// Config is the accelerated evaluation config of demo posts: with the simulated platform at
// 60x (one real second is one simulated minute) it is the product default scaled down.
func Config() domain.EvaluationConfig {
	return domain.EvaluationConfig{
		Window:              30 * time.Second,
		MinSamples:          3,
		SampleInterval:      5 * time.Second,
		CommentCooldown:     10 * time.Second,
		EditCooldown:        20 * time.Second,
		ThreadCooldown:      30 * time.Second,
		MaxActionsPerWindow: 2,
		Horizon:             15 * time.Minute,
	}
}

// Post describes one demo post and what it shows.
type Post struct {
	Input workflows.PostInput
	Shows string
}

// FailOncePostID is the demo post whose first action the simulated platform rejects with a 400,
// so its record fails and the next attempt waits for the edit cooldown.
const FailOncePostID = "stall-cooldown"

// Posts returns the demo set. The simulated platform picks each post's curve from its ID
// prefix: grow- engages well (tier 1 → comment), stall- engages weakly (tier 2 → edit), die-
// does not engage (tier 3 → thread), gone- is deleted after a while (the workflow ends).
func Posts() []Post {
	mk := func(id, agent, shows string) Post {
		return Post{Shows: shows, Input: workflows.PostInput{
			Config: Config(),
			Post: domain.Post{
				ID: id, Platform: domain.PlatformSim, Agent: agent,
				CommentText: "Curious what you all think about this, replies welcome!",
				EditText:    "Edit: added the numbers people asked for.",
				ThreadTexts: []string{"A few more details, 1/2:", "And the takeaway, 2/2."},
			},
		}}
	}
	posts := []Post{
		mk("grow-launch", "brand", "healthy: tier 1, one comment"),
		mk("stall-recap", "brand", "weak engagement: tier 2, one edit"),
		mk(ApprovalPostID, "brand", "no engagement: tier 3, a thread that awaits YOUR approval (the demo policy sends every thread to a person)"),
		mk(FailOncePostID, "brand", "first edit rejected (400): failed, then a cooldown timer, then the edit"),
		mk("gone-promo", "brand", "deleted on the platform after a while: ends with post_gone"),
	}
	// The faulty agent's posts sample more slowly, so the brand's posts act before the lock.
	// They edit (stall-: tier 2), since threads wait for a person in the demo.
	for i := 1; i <= FaultyPosts; i++ {
		p := mk(faultyPostID(i), FaultyAgent, "")
		p.Input.Config.SampleInterval = 15 * time.Second
		p.Input.Config.Window = 45 * time.Second
		if i == 1 {
			p.Shows = fmt.Sprintf("(and %d more) agent %s: the platform rejects its first action → monitor tier 3 → systemic alert → arbiter LOCKED", FaultyPosts-1, FaultyAgent)
			posts = append(posts, p)
			continue
		}
		p.Shows = "-"
		posts = append(posts, p)
	}
	return posts
}

// The faulty agent of the demo and how many posts it has: enough failures for the monitor's
// tier 3 lock criteria (confidence ≥ 0.65 needs 6 outcomes, 3 consecutive failures).
const (
	FaultyAgent = "faulty-bot"
	FaultyPosts = 7
)

func faultyPostID(i int) string { return fmt.Sprintf("stall-faulty-%d", i) }

// ApprovalPostID is the demo post whose action (a thread) awaits a person's approval.
const ApprovalPostID = "die-teaser"

// Policy is the demo's safety policy: the defaults, with every thread awaiting a person's
// approval, so the demo shows an approval waiting (die-teaser's thread) beside everything else.
func Policy() domain.SafetyPolicy {
	p := domain.DefaultSafetyPolicy()
	p.ApprovalActions = []domain.ActionType{domain.ActionThread}
	return p
}

// ApproveCommand is what the demo tells the user to run to approve the waiting thread.
const ApproveCommand = `go run ./starter approve ` + ApprovalPostID + ` --operator you --reason "read the thread, it is fine"`

// Start starts every demo post (idempotently) and returns them.
func Start(ctx context.Context, c client.Client) ([]Post, error) {
	posts := Posts()
	for _, p := range posts {
		if _, err := workflows.StartPost(ctx, c, p.Input); err != nil {
			return nil, fmt.Errorf("demo post %s: %w", p.Input.Post.ID, err)
		}
	}
	return posts, nil
}

// Faults makes the simulated platform reject the first action of FailOncePostID and of each
// of the faulty agent's posts with a 400 (after a release, their next attempts succeed).
func Faults() sim.Faults {
	rules := []sim.FaultRule{{Kind: sim.FaultBadRequest, Scope: sim.ScopeActions, PostID: FailOncePostID, Next: 1}}
	for i := 1; i <= FaultyPosts; i++ {
		rules = append(rules, sim.FaultRule{Kind: sim.FaultBadRequest, Scope: sim.ScopeActions, PostID: faultyPostID(i), Next: 1})
	}
	return sim.Faults{Rules: rules}
}
