package main

import (
	"context"
	"fmt"
	"strings"

	"resurge/domain"
)

const planHelp = `Reads ONE JSON plan request, decodes it exactly as the workflow's inputs are decoded, runs
the workflow's own planner on it and prints the plan as one JSON object. Nothing connects to
Temporal. The request comes from --file F, the positional F, or stdin ("-" or nothing):

  {"post_id": "p1", "platform": "sim", "now": "2026-11-25T12:00:00Z",
   "samples": [{"at": "...", "impressions": 1000, "engagements": 10}, ...],
   "log": [ ...records of the reference executor's persisted history... ],
   "config": {"window": "90m", "min_samples": 3, ...},
   "started_at": "...", "cadence": { ...the status query's cadence... }}

platform, samples, log and config are optional: platform (sim, mastodon or bluesky, default
sim) chooses the stagnation formula and the tiers' actions as the workflow does (Mastodon and
Bluesky report no impressions and are scored by engagement velocity; Bluesky cannot edit, so
its tier 2 is a quote, with its own key); config overrides the defaults field by field. A
Bluesky post_id is the post's AT URI (at://<did>/app.bsky.feed.post/<rkey>), as its workflow
names it. The plan's "cadence" says when the post samples next and why: on the adaptive cadence
(the default) from started_at (default: the first sample) and the cadence in force, if given.
Bad input exits 2 with an error naming the field.
`

func runPlan(_ context.Context, e *env, args []string) error {
	fs := e.newFlagSet("plan")
	file := fs.String("file", "", "read the request from `F` (\"-\" for stdin)")
	pos, err := e.parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	data, _, err := readDocument(e, "plan", *file, pos, domain.MaxRequestBytes, "the request")
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(data)) == "" {
		return usageErrorf("plan: no input: want one JSON plan request")
	}
	req, err := domain.DecodePlanRequest(data)
	if err != nil {
		return asUsage(fmt.Errorf("plan: %w", err))
	}
	return printJSON(e.stdout, req.Plan())
}
