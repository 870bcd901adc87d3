package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Input limits.
const (
	// MaxIDLen bounds post and agent IDs (bytes). Platform IDs are short; anything longer is a
	// mistake or an attack, and IDs end up in workflow IDs and search attributes.
	MaxIDLen = 200
	// MaxTextLen bounds an action text (characters). Platforms have their own, lower limits,
	// which the arbiter checks; this only keeps absurd inputs out of workflow histories.
	MaxTextLen = 10000
	// MaxThreadParts bounds the number of replies in a thread.
	MaxThreadParts = 10
)

// ValidateID checks a post or agent ID: non-empty, at most MaxIDLen bytes, valid UTF-8, and no
// spaces or control characters.
func ValidateID(field, id string) error {
	switch {
	case id == "":
		return fieldErr(field, "must not be empty")
	case len(id) > MaxIDLen:
		return fieldErr(field, "is %d bytes long, the limit is %d", len(id), MaxIDLen)
	case !utf8.ValidString(id):
		return fieldErr(field, "is not valid UTF-8")
	}
	for i, r := range id {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fieldErr(field, "has a space or control character at byte %d", i)
		}
	}
	return nil
}

// ValidateText checks an action text: not blank and at most MaxTextLen characters.
func ValidateText(field, text string) error {
	return validateBoundedText(field, text, MaxTextLen, "must not be empty")
}

// validateBoundedText checks a text people wrote: not blank (blank says what instead), valid
// UTF-8, at most limit characters.
func validateBoundedText(field, text string, limit int, blank string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return fieldErr(field, "%s", blank)
	case !utf8.ValidString(text):
		return fieldErr(field, "is not valid UTF-8")
	case utf8.RuneCountInString(text) > limit:
		return fieldErr(field, "is %d characters long, the limit is %d", utf8.RuneCountInString(text), limit)
	}
	return nil
}

// Validate checks a post: platform, IDs (ValidatePostID) and every action text.
func (p Post) Validate() error {
	if err := ValidateID("post.id", p.ID); err != nil {
		return err
	}
	if !KnownPlatform(p.Platform) {
		return fieldErr("post.platform", "unknown platform %q (known: %s)", p.Platform, knownPlatforms())
	}
	if err := ValidatePostID("post.id", p.Platform, p.ID); err != nil {
		return err
	}
	if err := ValidateID("post.agent", p.Agent); err != nil {
		return err
	}
	if err := ValidateText("post.comment_text", p.CommentText); err != nil {
		return err
	}
	if err := ValidateText("post.edit_text", p.EditText); err != nil {
		return err
	}
	if len(p.ThreadTexts) == 0 || len(p.ThreadTexts) > MaxThreadParts {
		return fieldErr("post.thread_texts", "must have 1 to %d parts, got %d", MaxThreadParts, len(p.ThreadTexts))
	}
	for i, t := range p.ThreadTexts {
		if err := ValidateText(fmt.Sprintf("post.thread_texts[%d]", i), t); err != nil {
			return err
		}
	}
	return nil
}

// ValidateSample checks a new sample against the previous accepted one (nil for the first) and
// the current time: counters must be non-negative and must not go down, the time must be set,
// must not be in the future and must not go back.
func ValidateSample(s MetricsSample, prev *MetricsSample, now time.Time) error {
	switch {
	case s.At.IsZero():
		return fieldErr("sample.at", "is missing")
	case s.At.After(now):
		return fieldErr("sample.at", "%s is in the future (now is %s)", s.At.Format(time.RFC3339), now.Format(time.RFC3339))
	case s.Impressions < 0:
		return fieldErr("sample.impressions", "must not be negative, got %d", s.Impressions)
	case s.Engagements < 0:
		return fieldErr("sample.engagements", "must not be negative, got %d", s.Engagements)
	}
	if prev == nil {
		return nil
	}
	switch {
	case s.At.Before(prev.At):
		return fieldErr("sample.at", "%s is before the previous sample (%s)", s.At.Format(time.RFC3339), prev.At.Format(time.RFC3339))
	case s.Impressions < prev.Impressions:
		return fieldErr("sample.impressions", "went down from %d to %d", prev.Impressions, s.Impressions)
	case s.Engagements < prev.Engagements:
		return fieldErr("sample.engagements", "went down from %d to %d", prev.Engagements, s.Engagements)
	}
	return nil
}

// ValidateRecord checks one action-log record.
func ValidateRecord(i int, r ActionRecord) error {
	field := fmt.Sprintf("log[%d]", i)
	switch {
	case !IsAutomationKey(r.Key) && !IsOperatorKey(r.Key):
		return fieldErr(field+".idempotency_key", "must be \"sheal_\" (or an operator's \"op_\") and 32 hex digits, got %q", r.Key)
	case !r.Action.Valid():
		return fieldErr(field+".action_type", "must be comment, edit, quote or thread, got %q", r.Action)
	case !r.Tier.Valid():
		return fieldErr(field+".tier", "must be tier_1, tier_2 or tier_3, got %q", r.Tier)
	case !r.Status.Valid():
		return fieldErr(field+".status", "must be one of %s, got %q", joinNames(ActionStatuses), r.Status)
	case r.InitiatedAt.IsZero():
		return fieldErr(field+".initiated_at", "is missing")
	case r.Attempts < 0:
		return fieldErr(field+".attempts", "must not be negative, got %d", r.Attempts)
	}
	if err := ValidateID(field+".post_id", r.PostID); err != nil {
		return err
	}
	return nil
}

// isLowerHex reports whether s is all lower-case hex digits, as IdempotencyKey (and the
// reference executor's hexdigest) writes them.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
