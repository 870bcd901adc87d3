package bluesky

import (
	"context"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	lexutil "github.com/bluesky-social/indigo/lex/util"

	"resurge/domain"
	"resurge/platform"
)

// Comment replies once to the post: a post at RecordKey(key, 0) in the account's repository,
// whose reply refs are the post (parent) and its thread's root (the post itself when it is not a
// reply).
func (c *Client) Comment(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	if err := platform.NeedKey("comment", key); err != nil {
		return platform.Effect{}, err
	}
	target, err := c.target(ctx, postID)
	if err != nil {
		return platform.Effect{}, err
	}
	rec := &bsky.FeedPost{Text: text, Reply: &bsky.FeedPost_ReplyRef{Root: target.root, Parent: target.ref}}
	ref, replayed, err := c.create(ctx, RecordKey(key, 0), rec, repliesTo(postID))
	if err != nil {
		return platform.Effect{}, err
	}
	return effect([]string{ref.Uri}, replayed), nil
}

// Quote publishes a quote post of the post: a post at RecordKey(key, 0) with the text and an
// app.bsky.embed.record of the post. It is Bluesky's tier 2, which cannot edit.
func (c *Client) Quote(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	if err := platform.NeedKey("quote", key); err != nil {
		return platform.Effect{}, err
	}
	target, err := c.target(ctx, postID)
	if err != nil {
		return platform.Effect{}, err
	}
	rec := &bsky.FeedPost{Text: text, Embed: &bsky.FeedPost_Embed{EmbedRecord: &bsky.EmbedRecord{Record: target.ref}}}
	ref, replayed, err := c.create(ctx, RecordKey(key, 0), rec, quotes(postID))
	if err != nil {
		return platform.Effect{}, err
	}
	return effect([]string{ref.Uri}, replayed), nil
}

// Edit is refused: a Bluesky post cannot be edited (the planner quotes it instead).
func (c *Client) Edit(context.Context, string, string, string) (platform.Effect, error) {
	return platform.Effect{}, &platform.Error{Code: platform.CodeUnprocessable,
		Message: "bluesky: posts cannot be edited; tier 2 on Bluesky is a quote post"}
}

// Thread posts a chain of replies: part i at RecordKey(key, i), replying to part i-1 (part 1 to
// the post), all with the post's thread root as root. A part already there (an earlier attempt
// made it) is read back instead of posted again, so a retry after a failure midway, or after a
// lost reply, continues the chain without a duplicate. The effect is Replayed when every part
// already existed.
func (c *Client) Thread(ctx context.Context, postID string, parts []string, key string) (platform.Effect, error) {
	if err := platform.NeedKey("thread", key); err != nil {
		return platform.Effect{}, err
	}
	if len(parts) == 0 {
		return platform.Effect{}, &platform.Error{Code: platform.CodeBadRequest, Message: "thread on " + postID + ": no parts"}
	}
	target, err := c.target(ctx, postID)
	if err != nil {
		return platform.Effect{}, err
	}
	parent, uris, all := target.ref, make([]string, 0, len(parts)), true
	for i, text := range parts {
		rec := &bsky.FeedPost{Text: text, Reply: &bsky.FeedPost_ReplyRef{Root: target.root, Parent: parent}}
		ref, replayed, err := c.create(ctx, RecordKey(key, i+1), rec, repliesTo(parent.Uri))
		if err != nil {
			return platform.Effect{}, err
		}
		uris, parent, all = append(uris, ref.Uri), ref, all && replayed
	}
	return effect(uris, all), nil
}

// FindEffect looks for the comment or quote made with key (getRecord at RecordKey(key, 0)): found
// when it is there and is a reply to, or a quote of, the post. A thread is never found here:
// Thread itself reads back the parts already there and posts only the missing ones.
func (c *Client) FindEffect(ctx context.Context, postID, key string) (platform.Effect, bool, error) {
	if err := platform.NeedKey("find", key); err != nil {
		return platform.Effect{}, false, err
	}
	self, err := c.self(ctx)
	if err != nil {
		return platform.Effect{}, false, err
	}
	rkey := RecordKey(key, 0)
	ref, rec, err := c.getPost(ctx, self.String(), rkey)
	switch {
	case errorName(err) == errRecordNotFound:
		return platform.Effect{}, false, nil
	case err != nil:
		return platform.Effect{}, false, err
	case !repliesTo(postID)(rec) && !quotes(postID)(rec):
		return platform.Effect{}, false, nil
	}
	return effect([]string{ref.Uri}, true), true, nil
}

// target is a post to reply to or quote: its strong ref and its thread's root.
type target struct {
	ref, root *comatproto.RepoStrongRef
}

// target reads the post (getRecord; its repository's copy, through the PDS) for its CID and,
// when it is itself a reply, its thread's root.
func (c *Client) target(ctx context.Context, postID string) (target, error) {
	post, err := parsePostURI(postID)
	if err != nil {
		return target{}, err
	}
	ref, rec, err := c.getPost(ctx, post.did.String(), post.rkey)
	if err != nil {
		return target{}, err
	}
	t := target{ref: ref, root: ref}
	if rec.Reply != nil && rec.Reply.Root != nil && rec.Reply.Root.Uri != "" && rec.Reply.Root.Cid != "" {
		t.root = &comatproto.RepoStrongRef{Uri: rec.Reply.Root.Uri, Cid: rec.Reply.Root.Cid}
	}
	return t, nil
}

// getPost reads a post record: its strong ref and its value.
func (c *Client) getPost(ctx context.Context, repo, rkey string) (*comatproto.RepoStrongRef, *bsky.FeedPost, error) {
	const what = "com.atproto.repo.getRecord"
	out, err := comatproto.RepoGetRecord(ctx, call{t: c.xrpc, c: c}, "", domain.BlueskyPostCollection, repo, rkey)
	if err != nil {
		return nil, nil, err
	}
	want := "at://" + repo + "/" + domain.BlueskyPostCollection + "/" + rkey
	switch {
	case out.Uri != want:
		return nil, nil, c.xrpc.invalid(what, "the reply is record %q, not %q", out.Uri, want)
	case out.Cid == nil || *out.Cid == "":
		return nil, nil, c.xrpc.invalid(what, "the reply for %s has no cid", want)
	case out.Value == nil:
		return nil, nil, c.xrpc.invalid(what, "the reply for %s has no value", want)
	}
	rec, ok := out.Value.Val.(*bsky.FeedPost)
	if !ok {
		return nil, nil, c.xrpc.invalid(what, "%s is not a post", want)
	}
	return &comatproto.RepoStrongRef{Uri: out.Uri, Cid: *out.Cid}, rec, nil
}

// create writes rec at rkey in the account's repository, create-only (putRecord with swapRecord
// null). When a record is already there the PDS answers InvalidSwap: the record is read back and
// is the effect (replayed) if ours says it is what this write would have made.
func (c *Client) create(ctx context.Context, rkey string, rec *bsky.FeedPost, ours func(*bsky.FeedPost) bool) (*comatproto.RepoStrongRef, bool, error) {
	const what = "com.atproto.repo.putRecord"
	self, err := c.self(ctx)
	if err != nil {
		return nil, false, err
	}
	rec.CreatedAt = c.xrpc.now().UTC().Format(createdAtLayout)
	rec.Facets = linkFacets(rec.Text)
	want := postURI(self, rkey)
	out, err := comatproto.RepoPutRecord(ctx, call{t: c.xrpc, c: c}, &comatproto.RepoPutRecord_Input{
		Repo: self.String(), Collection: domain.BlueskyPostCollection, Rkey: rkey,
		Record:     &lexutil.LexiconTypeDecoder{Val: rec},
		SwapRecord: nil, // null: only if there is no record yet
	})
	switch {
	case err == nil && (out.Uri != want || out.Cid == ""):
		return nil, false, c.xrpc.invalid(what, "the reply is record %q (cid %q), not %s", out.Uri, out.Cid, want)
	case err == nil:
		return &comatproto.RepoStrongRef{Uri: out.Uri, Cid: out.Cid}, false, nil
	case errorName(err) != errInvalidSwap:
		return nil, false, err
	}
	ref, existing, err := c.getPost(ctx, self.String(), rkey)
	if err != nil {
		return nil, false, err
	}
	if !ours(existing) {
		return nil, false, &platform.Error{Code: platform.CodeUnprocessable,
			Message: what + ": " + want + " already holds a post that is not this action's; not posting"}
	}
	return ref, true, nil
}

// createdAtLayout is an atproto datetime (RFC 3339, UTC, milliseconds).
const createdAtLayout = "2006-01-02T15:04:05.000Z"

// repliesTo matches a post that replies to uri.
func repliesTo(uri string) func(*bsky.FeedPost) bool {
	return func(p *bsky.FeedPost) bool {
		return p.Reply != nil && p.Reply.Parent != nil && p.Reply.Parent.Uri == uri
	}
}

// quotes matches a post that quotes uri.
func quotes(uri string) func(*bsky.FeedPost) bool {
	return func(p *bsky.FeedPost) bool {
		return p.Embed != nil && p.Embed.EmbedRecord != nil && p.Embed.EmbedRecord.Record != nil && p.Embed.EmbedRecord.Record.Uri == uri
	}
}

// effect is the effect of the records at uris (the first is the effect's ID).
func effect(uris []string, replayed bool) platform.Effect {
	return platform.Effect{ID: uris[0], IDs: uris, URL: WebURL(uris[0]), Replayed: replayed}
}
