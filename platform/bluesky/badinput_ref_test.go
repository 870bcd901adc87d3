package bluesky_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/domain"
	"resurge/internal/atprotodev"
	"resurge/platform"
	"resurge/platform/bluesky"
)

// Handles resolve once, on the PDS; an unknown handle is a clear error.
func TestResolveHandles(t *testing.T) {
	author := newActor(t, "author")
	r, err := bluesky.NewResolver(network(t).PDS)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		"https://bsky.app/profile/" + author.Handle + "/post/3l3qo2vuowo2b",
		"at://" + author.Handle + "/app.bsky.feed.post/3l3qo2vuowo2b",
	} {
		uri, err := bluesky.NormalizePostID(ctx, r, in)
		if err != nil || uri != "at://"+author.DID+"/app.bsky.feed.post/3l3qo2vuowo2b" {
			t.Fatalf("NormalizePostID(%q) = %q, %v; want the AT URI with %s", in, uri, err, author.DID)
		}
	}
	_, err = bluesky.NormalizePostID(ctx, r, "https://bsky.app/profile/nobody-here.test/post/3l3qo2vuowo2b")
	if err == nil || !strings.Contains(err.Error(), "nobody-here.test") || !strings.Contains(err.Error(), "does not resolve") {
		t.Fatalf("an unknown handle: %v, want an error naming it", err)
	}
	if did, err := r.ResolveHandle(ctx, syntax.Handle(author.Handle)); err != nil || did.String() != author.DID {
		t.Fatalf("ResolveHandle = %s, %v", did, err)
	}
}

// Bad input and unusable replies: each a clear, classified error, and nothing acted.
func TestBadInputActsNothing(t *testing.T) {
	author := newActor(t, "author")
	p := watched(t, author, "A post")
	px := newProxy(t)
	c := author.client(px.URL)
	k := keys(p.Uri)
	metrics(t, c, p.Uri) // logged in
	before := author.posts()
	nothingActed := func(what string) {
		t.Helper()
		if n := author.posts(); n != before {
			t.Fatalf("%s: %d records written", what, n-before)
		}
	}

	// A post ID that is not the canonical AT URI (workflows only hold those).
	for _, id := range []string{"https://bsky.app/profile/" + author.Handle + "/post/x", "at://" + author.Handle + "/app.bsky.feed.post/x", "3l3qo2vuowo2b"} {
		wantCode(t, func() error { _, err := c.Comment(ctx, id, "hi", k[domain.ActionComment]); return err }(), platform.CodeBadRequest)
		wantCode(t, func() error { _, err := c.Metrics(ctx, id); return err }(), platform.CodeBadRequest)
	}
	// No key: refused before anything is sent.
	wantCode(t, func() error { _, err := c.Quote(ctx, p.Uri, "hi", ""); return err }(), platform.CodeBadRequest)
	nothingActed("bad IDs")

	// A text over Bluesky's 300 graphemes: the PDS refuses the record (the arbiter refuses it
	// before, see domain), final.
	long := strings.Repeat("🇫🇷", 301)
	pe := wantCode(t, func() error { _, err := c.Comment(ctx, p.Uri, long, k[domain.ActionComment]); return err }(), platform.CodeBadRequest)
	if pe.Transient() || !strings.Contains(pe.Message, "grapheme") {
		t.Fatalf("%v: want a final bad_request about the graphemes", pe)
	}
	if _, found, err := c.FindEffect(ctx, p.Uri, k[domain.ActionComment]); err != nil || found {
		t.Fatalf("after the refused text: found %v, %v", found, err)
	}
	if d := domain.Arbitrate(domain.DefaultSafetyPolicy(), domain.ArbiterView{}, domain.ArbitrationRequest{
		PostID: p.Uri, Agent: "a", Platform: domain.PlatformBluesky, Action: domain.ActionComment, Tier: domain.Tier1,
		Texts: []string{long},
	}, timeNow()); d.Allowed() {
		t.Fatal("the arbiter allows a text over 300 graphemes")
	}
	nothingActed("an over-long text")

	// Replies that are not JSON, or lack fields.
	replies := []struct {
		name, method string
		r            *atprotodev.Rule
		call         func() error
		code         string
	}{
		{"getPosts not JSON", "app.bsky.feed.getPosts", &atprotodev.Rule{Status: 200, Body: "<html>maintenance</html>"},
			func() error { _, err := c.Metrics(ctx, p.Uri); return err }, platform.CodeInvalidResponse},
		{"getPosts without likeCount", "app.bsky.feed.getPosts", &atprotodev.Rule{Edit: func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`"likeCount"`), []byte(`"likes"`)) }},
			func() error { _, err := c.Metrics(ctx, p.Uri); return err }, platform.CodeInvalidResponse},
		{"getPosts with a negative count", "app.bsky.feed.getPosts", &atprotodev.Rule{Edit: func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(`"repostCount":0`), []byte(`"repostCount":-1`))
		}},
			func() error { _, err := c.Metrics(ctx, p.Uri); return err }, platform.CodeInvalidResponse},
		{"getPosts with a string count", "app.bsky.feed.getPosts", &atprotodev.Rule{Edit: func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(`"replyCount":0`), []byte(`"replyCount":"0"`))
		}},
			func() error { _, err := c.Metrics(ctx, p.Uri); return err }, platform.CodeInvalidResponse},
		{"getPosts without posts", "app.bsky.feed.getPosts", &atprotodev.Rule{Status: 200, Body: `{"posts":[{"cid":"x"}]}`},
			func() error { _, err := c.Metrics(ctx, p.Uri); return err }, platform.CodeInvalidResponse},
		{"the post's getRecord not JSON", "com.atproto.repo.getRecord", &atprotodev.Rule{Status: 200, Body: "not json"},
			func() error { _, err := c.Comment(ctx, p.Uri, "hi", k[domain.ActionComment]); return err }, platform.CodeInvalidResponse},
		{"the post's getRecord without a cid", "com.atproto.repo.getRecord", &atprotodev.Rule{Edit: func(b []byte) []byte { return bytes.Replace(b, []byte(`"cid"`), []byte(`"cod"`), 1) }},
			func() error { _, err := c.Quote(ctx, p.Uri, "hi", k[domain.ActionQuote]); return err }, platform.CodeInvalidResponse},
		{"the post's getRecord of another record", "com.atproto.repo.getRecord", &atprotodev.Rule{Edit: func(b []byte) []byte { return bytes.Replace(b, []byte(p.Uri), []byte(p.Uri+"x"), 1) }},
			func() error { _, err := c.Thread(ctx, p.Uri, []string{"a"}, k[domain.ActionThread]); return err }, platform.CodeInvalidResponse},
		{"an XRPC error that is not JSON", "com.atproto.repo.getRecord", &atprotodev.Rule{Status: 502, Body: "<html>bad gateway</html>"},
			func() error { _, err := c.Comment(ctx, p.Uri, "hi", k[domain.ActionComment]); return err }, platform.CodeServiceUnavailable},
		{"a 403", "com.atproto.repo.getRecord", &atprotodev.Rule{Status: 403, Body: `{"error":"Forbidden","message":"no"}`},
			func() error { _, err := c.Comment(ctx, p.Uri, "hi", k[domain.ActionComment]); return err }, platform.CodeForbidden},
		{"a redirect", "com.atproto.repo.getRecord", &atprotodev.Rule{Status: 302, Body: ""},
			func() error { _, err := c.Comment(ctx, p.Uri, "hi", k[domain.ActionComment]); return err }, platform.CodeUnexpected},
	}
	for _, tc := range replies {
		tc.r.Method = tc.method
		px.On(tc.r)
		puts := px.Count("com.atproto.repo.putRecord")
		err := tc.call()
		pe := wantCode(t, err, tc.code)
		if tc.code == platform.CodeInvalidResponse && pe.Transient() {
			t.Errorf("%s: %v must be final", tc.name, pe)
		}
		if px.Count("com.atproto.repo.putRecord") != puts {
			t.Errorf("%s: a record was written after an unusable reply", tc.name)
		}
	}
	nothingActed("unusable replies")

	// createSession answering without tokens: no session, nothing acted.
	fresh := author.client(px.URL)
	px.On(&atprotodev.Rule{Method: "com.atproto.server.createSession", Status: 200, Body: `{"did":"` + author.DID + `","handle":"` + author.Handle + `"}`})
	wantCode(t, func() error { _, err := fresh.Comment(ctx, p.Uri, "hi", k[domain.ActionComment]); return err }(), platform.CodeInvalidResponse)
	nothingActed("a login without tokens")

	// putRecord's reply without a cid after the PDS acted: invalid, and the retry finds the record.
	px.On(&atprotodev.Rule{Method: "com.atproto.repo.putRecord", Edit: func(b []byte) []byte { return bytes.Replace(b, []byte(`"cid"`), []byte(`"cod"`), 1) }})
	wantCode(t, func() error { _, err := c.Comment(ctx, p.Uri, "hi", k[domain.ActionComment]); return err }(), platform.CodeInvalidResponse)
	if e, err := c.Comment(ctx, p.Uri, "hi", k[domain.ActionComment]); err != nil || !e.Replayed {
		t.Fatalf("retry after the unusable reply: %+v %v", e, err)
	}
	if author.posts() != before+1 {
		t.Fatalf("%d records, want the one comment", author.posts()-before)
	}
}

// A server echoing the request's headers into an error must not carry the session's tokens (or
// the app password) into messages.
func TestTokensNeverReachMessages(t *testing.T) {
	author := newActor(t, "author")
	p := watched(t, author, "A post")
	px := newProxy(t)
	c := author.client(px.URL)
	metrics(t, c, p.Uri)
	access, refresh := bluesky.Tokens(c)
	px.On(&atprotodev.Rule{Method: "app.bsky.feed.getPosts", Status: http.StatusBadGateway, Body: "gateway error", EchoAuth: true})
	_, err := c.Metrics(ctx, p.Uri)
	pe := wantCode(t, err, platform.CodeServiceUnavailable)
	if !strings.Contains(pe.Message, "[redacted]") {
		t.Fatalf("%q: the echoed header should show as redacted", pe.Message)
	}
	for _, secret := range []string{access, refresh, author.AppPassword} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("the error %q carries a secret", err)
		}
	}
	px.On(&atprotodev.Rule{Method: "com.atproto.server.createSession", Status: http.StatusBadRequest, Body: `{"error":"InvalidRequest","message":"bad password ` + author.AppPassword + `"}`})
	_, err = author.client(px.URL).Metrics(ctx, p.Uri)
	if err == nil || strings.Contains(err.Error(), author.AppPassword) {
		t.Fatalf("the error %v carries the app password", err)
	}
}
