package metrics

import (
	"context"
	"errors"
	"time"

	"resurge/domain"
	"resurge/platform"
)

// Platform returns p, the adapter of platform name, recording the latency of every call and the
// error code of every failed one in r. The wrapper has the optional interfaces p has
// (platform.Quoter), so that code asking an adapter for them gets the same answer wrapped or
// not. A method added to platform.Platform later is forwarded unrecorded (through the embedded
// interface) until it gets a wrapper here; an optional interface added later needs one here, or
// the wrapper hides it (Unwrap returns the adapter itself).
func (r *Registry) Platform(name string, p platform.Platform) platform.Platform {
	w := &instrumented{Platform: p, name: name, r: r}
	if q, ok := p.(platform.Quoter); ok {
		return &instrumentedQuoter{instrumented: w, quoter: q}
	}
	return w
}

// Platforms wraps every adapter of a worker's map (see Platform).
func (r *Registry) Platforms(ps map[string]platform.Platform) map[string]platform.Platform {
	out := make(map[string]platform.Platform, len(ps))
	for name, p := range ps {
		out[name] = r.Platform(name, p)
	}
	return out
}

type instrumented struct {
	platform.Platform
	name string
	r    *Registry
}

// instrumentedQuoter is the wrapper of an adapter that can quote.
type instrumentedQuoter struct {
	*instrumented
	quoter platform.Quoter
}

func (p *instrumentedQuoter) Quote(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	start := time.Now()
	e, err := p.quoter.Quote(ctx, postID, text, key)
	p.done(OpQuote, start, err)
	return e, err
}

// Unwrap returns the adapter itself.
func (p *instrumented) Unwrap() platform.Platform { return p.Platform }

func (p *instrumented) done(op string, start time.Time, err error) {
	p.r.observeCall(p.name, op, time.Since(start), errorCode(err))
}

// errorCode is the platform code of a failed call, "" for a successful one.
func errorCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	}
	return platform.AsError(err).Code
}

func (p *instrumented) Metrics(ctx context.Context, postID string) (domain.MetricsSample, error) {
	start := time.Now()
	s, err := p.Platform.Metrics(ctx, postID)
	p.done(OpMetrics, start, err)
	return s, err
}

func (p *instrumented) Comment(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	start := time.Now()
	e, err := p.Platform.Comment(ctx, postID, text, key)
	p.done(OpComment, start, err)
	return e, err
}

func (p *instrumented) Edit(ctx context.Context, postID, text, key string) (platform.Effect, error) {
	start := time.Now()
	e, err := p.Platform.Edit(ctx, postID, text, key)
	p.done(OpEdit, start, err)
	return e, err
}

func (p *instrumented) Thread(ctx context.Context, postID string, parts []string, key string) (platform.Effect, error) {
	start := time.Now()
	e, err := p.Platform.Thread(ctx, postID, parts, key)
	p.done(OpThread, start, err)
	return e, err
}

func (p *instrumented) FindEffect(ctx context.Context, postID, key string) (platform.Effect, bool, error) {
	start := time.Now()
	e, found, err := p.Platform.FindEffect(ctx, postID, key)
	p.done(OpFindEffect, start, err)
	return e, found, err
}
