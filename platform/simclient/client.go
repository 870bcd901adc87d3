// Package simclient is the platform.Platform adapter for the simulated platform
// (resurge/platform/sim), spoken to over HTTP. It turns every way a call can fail into a
// classified *platform.Error, so that the workflows can tell a retry-worthy failure from a
// final one.
package simclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"resurge/platform"
)

// DefaultTimeout bounds one HTTP call (connect, send, wait, read) unless WithTimeout or
// WithHTTPClient says otherwise.
const DefaultTimeout = 10 * time.Second

// maxReplyBytes bounds a reply body; anything larger is not a reply the sim would send.
const maxReplyBytes = 1 << 20

// Headers of the sim's action protocol (the same names as in package sim; repeated here so that
// the client does not import the server).
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
)

// Client talks to one sim server as one account. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
	now   func() time.Time // for HTTP-date Retry-After values
}

var _ platform.Platform = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient uses a copy of hc (its transport, timeout and so on). Redirects are never
// followed, whatever hc says: a redirect would be a misconfigured base URL, and following it
// could carry the token somewhere else.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		cp := *hc
		c.http = &cp
	}
}

// WithTimeout sets the time limit of one HTTP call (0 means none: only the context bounds it).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.http.Timeout = d }
}

// New returns a client for the sim at baseURL ("http://127.0.0.1:8090") with a bearer token.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		base:  strings.TrimRight(baseURL, "/"),
		token: token,
		http:  &http.Client{Timeout: DefaultTimeout},
		now:   time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// endpoint says what a call was for; a 404 means different things for each.
type endpoint int

const (
	endpointMetrics endpoint = iota // 404: the post is gone
	endpointAction                  // 404: not found
	endpointLookup                  // 404: not found
)

// reply is a successful (2xx) reply.
type reply struct {
	header http.Header
	body   []byte
}

// do sends one call and returns its 2xx reply, or a classified *platform.Error.
func (c *Client) do(ctx context.Context, ep endpoint, method, path string, body any, key string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, &platform.Error{Code: platform.CodeBadRequest, Message: "encoding the request: " + err.Error()}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{}, &platform.Error{Code: platform.CodeBadRequest, Message: c.redact("building the request: " + err.Error())}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		// Without GetBody net/http never resends the request by itself. With it, a request
		// carrying an Idempotency-Key counts as replayable and is sent again when a reused
		// connection drops before the reply: the outcome is unknown, and a resend bypasses
		// verify-before-retry (a second effect on a platform that ignores the key). Only the
		// activity's retry, which looks the effect up first, may send an action again.
		req.GetBody = nil
	}
	if key != "" {
		req.Header.Set(headerIdempotencyKey, key)
	}
	what := method + " " + path

	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, c.transportError(what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return reply{}, c.transportError(what+" (reading the reply)", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return reply{}, c.statusError(what, ep, resp, data)
	}
	if len(data) > maxReplyBytes {
		return reply{}, c.invalid(what, "the reply is larger than %d bytes", maxReplyBytes)
	}
	return reply{header: resp.Header, body: data}, nil
}

// postPath is /v1/posts/{id}<suffix>, the ID escaped.
func postPath(postID, suffix string) string {
	return "/v1/posts/" + url.PathEscape(postID) + suffix
}
