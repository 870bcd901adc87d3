package platform

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// ServiceURL checks the base URL of a platform's server and returns it without a trailing
// slash: https (plain http only to this machine, for a development server: a token would
// travel in clear), with a host, and without credentials, a query or a fragment. what names the
// setting in errors ("mastodon server URL"). The URL itself is never quoted back: with the
// settings swapped by mistake it is the token.
func ServiceURL(what, raw, example string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return "", errors.New(what + ": not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errors.New(what + ": want an http or https URL, like " + example)
	case u.Host == "":
		return "", errors.New(what + ": no host")
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return "", errors.New(what + ": use https (plain http is only allowed to this machine: the token would travel in clear)")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", errors.New(what + ": it must not carry credentials, a query or a fragment")
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
