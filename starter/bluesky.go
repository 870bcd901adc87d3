package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/domain"
	"resurge/platform"
	"resurge/platform/bluesky"
)

// Bluesky posts are watched by their AT URI with the author's DID. The starter turns what users
// give (a bsky.app URL, an AT URI with a handle) into that before it starts anything, resolving a
// handle once, on the PDS or entryway that $RESURGE_BLUESKY_SERVICE names (the public entryway
// by default): the workflow keeps the DID, which stays the same when the handle changes.

// blueskyResolver returns the env's handle resolver, made on first use.
func (e *env) blueskyResolver() (bluesky.HandleResolver, error) {
	e.resolverOnce.Do(func() {
		if e.resolver != nil {
			return
		}
		r, err := bluesky.NewResolver(os.Getenv(bluesky.EnvService), bluesky.WithTimeout(e.opts.timeout))
		if err != nil {
			e.resolverErr = fmt.Errorf("%s: %w", bluesky.EnvService, err)
			return
		}
		e.resolver = &cachedResolver{r: r, dids: map[syntax.Handle]syntax.DID{}}
	})
	return e.resolver, e.resolverErr
}

// cachedResolver resolves each handle once.
type cachedResolver struct {
	r    bluesky.HandleResolver
	mu   sync.Mutex
	dids map[syntax.Handle]syntax.DID
}

func (c *cachedResolver) ResolveHandle(ctx context.Context, h syntax.Handle) (syntax.DID, error) {
	c.mu.Lock()
	did, ok := c.dids[h]
	c.mu.Unlock()
	if ok {
		return did, nil
	}
	did, err := c.r.ResolveHandle(ctx, h)
	if err == nil {
		c.mu.Lock()
		c.dids[h] = did
		c.mu.Unlock()
	}
	return did, err
}

// normalizePostID returns the ID a post workflow uses for a post on platform: Bluesky IDs in
// any accepted form become the canonical AT URI; every other ID is kept as it is. An ID that
// cannot be one is a usage error naming field (a handle that resolves to no account included);
// a resolution that failed for another reason (the network, the service) is a plain error.
func (e *env) normalizePostID(ctx context.Context, field, platformName, id string) (string, error) {
	if platformName != domain.PlatformBluesky {
		return id, nil
	}
	if err := domain.ValidatePostID(field, platformName, id); err == nil {
		return id, nil // already canonical: nothing to resolve
	}
	if _, err := bluesky.ParsePostRef(id); err != nil {
		return "", &domain.FieldError{Field: field, Reason: err.Error()}
	}
	r, err := e.blueskyResolver()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	defer cancel()
	uri, err := bluesky.NormalizePostID(ctx, r, id)
	if err == nil {
		return uri, nil
	}
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return "", err
	}
	if pe := platform.AsError(err); pe.Code == platform.CodeBadRequest || pe.Code == platform.CodeNotFound {
		return "", &domain.FieldError{Field: field, Reason: err.Error()}
	}
	return "", fmt.Errorf("%s: %w", field, err)
}

// looksLikeBluesky reports whether a post ID given alone (to status or stop) is a Bluesky one.
func looksLikeBluesky(id string) bool {
	return strings.HasPrefix(id, "at://") || strings.HasPrefix(id, "https://bsky.app/") || strings.HasPrefix(id, "http://bsky.app/")
}

// postIDArg is the ID of a post named on the command line: a Bluesky post in any accepted form
// is normalized, as start does.
func (e *env) postIDArg(ctx context.Context, cmd, id string) (string, error) {
	if looksLikeBluesky(id) {
		uri, err := e.normalizePostID(ctx, "post", domain.PlatformBluesky, id)
		if err != nil {
			var fe *domain.FieldError
			if errors.As(err, &fe) {
				return "", asUsage(fmt.Errorf("%s: %w", cmd, err))
			}
			return "", fmt.Errorf("%s: %w", cmd, err)
		}
		return uri, nil
	}
	if err := domain.ValidateID("post", id); err != nil {
		return "", asUsage(fmt.Errorf("%s: %w", cmd, err))
	}
	return id, nil
}
