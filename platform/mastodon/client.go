// Package mastodon is the platform.Platform adapter for a Mastodon server (or one that speaks
// Mastodon's client API), acting as the account whose access token it holds.
//
// Endpoints (all with "Authorization: Bearer <token>"):
//
//	Metrics     GET /api/v1/statuses/:id, and when the status has replies
//	            GET /api/v1/accounts/verify_credentials (once, cached) and
//	            GET /api/v1/statuses/:id/context
//	Comment     POST /api/v1/statuses  status, in_reply_to_id=:id       Idempotency-Key: key
//	Edit        GET /api/v1/statuses/:id, then
//	            PUT /api/v1/statuses/:id  status, spoiler_text, sensitive, language, media_ids[]
//	            (Mastodon 3.5 or later; the attributes are resent unchanged)
//	Thread      GET /api/v1/statuses/:id/context, then for each part not posted yet
//	            POST /api/v1/statuses  status, in_reply_to_id=<previous> Idempotency-Key: key-<i>
//	FindEffect  GET /api/v1/statuses/:id and GET /api/v1/statuses/:id/context
//
// (Thread and FindEffect also need the account's ID: verify_credentials, asked once.)
//
// Bodies are sent as application/x-www-form-urlencoded, as Mastodon documents them.
//
// Every text the adapter publishes ends with a visible marker naming the idempotency key (see
// Marker): Mastodon keeps Idempotency-Key values for an hour only and some compatible servers
// ignore them, so the marker is what lets FindEffect, Thread and Metrics recognise the
// automation's own statuses for ever after.
//
// Mastodon has no impressions: Metrics reports 0, and the planner scores Mastodon posts by
// engagement velocity instead (domain.VelocityStagnationScore).
package mastodon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"resurge/platform"
)

// DefaultTimeout bounds one HTTP call (connect, send, wait, read) unless WithTimeout or
// WithHTTPClient says otherwise.
const DefaultTimeout = 10 * time.Second

// maxReplyBytes bounds a reply body. A context can list up to 4,096 descendants of a few
// kilobytes each; anything larger is not a reply we can use.
const maxReplyBytes = 16 << 20

// headerIdempotencyKey is sent with every POST.
const headerIdempotencyKey = "Idempotency-Key"

// Client talks to one Mastodon server as one account. It is safe for concurrent use.
type Client struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	token string
	http  *http.Client
	now   func() time.Time

	mu     sync.Mutex
	selfID string // the authenticated account's ID, once known
}

var _ platform.Platform = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient uses a copy of hc (its transport, timeout and so on). Redirects are never
// followed, whatever hc says (see New).
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

// WithClock sets the clock that stamps samples and reads rate-limit reset times.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// New returns a client for the Mastodon server at serverURL ("https://mastodon.example") that
// authenticates with an access token. The URL must be https (http only to a loopback address,
// for a development server) with a host, and carry no credentials, query or fragment.
//
// Redirects are never followed: a redirect means the URL is not the server's own address
// (http to https, a www host, a moved instance), and following it would send the token
// wherever it points and turn a POST into a GET. It fails as unexpected_status naming the host
// it points to.
func New(serverURL, token string, opts ...Option) (*Client, error) {
	base, err := platform.ServiceURL("mastodon server URL", serverURL, "https://mastodon.example")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("mastodon: no access token")
	}
	c := &Client{
		base:  base,
		token: token,
		http:  &http.Client{Timeout: DefaultTimeout},
		now:   time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

// endpoint says what a call was for; a 404 means different things for each.
type endpoint int

const (
	endpointMetrics endpoint = iota // 404 / 410: the post is gone
	endpointAction                  // 404: not found
	endpointLookup                  // 404: not found
)

// reply is a successful (2xx) reply.
type reply struct {
	header http.Header
	body   []byte
}

// do sends one call and returns its 2xx reply, or a classified *platform.Error. form, when not
// nil, is sent as the form-encoded body; key, when not empty, as the Idempotency-Key header.
func (c *Client) do(ctx context.Context, ep endpoint, method, path string, form url.Values, key string) (reply, error) {
	what := method + " " + path
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return reply{}, &platform.Error{Code: platform.CodeBadRequest, Message: c.redact("building " + what + ": " + err.Error())}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "resurge")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if key != "" {
		req.Header.Set(headerIdempotencyKey, key)
	}
	if form != nil {
		// Without GetBody the transport never re-sends the request by itself. It would for a
		// POST with an Idempotency-Key whose kept-alive connection broke after sending it: on a
		// server that ignores the key, a second reply. A failed call goes back to the workflow
		// instead, whose retry verifies first.
		req.GetBody = nil
	}
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

// Paths, with IDs escaped.
func statusPath(id string) string  { return "/api/v1/statuses/" + url.PathEscape(id) }
func contextPath(id string) string { return statusPath(id) + "/context" }

const (
	pathStatuses          = "/api/v1/statuses"
	pathVerifyCredentials = "/api/v1/accounts/verify_credentials"
	visibilityPrivate     = "private"
	visibilityDirect      = "direct"
)

// self returns the authenticated account's ID, asking the server once.
func (c *Client) self(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.selfID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	r, err := c.do(ctx, endpointLookup, http.MethodGet, pathVerifyCredentials, nil, "")
	if err != nil {
		return "", err
	}
	a, err := decodeAccount(r.body)
	if err != nil {
		return "", c.invalid("GET "+pathVerifyCredentials, "%v", err)
	}
	c.mu.Lock()
	c.selfID = a.ID
	c.mu.Unlock()
	return a.ID, nil
}
