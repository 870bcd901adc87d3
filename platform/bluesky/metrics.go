package bluesky

import (
	"context"
	"fmt"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/domain"
	"resurge/platform"
)

// Metrics reads the post's counters from app.bsky.feed.getPosts:
//
//	engagements = likeCount + repostCount + (replyCount - own replies) + (quoteCount - own quotes)
//	impressions = 0 (Bluesky has none; the planner scores Bluesky posts by velocity)
//
// The automation's own effects are recognised by their record keys, which are functions of the
// post (domain.ActionKeys) and of nothing else: its comment and its thread's first part reply to
// the post (later parts reply to the part before, and the AppView does not count them), its
// quote quotes it. The same getPosts call asks for those three and subtracts the ones that
// exist. A post missing from the reply is checked with getRecord before it counts as gone (the
// AppView indexes asynchronously): RecordNotFound there is platform.CodePostGone. The sample is
// stamped with the client's clock.
func (c *Client) Metrics(ctx context.Context, postID string) (domain.MetricsSample, error) {
	post, err := parsePostURI(postID)
	if err != nil {
		return domain.MetricsSample{}, err
	}
	self, err := c.self(ctx)
	if err != nil {
		return domain.MetricsSample{}, err
	}
	replies, quotes := ownEffects(self, postID)
	uris := append(append([]string{postID}, replies...), quotes...)
	out, err := bsky.FeedGetPosts(ctx, call{t: c.xrpc, c: c, ep: endpointMetrics}, uris)
	if err != nil {
		return domain.MetricsSample{}, err
	}
	const what = "app.bsky.feed.getPosts"
	found := map[string]bool{}
	var view *bsky.FeedDefs_PostView
	for i, p := range out.Posts {
		if p == nil || p.Uri == "" {
			return domain.MetricsSample{}, c.xrpc.invalid(what, "posts[%d] has no uri", i)
		}
		found[p.Uri] = true
		if p.Uri == postID {
			view = p
		}
	}
	if view == nil {
		return domain.MetricsSample{}, c.confirmGone(ctx, post)
	}
	n, err := counts(view)
	if err != nil {
		return domain.MetricsSample{}, c.xrpc.invalid(what, "%v", err)
	}
	own := func(uris []string) (k int64) {
		for _, u := range uris {
			if found[u] {
				k++
			}
		}
		return k
	}
	return domain.MetricsSample{
		At:          c.xrpc.now().UTC(),
		Impressions: 0,
		Engagements: n.likes + n.reposts + max(0, n.replies-own(replies)) + max(0, n.quotes-own(quotes)),
	}, nil
}

// ownEffects are the AT URIs of the automation's replies to the post that the AppView counts in
// its replyCount (the comment and the thread's first part) and of its quote of the post.
func ownEffects(self syntax.DID, postID string) (replies, quotes []string) {
	for _, k := range domain.ActionKeys(domain.PlatformBluesky, postID) {
		switch k.Action {
		case domain.ActionComment:
			replies = append(replies, postURI(self, RecordKey(k.Key, 0)))
		case domain.ActionThread:
			replies = append(replies, postURI(self, RecordKey(k.Key, 1)))
		case domain.ActionQuote:
			quotes = append(quotes, postURI(self, RecordKey(k.Key, 0)))
		}
	}
	return replies, quotes
}

type postCounts struct{ likes, reposts, replies, quotes int64 }

// counts reads a post view's counters: all present and not negative.
func counts(v *bsky.FeedDefs_PostView) (postCounts, error) {
	var n postCounts
	for _, f := range []struct {
		name string
		v    *int64
		dst  *int64
	}{
		{"likeCount", v.LikeCount, &n.likes},
		{"repostCount", v.RepostCount, &n.reposts},
		{"replyCount", v.ReplyCount, &n.replies},
		{"quoteCount", v.QuoteCount, &n.quotes},
	} {
		switch {
		case f.v == nil:
			return n, fmt.Errorf("the post's %s is missing", f.name)
		case *f.v < 0:
			return n, fmt.Errorf("the post's %s is negative: %d", f.name, *f.v)
		}
		*f.dst = *f.v
	}
	return n, nil
}

// confirmGone is the error for a post the AppView did not return: post_gone when its repository
// no longer has it, else a transient error (the AppView has not indexed it, or hides it).
func (c *Client) confirmGone(ctx context.Context, post postRef) error {
	_, err := comatproto.RepoGetRecord(ctx, call{t: c.xrpc, c: c, ep: endpointMetrics}, "", domain.BlueskyPostCollection, post.did.String(), post.rkey)
	if err != nil {
		return err // RecordNotFound: post_gone
	}
	return &platform.Error{Code: platform.CodeServiceUnavailable,
		Message: "app.bsky.feed.getPosts: the AppView does not show " + post.uri + " (not indexed yet, or hidden), though its repository has it"}
}

// postRef is a watched post, from its canonical AT URI.
type postRef struct {
	uri  string
	did  syntax.DID
	rkey string
}

// parsePostURI reads a post ID as workflows hold it: the canonical AT URI (the starter
// normalizes what users give). Anything else is a final bad_request.
func parsePostURI(id string) (postRef, error) {
	if err := domain.ValidatePostID("post", domain.PlatformBluesky, id); err != nil {
		return postRef{}, &platform.Error{Code: platform.CodeBadRequest, Message: err.Error()}
	}
	u, _ := syntax.ParseATURI(id)
	did, _ := u.Authority().AsDID()
	return postRef{uri: id, did: did, rkey: u.RecordKey().String()}, nil
}
