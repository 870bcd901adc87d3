package mastodon_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"resurge/domain"
	"resurge/platform"
	"resurge/platform/mastodon"
)

var ctx = context.Background()

// checkAuth: every request carries the bearer token, and only in the Authorization header.
func checkAuth(t *testing.T, reqs []request) {
	t.Helper()
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, got)
		}
		if strings.Contains(r.Path+r.RawQuery, testToken) {
			t.Errorf("%s %s: the token is in the URL", r.Method, r.Path)
		}
		for name, f := range r.Form {
			for _, v := range f {
				if strings.Contains(v, testToken) {
					t.Errorf("%s %s: the token is in form field %s", r.Method, r.Path, name)
				}
			}
		}
	}
}

func TestMetrics(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	s, err := c.Metrics(ctx, postID)
	if err != nil {
		t.Fatal(err)
	}
	// 12 favourites + 3 reblogs + 0 replies.
	want := domain.MetricsSample{At: clientNow, Impressions: 0, Engagements: 15}
	if s != want {
		t.Fatalf("sample %+v, want %+v", s, want)
	}
	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/api/v1/statuses/"+postID || reqs[0].Form != nil {
		t.Fatalf("requests %+v, want one GET /api/v1/statuses/%s without a body (no replies: no context)", reqs, postID)
	}
	if reqs[0].Header.Get("Idempotency-Key") != "" {
		t.Errorf("a GET carries an Idempotency-Key")
	}
	checkAuth(t, reqs)
}

// Mastodon 4.5 and later report quotes_count: quotes count as engagement, like Bluesky's. Older
// servers send no quotes_count, which counts 0 (TestMetrics).
func TestMetricsCountQuotes(t *testing.T) {
	f := newFakeMastodon(t)
	f.mu.Lock()
	f.quotes = true
	f.statuses[postID].Quotes = 4
	f.mu.Unlock()
	s, err := newClient(t, f.URL()).Metrics(ctx, postID)
	if err != nil {
		t.Fatal(err)
	}
	// 12 favourites + 3 reblogs + 4 quotes + 0 replies.
	if s.Engagements != 19 {
		t.Fatalf("engagements %d, want 19 (quotes counted)", s.Engagements)
	}
}

// Replies count as engagement, except the automation's own: its comments and first thread
// parts (later parts are not direct replies, and Mastodon does not count them).
func TestMetricsExcludeOwnReplies(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	f.add(fakeStatus{AccountID: otherID, InReplyTo: postID, Text: "Nice!"})
	other := f.add(fakeStatus{AccountID: otherID, InReplyTo: postID, Text: "Agreed " + mastodon.Marker(keyComment)}) // quotes our marker: still theirs
	f.add(fakeStatus{AccountID: otherID, InReplyTo: other.ID, Text: "a reply to a reply"})                           // not direct: not counted by Mastodon
	f.add(fakeStatus{AccountID: selfID, InReplyTo: postID, Text: "a reply the author typed by hand"})                // no marker: a person's reply
	if _, err := c.Comment(ctx, postID, "Worth a second look", keyComment); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Thread(ctx, postID, []string{"one", "two", "three"}, keyThread); err != nil {
		t.Fatal(err)
	}
	// An own marked reply Mastodon does not count (private) must not be subtracted either.
	f.add(fakeStatus{AccountID: selfID, InReplyTo: postID, Visibility: "private", Text: "x\n\n" + mastodon.Marker(keyEdit)})

	post := f.status(postID)
	// Direct public replies: 2 others + 1 by hand + our comment + our first thread part = 5.
	if n := f.repliesCountLocked(postID); n != 5 {
		t.Fatalf("the fake counts %d replies, want 5", n)
	}
	s, err := c.Metrics(ctx, postID)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(post.Favourites + post.Reblogs + 3)
	if s.Engagements != want {
		t.Fatalf("engagements %d, want %d (own comment and first thread part excluded)", s.Engagements, want)
	}
	// The context was read; verify_credentials only once, however many calls.
	if _, err := c.Metrics(ctx, postID); err != nil {
		t.Fatal(err)
	}
	if n := f.count(http.MethodGet, "/api/v1/statuses/"+postID+"/context"); n < 2 {
		t.Errorf("context read %d times, want once per sample", n)
	}
	if n := f.count(http.MethodGet, "/api/v1/accounts/verify_credentials"); n != 1 {
		t.Errorf("verify_credentials asked %d times, want once (cached)", n)
	}
	checkAuth(t, f.Requests())
}

func (f *fakeMastodon) repliesCountLocked(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repliesCount(id)
}

func TestComment(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	e, err := c.Comment(ctx, postID, "Worth a second look ", keyComment)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/api/v1/statuses" {
		t.Fatalf("%s %s, want POST /api/v1/statuses", r.Method, r.Path)
	}
	if r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", r.ContentType)
	}
	if got := r.Header.Get("Idempotency-Key"); got != keyComment {
		t.Errorf("Idempotency-Key %q, want %q", got, keyComment)
	}
	wantForm := map[string][]string{
		"status":         {"Worth a second look\n\n[rs:878d89c3]"},
		"in_reply_to_id": {postID},
	}
	if !reflect.DeepEqual(map[string][]string(r.Form), wantForm) {
		t.Errorf("form %v, want %v", r.Form, wantForm)
	}
	checkAuth(t, reqs)
	replies := f.repliesTo(postID)
	if len(replies) != 1 {
		t.Fatalf("%d replies on the server, want 1", len(replies))
	}
	want := platform.Effect{ID: replies[0].ID, IDs: []string{replies[0].ID}, URL: f.URL() + "/@resurge_agent/" + replies[0].ID}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("effect %+v, want %+v", e, want)
	}
}

// Mastodon replays a known Idempotency-Key: the second call returns the first status.
func TestCommentIdempotencyKeyReplay(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	e1, err := c.Comment(ctx, postID, "Worth a second look", keyComment)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := c.Comment(ctx, postID, "Worth a second look", keyComment)
	if err != nil {
		t.Fatal(err)
	}
	if e1.ID != e2.ID || len(f.repliesTo(postID)) != 1 {
		t.Fatalf("effects %+v and %+v, %d replies: want one reply", e1, e2, len(f.repliesTo(postID)))
	}
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != keyComment {
			t.Errorf("POST without the key: %v", r.Header)
		}
	}
}

// A server that ignores Idempotency-Key loses the reply to a comment that it did post: the
// retry, as PerformAction makes it, verifies first, finds the comment and posts nothing.
func TestVerifyBeforeRetryFindsALostComment(t *testing.T) {
	f := newFakeMastodon(t)
	f.setHonorKeys(false)
	c := newClient(t, f.URL())
	f.setAfterCreate(func(w http.ResponseWriter, _ *http.Request, _ *fakeStatus) bool {
		dropConnection(w)
		return true
	})
	_, err := c.Comment(ctx, postID, "Worth a second look", keyComment)
	pe := wantCode(t, err, platform.CodeNetworkError)
	if !pe.Transient() {
		t.Fatalf("a lost reply is final: %v", err)
	}
	f.setAfterCreate(nil)

	e, found, err := c.FindEffect(ctx, postID, keyComment)
	if err != nil || !found {
		t.Fatalf("FindEffect: found %v, err %v; want the comment", found, err)
	}
	replies := f.repliesTo(postID)
	if len(replies) != 1 {
		t.Fatalf("%d replies, want 1", len(replies))
	}
	want := platform.Effect{ID: replies[0].ID, IDs: []string{replies[0].ID}, URL: f.URL() + "/@resurge_agent/" + replies[0].ID, Replayed: true}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("effect %+v, want %+v", e, want)
	}
	if n := f.count(http.MethodPost, "/api/v1/statuses"); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
	// The server really ignores keys: posting again would have duplicated the comment.
	if _, err := c.Comment(ctx, postID, "Worth a second look", keyComment); err != nil {
		t.Fatal(err)
	}
	if n := len(f.repliesTo(postID)); n != 2 {
		t.Fatalf("the fake server honoured the key (%d replies): the test proves nothing", n)
	}
}

func TestFindEffectFindsNothing(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	// Someone else's reply carrying our marker, and our own reply for another key, are not it.
	f.add(fakeStatus{AccountID: otherID, InReplyTo: postID, Text: "x " + mastodon.Marker(keyComment)})
	f.add(fakeStatus{AccountID: selfID, InReplyTo: postID, Text: "x\n\n" + mastodon.Marker(keyEdit)})
	for _, key := range []string{keyComment, keyThread} {
		if e, found, err := c.FindEffect(ctx, postID, key); err != nil || found {
			t.Fatalf("FindEffect(%s): %+v, found %v, err %v; want nothing", key, e, found, err)
		}
	}
	for _, r := range f.Requests() {
		if r.Method != http.MethodGet {
			t.Fatalf("FindEffect sent %s %s", r.Method, r.Path)
		}
	}
	checkAuth(t, f.Requests())
}

func TestEdit(t *testing.T) {
	f := newFakeMastodon(t)
	f.mu.Lock()
	p := f.statuses[postID]
	p.SpoilerText, p.Sensitive, p.Language, p.MediaIDs = "launch details", true, "de", []string{"22345792", "22345793"}
	f.mu.Unlock()
	c := newClient(t, f.URL())

	e, err := c.Edit(ctx, postID, "Our launch post, now with the link", keyEdit)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Method != http.MethodGet || reqs[1].Method != http.MethodPut ||
		reqs[1].Path != "/api/v1/statuses/"+postID {
		t.Fatalf("requests %+v, want GET then PUT /api/v1/statuses/%s", reqs, postID)
	}
	put := reqs[1]
	wantForm := map[string][]string{
		"status":       {"Our launch post, now with the link\n\n[rs:2b5d2b70]"},
		"spoiler_text": {"launch details"},
		"sensitive":    {"true"},
		"language":     {"de"},
		"media_ids[]":  {"22345792", "22345793"},
	}
	if !reflect.DeepEqual(map[string][]string(put.Form), wantForm) {
		t.Errorf("form %v, want %v", put.Form, wantForm)
	}
	if put.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", put.ContentType)
	}
	checkAuth(t, reqs)
	after := f.status(postID)
	if after.SpoilerText != "launch details" || !after.Sensitive || len(after.MediaIDs) != 2 {
		t.Errorf("the edit lost the post's attributes: %+v", after)
	}
	want := platform.Effect{ID: postID, IDs: []string{postID}, URL: f.URL() + "/@resurge_agent/" + postID}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("effect %+v, want %+v", e, want)
	}
	// FindEffect recognises the edit by its marker, and only for its key.
	got, found, err := c.FindEffect(ctx, postID, keyEdit)
	want.Replayed = true
	if err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Fatalf("FindEffect: %+v, found %v, err %v; want %+v", got, found, err, want)
	}
	if _, found, _ := c.FindEffect(ctx, postID, keyComment); found {
		t.Fatalf("FindEffect found the edit for the comment's key")
	}
}

func TestEditRefusesAPostWithAPoll(t *testing.T) {
	f := newFakeMastodon(t)
	f.mu.Lock()
	f.statuses[postID].Poll = true
	f.mu.Unlock()
	c := newClient(t, f.URL())
	_, err := c.Edit(ctx, postID, "new text", keyEdit)
	wantCode(t, err, platform.CodeUnprocessable)
	if n := f.count(http.MethodPut, "/api/v1/statuses/"+postID); n != 0 {
		t.Fatalf("%d PUTs, want none", n)
	}
}

func TestThread(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	parts := []string{"First, the context.", "Second, the news.", "Third, the ask."}
	e, err := c.Thread(ctx, postID, parts, keyThread)
	if err != nil {
		t.Fatal(err)
	}
	var posts []request
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost {
			posts = append(posts, r)
		} else if r.Method != http.MethodGet {
			t.Errorf("unexpected %s %s", r.Method, r.Path)
		}
	}
	if len(posts) != 3 {
		t.Fatalf("%d POSTs, want 3", len(posts))
	}
	prev := postID
	for i, r := range posts {
		n := i + 1
		if r.Path != "/api/v1/statuses" {
			t.Errorf("part %d: POST %s", n, r.Path)
		}
		if got, want := r.Header.Get("Idempotency-Key"), mastodon.PartKey(keyThread, n); got != want || want != keyThread+"-"+string(rune('0'+n)) {
			t.Errorf("part %d: Idempotency-Key %q, want %q", n, got, want)
		}
		wantForm := map[string][]string{"status": {parts[i] + "\n\n" + mastodon.PartMarker(keyThread, n, 3)}, "in_reply_to_id": {prev}}
		if !reflect.DeepEqual(map[string][]string(r.Form), wantForm) {
			t.Errorf("part %d: form %v, want %v", n, r.Form, wantForm)
		}
		if i < len(e.IDs) {
			prev = e.IDs[i]
		}
	}
	if mastodon.PartMarker(keyThread, 2, 3) != "[rs:2304be7e 2/3]" {
		t.Errorf("part marker %q", mastodon.PartMarker(keyThread, 2, 3))
	}
	checkAuth(t, f.Requests())
	// The chain on the server: each part replies to the previous one.
	chain := chainFrom(f, postID)
	if !reflect.DeepEqual(chain, e.IDs) || e.ID != chain[0] || e.Replayed {
		t.Fatalf("effect %+v, chain on the server %v", e, chain)
	}
	// FindEffect finds the whole thread.
	got, found, err := c.FindEffect(ctx, postID, keyThread)
	if err != nil || !found || !reflect.DeepEqual(got.IDs, chain) || !got.Replayed {
		t.Fatalf("FindEffect: %+v, found %v, err %v", got, found, err)
	}
}

// chainFrom follows the first reply of each status from id.
func chainFrom(f *fakeMastodon, id string) []string {
	var out []string
	for {
		r := f.repliesTo(id)
		if len(r) == 0 {
			return out
		}
		out = append(out, r[0].ID)
		id = r[0].ID
	}
}

// Part 2 of 3 fails before it is posted: the retry (FindEffect, then Thread) continues the
// chain with parts 2 and 3, posting part 1 no second time.
func TestThreadContinuesAfterAMidChainFailure(t *testing.T) {
	f := newFakeMastodon(t)
	f.setHonorKeys(false) // no help from the server's idempotency store
	c := newClient(t, f.URL())
	posts := 0
	f.setBefore(func(w http.ResponseWriter, r *http.Request, _ request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		posts++
		if posts == 2 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "Service Unavailable"})
			return true
		}
		return false
	})
	parts := []string{"one", "two", "three"}
	_, err := c.Thread(ctx, postID, parts, keyThread)
	if pe := wantCode(t, err, platform.CodeServiceUnavailable); !pe.Transient() {
		t.Fatalf("a 503 is final: %v", err)
	}
	if got := chainFrom(f, postID); len(got) != 1 {
		t.Fatalf("after the failure the chain is %v, want part 1 only", got)
	}

	// The retry: the partial thread is not "found", so the action runs again and continues.
	if _, found, err := c.FindEffect(ctx, postID, keyThread); err != nil || found {
		t.Fatalf("FindEffect on a partial thread: found %v, err %v; want not found", found, err)
	}
	e, err := c.Thread(ctx, postID, parts, keyThread)
	if err != nil {
		t.Fatal(err)
	}
	chain := chainFrom(f, postID)
	if len(chain) != 3 || !reflect.DeepEqual(e.IDs, chain) || e.Replayed {
		t.Fatalf("effect %+v, chain %v: want 3 parts in one chain", e, chain)
	}
	// One reply per status: nothing duplicated.
	for _, id := range append([]string{postID}, chain[:2]...) {
		if n := len(f.repliesTo(id)); n != 1 {
			t.Fatalf("status %s has %d replies, want 1", id, n)
		}
	}
	// Part 1 was posted once; the second attempt posted parts 2 and 3 (with their keys).
	var keys []string
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost {
			keys = append(keys, r.Header.Get("Idempotency-Key"))
		}
	}
	wantKeys := []string{keyThread + "-1", keyThread + "-2", keyThread + "-2", keyThread + "-3"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("POSTed keys %v, want %v", keys, wantKeys)
	}
	for i, id := range chain {
		if s := f.status(id); !strings.HasSuffix(s.Text, mastodon.PartMarker(keyThread, i+1, 3)) || !strings.HasPrefix(s.Text, parts[i]) {
			t.Errorf("part %d text %q", i+1, s.Text)
		}
	}
}

// Part 2 is posted but its reply is lost, on a server that ignores keys: the retry finds parts 1
// and 2 and posts only part 3.
func TestThreadContinuesAfterALostPart(t *testing.T) {
	f := newFakeMastodon(t)
	f.setHonorKeys(false)
	c := newClient(t, f.URL())
	created := 0
	f.setAfterCreate(func(w http.ResponseWriter, _ *http.Request, _ *fakeStatus) bool {
		created++
		if created == 2 {
			dropConnection(w)
			return true
		}
		return false
	})
	parts := []string{"one", "two", "three"}
	_, err := c.Thread(ctx, postID, parts, keyThread)
	wantCode(t, err, platform.CodeNetworkError)
	e, err := c.Thread(ctx, postID, parts, keyThread)
	if err != nil {
		t.Fatal(err)
	}
	chain := chainFrom(f, postID)
	if len(chain) != 3 || !reflect.DeepEqual(e.IDs, chain) {
		t.Fatalf("effect %+v, chain %v", e, chain)
	}
	if n := f.count(http.MethodPost, "/api/v1/statuses"); n != 3 {
		t.Fatalf("%d POSTs, want 3 (no part twice)", n)
	}
	// A third call finds everything and posts nothing: the effect is a replay.
	e, err = c.Thread(ctx, postID, parts, keyThread)
	if err != nil || !e.Replayed || !reflect.DeepEqual(e.IDs, chain) {
		t.Fatalf("third call: %+v, %v", e, err)
	}
	if n := f.count(http.MethodPost, "/api/v1/statuses"); n != 3 {
		t.Fatalf("%d POSTs after a complete thread, want still 3", n)
	}
}

func TestMarkers(t *testing.T) {
	if got := mastodon.Marker(keyComment); got != "[rs:878d89c3]" {
		t.Errorf("Marker = %q", got)
	}
	// A key of another shape still gets 8 hex digits (of its SHA-256).
	if got := mastodon.Marker("custom-key"); len(got) != len("[rs:12345678]") || !strings.HasPrefix(got, "[rs:") {
		t.Errorf("Marker(custom) = %q", got)
	}
	if got := mastodon.PartKey(keyThread, 10); got != keyThread+"-10" {
		t.Errorf("PartKey = %q", got)
	}
}
