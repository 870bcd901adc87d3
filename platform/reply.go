package platform

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// Redact removes secret from s: whatever a server echoes back (a proxy's error page may quote
// the request headers) must not carry it into logs and workflow histories. An empty secret
// leaves s as it is.
func Redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// DescribeReply renders an error reply for a message. apiError is the adapter's already-parsed
// error text, "" when the body was not the platform's error shape; when set it is the message,
// else the start of the body is. Anything unprintable is replaced either way. redact runs before
// truncation, so that a cut cannot leave half a secret behind.
func DescribeReply(body []byte, apiError string, redact func(string) string) string {
	// Redact before truncating: a cut must not leave half a secret behind.
	if apiError != "" {
		return truncate(printable(redact(apiError)), 300)
	}
	if len(body) == 0 {
		return "empty reply"
	}
	return "reply: " + truncate(printable(redact(string(body))), 200)
}

// printable replaces every unprintable rune of s with '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}

// truncate keeps the first n runes of s, marking a cut with "…".
func truncate(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	return string(runes[:n]) + "…"
}

// RedirectHost names where a redirect reply points, without its path or query (adapters never
// follow redirects: they say where the server sent them).
func RedirectHost(h http.Header) string {
	loc, err := url.Parse(h.Get("Location"))
	if err != nil || loc.Host == "" {
		return "the same host"
	}
	return loc.Scheme + "://" + loc.Host
}

// NeedKey refuses an action without an idempotency key before anything leaves.
func NeedKey(action, key string) error {
	if key == "" {
		return &Error{Code: CodeBadRequest, Message: action + ": an idempotency key is required"}
	}
	return nil
}
