package integration

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform"
	"resurge/platform/sim"
	"resurge/workflows"
)

// isActionCall reports whether r is an action on post id (comment, edit or thread).
func isActionCall(r simRequest, id string) bool {
	return r.Method != http.MethodGet && (r.Path == "/v1/posts/"+id || strings.HasPrefix(r.Path, "/v1/posts/"+id+"/"))
}

// TestFaultTransientStorm: 30% of every platform call (metrics, actions, effects lookups) fails
// transiently: 429 with Retry-After, 503, replies stalled past the client's timeout and dropped
// connections, half of the stalls and drops after the effect was made. Every due action still
// succeeds, and the platform has exactly the effects the workflows planned, one per key.
func TestFaultTransientStorm(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	n := 30 * soakRounds()
	// 30% of the calls fail in all (rules are tried in order, the first that fires wins):
	// stalls past the client's 10 s timeout are 2.5% each (with and without the effect made),
	// since each costs 10 s; 429, 503 and drops (with and without the effect) share the rest.
	slowP := 0.025
	p := 1 - math.Pow(0.7/math.Pow(1-slowP, 2), 1.0/4)
	slow := 11 * time.Second
	faults := sim.Faults{Seed: 20260601, Rules: []sim.FaultRule{
		{Kind: sim.FaultRateLimit, Probability: p, RetryAfter: time.Second},
		{Kind: sim.FaultUnavailable, Probability: p},
		{Kind: sim.FaultSlow, Probability: slowP, Delay: slow},
		{Kind: sim.FaultSlow, Probability: slowP, Delay: slow, EffectFirst: true},
		{Kind: sim.FaultDrop, Probability: p},
		{Kind: sim.FaultDrop, Probability: p, EffectFirst: true},
	}}
	fs := startFaultStack(t, devstack.Options{SimFaults: faults})
	// One agent per post: an agent's monitor grades it only from 3 outcomes on, so slow
	// successes cannot make an agent look anomalous and get its actions denied.
	// A wide window: with stalls of 10 s, three samples seldom fit in fastConfig's 6 s.
	cfg := faultcheck.FastConfig()
	cfg.Window = 20 * time.Second
	posts := faultcheck.CurvePosts("storm", n, func(i int) string { return fmt.Sprintf("agent-storm-%d", i) }, cfg)
	begin := time.Now()
	faultcheck.StartPosts(t, fs.Client, posts)
	waitPosts(t, fs, 4*time.Minute, "every due action recorded as a success", faultcheck.PostIDs(posts),
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })
	t.Logf("every post acted %s after the first start", time.Since(begin).Round(time.Millisecond))
	// The storm is over: actions still on their way finish normally, then the posts stop.
	if err := fs.Sim.SetFaults(sim.Faults{}); err != nil {
		t.Fatal(err)
	}
	logs := faultcheck.StopPosts(t, fs.Client, faultcheck.PostIDs(posts))
	faultcheck.CheckOneEffectPerRecord(t, fs.Sim.Effects(), logs)
	for id, log := range logs {
		for _, r := range log {
			if r.Status != domain.StatusSuccess {
				t.Errorf("%s: record %s is %s (%s %v): a transient failure must be retried until it succeeds", id, r.Key, r.Status, r.ErrorCode, r.Reasons)
			}
		}
	}
	// The retries happened inside the action: no action ended failed, not even for a while
	// (the monitors heard only successes). A failure that surfaced would count against the
	// agent, and enough of them would lock every autonomous change.
	for _, p := range posts {
		st, err := fs.safety.MonitorStatus(t.Context(), p.Post.Agent)
		if err != nil {
			t.Fatalf("monitor of %s: %v", p.Post.Agent, err)
		}
		for _, o := range st.Outcomes {
			if o.Status != domain.StatusSuccess {
				t.Errorf("%s reported a %s outcome (%s) to its monitor: a transient failure surfaced", o.PostID, o.Status, o.ErrorCode)
			}
		}
	}

	// The storm did blow: count what the platform answered.
	reqs := fs.logs.requestsMatching(func(r simRequest) bool { return strings.HasPrefix(r.Path, "/v1/") })
	byStatus := map[int]int{}
	retried := 0
	for _, r := range reqs {
		byStatus[r.Status]++
	}
	actions := 0
	for _, log := range logs {
		for _, r := range log {
			actions++
			if r.Attempts > 1 {
				retried++
			}
		}
	}
	t.Logf("%d platform calls: %d answered 429, %d answered 503 (plus stalls and drops); %d of %d actions took more than one attempt",
		len(reqs), byStatus[429], byStatus[503], retried, actions)
	if byStatus[429] == 0 || byStatus[503] == 0 || retried == 0 {
		t.Errorf("the storm did not reach the actions: %v, %d actions retried", byStatus, retried)
	}
}

// TestFaultNonTransient: 400, 401, 403 and 404 on an action are attempted exactly once (no
// retry by the activity, nor by the HTTP client) and recorded as failed with their code; the
// post keeps running. A 404 on metrics (the post is gone) ends the post's workflow with reason
// post_gone, as does a post deleted on the platform after it acted.
func TestFaultNonTransient(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	cfg := faultcheck.FastConfig()
	// Cooldowns longer than the test: a failed record counts as an attempt, and the planner
	// (as the reference executor) may try a failed key again once its cooldown is over.
	cfg.CommentCooldown, cfg.EditCooldown, cfg.ThreadCooldown = 10*time.Minute, 10*time.Minute, 10*time.Minute
	codes := []struct {
		kind   sim.FaultKind
		status int
		code   string
	}{
		{sim.FaultBadRequest, 400, platform.CodeBadRequest},
		{sim.FaultUnauthorized, 401, platform.CodeUnauthorized},
		{sim.FaultForbidden, 403, platform.CodeForbidden},
		{sim.FaultNotFound, 404, platform.CodeNotFound},
	}
	var posts []workflows.PostInput
	var rules []sim.FaultRule
	want := map[string]int{} // post → index in codes
	for i, c := range codes {
		for j, curve := range []sim.Curve{sim.CurveGrow, sim.CurveStall, sim.CurveDie} {
			id := fmt.Sprintf("%s-nt%d", curve, c.status)
			p := testPost(id, fmt.Sprintf("agent-nt-%d-%d", i, j)) // one agent each: no monitor locks
			p.Config = cfg
			posts = append(posts, p)
			want[id] = i
			rules = append(rules, sim.FaultRule{Kind: c.kind, Scope: sim.ScopeActions, PostID: id, Probability: 1})
		}
	}
	gone := testPost("grow-nt-metrics404", "agent-nt-gone")
	gone.Config = cfg
	deleted := testPost("grow-nt-deleted", "agent-nt-deleted")
	deleted.Config = cfg
	rules = append(rules, sim.FaultRule{Kind: sim.FaultNotFound, Scope: sim.ScopeMetrics, PostID: gone.Post.ID, Probability: 1})

	fs := startFaultStack(t, devstack.Options{SimFaults: sim.Faults{Rules: rules}})
	faultcheck.StartPosts(t, fs.Client, append(append([]workflows.PostInput{}, posts...), gone, deleted))

	sts := waitPosts(t, fs, 2*time.Minute, "every action recorded as failed", faultcheck.PostIDs(posts),
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusFailed) })
	// Give a retry, if there were one, time to happen (the activity's first retry comes after
	// 2 s), then look again.
	time.Sleep(4 * time.Second)
	sts, err := faultcheck.Statuses(t.Context(), fs.Client, faultcheck.PostIDs(posts))
	if err != nil {
		t.Fatal(err)
	}
	for id, st := range sts {
		c := codes[want[id]]
		if len(st.Log) != 1 {
			t.Errorf("%s: %d records, want 1: %+v", id, len(st.Log), st.Log)
			continue
		}
		r := st.Log[0]
		if r.Status != domain.StatusFailed || r.ErrorCode != c.code || r.Attempts != 1 || r.FinishedAt.IsZero() ||
			len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], fmt.Sprintf("HTTP %d", c.status)) {
			t.Errorf("%s: record %+v, want failed with %s (HTTP %d) after 1 attempt", id, r, c.code, c.status)
		}
		calls := fs.logs.requestsMatching(func(r simRequest) bool { return isActionCall(r, id) })
		if len(calls) != 1 || calls[0].Status != c.status {
			t.Errorf("%s: the platform received %+v, want exactly one action call answered %d", id, calls, c.status)
		}
		if lookups := fs.logs.requestsMatching(func(r simRequest) bool { return strings.HasPrefix(r.Path, "/v1/posts/"+id+"/effects") }); len(lookups) != 0 {
			t.Errorf("%s: %d effects lookups for an action that was never retried", id, len(lookups))
		}
		if st.State == workflows.StateDone || st.EndReason != "" {
			t.Errorf("%s: the post stopped (%s %s); a failed action must not end it", id, st.State, st.EndReason)
		}
	}
	if n := len(fs.Sim.Effects()); n != 0 {
		// The deleted post may act before it is deleted; nothing else may.
		for _, e := range fs.Sim.Effects() {
			if e.PostID != deleted.Post.ID {
				t.Errorf("effect on %s although every action there was refused: %+v", e.PostID, e)
			}
		}
	}

	// A 404 on metrics: the workflow ends, post_gone, after one metrics call (no retry).
	ctx := testContext(t, time.Minute)
	var sum workflows.PostSummary
	if err := fs.Client.GetWorkflow(ctx, workflows.PostWorkflowID(gone.Post.ID), "").Get(ctx, &sum); err != nil {
		t.Fatalf("%s: %v", gone.Post.ID, err)
	}
	if sum.EndReason != workflows.EndPostGone || len(sum.Actions) != 0 {
		t.Errorf("%s: summary %+v, want end reason post_gone and no actions", gone.Post.ID, sum)
	}
	if calls := fs.logs.requestsMatching(func(r simRequest) bool { return r.Path == "/v1/posts/"+gone.Post.ID+"/metrics" }); len(calls) != 1 || calls[0].Status != 404 {
		t.Errorf("%s: metrics calls %+v, want exactly one answered 404", gone.Post.ID, calls)
	}

	// A post the platform deletes after it acted: its next sample ends it, its log kept.
	waitPosts(t, fs, time.Minute, "the post to be deleted acting", []string{deleted.Post.ID},
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })
	fs.Sim.DeletePost(deleted.Post.ID)
	if err := fs.Client.GetWorkflow(ctx, workflows.PostWorkflowID(deleted.Post.ID), "").Get(ctx, &sum); err != nil {
		t.Fatalf("%s: %v", deleted.Post.ID, err)
	}
	if sum.EndReason != workflows.EndPostGone || len(sum.Actions) != 1 || sum.Actions[0].Status != domain.StatusSuccess {
		t.Errorf("%s: summary %+v, want post_gone with its successful action kept", deleted.Post.ID, sum)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		t.Errorf("post_gone must complete the workflow, not fail it: %v", appErr)
	}
}
