package bluesky_test

// The adapter against the reference AT Protocol servers (internal/atprotodev: @atproto/dev-env's
// PLC, PDS and AppView on loopback), over plain HTTP.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"

	"resurge/domain"
	"resurge/internal/atprotodev"
	"resurge/platform"
	"resurge/platform/bluesky"
)

// keys are the idempotency keys the planner uses on post uri, by action.
func keys(uri string) map[domain.ActionType]string {
	out := map[domain.ActionType]string{}
	for _, k := range domain.ActionKeys(domain.PlatformBluesky, uri) {
		out[k.Action] = k.Key
	}
	return out
}

// ownURI is the AT URI of the record the adapter writes for key (part 0: comment or quote).
func ownURI(did, key string, part int) string {
	return "at://" + did + "/app.bsky.feed.post/" + bluesky.RecordKey(key, part)
}

func wantCode(t *testing.T, err error, code string) *platform.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var pe *platform.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a *platform.Error", err, err)
	}
	if pe.Code != code {
		t.Fatalf("code %s (%v), want %s", pe.Code, err, code)
	}
	return pe
}

// watched is a post by author that the AppView shows.
func watched(t *testing.T, author *actor, text string) *comatproto.RepoStrongRef {
	t.Helper()
	p := author.post(text)
	eventually(t, "the AppView shows the post", func() (bool, string) { return postView(t, p.Uri) != nil, "not indexed" })
	return p
}

func metrics(t *testing.T, c *bluesky.Client, uri string) domain.MetricsSample {
	t.Helper()
	s, err := c.Metrics(ctx, uri)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	return s
}

// Likes, reposts, replies and quotes by others count; the automation's own reply, thread and
// quote do not.
func TestMetricsCountEngagementButNotOwnEffects(t *testing.T) {
	author, fan := newActor(t, "author"), newActor(t, "fan")
	p := watched(t, author, "Our launch post")
	c := author.client("")
	if s := metrics(t, c, p.Uri); s.Engagements != 0 || s.Impressions != 0 || s.At.IsZero() {
		t.Fatalf("a new post: %+v, want 0 engagements and 0 impressions", s)
	}
	fan.like(p)
	fan.repost(p)
	fan.reply(p, "Congrats!")
	fan.quote(p, "Look at this")
	eventually(t, "the fan's engagement counted", func() (bool, string) {
		s := metrics(t, c, p.Uri)
		return s.Engagements == 4, fmt.Sprint(s.Engagements)
	})

	k := keys(p.Uri)
	if _, err := c.Comment(ctx, p.Uri, "If you missed it: the beta is open", k[domain.ActionComment]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Quote(ctx, p.Uri, "Still open until Friday", k[domain.ActionQuote]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Thread(ctx, p.Uri, []string{"Why we built it", "How to join"}, k[domain.ActionThread]); err != nil {
		t.Fatal(err)
	}
	// The AppView counts the comment and the first thread part as replies, the quote as a quote.
	eventually(t, "the AppView counts the automation's effects", func() (bool, string) {
		v := postView(t, p.Uri)
		return v != nil && *v.ReplyCount == 3 && *v.QuoteCount == 2, fmt.Sprintf("%+v", v)
	})
	if s := metrics(t, c, p.Uri); s.Engagements != 4 {
		t.Fatalf("engagements %d, want 4: the automation's reply, thread and quote are not engagement", s.Engagements)
	}
}

// Each action is a real record: found with getRecord at its derived key, with its reply refs or
// its embed, and shown by the AppView's getPostThread and getQuotes.
func TestActionsAreRecordsOnThePDS(t *testing.T) {
	author, fan := newActor(t, "author"), newActor(t, "fan")
	p := watched(t, author, "Our launch post https://example.org/beta")
	c := author.client("")
	k := keys(p.Uri)

	comment, err := c.Comment(ctx, p.Uri, "Read more at https://example.org/beta.", k[domain.ActionComment])
	if err != nil {
		t.Fatal(err)
	}
	quote, err := c.Quote(ctx, p.Uri, "Worth a second look", k[domain.ActionQuote])
	if err != nil {
		t.Fatal(err)
	}
	thread, err := c.Thread(ctx, p.Uri, []string{"1/3 why", "2/3 what", "3/3 how"}, k[domain.ActionThread])
	if err != nil {
		t.Fatal(err)
	}
	if comment.ID != ownURI(author.DID, k[domain.ActionComment], 0) || comment.Replayed ||
		comment.URL != "https://bsky.app/profile/"+author.DID+"/post/"+bluesky.RecordKey(k[domain.ActionComment], 0) {
		t.Fatalf("comment effect %+v", comment)
	}
	if quote.ID != ownURI(author.DID, k[domain.ActionQuote], 0) || len(thread.IDs) != 3 {
		t.Fatalf("quote %+v, thread %+v", quote, thread)
	}
	for i, id := range thread.IDs {
		if id != ownURI(author.DID, k[domain.ActionThread], i+1) {
			t.Fatalf("thread part %d is %s, want its derived key", i+1, id)
		}
	}

	// getRecord: the records and their refs.
	get := func(uri string) *bsky.FeedPost {
		t.Helper()
		rkey := uri[strings.LastIndex(uri, "/")+1:]
		out, err := comatproto.RepoGetRecord(ctx, author.Client, "", "app.bsky.feed.post", author.DID, rkey)
		if err != nil {
			t.Fatalf("getRecord %s: %v", uri, err)
		}
		return out.Value.Val.(*bsky.FeedPost)
	}
	cr := get(comment.ID)
	if cr.Reply.Parent.Uri != p.Uri || cr.Reply.Root.Uri != p.Uri || cr.Reply.Parent.Cid != p.Cid || cr.Text != "Read more at https://example.org/beta." {
		t.Fatalf("comment record %+v, want a reply to the post", cr)
	}
	if len(cr.Facets) != 1 || cr.Facets[0].Features[0].RichtextFacet_Link.Uri != "https://example.org/beta" ||
		cr.Text[cr.Facets[0].Index.ByteStart:cr.Facets[0].Index.ByteEnd] != "https://example.org/beta" {
		t.Fatalf("comment facets %+v, want the link without its full stop", cr.Facets)
	}
	qr := get(quote.ID)
	if qr.Reply != nil || qr.Embed == nil || qr.Embed.EmbedRecord == nil || qr.Embed.EmbedRecord.Record.Uri != p.Uri || qr.Embed.EmbedRecord.Record.Cid != p.Cid {
		t.Fatalf("quote record %+v, want a post embedding the original", qr)
	}
	parent := p.Uri
	for i, id := range thread.IDs {
		pr := get(id)
		if pr.Reply.Parent.Uri != parent || pr.Reply.Root.Uri != p.Uri {
			t.Fatalf("thread part %d replies to %s (root %s), want %s (root %s)", i+1, pr.Reply.Parent.Uri, pr.Reply.Root.Uri, parent, p.Uri)
		}
		parent = id
	}

	// The AppView: the thread under the post, the quote among its quotes.
	eventually(t, "getPostThread shows the comment and the thread", func() (bool, string) {
		out, err := bsky.FeedGetPostThread(ctx, appview(t), 10, 0, p.Uri)
		if err != nil || out.Thread.FeedDefs_ThreadViewPost == nil {
			return false, fmt.Sprint(err)
		}
		replies := map[string]*bsky.FeedDefs_ThreadViewPost{}
		for _, r := range out.Thread.FeedDefs_ThreadViewPost.Replies {
			if v := r.FeedDefs_ThreadViewPost; v != nil {
				replies[v.Post.Uri] = v
			}
		}
		part := replies[thread.IDs[0]]
		for _, id := range thread.IDs[1:] {
			if part == nil || len(part.Replies) != 1 || part.Replies[0].FeedDefs_ThreadViewPost == nil || part.Replies[0].FeedDefs_ThreadViewPost.Post.Uri != id {
				return false, "thread chain incomplete"
			}
			part = part.Replies[0].FeedDefs_ThreadViewPost
		}
		return replies[comment.ID] != nil, fmt.Sprintf("%d replies", len(replies))
	})
	eventually(t, "getQuotes shows the quote", func() (bool, string) {
		out, err := bsky.FeedGetQuotes(ctx, appview(t), "", "", 50, p.Uri)
		if err != nil {
			return false, err.Error()
		}
		for _, q := range out.Posts {
			if q.Uri == quote.ID {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d quotes", len(out.Posts))
	})

	// A watched post that is itself a reply: a comment keeps the thread's root.
	r := fan.reply(p, "A question about the beta")
	eventually(t, "the AppView shows the reply", func() (bool, string) { return postView(t, r.Uri) != nil, "" })
	kr := keys(r.Uri)
	e, err := c.Comment(ctx, r.Uri, "Answered here", kr[domain.ActionComment])
	if err != nil {
		t.Fatal(err)
	}
	if rr := get(e.ID); rr.Reply.Parent.Uri != r.Uri || rr.Reply.Root.Uri != p.Uri {
		t.Fatalf("a reply to a reply: parent %s root %s, want %s and the root %s", rr.Reply.Parent.Uri, rr.Reply.Root.Uri, r.Uri, p.Uri)
	}
	// Bluesky cannot edit: refused, nothing written.
	before := author.posts()
	wantCode(t, func() error { _, err := c.Edit(ctx, p.Uri, "new text", k[domain.ActionComment]); return err }(), platform.CodeUnprocessable)
	if author.posts() != before {
		t.Fatal("an edit wrote a record")
	}
}

// Every action retried with the same key leaves one record; the retry reports the record it
// found (Replayed), and FindEffect finds the comment and the quote.
func TestActionsRetriedWithTheSameKeyLeaveOneRecord(t *testing.T) {
	author := newActor(t, "author")
	p := watched(t, author, "A post")
	c := author.client("")
	k := keys(p.Uri)
	type act func() (platform.Effect, error)
	actions := []struct {
		name string
		do   act
		n    int
	}{
		{"comment", func() (platform.Effect, error) { return c.Comment(ctx, p.Uri, "A comment", k[domain.ActionComment]) }, 1},
		{"quote", func() (platform.Effect, error) { return c.Quote(ctx, p.Uri, "A quote", k[domain.ActionQuote]) }, 1},
		{"thread", func() (platform.Effect, error) {
			return c.Thread(ctx, p.Uri, []string{"one", "two", "three"}, k[domain.ActionThread])
		}, 3},
	}
	for _, a := range actions {
		before := author.posts()
		first, err := a.do()
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		for i := range 2 {
			again, err := a.do()
			if err != nil {
				t.Fatalf("%s again: %v", a.name, err)
			}
			if !again.Replayed || again.ID != first.ID || len(again.IDs) != len(first.IDs) {
				t.Fatalf("%s repeat %d: %+v, want the first effect %+v, replayed", a.name, i+1, again, first)
			}
		}
		if got := author.posts() - before; got != a.n {
			t.Fatalf("%s three times: %d new records, want %d", a.name, got, a.n)
		}
	}
	for _, a := range []domain.ActionType{domain.ActionComment, domain.ActionQuote} {
		e, found, err := c.FindEffect(ctx, p.Uri, k[a])
		if err != nil || !found || !e.Replayed || e.ID != ownURI(author.DID, k[a], 0) {
			t.Fatalf("FindEffect %s: %+v %v %v", a, e, found, err)
		}
	}
	// Nothing made with another key, nor for another post.
	other := watched(t, author, "Another post")
	if _, found, err := c.FindEffect(ctx, p.Uri, keys(other.Uri)[domain.ActionComment]); err != nil || found {
		t.Fatalf("FindEffect of a key never used: found %v, %v", found, err)
	}
	if _, found, err := c.FindEffect(ctx, other.Uri, k[domain.ActionComment]); err != nil || found {
		t.Fatalf("FindEffect of another post's comment: found %v, %v", found, err)
	}
}

// The reply is lost after the PDS acted (the loopback proxy closes the connection): the call
// fails as a transient network error, and its retry with the same key leaves one record.
func TestLostReplyAfterThePDSActedLeavesOneRecord(t *testing.T) {
	author := newActor(t, "author")
	p := watched(t, author, "A post")
	px := newProxy(t)
	c := author.client(px.URL)
	k := keys(p.Uri)

	before := author.posts()
	px.On(&atprotodev.Rule{Method: "com.atproto.repo.putRecord", Drop: true})
	_, err := c.Comment(ctx, p.Uri, "A comment", k[domain.ActionComment])
	if pe := wantCode(t, err, platform.CodeNetworkError); !pe.Transient() {
		t.Fatal("a lost reply must be transient")
	}
	if author.posts() != before+1 {
		t.Fatal("the PDS did not act before the reply was dropped")
	}
	// Verify-before-retry finds it; the retry itself replays it.
	if e, found, err := c.FindEffect(ctx, p.Uri, k[domain.ActionComment]); err != nil || !found || e.ID != ownURI(author.DID, k[domain.ActionComment], 0) {
		t.Fatalf("FindEffect after the lost reply: %+v %v %v", e, found, err)
	}
	e, err := c.Comment(ctx, p.Uri, "A comment", k[domain.ActionComment])
	if err != nil || !e.Replayed {
		t.Fatalf("retry: %+v %v", e, err)
	}

	// A thread whose second part's reply is lost: the retry continues after it.
	px.On(&atprotodev.Rule{Method: "com.atproto.repo.putRecord", After: 1, Drop: true})
	_, err = c.Thread(ctx, p.Uri, []string{"one", "two", "three"}, k[domain.ActionThread])
	wantCode(t, err, platform.CodeNetworkError)
	if got := author.posts() - before; got != 3 {
		t.Fatalf("%d records after the broken thread, want 3 (the comment and two parts)", got)
	}
	th, err := c.Thread(ctx, p.Uri, []string{"one", "two", "three"}, k[domain.ActionThread])
	if err != nil || th.Replayed || len(th.IDs) != 3 {
		t.Fatalf("thread retry: %+v %v (want the third part made now)", th, err)
	}
	if got := author.posts() - before; got != 4 {
		t.Fatalf("%d records in all, want 4: one comment, one thread of three", got)
	}

	// A quote's reply lost, then the quote retried: one quote.
	px.On(&atprotodev.Rule{Method: "com.atproto.repo.putRecord", Drop: true})
	_, err = c.Quote(ctx, p.Uri, "A quote", k[domain.ActionQuote])
	wantCode(t, err, platform.CodeNetworkError)
	if q, err := c.Quote(ctx, p.Uri, "A quote", k[domain.ActionQuote]); err != nil || !q.Replayed {
		t.Fatalf("quote retry: %+v %v", q, err)
	}
	if got := author.posts() - before; got != 5 {
		t.Fatalf("%d records in all, want 5", got)
	}
}

// An expired access token is renewed with refreshSession, without a new login; a refresh token
// that is revoked too makes the one new login.
func TestExpiredAccessTokenIsRefreshedWithoutANewLogin(t *testing.T) {
	author := newActor(t, "author")
	p := watched(t, author, "A post")
	px := newProxy(t)
	c := author.client(px.URL)
	metrics(t, c, p.Uri)
	if px.Count("com.atproto.server.createSession") != 1 {
		t.Fatalf("createSession %d times, want 1", px.Count("com.atproto.server.createSession"))
	}
	for i := range 3 {
		metrics(t, c, p.Uri)
		if px.Count("com.atproto.server.createSession") != 1 || px.Count("com.atproto.server.refreshSession") != 0 {
			t.Fatalf("call %d: createSession %d, refreshSession %d: one session serves every call", i, px.Count("com.atproto.server.createSession"), px.Count("com.atproto.server.refreshSession"))
		}
	}

	// The session's access token has expired (signed by the PDS's key, its exp an hour ago).
	bluesky.SetAccessToken(c, accessJWT(t, author.DID, time.Now().Add(-time.Hour)))
	if _, err := c.Comment(ctx, p.Uri, "A comment", keys(p.Uri)[domain.ActionComment]); err != nil {
		t.Fatalf("a call with an expired token: %v", err)
	}
	if px.Count("com.atproto.server.refreshSession") != 1 || px.Count("com.atproto.server.createSession") != 1 {
		t.Fatalf("refreshSession %d, createSession %d: want one refresh and no new login", px.Count("com.atproto.server.refreshSession"), px.Count("com.atproto.server.createSession"))
	}
	if logins, refreshes := c.SessionStats(); logins != 1 || refreshes != 1 {
		t.Fatalf("session stats %d logins, %d refreshes", logins, refreshes)
	}
	access, refresh := bluesky.Tokens(c)
	if strings.Contains(access, ".") && access == accessJWT(t, author.DID, time.Now().Add(-time.Hour)) {
		t.Fatal("the expired token was kept")
	}

	// The refresh token revoked (deleteSession), and the access token expired again: the
	// refresh is refused, and the client logs in once more.
	req, _ := http.NewRequest(http.MethodPost, network(t).PDS+"/xrpc/com.atproto.server.deleteSession", nil)
	req.Header.Set("Authorization", "Bearer "+refresh)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("deleteSession: %v %v", resp, err)
	}
	resp.Body.Close()
	bluesky.SetAccessToken(c, accessJWT(t, author.DID, time.Now().Add(-time.Minute)))
	metrics(t, c, p.Uri)
	if px.Count("com.atproto.server.createSession") != 2 || px.Count("com.atproto.server.refreshSession") != 2 {
		t.Fatalf("createSession %d, refreshSession %d: want the refused refresh, then one login", px.Count("com.atproto.server.createSession"), px.Count("com.atproto.server.refreshSession"))
	}
	// A token the PDS cannot verify at all is renewed the same way.
	bluesky.SetAccessToken(c, "not-a-token")
	metrics(t, c, p.Uri)
	if px.Count("com.atproto.server.refreshSession") != 3 || px.Count("com.atproto.server.createSession") != 2 {
		t.Fatalf("after an unverifiable token: refreshSession %d, createSession %d", px.Count("com.atproto.server.refreshSession"), px.Count("com.atproto.server.createSession"))
	}
}

// A wrong app password is a final unauthorized error, and the client does not try again at
// once: repeated calls do not reach createSession (its limits would lock the account out).
func TestWrongPasswordDoesNotLoginAgainAtOnce(t *testing.T) {
	author := newActor(t, "author")
	p := watched(t, author, "A post")
	px := newProxy(t)
	c, err := bluesky.New(px.URL, author.Handle, "wrong-wrong-wrong-wrong")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		pe := wantCode(t, func() error { _, err := c.Metrics(ctx, p.Uri); return err }(), platform.CodeUnauthorized)
		if pe.Transient() || strings.Contains(pe.Error(), "wrong-wrong") {
			t.Fatalf("%v: want final, without the password", pe)
		}
	}
	if n := px.Count("com.atproto.server.createSession"); n != 1 {
		t.Fatalf("createSession %d times, want 1", n)
	}
}

// A deleted post ends as post_gone on metrics, and an action on it is refused.
func TestDeletedPostIsGone(t *testing.T) {
	author := newActor(t, "author")
	p := watched(t, author, "A post about to go")
	c := author.client("")
	metrics(t, c, p.Uri)
	author.delete(p.Uri)
	eventually(t, "metrics say the post is gone", func() (bool, string) {
		_, err := c.Metrics(ctx, p.Uri)
		return err != nil && platform.AsError(err).Code == platform.CodePostGone, fmt.Sprint(err)
	})
	_, err := c.Comment(ctx, p.Uri, "A comment", keys(p.Uri)[domain.ActionComment])
	if pe := wantCode(t, err, platform.CodeNotFound); pe.Transient() {
		t.Fatal("not_found must be final")
	}
}

// A 429 from the PDS's own rate limiter (createSession's 30 per window, the window shortened by
// the test network's rate-limit scale) is rate_limit with the delay until its reset; calls before
// then do not call createSession again, and the call retried after the delay succeeds.
func TestRateLimitIsRetriedAfterItsReset(t *testing.T) {
	limited := newActor(t, "limited")
	p := watched(t, limited, "A post")
	// Exhaust createSession for this account: 30 per window.
	burst := func() bool {
		errs := make(chan error, 40)
		sem := make(chan struct{}, 6)
		for range 40 {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				resp, err := http.Post(network(t).PDS+"/xrpc/com.atproto.server.createSession", "application/json",
					strings.NewReader(fmt.Sprintf(`{"identifier":%q,"password":%q}`, limited.Handle, limited.AppPassword)))
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					errs <- errors.New("429")
				}
			}()
		}
		for range cap(sem) {
			sem <- struct{}{}
		}
		close(errs)
		for err := range errs {
			if err.Error() == "429" {
				return true
			}
		}
		return false
	}
	px := newProxy(t)
	c := limited.client(px.URL)
	var pe *platform.Error
	for attempt := 0; ; attempt++ {
		if !burst() {
			t.Fatal("40 logins in a row were not rate limited")
		}
		_, err := c.Metrics(ctx, p.Uri)
		if err != nil && platform.AsError(err).Code == platform.CodeRateLimit {
			pe = platform.AsError(err)
			break
		}
		if attempt == 2 {
			t.Fatalf("the client's login was not rate limited (%v): the window reset between the burst and the call three times", err)
		}
		c = limited.client(px.URL) // a fresh session, to log in again
	}
	window := 5 * time.Minute / rateLimitScale
	if !pe.Transient() || pe.RetryAfter <= 0 || pe.RetryAfter > window+time.Second {
		t.Fatalf("%v: want a transient rate_limit with a delay within the %s window", pe, window)
	}
	logins := px.Count("com.atproto.server.createSession")
	// Before the reset: refused at once, without another createSession, with the time left.
	_, err := c.Metrics(ctx, p.Uri)
	if again := wantCode(t, err, platform.CodeRateLimit); again.RetryAfter <= 0 || again.RetryAfter > pe.RetryAfter {
		t.Fatalf("a call before the reset: %v, want the time left", again)
	}
	if px.Count("com.atproto.server.createSession") != logins {
		t.Fatal("a call before the reset tried to log in again")
	}
	// After the delay the limiter advised (what the activity's retry waits): the call succeeds.
	time.Sleep(pe.RetryAfter)
	if _, err := c.Metrics(ctx, p.Uri); err != nil {
		t.Fatalf("after the advised %s: %v", pe.RetryAfter, err)
	}
}
