package domain

import (
	"strings"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/rivo/uniseg"
)

// Platforms Resurge has adapters for.
const (
	PlatformSim      = "sim"
	PlatformMastodon = "mastodon"
	PlatformBluesky  = "bluesky"
)

// Platforms lists the known platforms in a fixed order (for messages and complete policies).
var Platforms = []string{PlatformSim, PlatformMastodon, PlatformBluesky}

// KnownPlatform reports whether name is a platform Resurge has an adapter for.
func KnownPlatform(name string) bool {
	for _, p := range Platforms {
		if p == name {
			return true
		}
	}
	return false
}

// knownPlatforms names the known platforms for an error message: "sim, mastodon, bluesky".
func knownPlatforms() string { return strings.Join(Platforms, ", ") }

// Capabilities is what a platform can do and how it measures: the action each tier calls for
// there, whether its metrics include impressions, and how long a text it publishes may be.
type Capabilities struct {
	// TierActions are the actions of tiers 1, 2 and 3, in that order.
	TierActions [3]ActionType
	// ReportsImpressions is false for platforms without view counts: their posts are scored
	// by engagement velocity (VelocityStagnationScore) instead of the engagement rate.
	ReportsImpressions bool
	// TextLimit is the default length limit of one text (the safety policy may lower it),
	// counted in grapheme clusters when Graphemes is set, else in Unicode code points.
	TextLimit int
	Graphemes bool
	// MaxTextBytes is a limit on a text's UTF-8 bytes besides TextLimit; 0 means none.
	MaxTextBytes int
}

// BlueskyTextLimit is Bluesky's limit on a post's text: 300 graphemes (and 3,000 bytes). The
// adapter adds nothing to a text, so the whole limit is the user's.
const (
	BlueskyTextLimit    = 300
	BlueskyMaxTextBytes = 3000
)

// CapabilitiesOf returns a platform's capabilities. sim and Mastodon keep the reference
// executor's comment / edit / thread, so their idempotency keys are the seed's. Bluesky cannot
// edit a post: tier 2 there is a quote post, a new post that embeds the original with the tier-2
// text, the closest thing Bluesky has to presenting the post again. An unknown or empty platform
// (plan requests written before platforms mattered) gets sim's capabilities, the reference ones.
func CapabilitiesOf(platform string) Capabilities {
	switch platform {
	case PlatformMastodon:
		return Capabilities{
			TierActions: [3]ActionType{ActionComment, ActionEdit, ActionThread},
			TextLimit:   MastodonTextLimit,
		}
	case PlatformBluesky:
		return Capabilities{
			TierActions: [3]ActionType{ActionComment, ActionQuote, ActionThread},
			TextLimit:   BlueskyTextLimit, Graphemes: true, MaxTextBytes: BlueskyMaxTextBytes,
		}
	}
	return Capabilities{
		TierActions:        [3]ActionType{ActionComment, ActionEdit, ActionThread},
		ReportsImpressions: true,
		TextLimit:          DefaultLengthLimit,
	}
}

// Supports reports whether the platform performs action a (for one of its tiers).
func (c Capabilities) Supports(a ActionType) bool {
	for _, x := range c.TierActions {
		if x == a {
			return true
		}
	}
	return false
}

// Action is the action tier t calls for on the platform.
func (c Capabilities) Action(t Tier) ActionType {
	if l := t.Level(); l >= 1 {
		return c.TierActions[l-1]
	}
	return c.TierActions[2] // as ActionForTier: anything not tier 1 or 2 is a thread
}

// ActionForTierOn is the action tier t calls for on platform.
func ActionForTierOn(platform string, t Tier) ActionType { return CapabilitiesOf(platform).Action(t) }

// TextLength measures a text as the platform does: grapheme clusters on Bluesky (an emoji made
// of several code points counts once), Unicode code points elsewhere.
func (c Capabilities) TextLength(text string) int {
	if c.Graphemes {
		return uniseg.GraphemeClusterCount(text)
	}
	return utf8.RuneCountInString(text)
}

// TextUnit names what TextLength counts, for messages.
func (c Capabilities) TextUnit() string {
	if c.Graphemes {
		return "graphemes"
	}
	return "characters"
}

// ActionKey is one action a post can take, with its idempotency key.
type ActionKey struct {
	Tier   Tier
	Action ActionType
	Key    string
}

// ActionKeys lists, tier by tier, every action a post on platform can take and its key. A key is
// a function of the post, the action and the tier only, so these are all the keys Resurge can
// ever act with on the post: an adapter uses them to recognise the automation's own effects.
func ActionKeys(platform, postID string) []ActionKey {
	c := CapabilitiesOf(platform)
	out := make([]ActionKey, 0, 3)
	for _, t := range []Tier{Tier1, Tier2, Tier3} {
		a := c.Action(t)
		out = append(out, ActionKey{Tier: t, Action: a, Key: IdempotencyKey(postID, a, t)})
	}
	return out
}

// BlueskyPostCollection is the collection of Bluesky posts in an AT URI.
const BlueskyPostCollection = "app.bsky.feed.post"

// ValidatePostID checks a post ID for its platform. Every ID must pass ValidateID; a Bluesky post
// must moreover be named by its canonical AT URI, at://<did>/app.bsky.feed.post/<rkey>, with the
// author's DID rather than a handle (a handle can change hands, a DID cannot): the starter turns
// a bsky.app URL or a handle into that form before it starts anything.
func ValidatePostID(field, platform, id string) error {
	if err := ValidateID(field, id); err != nil {
		return err
	}
	if platform != PlatformBluesky {
		return nil
	}
	const want = "a Bluesky post is named by its AT URI, at://<did>/" + BlueskyPostCollection + "/<rkey> (the starter turns a bsky.app post URL into one)"
	u, err := syntax.ParseATURI(id)
	if err != nil {
		return fieldErr(field, "%s; %q is not an AT URI: %v", want, id, err)
	}
	if _, err := u.Authority().AsDID(); err != nil {
		return fieldErr(field, "%s; %q names its author by handle, not by DID", want, id)
	}
	switch {
	case u.Collection() != BlueskyPostCollection:
		return fieldErr(field, "%s; %q is in collection %q", want, id, u.Collection())
	case u.RecordKey() == "":
		return fieldErr(field, "%s; %q has no record key", want, id)
	case u.Normalize().String() != id:
		return fieldErr(field, "%s; %q is not in canonical form (want %s)", want, id, u.Normalize())
	}
	return nil
}

// unsupportedAction is the error for an action the platform cannot perform.
func unsupportedAction(field, platform string, a ActionType) error {
	c := CapabilitiesOf(platform)
	return fieldErr(field, "%s cannot %s (its actions are %s, %s and %s)", platform, a, c.TierActions[0], c.TierActions[1], c.TierActions[2])
}
