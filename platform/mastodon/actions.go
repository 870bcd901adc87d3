package mastodon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"resurge/platform"
)

// Comment replies once to the post: POST /api/v1/statuses with the text and its marker,
// in_reply_to_id and the key as Idempotency-Key.
func (c *Client) Comment(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	if err := platform.NeedKey("comment", key); err != nil {
		return platform.Effect{}, err
	}
	s, err := c.postReply(ctx, postID, text, Marker(key), key)
	if err != nil {
		return platform.Effect{}, err
	}
	return platform.Effect{ID: s.ID, IDs: []string{s.ID}, URL: s.URL}, nil
}

// Edit replaces the post's text (with its marker): PUT /api/v1/statuses/:id, Mastodon 3.5 or
// later. Mastodon's edit replaces every attribute it is not sent, so the adapter reads the
// status first and sends its content warning, sensitivity, language and media back unchanged.
// A post with a poll is refused (unprocessable): editing it would remove the poll or reset its
// votes. A repeated edit with the same text changes nothing visible, so no key is sent (Mastodon
// honours Idempotency-Key on POST only); FindEffect recognises the edit by its marker.
func (c *Client) Edit(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	if err := platform.NeedKey("edit", key); err != nil {
		return platform.Effect{}, err
	}
	path := statusPath(postID)
	cur, err := c.getStatus(ctx, endpointAction, postID)
	if err != nil {
		return platform.Effect{}, err
	}
	if p := strings.TrimSpace(string(cur.raw.Poll)); p != "" && p != "null" {
		return platform.Effect{}, &platform.Error{Code: platform.CodeUnprocessable,
			Message: "PUT " + path + ": the post has a poll, which an edit would remove or reset; not editing it"}
	}
	mark := Marker(key)
	form := url.Values{
		"status":       {withMarker(text, mark)},
		"spoiler_text": {cur.raw.SpoilerText},
		"sensitive":    {fmt.Sprint(cur.raw.Sensitive)},
	}
	if cur.raw.Language != nil && *cur.raw.Language != "" {
		form.Set("language", *cur.raw.Language)
	}
	for _, m := range cur.raw.Media {
		form.Add("media_ids[]", m.ID)
	}
	r, err := c.do(ctx, endpointAction, http.MethodPut, path, form, "")
	if err != nil {
		return platform.Effect{}, err
	}
	s, err := decodeStatus(r.body)
	switch {
	case err != nil:
		return platform.Effect{}, c.invalid("PUT "+path, "%v", err)
	case s.ID != postID:
		return platform.Effect{}, c.invalid("PUT "+path, "the reply is status %q, not the post edited", s.ID)
	case !strings.Contains(s.plainText(), mark):
		return platform.Effect{}, c.invalid("PUT "+path, "the edited status does not carry the marker %s", mark)
	}
	return platform.Effect{ID: s.ID, IDs: []string{s.ID}, URL: s.URL}, nil
}

// Thread posts a chain of replies, the first to the post and each next one to the previous one,
// part i with the Idempotency-Key key-i and the marker "[rs:<key> i/n]".
//
// It first looks at the post's context for parts an earlier attempt already posted (verify
// before retry: the attempt may have failed midway, or its reply may have been lost, and the
// server may ignore Idempotency-Key) and continues the chain after the last of them, so that no
// part is ever posted twice. The effect lists every part; it is Replayed when all of them
// already existed.
func (c *Client) Thread(ctx context.Context, postID string, parts []string, key string) (platform.Effect, error) {
	if err := platform.NeedKey("thread", key); err != nil {
		return platform.Effect{}, err
	}
	if len(parts) == 0 {
		return platform.Effect{}, &platform.Error{Code: platform.CodeBadRequest, Message: "thread on " + postID + ": no parts"}
	}
	n := len(parts)
	existing, err := c.threadSoFar(ctx, postID, key, n)
	if err != nil {
		return platform.Effect{}, err
	}
	ids := make([]string, 0, n)
	firstURL := ""
	prev := postID
	for _, s := range existing {
		ids = append(ids, s.ID)
		prev = s.ID
	}
	if len(existing) > 0 {
		firstURL = existing[0].URL
	}
	for i := len(existing) + 1; i <= n; i++ {
		s, err := c.postReply(ctx, prev, parts[i-1], PartMarker(key, i, n), PartKey(key, i))
		if err != nil {
			return platform.Effect{}, err
		}
		if i == 1 {
			firstURL = s.URL
		}
		ids = append(ids, s.ID)
		prev = s.ID
	}
	return platform.Effect{ID: ids[0], IDs: ids, URL: firstURL, Replayed: len(existing) == n}, nil
}

// FindEffect looks for what an action made with key left on the post (verify-before-retry):
// the post itself carrying the key's marker (an edit), a reply of ours to the post carrying it
// (a comment), or a complete thread of ours carrying its part markers. A thread that is only
// partly there is not found: Thread continues it. Found effects are Replayed.
func (c *Client) FindEffect(ctx context.Context, postID, key string) (platform.Effect, bool, error) {
	self, err := c.self(ctx)
	if err != nil {
		return platform.Effect{}, false, err
	}
	post, err := c.getStatus(ctx, endpointLookup, postID)
	if err != nil {
		return platform.Effect{}, false, err
	}
	mark := Marker(key)
	if post.AccountID == self && strings.Contains(post.plainText(), mark) {
		return platform.Effect{ID: post.ID, IDs: []string{post.ID}, URL: post.URL, Replayed: true}, true, nil
	}
	own, err := c.ownDescendants(ctx, endpointLookup, postID, self)
	if err != nil {
		return platform.Effect{}, false, err
	}
	for _, d := range own {
		if d.InReplyToID == postID && strings.Contains(d.text, mark) {
			return platform.Effect{ID: d.ID, IDs: []string{d.ID}, URL: d.URL, Replayed: true}, true, nil
		}
	}
	for _, d := range own {
		if d.InReplyToID != postID {
			continue
		}
		n := threadLength(d.text, key)
		if n == 0 {
			continue
		}
		chain := threadChain(own, postID, key, n)
		if len(chain) < n {
			return platform.Effect{}, false, nil // partly posted: Thread continues it
		}
		ids := make([]string, n)
		for i, s := range chain {
			ids[i] = s.ID
		}
		return platform.Effect{ID: ids[0], IDs: ids, URL: chain[0].URL, Replayed: true}, true, nil
	}
	return platform.Effect{}, false, nil
}

// postReply posts text with its marker as a reply to inReplyTo, with key as Idempotency-Key,
// and checks that the status the server returns is that reply: one that answers inReplyTo and
// carries the marker (a server replaying a key from its store returns the status first made
// with it).
func (c *Client) postReply(ctx context.Context, inReplyTo, text, mark, key string) (status, error) {
	what := "POST " + pathStatuses
	form := url.Values{"status": {withMarker(text, mark)}, "in_reply_to_id": {inReplyTo}}
	r, err := c.do(ctx, endpointAction, http.MethodPost, pathStatuses, form, key)
	if err != nil {
		return status{}, err
	}
	s, err := decodeStatus(r.body)
	switch {
	case err != nil:
		return status{}, c.invalid(what, "%v", err)
	case s.InReplyToID != inReplyTo:
		return status{}, c.invalid(what, "status %s replies to %q, not to %s", s.ID, s.InReplyToID, inReplyTo)
	case !strings.Contains(s.plainText(), mark):
		return status{}, c.invalid(what, "status %s does not carry the marker %s", s.ID, mark)
	}
	return s, nil
}

// getStatus reads one status; it must be the one asked for.
func (c *Client) getStatus(ctx context.Context, ep endpoint, id string) (status, error) {
	path := statusPath(id)
	r, err := c.do(ctx, ep, http.MethodGet, path, nil, "")
	if err != nil {
		return status{}, err
	}
	s, err := decodeStatus(r.body)
	if err != nil {
		return status{}, c.invalid("GET "+path, "%v", err)
	}
	if s.ID != id {
		return status{}, c.invalid("GET "+path, "the reply is status %q, not %q", s.ID, id)
	}
	return s, nil
}

// ownStatus is a descendant posted by the authenticated account, with its plain text.
type ownStatus struct {
	status
	text string
}

// ownDescendants returns the post's descendants posted by account self, in the server's order.
func (c *Client) ownDescendants(ctx context.Context, ep endpoint, postID, self string) ([]ownStatus, error) {
	path := contextPath(postID)
	r, err := c.do(ctx, ep, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	desc, err := decodeContext(r.body)
	if err != nil {
		return nil, c.invalid("GET "+path, "%v", err)
	}
	var own []ownStatus
	for _, d := range desc {
		if d.AccountID == self {
			own = append(own, ownStatus{status: d, text: d.plainText()})
		}
	}
	return own, nil
}

// threadSoFar returns the parts of the n-part thread made with key that are already on the post.
func (c *Client) threadSoFar(ctx context.Context, postID, key string, n int) ([]ownStatus, error) {
	self, err := c.self(ctx)
	if err != nil {
		return nil, err
	}
	own, err := c.ownDescendants(ctx, endpointAction, postID, self)
	if err != nil {
		return nil, err
	}
	return threadChain(own, postID, key, n), nil
}

// threadChain follows the n-part thread made with key from the post: part 1 replies to the
// post, part i to part i-1, each carrying its part marker. It stops at the first part missing,
// so what it returns is always a chain the next part can continue.
func threadChain(own []ownStatus, postID, key string, n int) []ownStatus {
	var chain []ownStatus
	prev := postID
	for i := 1; i <= n; i++ {
		mark := PartMarker(key, i, n)
		found := false
		for _, d := range own {
			if d.InReplyToID == prev && strings.Contains(d.text, mark) {
				chain = append(chain, d)
				prev = d.ID
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	return chain
}
