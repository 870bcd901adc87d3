package bluesky

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/domain"
	"resurge/platform"
)

// RecordKey is the record key of an effect made with an idempotency key: part 0 for a comment
// or a quote, part i (from 1) for part i of a thread. It is a valid TID (the key type of
// app.bsky.feed.post) computed from SHA-256 of the key and the part: the same effect always has
// the same key, so writing it twice is refused by the PDS instead of posting twice. Its
// timestamp lies in 2023 (a TID's timestamp is only advice, and one in the past never sorts
// ahead of the account's real posts) and its clock ID comes from the hash too.
func RecordKey(key string, part int) string {
	sum := sha256.Sum256([]byte("resurge record key\x00" + key + "\x00" + strconv.Itoa(part)))
	v := binary.BigEndian.Uint64(sum[:8])
	micros := tidEpoch.UnixMicro() + int64((v>>10)%uint64(tidSpan/time.Microsecond))
	return syntax.NewTID(micros, uint(v&0x3ff)).String()
}

// The record keys' timestamps lie in [tidEpoch, tidEpoch+tidSpan).
var (
	tidEpoch = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	tidSpan  = 365 * 24 * time.Hour
)

// postURI is the AT URI of a post.
func postURI(did syntax.DID, rkey string) string {
	return "at://" + did.String() + "/" + domain.BlueskyPostCollection + "/" + rkey
}

// WebURL is the bsky.app address of the post at uri.
func WebURL(uri string) string {
	u, err := syntax.ParseATURI(uri)
	if err != nil {
		return ""
	}
	return "https://bsky.app/profile/" + u.Authority().String() + "/post/" + u.RecordKey().String()
}

// PostRef is a post as a user names it: its author (a DID or a handle) and its record key.
type PostRef struct {
	Author syntax.AtIdentifier
	RKey   syntax.RecordKey
}

// ParsePostRef reads a post ID as a user gives it: an AT URI (at://<did or handle>/
// app.bsky.feed.post/<rkey>) or a bsky.app post URL (https://bsky.app/profile/<handle or
// did>/post/<rkey>, with or without a trailing slash, query or fragment).
func ParsePostRef(s string) (PostRef, error) {
	s = strings.TrimSpace(s)
	const want = "want an AT URI (at://<did>/app.bsky.feed.post/<rkey>) or a post URL (https://bsky.app/profile/<handle>/post/<rkey>)"
	if strings.HasPrefix(s, "at://") {
		u, err := syntax.ParseATURI(s)
		if err != nil {
			return PostRef{}, fmt.Errorf("%q is not an AT URI: %v; %s", s, err, want)
		}
		switch {
		case u.Collection() != domain.BlueskyPostCollection:
			return PostRef{}, fmt.Errorf("%q is not a post (its collection is %q, not %s)", s, u.Collection(), domain.BlueskyPostCollection)
		case u.RecordKey() == "":
			return PostRef{}, fmt.Errorf("%q names no record key; %s", s, want)
		}
		return PostRef{Author: u.Authority(), RKey: u.RecordKey()}, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return PostRef{}, fmt.Errorf("%q is neither an AT URI nor a URL; %s", s, want)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "profile" || parts[2] != "post" {
		return PostRef{}, fmt.Errorf("%q is not a post's URL (its path must be /profile/<handle>/post/<rkey>); %s", s, want)
	}
	author, err := syntax.ParseAtIdentifier(parts[1])
	if err != nil {
		return PostRef{}, fmt.Errorf("%q: %q is neither a handle nor a DID: %v", s, parts[1], err)
	}
	rkey, err := syntax.ParseRecordKey(parts[3])
	if err != nil {
		return PostRef{}, fmt.Errorf("%q: %q is not a record key: %v", s, parts[3], err)
	}
	return PostRef{Author: author.Normalize(), RKey: rkey}, nil
}

// HandleResolver turns a handle into the DID it points to.
type HandleResolver interface {
	ResolveHandle(ctx context.Context, handle syntax.Handle) (syntax.DID, error)
}

// Resolver turns handles into DIDs with com.atproto.identity.resolveHandle, unauthenticated (the
// starter uses it, without the worker's credentials).
type Resolver struct{ xrpc *transport }

// NewResolver returns a resolver asking the PDS or entryway at service (DefaultService when
// empty).
func NewResolver(service string, opts ...Option) (*Resolver, error) {
	t, err := newTransport("bluesky service URL", service, opts)
	if err != nil {
		return nil, err
	}
	return &Resolver{xrpc: t}, nil
}

// ResolveHandle returns the DID a handle points to.
func (r *Resolver) ResolveHandle(ctx context.Context, handle syntax.Handle) (syntax.DID, error) {
	out, err := comatproto.IdentityResolveHandle(ctx, call{t: r.xrpc}, handle.String())
	if err != nil {
		pe := platform.AsError(err)
		if pe.Code == platform.CodeBadRequest || pe.Code == platform.CodeNotFound {
			return "", fmt.Errorf("the handle %s does not resolve to an account on %s: %w", handle, r.xrpc.base, err)
		}
		return "", fmt.Errorf("resolving the handle %s on %s: %w", handle, r.xrpc.base, err)
	}
	did, err := syntax.ParseDID(out.Did)
	if err != nil {
		return "", r.xrpc.invalid("com.atproto.identity.resolveHandle", "did %q: %v", out.Did, err)
	}
	return did, nil
}

// NormalizePostID turns a post ID as a user gives it (see ParsePostRef) into the canonical AT
// URI a post workflow watches, at://<did>/app.bsky.feed.post/<rkey>: a handle is resolved to its
// DID (once: the workflow keeps the DID, which stays the same when the handle changes). A DID
// needs no resolution, and r may then be nil.
func NormalizePostID(ctx context.Context, r HandleResolver, id string) (string, error) {
	ref, err := ParsePostRef(id)
	if err != nil {
		return "", err
	}
	did, err := ref.Author.AsDID()
	if err != nil {
		handle, herr := ref.Author.AsHandle()
		if herr != nil {
			return "", fmt.Errorf("%q: %v", id, herr)
		}
		if r == nil {
			return "", fmt.Errorf("%q names its author by handle and no resolver is configured", id)
		}
		if did, err = r.ResolveHandle(ctx, handle); err != nil {
			return "", err
		}
	}
	uri := postURI(did, ref.RKey.String())
	if err := domain.ValidatePostID("post.id", domain.PlatformBluesky, uri); err != nil {
		return "", err
	}
	return uri, nil
}
