package bluesky

// Tokens returns the session's tokens, for tests that expire or revoke them.
func Tokens(c *Client) (access, refresh string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session.access, c.session.refresh
}

// SetAccessToken replaces the session's access token, as if it were the one the server issued
// (a test gives it an expired one).
func SetAccessToken(c *Client, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.session.access = token
}
