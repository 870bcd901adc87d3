package mastodon_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"resurge/activities"
	"resurge/domain"
	"resurge/platform"
)

// performWorkflow runs PerformAction under a retry policy, as the post workflow does.
func performWorkflow(ctx workflow.Context, in activities.ActionInput) (activities.ActionResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.NonRetryableTypes},
	})
	var res activities.ActionResult
	err := workflow.ExecuteActivity(ctx, "PerformAction", in).Get(ctx, &res)
	return res, err
}

// perform runs one action through the real PerformAction activity and its retries, against f.
func perform(t *testing.T, f *fakeMastodon, in activities.ActionInput) activities.ActionResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	c := newClient(t, f.URL())
	env.RegisterActivity(&activities.Activities{Platforms: map[string]platform.Platform{domain.PlatformMastodon: c}})
	env.RegisterWorkflow(performWorkflow)
	env.ExecuteWorkflow(performWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res activities.ActionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// Through the activity: the first attempt's comment is posted but its reply lost, on a server
// that ignores Idempotency-Key; the retry verifies, finds it and posts nothing.
func TestPerformActionVerifiesALostCommentOnMastodon(t *testing.T) {
	f := newFakeMastodon(t)
	f.setHonorKeys(false)
	first := true
	f.setAfterCreate(func(w http.ResponseWriter, _ *http.Request, _ *fakeStatus) bool {
		if first {
			first = false
			dropConnection(w)
			return true
		}
		return false
	})
	res := perform(t, f, activities.ActionInput{PostID: postID, Platform: domain.PlatformMastodon,
		Action: domain.ActionComment, Tier: domain.Tier1, Key: keyComment, Text: "Worth a second look"})
	replies := f.repliesTo(postID)
	if len(replies) != 1 || f.count(http.MethodPost, "/api/v1/statuses") != 1 {
		t.Fatalf("%d replies after %d POSTs, want one of each", len(replies), f.count(http.MethodPost, "/api/v1/statuses"))
	}
	if !res.Verified || res.Attempts != 2 || res.Effect.ID != replies[0].ID || !res.Effect.Replayed {
		t.Fatalf("result %+v, want the comment found on attempt 2", res)
	}
}

// Through the activity: part 2 of 3 fails with a 503; the retry continues the chain.
func TestPerformActionContinuesAThreadOnMastodon(t *testing.T) {
	f := newFakeMastodon(t)
	f.setHonorKeys(false)
	posts := 0
	f.setBefore(func(w http.ResponseWriter, r *http.Request, _ request) bool {
		if r.Method == http.MethodPost {
			if posts++; posts == 2 {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "Service Unavailable"})
				return true
			}
		}
		return false
	})
	parts := []string{"one", "two", "three"}
	res := perform(t, f, activities.ActionInput{PostID: postID, Platform: domain.PlatformMastodon,
		Action: domain.ActionThread, Tier: domain.Tier3, Key: keyThread, Parts: parts})
	chain := chainFrom(f, postID)
	if len(chain) != 3 || !reflect.DeepEqual(res.Effect.IDs, chain) || res.Verified || res.Attempts != 2 {
		t.Fatalf("result %+v, chain %v: want the 3-part chain made over 2 attempts", res, chain)
	}
	for i, id := range chain {
		if s := f.status(id); !strings.HasPrefix(s.Text, parts[i]+"\n\n") {
			t.Errorf("part %d is %q", i+1, s.Text)
		}
		if n := len(f.repliesTo(id)); i < 2 && n != 1 {
			t.Errorf("part %d has %d replies, want 1", i+1, n)
		}
	}
	if n := len(f.repliesTo(postID)); n != 1 {
		t.Fatalf("the post has %d replies, want 1", n)
	}
}

// The marker is found however the server marks it up: split by tags, or with entities.
func TestFindEffectReadsTheMarkerThroughMarkup(t *testing.T) {
	for _, content := range []string{
		`<p>Worth a look</p><p>[rs:<span class="x">878d89c3</span>]</p>`,
		`<p>Worth a look<br />&#91;rs&#58;878d89c3&#93;</p>`,
	} {
		f := newFakeMastodon(t)
		f.setBefore(func(w http.ResponseWriter, r *http.Request, _ request) bool {
			if !strings.HasSuffix(r.URL.Path, "/context") {
				return false
			}
			writeJSON(w, http.StatusOK, map[string]any{"ancestors": []any{}, "descendants": []any{map[string]any{
				"id": "555", "created_at": "2025-03-01T11:30:00.000Z", "in_reply_to_id": postID, "visibility": "public",
				"content": content, "account": map[string]any{"id": selfID, "followers_count": 1},
				"replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
			}}})
			return true
		})
		c := newClient(t, f.URL())
		e, found, err := c.FindEffect(ctx, postID, keyComment)
		if err != nil || !found || e.ID != "555" {
			t.Errorf("content %s: %+v, found %v, err %v", content, e, found, err)
		}
	}
}
