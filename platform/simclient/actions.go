package simclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"resurge/platform"
)

// Comment replies once to the post.
func (c *Client) Comment(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	return c.act(ctx, http.MethodPost, postPath(postID, "/comments"), map[string]string{"text": text}, "comment", key, 1)
}

// Edit replaces the post's text.
func (c *Client) Edit(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	return c.act(ctx, http.MethodPut, postPath(postID, ""), map[string]string{"text": text}, "edit", key, 1)
}

// Thread posts a chain of replies; the effect has one ID per part.
func (c *Client) Thread(ctx context.Context, postID string, parts []string, key string) (platform.Effect, error) {
	return c.act(ctx, http.MethodPost, postPath(postID, "/threads"), map[string][]string{"parts": parts}, "thread", key, len(parts))
}

// act sends an action with its idempotency key and reads the effect. A reply replayed from the
// sim's idempotency store is marked Replayed.
func (c *Client) act(ctx context.Context, method, path string, body any, kind, key string, wantIDs int) (platform.Effect, error) {
	if key == "" {
		// The sim would refuse it too; failing here keeps a keyless action from ever leaving.
		return platform.Effect{}, &platform.Error{Code: platform.CodeBadRequest, Message: method + " " + path + ": an idempotency key is required"}
	}
	r, err := c.do(ctx, endpointAction, method, path, body, key)
	if err != nil {
		return platform.Effect{}, err
	}
	e, err := decodeEffect(r.body, kind, key, wantIDs)
	if err != nil {
		return platform.Effect{}, c.invalid(method+" "+path, "%v", err)
	}
	e.Replayed = r.header.Get(headerReplayed) == "true"
	return e, nil
}

// effectJSON is the part of the sim's effect the client needs or checks.
type effectJSON struct {
	ID   string   `json:"id"`
	IDs  []string `json:"ids"`
	URL  string   `json:"url"`
	Kind string   `json:"kind"`
	Key  string   `json:"key"`
}

// decodeEffect reads one effect reply. It must name what was created, and when it says which
// kind of action and key it belongs to, those must be the ones sent: a mismatch means the
// reply is about something else and must not be recorded as this action's outcome.
func decodeEffect(body []byte, kind, key string, wantIDs int) (platform.Effect, error) {
	var raw effectJSON
	if err := json.Unmarshal(body, &raw); err != nil {
		return platform.Effect{}, err
	}
	return raw.effect(kind, key, wantIDs)
}

// effect checks the decoded fields; wantIDs 0 skips the count check (a lookup does not know it).
func (raw effectJSON) effect(kind, key string, wantIDs int) (platform.Effect, error) {
	switch {
	case raw.ID == "":
		return platform.Effect{}, fieldError("id is missing")
	case raw.Kind != "" && kind != "" && raw.Kind != kind:
		return platform.Effect{}, fieldError("kind is %q, the call was a %s", raw.Kind, kind)
	case raw.Key != "" && raw.Key != key:
		return platform.Effect{}, fieldError("key is %q, not the one sent", raw.Key)
	}
	ids := raw.IDs
	if len(ids) == 0 {
		ids = []string{raw.ID}
	}
	if wantIDs > 0 && len(ids) != wantIDs {
		return platform.Effect{}, fieldError("%d ids for %d parts", len(ids), wantIDs)
	}
	if ids[0] != raw.ID {
		return platform.Effect{}, fieldError("id %q is not the first of ids %q", raw.ID, ids)
	}
	for i, id := range ids {
		if id == "" {
			return platform.Effect{}, fieldError("ids[%d] is empty", i)
		}
	}
	return platform.Effect{ID: raw.ID, IDs: ids, URL: raw.URL}, nil
}

func fieldError(format string, args ...any) error { return fmt.Errorf(format, args...) }
