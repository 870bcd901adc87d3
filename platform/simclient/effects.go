package simclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"resurge/platform"
)

// FindEffect asks the sim for effects on the post made with key (verify-before-retry). The
// first (oldest) one is returned, marked Replayed: the action had already happened.
func (c *Client) FindEffect(ctx context.Context, postID, key string) (platform.Effect, bool, error) {
	path := postPath(postID, "/effects") + "?" + url.Values{"key": {key}}.Encode()
	r, err := c.do(ctx, endpointLookup, http.MethodGet, path, nil, "")
	if err != nil {
		return platform.Effect{}, false, err
	}
	var raw struct {
		Effects *[]effectJSON `json:"effects"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		return platform.Effect{}, false, c.invalid("GET "+path, "%v", err)
	}
	if raw.Effects == nil {
		return platform.Effect{}, false, c.invalid("GET "+path, "effects is missing")
	}
	if len(*raw.Effects) == 0 {
		return platform.Effect{}, false, nil
	}
	e, err := (*raw.Effects)[0].effect("", key, 0)
	if err != nil {
		return platform.Effect{}, false, c.invalid("GET "+path, "effects[0]: %v", err)
	}
	e.Replayed = true
	return e, true, nil
}
