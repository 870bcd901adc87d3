package simclient

import (
	"context"
	"encoding/json"
	"net/http"

	"resurge/domain"
)

// Metrics reads the post's cumulative counters. A deleted post is platform.CodePostGone.
func (c *Client) Metrics(ctx context.Context, postID string) (domain.MetricsSample, error) {
	path := postPath(postID, "/metrics")
	r, err := c.do(ctx, endpointMetrics, http.MethodGet, path, nil, "")
	if err != nil {
		return domain.MetricsSample{}, err
	}
	s, err := decodeMetrics(postID, r.body)
	if err != nil {
		return domain.MetricsSample{}, c.invalid("GET "+path, "%v", err)
	}
	return s, nil
}

// decodeMetrics reads {"post_id","at","impressions","engagements"}. Counters must be whole,
// finite and non-negative (a NaN or a negative count would poison the stagnation score), the
// time must be RFC 3339, and a post_id, when present, must be the post asked about.
func decodeMetrics(postID string, body []byte) (domain.MetricsSample, error) {
	var s domain.MetricsSample
	var raw struct {
		PostID      *string         `json:"post_id"`
		At          *string         `json:"at"`
		Impressions json.RawMessage `json:"impressions"`
		Engagements json.RawMessage `json:"engagements"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return s, err
	}
	if raw.PostID != nil && *raw.PostID != postID {
		return s, fieldError("post_id is %q, not the post asked about", *raw.PostID)
	}
	if raw.At == nil {
		return s, fieldError("at is missing")
	}
	at, err := domain.ParseTime("at", *raw.At)
	if err != nil {
		return s, err
	}
	s.At = at
	if s.Impressions, err = domain.DecodeCounter("impressions", raw.Impressions); err != nil {
		return s, err
	}
	if s.Engagements, err = domain.DecodeCounter("engagements", raw.Engagements); err != nil {
		return s, err
	}
	return s, nil
}
