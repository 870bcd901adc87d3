package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/api/bsky"

	"resurge/app"
	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/atprotodev"
	"resurge/internal/faultcheck"
	"resurge/platform/bluesky"
	"resurge/workflows"
)

// TestBlueskyEndToEnd runs the product against the reference AT Protocol servers
// (internal/atprotodev), over plain HTTP on loopback: the worker's Bluesky adapter is built from
// the documented environment, the post is started with the starter binary from its bsky.app
// URL, the fan's engagement is measured, and as it stalls the post's workflow replies (tier 1),
// quotes (tier 2) and threads (tier 3) as real records, each once although the replies to two
// of the writes are lost after the PDS acted (a loopback proxy); the deleted post ends the
// workflow as post_gone. Neither the app password nor a token reaches a history.
func TestBlueskyEndToEnd(t *testing.T) {
	ctx := t.Context()
	net, err := atprotodev.Start(ctx, atprotodev.Options{})
	if err != nil {
		t.Fatalf("the reference AT Protocol servers: %v", err)
	}
	t.Cleanup(net.Close)
	author, err := net.CreateAccount(ctx, "e2eauthor")
	if err != nil {
		t.Fatal(err)
	}
	fan, err := net.CreateAccount(ctx, "e2efan")
	if err != nil {
		t.Fatal(err)
	}
	px, err := net.NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)

	// The worker as the README configures it, pointed at the proxy in front of the PDS.
	t.Setenv(app.EnvBlueskyService, px.URL)
	t.Setenv(app.EnvBlueskyHandle, author.Handle)
	t.Setenv(app.EnvBlueskyAppPassword, author.AppPassword)
	cfg, err := app.PlatformConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	adapters, err := app.Platforms(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, devstack.Options{UIPort: -1, Platforms: adapters})
	starter := buildStarter(t, s) // inherits RESURGE_BLUESKY_SERVICE: resolves the handle there

	post, err := author.Post(ctx, "Our launch post: the beta is open")
	if err != nil {
		t.Fatal(err)
	}
	// Engagement from before the workflow starts: the baseline.
	if err := fan.Like(ctx, post); err != nil {
		t.Fatal(err)
	}
	if err := fan.Repost(ctx, post); err != nil {
		t.Fatal(err)
	}
	if _, err := fan.Quote(ctx, post, "Look at this"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the AppView shows the fan's engagement", func() (bool, string) {
		v, err := net.PostView(ctx, post.Uri)
		return err == nil && v != nil && *v.LikeCount == 1 && *v.RepostCount == 1 && *v.QuoteCount == 1, fmt.Sprint(v, err)
	})

	// The fan keeps replying, about twice a second, until the automation has commented.
	stopFan := make(chan struct{})
	var fanDone sync.WaitGroup
	fanDone.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stopFan:
				return
			case <-time.After(500 * time.Millisecond): // the pace of the engagement, not a wait
			}
			if _, err := fan.Reply(ctx, post, fmt.Sprintf("Great news %d", i)); err != nil {
				t.Errorf("fan reply: %v", err)
				return
			}
		}
	})
	stopOnce := sync.OnceFunc(func() { close(stopFan); fanDone.Wait() })
	t.Cleanup(stopOnce)
	time.Sleep(3 * time.Second) // let the pace establish before the first sample

	// Two writes lose their reply after the PDS made the record: the comment's, and the second
	// thread part's (the writes go comment, quote, thread parts in order, each once).
	px.On(&atprotodev.Rule{Method: "com.atproto.repo.putRecord", Drop: true})
	px.On(&atprotodev.Rule{Method: "com.atproto.repo.putRecord", After: 2, Drop: true})

	rkey := post.Uri[strings.LastIndex(post.Uri, "/")+1:]
	url := "https://bsky.app/profile/" + author.Handle + "/post/" + rkey
	out, all, code := starter(ctx, "start", "--json", "--platform", "bluesky", "--post", url, "--agent", "e2eauthor",
		"--comment", "If you missed it: the beta is open until Friday.",
		"--edit", "Beta open until Friday: sign up at https://example.org/beta",
		"--thread", "Why we built it", "--thread", "What is in the beta", "--thread", "How to join: https://example.org/beta",
		"--sample-interval", "1s", "--window", "20s", "--min-samples", "5",
		"--comment-cooldown", "1s", "--quote-cooldown", "1s", "--thread-cooldown", "1s", "--max-actions", "3", "--horizon", "30m")
	if code != 0 {
		t.Fatalf("starter start: exit %d: %s", code, all)
	}
	var started struct {
		PostID     string `json:"post_id"`
		WorkflowID string `json:"workflow_id"`
	}
	if err := json.Unmarshal([]byte(out), &started); err != nil {
		t.Fatal(err)
	}
	if started.PostID != post.Uri || started.WorkflowID != workflows.PostWorkflowID(post.Uri) {
		t.Fatalf("started %+v: want post %s, its handle resolved to the DID", started, post.Uri)
	}

	status := func() workflows.PostStatus {
		st, err := postStatus(t, s, post.Uri)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	record := func(st workflows.PostStatus, a domain.ActionType) *domain.ActionRecord {
		for i := range st.Log {
			if st.Log[i].Action == a {
				return &st.Log[i]
			}
		}
		return nil
	}
	eventually(t, 2*time.Minute, "the comment, while the fan keeps replying", func() (bool, string) {
		st := status()
		return recordStatus(st, domain.ActionComment) == domain.StatusSuccess, fmt.Sprintf("score %.2f, log %+v, %s", st.LastScore, st.Log, st.LastError)
	})
	stopOnce() // engagement stalls
	eventually(t, 2*time.Minute, "the quote and the thread once engagement stalls", func() (bool, string) {
		st := status()
		return recordStatus(st, domain.ActionQuote) == domain.StatusSuccess && recordStatus(st, domain.ActionThread) == domain.StatusSuccess,
			fmt.Sprintf("score %.2f, log %+v, %s", st.LastScore, st.Log, st.LastError)
	})
	st := status()
	for _, rec := range st.Log {
		t.Logf("%s %s at %s: %s after %d attempts", rec.Tier, rec.Action, rec.InitiatedAt.Format(time.TimeOnly), rec.Status, rec.Attempts)
	}
	if r := record(st, domain.ActionComment); r.Attempts < 2 {
		t.Errorf("comment attempts %d: its first reply was dropped, the retry must have found the record", r.Attempts)
	}

	// The records, one each, at their derived keys, with their refs.
	keys := map[domain.ActionType]string{}
	for _, k := range domain.ActionKeys(domain.PlatformBluesky, post.Uri) {
		keys[k.Action] = k.Key
	}
	own := func(key string, part int) string {
		return "at://" + author.DID + "/app.bsky.feed.post/" + bluesky.RecordKey(key, part)
	}
	get := func(uri string) *bsky.FeedPost {
		t.Helper()
		p, err := author.GetPost(ctx, uri)
		if err != nil {
			t.Fatalf("getRecord %s: %v", uri, err)
		}
		return p
	}
	if c := get(own(keys[domain.ActionComment], 0)); c.Reply == nil || c.Reply.Parent.Uri != post.Uri || !strings.HasPrefix(c.Text, "If you missed it") {
		t.Fatalf("comment record %+v", c)
	}
	if q := get(own(keys[domain.ActionQuote], 0)); q.Embed == nil || q.Embed.EmbedRecord == nil || q.Embed.EmbedRecord.Record.Uri != post.Uri || !strings.HasPrefix(q.Text, "Beta open") {
		t.Fatalf("quote record %+v", q)
	}
	parent := post.Uri
	for i := 1; i <= 3; i++ {
		part := get(own(keys[domain.ActionThread], i))
		if part.Reply == nil || part.Reply.Parent.Uri != parent || part.Reply.Root.Uri != post.Uri {
			t.Fatalf("thread part %d %+v, want a reply to %s", i, part, parent)
		}
		parent = own(keys[domain.ActionThread], i)
	}
	if n, err := author.Posts(ctx); err != nil || n != 1+1+1+3 {
		t.Fatalf("the author's repository holds %d posts (%v), want 6: the post, one comment, one quote, three parts", n, err)
	}
	eventually(t, time.Minute, "getPostThread shows the comment and the thread under the post", func() (bool, string) {
		out, err := bsky.FeedGetPostThread(ctx, net.AppViewClient(), 3, 0, post.Uri)
		if err != nil || out.Thread.FeedDefs_ThreadViewPost == nil {
			return false, fmt.Sprint(err)
		}
		seen := map[string]bool{}
		for _, r := range out.Thread.FeedDefs_ThreadViewPost.Replies {
			if v := r.FeedDefs_ThreadViewPost; v != nil {
				seen[v.Post.Uri] = true
			}
		}
		return seen[own(keys[domain.ActionComment], 0)] && seen[own(keys[domain.ActionThread], 1)], fmt.Sprintf("%d replies", len(seen))
	})

	// The starter's status takes the URL too.
	if _, all, code := starter(ctx, "status", url); code != 0 || !strings.Contains(all, "quote") {
		t.Fatalf("starter status %s: exit %d: %s", url, code, all)
	}

	// The post is deleted: the workflow ends as post_gone.
	if err := author.Delete(ctx, post.Uri); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the workflow ends as post_gone", func() (bool, string) {
		st := status()
		return st.State == workflows.StateDone && st.EndReason == workflows.EndPostGone, st.State + " " + st.EndReason + " " + st.LastError
	})

	// No secret in any history.
	tokens := []string{author.AppPassword, author.Password}
	for _, secret := range tokens {
		scan, err := faultcheck.ScanHistories(context.Background(), s.Client, secret)
		if err != nil {
			t.Fatal(err)
		}
		if len(scan.Leaks) > 0 {
			t.Fatalf("a secret is in %v", scan.Leaks)
		}
	}
}
