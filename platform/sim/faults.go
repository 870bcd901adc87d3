package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// FaultKind is a failure the sim can inject into a /v1 call.
type FaultKind string

const (
	// FaultRateLimit answers 429 with a Retry-After header (FaultRule.RetryAfter).
	FaultRateLimit FaultKind = "rate_limit"
	// FaultUnavailable answers 503.
	FaultUnavailable FaultKind = "unavailable"
	// FaultSlow waits FaultRule.Delay before answering, long enough to exceed a client's
	// timeout. If the client hangs up meanwhile, the call is abandoned.
	FaultSlow FaultKind = "slow"
	// FaultDrop closes the connection without any reply.
	FaultDrop FaultKind = "drop"
	// FaultBadRequest, FaultUnauthorized, FaultForbidden and FaultNotFound answer 400, 401,
	// 403 and 404.
	FaultBadRequest   FaultKind = "bad_request"
	FaultUnauthorized FaultKind = "unauthorized"
	FaultForbidden    FaultKind = "forbidden"
	FaultNotFound     FaultKind = "not_found"
)

// Scope limits a fault to one kind of endpoint.
type Scope string

const (
	ScopeAll     Scope = ""        // every /v1 endpoint
	ScopeMetrics Scope = "metrics" // GET metrics
	ScopeActions Scope = "actions" // comment, edit and thread
	ScopeComment Scope = "comment"
	ScopeEdit    Scope = "edit"
	ScopeThread  Scope = "thread"
	ScopeEffects Scope = "effects" // the effects lookup
)

// FaultRule is one injected failure. A rule fires on a matching call when Next > 0 (and then
// counts down: "the next N calls fail"), otherwise with Probability. Rules are tried in order
// and the first that fires wins.
//
// 429, 503, 400, 401, 403 and 404 are always answered before the action has any effect. For
// slow and drop, EffectFirst chooses: false (the default) fails before anything happens; true
// makes the effect and then stalls or drops the reply, so the caller cannot know whether it
// worked.
type FaultRule struct {
	Kind        FaultKind
	Scope       Scope
	PostID      string // only calls about this post; "" for every post
	Next        int
	Probability float64
	// RetryAfter is sent with rate_limit, in whole seconds rounded up. Default 1s.
	RetryAfter time.Duration
	// Delay is how long slow waits. Default 30s.
	Delay       time.Duration
	EffectFirst bool
}

// Faults is the whole fault configuration.
type Faults struct {
	// Seed makes Probability rules reproducible: the same seed and the same sequence of calls
	// fire the same faults. 0 picks a random seed.
	Seed  uint64
	Rules []FaultRule
	// HoldActions makes every action that creates an effect hold its reply until Release (or
	// POST /admin/release, or HoldActions being switched off). Replays are never held, so a
	// retry after a worker restart gets its answer.
	HoldActions bool
	// IgnoreIdempotency makes the sim forget Idempotency-Key: every call creates a new effect.
	// The effects still carry the key's marker, so the effects lookup finds all of them.
	IgnoreIdempotency bool
}

// Defaults for rules that leave them out.
const (
	DefaultRetryAfter = time.Second
	DefaultSlowDelay  = 30 * time.Second
)

// Validate checks every rule.
func (f Faults) Validate() error {
	for i, r := range f.Rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
	}
	return nil
}

func (r FaultRule) validate() error {
	switch r.Kind {
	case FaultRateLimit, FaultUnavailable, FaultSlow, FaultDrop, FaultBadRequest, FaultUnauthorized, FaultForbidden, FaultNotFound:
	default:
		return fmt.Errorf("unknown kind %q", r.Kind)
	}
	switch r.Scope {
	case ScopeAll, ScopeMetrics, ScopeActions, ScopeComment, ScopeEdit, ScopeThread, ScopeEffects:
	default:
		return fmt.Errorf("unknown scope %q", r.Scope)
	}
	switch {
	case r.Next < 0:
		return fmt.Errorf("next must not be negative")
	case math.IsNaN(r.Probability) || r.Probability < 0 || r.Probability > 1:
		return fmt.Errorf("probability must be between 0 and 1")
	case r.RetryAfter < 0 || r.Delay < 0:
		return fmt.Errorf("durations must not be negative")
	}
	return nil
}

// withDefaults fills in RetryAfter and Delay.
func (r FaultRule) withDefaults() FaultRule {
	if r.RetryAfter == 0 {
		r.RetryAfter = DefaultRetryAfter
	}
	if r.Delay == 0 {
		r.Delay = DefaultSlowDelay
	}
	return r
}

// matches reports whether the rule applies to a call of endpoint kind scope about postID.
func (r FaultRule) matches(endpoint Scope, postID string) bool {
	if r.PostID != "" && r.PostID != postID {
		return false
	}
	switch r.Scope {
	case ScopeAll, endpoint:
		return true
	case ScopeActions:
		return endpoint == ScopeComment || endpoint == ScopeEdit || endpoint == ScopeThread
	}
	return false
}

// afterEffect reports whether the fault strikes once the action has had its effect.
func (r FaultRule) afterEffect() bool {
	return r.EffectFirst && (r.Kind == FaultSlow || r.Kind == FaultDrop)
}

// faultRuleJSON is FaultRule on the wire: durations as Go duration strings ("2s", "500ms").
type faultRuleJSON struct {
	Kind        FaultKind `json:"kind"`
	Scope       Scope     `json:"scope,omitempty"`
	PostID      string    `json:"post_id,omitempty"`
	Next        int       `json:"next,omitempty"`
	Probability float64   `json:"probability,omitempty"`
	RetryAfter  string    `json:"retry_after,omitempty"`
	Delay       string    `json:"delay,omitempty"`
	EffectFirst bool      `json:"effect_first,omitempty"`
}

// MarshalJSON writes durations as strings.
func (r FaultRule) MarshalJSON() ([]byte, error) {
	j := faultRuleJSON{Kind: r.Kind, Scope: r.Scope, PostID: r.PostID, Next: r.Next,
		Probability: r.Probability, EffectFirst: r.EffectFirst}
	if r.RetryAfter != 0 {
		j.RetryAfter = r.RetryAfter.String()
	}
	if r.Delay != 0 {
		j.Delay = r.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads durations as strings.
func (r *FaultRule) UnmarshalJSON(data []byte) error {
	var j faultRuleJSON
	if err := decodeStrict(bytes.NewReader(data), &j); err != nil {
		return err
	}
	*r = FaultRule{Kind: j.Kind, Scope: j.Scope, PostID: j.PostID, Next: j.Next,
		Probability: j.Probability, EffectFirst: j.EffectFirst}
	var err error
	if j.RetryAfter != "" {
		if r.RetryAfter, err = time.ParseDuration(j.RetryAfter); err != nil {
			return fmt.Errorf("retry_after: %w", err)
		}
	}
	if j.Delay != "" {
		if r.Delay, err = time.ParseDuration(j.Delay); err != nil {
			return fmt.Errorf("delay: %w", err)
		}
	}
	return nil
}

// faultsJSON is Faults on the wire.
type faultsJSON struct {
	Seed              uint64      `json:"seed,omitempty"`
	Rules             []FaultRule `json:"rules"`
	HoldActions       bool        `json:"hold_actions,omitempty"`
	IgnoreIdempotency bool        `json:"ignore_idempotency,omitempty"`
}

// MarshalJSON writes snake_case fields.
func (f Faults) MarshalJSON() ([]byte, error) {
	rules := f.Rules
	if rules == nil {
		rules = []FaultRule{}
	}
	return json.Marshal(faultsJSON{Seed: f.Seed, Rules: rules, HoldActions: f.HoldActions, IgnoreIdempotency: f.IgnoreIdempotency})
}

// UnmarshalJSON reads snake_case fields.
func (f *Faults) UnmarshalJSON(data []byte) error {
	var j faultsJSON
	if err := decodeStrict(bytes.NewReader(data), &j); err != nil {
		return err
	}
	*f = Faults{Seed: j.Seed, Rules: j.Rules, HoldActions: j.HoldActions, IgnoreIdempotency: j.IgnoreIdempotency}
	return nil
}
