package bluesky

import (
	"context"
	"net/http"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/platform"
)

// The session: one per Client, so one per worker. The PDS allows 30 createSession calls per 5
// minutes and 300 a day per account; a login per call would lock the account out. So the client
// logs in once (on its first call), renews the access token with refreshSession when the server
// refuses it as expired, and logs in again only when the refresh token itself is refused (expired
// or revoked). A failed login is not repeated at once: the next attempt waits for the server's
// rate-limit reset, or loginRetryRefused after a refused password (fixing it means a restart
// anyway), or loginRetryTransient after a failure of the server or the network; meanwhile calls
// fail with the failed login's error.
type session struct {
	password        string
	access, refresh string
	did             syntax.DID

	noLoginBefore time.Time
	loginErr      error

	// Counters, for tests and logs.
	logins, refreshes int
}

const (
	loginRetryRefused   = 10 * time.Minute // at most 6 attempts an hour: 144 a day, below 300
	loginRetryTransient = 10 * time.Second
)

// sendWithSession sends req with the session's access token, logging in first if there is no
// session. When the server refuses the token as expired (or invalid, or missing) it renews the
// session and sends req once more.
func (c *Client) sendWithSession(ctx context.Context, what string, req *http.Request) (reply, error) {
	token, err := c.accessToken(ctx)
	if err != nil {
		return reply{}, err
	}
	r, err := c.xrpc.send(what, req, token)
	if err != nil || !tokenRefused(r) {
		return r, err
	}
	if token, err = c.renew(ctx, token); err != nil {
		return reply{}, err
	}
	again := req.Clone(ctx)
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return reply{}, &platform.Error{Code: platform.CodeBadRequest, Message: what + ": resending the body: " + err.Error()}
		}
	}
	return c.xrpc.send(what, again, token)
}

// tokenRefused reports whether a reply refuses the access token itself (rather than the call).
func tokenRefused(r reply) bool {
	if r.status != http.StatusBadRequest && r.status != http.StatusUnauthorized {
		return false
	}
	switch name, _ := parseErrorBody(r.body); name {
	case errExpiredToken, errInvalidToken, errAuthMissing:
		return true
	}
	return false
}

// accessToken returns the session's access token, logging in when there is no session yet.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session.access != "" {
		return c.session.access, nil
	}
	if err := c.loginLocked(ctx); err != nil {
		return "", err
	}
	return c.session.access, nil
}

// renew replaces the access token stale, which the server refused: with refreshSession, or by
// logging in again when the refresh token is refused too. Calls that find their token refused
// at the same time renew it once: the ones that find it already replaced use the new one.
func (c *Client) renew(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session.access != stale && c.session.access != "" {
		return c.session.access, nil
	}
	out, err := comatproto.ServerRefreshSession(ctx, call{t: c.xrpc, bearer: c.session.refresh})
	switch {
	case err == nil:
		if err := c.storeLocked(out.AccessJwt, out.RefreshJwt, out.Did, "refreshSession"); err != nil {
			return "", err
		}
		c.session.refreshes++
	case refreshRefused(err):
		c.session.access, c.session.refresh = "", ""
		if err := c.loginLocked(ctx); err != nil {
			return "", err
		}
	default:
		return "", err
	}
	return c.session.access, nil
}

// refreshRefused reports whether refreshSession refused the refresh token (expired, revoked,
// not verifiable): only a new login helps.
func refreshRefused(err error) bool {
	switch errorName(err) {
	case errExpiredToken, errInvalidToken, errAuthMissing:
		return true
	}
	return platform.AsError(err).Status == http.StatusUnauthorized
}

// loginLocked calls createSession, unless a failed login is too recent (see session).
func (c *Client) loginLocked(ctx context.Context) error {
	now := c.xrpc.now()
	if now.Before(c.session.noLoginBefore) && c.session.loginErr != nil {
		return c.loginRetryError(now)
	}
	out, err := comatproto.ServerCreateSession(ctx, call{t: c.xrpc}, &comatproto.ServerCreateSession_Input{
		Identifier: c.handle, Password: c.session.password,
	})
	if err == nil {
		err = c.storeLocked(out.AccessJwt, out.RefreshJwt, out.Did, "createSession")
	}
	c.session.logins++
	if err != nil {
		pe := platform.AsError(err)
		wait := loginRetryTransient
		switch {
		case pe.Code == platform.CodeRateLimit:
			wait = max(pe.RetryAfter, time.Second)
		case !pe.Transient():
			wait = loginRetryRefused
		}
		c.session.noLoginBefore, c.session.loginErr = now.Add(wait), err
		return err
	}
	c.session.noLoginBefore, c.session.loginErr = time.Time{}, nil
	return nil
}

// loginRetryError is the error of a call made while a failed login waits: the failed login's,
// with the time left as the retry delay when it was transient.
func (c *Client) loginRetryError(now time.Time) error {
	pe := *platform.AsError(c.session.loginErr)
	pe.Message = "not logging in again before " + c.session.noLoginBefore.UTC().Format(time.TimeOnly) +
		" (the last login failed: " + pe.Message + ")"
	if pe.Transient() {
		pe.RetryAfter = c.session.noLoginBefore.Sub(now)
	}
	return &pe
}

// storeLocked keeps new tokens after checking them.
func (c *Client) storeLocked(access, refresh, did, what string) error {
	d, err := syntax.ParseDID(did)
	switch {
	case access == "" || refresh == "":
		return c.xrpc.invalid("com.atproto.server."+what, "the reply has no accessJwt or refreshJwt")
	case err != nil:
		return c.xrpc.invalid("com.atproto.server."+what, "did %q: %v", did, err)
	case c.session.did != "" && d != c.session.did:
		return c.xrpc.invalid("com.atproto.server."+what, "the session is for %s, not %s", d, c.session.did)
	}
	c.xrpc.keep(access, refresh)
	c.session.access, c.session.refresh, c.session.did = access, refresh, d
	return nil
}

// self is the account's DID, logging in first if needed.
func (c *Client) self(ctx context.Context) (syntax.DID, error) {
	if _, err := c.accessToken(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session.did, nil
}

// SessionStats counts the logins (createSession calls) and refreshes (refreshSession calls that
// renewed the session) this client made: for logs and tests.
func (c *Client) SessionStats() (logins, refreshes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session.logins, c.session.refreshes
}
