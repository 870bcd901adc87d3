package mastodon

import (
	"context"

	"resurge/domain"
)

// Metrics reads the post's counters from GET /api/v1/statuses/:id:
//
//	engagements = favourites_count + reblogs_count + quotes_count + (replies_count - own replies)
//	impressions = 0 (Mastodon has none; the planner scores Mastodon posts by velocity)
//
// Own replies are the automation's: the post's descendants (GET /api/v1/statuses/:id/context)
// posted by the authenticated account (GET /api/v1/accounts/verify_credentials, asked once),
// replying to the post itself and carrying a Resurge marker, and public or unlisted, the only
// replies Mastodon counts in replies_count. Comments and first thread parts are such replies;
// later thread parts reply to the part before and are not counted by Mastodon in the first
// place. The context is only read when the post has replies. A deleted post (404 or 410) is
// platform.CodePostGone. quotes_count (quote posts of it, Mastodon 4.5 and later; 0 on older
// servers, which have no quotes) counts like Bluesky's quotes; the automation never quotes on
// Mastodon, so there is nothing of its own to subtract. The sample is stamped with the client's
// clock.
func (c *Client) Metrics(ctx context.Context, postID string) (domain.MetricsSample, error) {
	s, err := c.getStatus(ctx, endpointMetrics, postID)
	if err != nil {
		return domain.MetricsSample{}, err
	}
	n, err := s.counters()
	if err != nil {
		return domain.MetricsSample{}, c.invalid("GET "+statusPath(postID), "%v", err)
	}
	replies := n.Replies
	if replies > 0 {
		own, err := c.ownCountedReplies(ctx, postID)
		if err != nil {
			return domain.MetricsSample{}, err
		}
		replies = max(0, replies-own)
	}
	return domain.MetricsSample{
		At:          c.now().UTC(),
		Impressions: 0,
		Engagements: n.Favourites + n.Reblogs + n.Quotes + replies,
	}, nil
}

// ownCountedReplies counts the automation's replies that Mastodon counts in the post's
// replies_count.
func (c *Client) ownCountedReplies(ctx context.Context, postID string) (int64, error) {
	self, err := c.self(ctx)
	if err != nil {
		return 0, err
	}
	own, err := c.ownDescendants(ctx, endpointMetrics, postID, self)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, d := range own {
		if d.InReplyToID == postID && d.countsAsReply() && markerPattern.MatchString(d.text) {
			n++
		}
	}
	return n, nil
}
