// Package demo starts a small set of posts with accelerated intervals (seconds instead of
// minutes) whose engagement curves on the simulated platform produce all three tiers and a
// cooldown within a few minutes.
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
	return []Post{
		mk("grow-launch", "brand", "healthy: tier 1, one comment"),
		mk("stall-recap", "brand", "weak engagement: tier 2, one edit"),
		mk("die-teaser", "brand", "no engagement: tier 3, one thread"),
		mk(FailOncePostID, "brand", "first edit rejected (400): failed, then a cooldown timer, then the edit"),
		mk("gone-promo", "brand", "deleted on the platform after a while: ends with post_gone"),
	}
}

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

// Faults makes the simulated platform reject the first action of FailOncePostID with a 400.
func Faults() sim.Faults {
	return sim.Faults{Rules: []sim.FaultRule{
		{Kind: sim.FaultBadRequest, Scope: sim.ScopeActions, PostID: FailOncePostID, Next: 1},
	}}
}
