package faultcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/domain"
	"resurge/platform"
	"resurge/platform/sim"
	"resurge/workflows"
)

// FastConfig is an evaluation config in seconds: with the simulated platform at 60x, a second
// is a simulated minute.
func FastConfig() domain.EvaluationConfig {
	return domain.EvaluationConfig{
		Window:              6 * time.Second,
		MinSamples:          3,
		SampleInterval:      time.Second,
		CommentCooldown:     2 * time.Second,
		EditCooldown:        3 * time.Second,
		ThreadCooldown:      4 * time.Second,
		MaxActionsPerWindow: 2,
		Horizon:             3 * time.Minute,
	}
}

// MassConfig is the configuration of the many-post tests: 3 samples 2 s apart (2 simulated
// minutes at 60x) before the first plan, long enough horizons to stay open.
func MassConfig() domain.EvaluationConfig {
	return domain.EvaluationConfig{
		Window:              8 * time.Second,
		MinSamples:          3,
		SampleInterval:      2 * time.Second,
		CommentCooldown:     3 * time.Second,
		EditCooldown:        4 * time.Second,
		ThreadCooldown:      5 * time.Second,
		MaxActionsPerWindow: 2,
		Horizon:             10 * time.Minute,
	}
}

// NewPost is a post on the simulated platform with texts for every action.
func NewPost(id, agent string, cfg domain.EvaluationConfig) workflows.PostInput {
	return workflows.PostInput{
		Config: cfg,
		Post: domain.Post{
			ID: id, Platform: domain.PlatformSim, Agent: agent,
			CommentText: "What do you think?", EditText: "Edit: more details", ThreadTexts: []string{"1/2", "2/2"},
		},
	}
}

// CurvePosts returns n posts "<curve>-<tag>-<i>", the curve cycling through grow, stall and
// die so that every action type (comment, edit, thread) is exercised.
func CurvePosts(tag string, n int, agent func(i int) string, cfg domain.EvaluationConfig) []workflows.PostInput {
	curves := []sim.Curve{sim.CurveGrow, sim.CurveStall, sim.CurveDie}
	out := make([]workflows.PostInput, n)
	for i := range out {
		out[i] = NewPost(fmt.Sprintf("%s-%s-%d", curves[i%3], tag, i), agent(i), cfg)
	}
	return out
}

// PostIDs are the posts' IDs.
func PostIDs(posts []workflows.PostInput) []string {
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.Post.ID
	}
	return ids
}

// Parallel runs f(0..n-1) with at most width calls at once and returns their errors.
func Parallel(n, width int, f func(i int) error) []error {
	errs := make([]error, n)
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// StartPosts starts posts with a few starts in flight at once and returns each one's run ID.
func StartPosts(t testing.TB, c client.Client, posts []workflows.PostInput) map[string]string {
	t.Helper()
	runs := make([]string, len(posts))
	errs := Parallel(len(posts), 16, func(i int) error {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		run, err := workflows.StartPost(ctx, c, posts[i])
		if err == nil {
			runs[i] = run.GetRunID()
		}
		return err
	})
	out := map[string]string{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", posts[i].Post.ID, err)
		}
		out[posts[i].Post.ID] = runs[i]
	}
	return out
}

// Statuses queries every post's status, a few at a time. It returns the statuses that could be
// read and the first error.
func Statuses(ctx context.Context, c client.Client, ids []string) (map[string]workflows.PostStatus, error) {
	out := make([]workflows.PostStatus, len(ids))
	errs := Parallel(len(ids), 16, func(i int) error {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		st, err := workflows.QueryPostStatus(ctx, c, ids[i])
		out[i] = st
		return err
	})
	// Every status that came back is kept: one query that timed out (its workflow task busy
	// with a stalled local activity) must not hide the others.
	m := make(map[string]workflows.PostStatus, len(ids))
	var first error
	for i, id := range ids {
		if errs[i] != nil {
			if first == nil {
				first = fmt.Errorf("status of %s: %w", id, errs[i])
			}
			continue
		}
		m[id] = out[i]
	}
	return m, first
}

// WaitPosts polls the posts not done yet until done holds for each, or d passes; then it calls
// explain (if set) with a post that is not there, and fails the test. It returns the last
// status of each post.
func WaitPosts(t testing.TB, c client.Client, d time.Duration, what string, ids []string, done func(workflows.PostStatus) bool, explain func(id string)) map[string]workflows.PostStatus {
	t.Helper()
	deadline := time.Now().Add(d)
	last := map[string]workflows.PostStatus{}
	pending := slices.Clone(ids)
	var lastErr error
	for len(pending) > 0 && time.Now().Before(deadline) {
		sts, err := Statuses(t.Context(), c, pending)
		lastErr = err
		var still []string
		for _, id := range pending {
			st, ok := sts[id]
			if ok {
				last[id] = st
			}
			if !ok || !done(st) {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) > 0 {
			time.Sleep(time.Second)
		}
	}
	if len(pending) > 0 {
		id := pending[0]
		st := last[id]
		if explain != nil {
			explain(id)
		}
		t.Fatalf("timed out after %s waiting for %s: %d of %d posts not there, e.g. %s: state=%s cycles=%d last_error=%q log=%+v rejected=%+v (last query error: %v)",
			d, what, len(pending), len(ids), id, st.State, st.Cycles, st.LastError, st.Log, st.Rejected, lastErr)
	}
	return last
}

// HasStatus reports whether the post's log has a record with status s.
func HasStatus(st workflows.PostStatus, s domain.ActionStatus) bool {
	return slices.ContainsFunc(st.Log, func(r domain.ActionRecord) bool { return r.Status == s })
}

// SuccessOutcome returns the post's successful record and its effect as the workflow saw it.
func SuccessOutcome(t testing.TB, id string, st workflows.PostStatus) (domain.ActionRecord, platform.Effect) {
	t.Helper()
	for _, r := range st.Log {
		if r.Status == domain.StatusSuccess {
			var e platform.Effect
			if err := json.Unmarshal(r.Outcome, &e); err != nil {
				t.Fatalf("%s: outcome %s: %v", id, r.Outcome, err)
			}
			return r, e
		}
	}
	t.Fatalf("%s: no successful record in %+v", id, st.Log)
	return domain.ActionRecord{}, platform.Effect{}
}

// StopPosts stops the posts and returns their final action logs. A post takes a stop only
// between actions, so every record of a stopped post is final: comparing them with the
// platform cannot race with an action still on its way.
func StopPosts(t testing.TB, c client.Client, ids []string) map[string][]domain.ActionRecord {
	t.Helper()
	sums := make([]workflows.PostSummary, len(ids))
	errs := Parallel(len(ids), 16, func(i int) error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		if err := workflows.StopPost(ctx, c, ids[i], workflows.StopRequest{Reason: "test done"}); err != nil {
			return err
		}
		return c.GetWorkflow(ctx, workflows.PostWorkflowID(ids[i]), "").Get(ctx, &sums[i])
	})
	logs := make(map[string][]domain.ActionRecord, len(ids))
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatalf("stop %s: %v", id, errs[i])
		}
		if !strings.HasPrefix(sums[i].EndReason, workflows.EndStopped) {
			t.Errorf("%s ended %q before it was stopped", id, sums[i].EndReason)
		}
		logs[id] = sums[i].Actions
	}
	return logs
}
