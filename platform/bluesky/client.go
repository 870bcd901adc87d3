// Package bluesky is the platform.Platform adapter for Bluesky (any AT Protocol PDS with the
// Bluesky AppView behind it), acting as the account whose handle and app password it holds.
//
// Every call goes to the account's PDS, which serves com.atproto.* itself and passes app.bsky.*
// to its AppView, with indigo's generated clients over this package's XRPC transport:
//
//	Metrics     app.bsky.feed.getPosts  the post and the automation's own reply, first thread
//	            part and quote (one call); com.atproto.repo.getRecord when the post is missing
//	Comment     com.atproto.repo.getRecord (the post), com.atproto.repo.putRecord
//	Quote       com.atproto.repo.getRecord (the post), com.atproto.repo.putRecord
//	Thread      com.atproto.repo.getRecord (the post), com.atproto.repo.putRecord per part
//	FindEffect  com.atproto.repo.getRecord on the effect's record key
//	(session)   com.atproto.server.createSession once, refreshSession when the access token
//	            expires
//
// Idempotency is by record key: every record the adapter writes has a key derived from the
// idempotency key (RecordKey), written with putRecord and swapRecord null, which creates it or
// fails with InvalidSwap when it is already there. A repeated action, or one whose reply was
// lost, therefore never posts twice: the retry finds its record and reads it back. (createRecord
// with a chosen key would answer a duplicate with HTTP 500, which looks transient; it is never
// used.)
//
// Bluesky has no impressions and cannot edit posts: Metrics reports 0 impressions (the planner
// scores Bluesky posts by engagement velocity) and tier 2 is a quote post (domain.CapabilitiesOf).
package bluesky

import (
	"net/http"
	"sync"
	"time"

	"resurge/platform"
)

// DefaultService is the public entryway: accounts hosted by Bluesky log in there.
const DefaultService = "https://bsky.social"

// EnvService names the environment variable with the account's PDS (DefaultService when unset),
// read by the worker (for the adapter) and the starter (to resolve handles).
const EnvService = "RESURGE_BLUESKY_SERVICE"

// DefaultTimeout bounds one HTTP call unless WithTimeout or WithHTTPClient says otherwise.
const DefaultTimeout = 10 * time.Second

// maxReplyBytes bounds a reply body: getPosts of a few posts is a few kilobytes.
const maxReplyBytes = 4 << 20

// Client talks to one PDS as one account, with one session (see session). It is safe for
// concurrent use; a worker has one.
type Client struct {
	xrpc   *transport
	handle string

	mu      sync.Mutex
	session session
}

var (
	_ platform.Platform = (*Client)(nil)
	_ platform.Quoter   = (*Client)(nil)
)

// Option configures a Client or a Resolver.
type Option func(*transport)

// WithHTTPClient uses a copy of hc (its transport, timeout and so on). Redirects are never
// followed, whatever hc says.
func WithHTTPClient(hc *http.Client) Option {
	return func(t *transport) {
		cp := *hc
		t.http = &cp
	}
}

// WithTimeout sets the time limit of one HTTP call (0: only the context bounds it).
func WithTimeout(d time.Duration) Option { return func(t *transport) { t.http.Timeout = d } }

// WithClock sets the clock that stamps samples and records and reads rate-limit resets.
func WithClock(now func() time.Time) Option { return func(t *transport) { t.now = now } }

// New returns a client for the account handle (or DID, or email) on the PDS at service
// ("https://bsky.social" for accounts hosted by Bluesky), logging in with an app password. The
// URL must be https (http only to this machine) and carry no credentials, query or fragment.
// Nothing is sent until the first call, which logs in.
func New(service, handle, appPassword string, opts ...Option) (*Client, error) {
	t, err := newTransport("bluesky service URL", service, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case handle == "":
		return nil, errorf("bluesky: no handle")
	case appPassword == "":
		return nil, errorf("bluesky: no app password")
	}
	t.secrets = []string{appPassword}
	c := &Client{xrpc: t, handle: handle}
	c.session.password = appPassword
	return c, nil
}
