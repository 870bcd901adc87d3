package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Risk of an action type on its own: a comment adds to a post, an edit changes what people
// already read, a thread publishes several new posts.
const (
	RiskLow    = 1
	RiskMedium = 2
	RiskHigh   = 3
)

// ActionRisk is the base risk of an action type.
func ActionRisk(a ActionType) int {
	switch a {
	case ActionComment:
		return RiskLow
	case ActionEdit, ActionQuote: // a quote stands in for an edit: the post shown again, reworded
		return RiskMedium
	default:
		return RiskHigh
	}
}

// SafetyPolicy holds the arbiter's constraints.
type SafetyPolicy struct {
	// GlobalPerHour caps autonomous changes across all posts in any hour.
	GlobalPerHour int `json:"global_per_hour"`
	// PerPostPerHour caps autonomous changes to one post in any hour.
	PerPostPerHour int `json:"per_post_per_hour"`
	// LengthLimits are the platforms' text limits, in the platform's unit (characters; graphemes
	// on Bluesky). A platform not listed gets its own default (Capabilities.TextLimit).
	LengthLimits map[string]int `json:"length_limits"`
	// BannedTerms are refused anywhere in a text, case-insensitively.
	BannedTerms []string `json:"banned_terms"`
	// A request's risk is its action's risk plus its agent's anomaly tier (0-3). At
	// ApprovalRisk it needs a person's approval (denied); at CriticalRisk it locks. The
	// defaults deny a thread by an agent at tier 2 (a person approves it) rather than lock:
	// one worrying agent should not stop every post. Any request by an agent at tier 3 locks
	// anyway, so with the defaults the critical-risk rule adds nothing; it is there for
	// a policy that wants a lock sooner (critical_risk 5 locks on a thread by a tier-2 agent).
	ApprovalRisk int `json:"approval_risk"`
	CriticalRisk int `json:"critical_risk"`
	// ApprovalActions need a person's approval whatever their risk (e.g. every thread).
	ApprovalActions []ActionType `json:"approval_actions"`
}

// Policy limits.
const (
	// MaxRisk is the highest risk a request can have: a thread (RiskHigh) by an agent at
	// anomaly tier 3. A threshold of MaxRisk+1 is never reached.
	MaxRisk = RiskHigh + 3
	// MaxBannedTerms bounds the banned terms, MaxBannedTermLen each term (characters).
	MaxBannedTerms   = 1000
	MaxBannedTermLen = 200
)

// DefaultLengthLimit applies to platforms without a configured limit.
const DefaultLengthLimit = 5000

// MastodonTextLimit is Mastodon's default 500 characters less the 21 the adapter's marker adds
// to a thread part ("\n\n[rs:xxxxxxxx 10/10]"), so an allowed text is never refused by the server.
const MastodonTextLimit = 479

// DefaultSafetyPolicy returns the product defaults.
func DefaultSafetyPolicy() SafetyPolicy {
	return SafetyPolicy{
		GlobalPerHour:   600,
		PerPostPerHour:  3,
		LengthLimits:    map[string]int{PlatformSim: DefaultLengthLimit, PlatformMastodon: MastodonTextLimit, PlatformBluesky: BlueskyTextLimit},
		BannedTerms:     []string{"guaranteed returns", "free money", "click here"},
		ApprovalRisk:    5,
		CriticalRisk:    6,
		ApprovalActions: []ActionType{},
	}
}

// NeedsApproval reports whether the policy lists action a in ApprovalActions.
func (p SafetyPolicy) NeedsApproval(a ActionType) bool { return slices.Contains(p.ApprovalActions, a) }

// LengthLimit is the text limit of a platform: the policy's, else the platform's default (so a
// policy written before a platform existed still holds its texts to the platform's limit).
func (p SafetyPolicy) LengthLimit(platform string) int {
	if n, ok := p.LengthLimits[platform]; ok && n > 0 {
		return n
	}
	return CapabilitiesOf(platform).TextLimit
}

// Validate checks the policy: the budgets and risk thresholds, the length limits (known
// platforms, 1 to MaxTextLen characters) and the banned terms (not blank, not too long, no
// duplicates, at most MaxBannedTerms). Errors are *FieldError naming the field
// ("policy.length_limits.sim", "policy.banned_terms[2]").
func (p SafetyPolicy) Validate() error {
	switch {
	case p.GlobalPerHour < 1:
		return fieldErr("policy.global_per_hour", "must be at least 1")
	case p.PerPostPerHour < 1:
		return fieldErr("policy.per_post_per_hour", "must be at least 1")
	case p.ApprovalRisk < 2 || p.CriticalRisk < p.ApprovalRisk:
		return fieldErr("policy.approval_risk", "must be at least 2 and at most critical_risk")
	case p.CriticalRisk > MaxRisk+1:
		return fieldErr("policy.critical_risk", "must be at most %d (a request's risk is at most %d, so %d already means never), got %d",
			MaxRisk+1, MaxRisk, MaxRisk+1, p.CriticalRisk)
	}
	// In a fixed order, so that the same policy always gets the same error.
	for _, name := range slices.Sorted(maps.Keys(p.LengthLimits)) {
		field := "policy.length_limits." + name
		switch n := p.LengthLimits[name]; {
		case !KnownPlatform(name):
			return fieldErr(field, "unknown platform %q (known: %s)", name, knownPlatforms())
		case n < 1 || n > MaxTextLen:
			return fieldErr(field, "must be between 1 and %d characters, got %d", MaxTextLen, n)
		}
	}
	if len(p.BannedTerms) > MaxBannedTerms {
		return fieldErr("policy.banned_terms", "has %d terms, the limit is %d", len(p.BannedTerms), MaxBannedTerms)
	}
	seen := make(map[string]int, len(p.BannedTerms))
	for i, term := range p.BannedTerms {
		field := fmt.Sprintf("policy.banned_terms[%d]", i)
		switch n := utf8.RuneCountInString(term); {
		case !utf8.ValidString(term):
			return fieldErr(field, "is not valid UTF-8")
		case strings.TrimSpace(term) == "":
			return fieldErr(field, "must not be empty or blank")
		case n > MaxBannedTermLen:
			return fieldErr(field, "is %d characters long, the limit is %d", n, MaxBannedTermLen)
		}
		key := strings.ToLower(term)
		if j, dup := seen[key]; dup {
			return fieldErr(field, "repeats banned_terms[%d] %q (terms match case-insensitively)", j, p.BannedTerms[j])
		}
		seen[key] = i
	}
	for i, a := range p.ApprovalActions {
		field := fmt.Sprintf("policy.approval_actions[%d]", i)
		if !a.Valid() {
			return fieldErr(field, "unknown action type %q (known: %s)", shorten(string(a), 40), joinNames(ActionTypes))
		}
		if j := slices.Index(p.ApprovalActions, a); j < i {
			return fieldErr(field, "repeats approval_actions[%d] %q", j, a)
		}
	}
	return nil
}

// ValidateArbitrationRequest rejects malformed requests before they are arbitrated.
func ValidateArbitrationRequest(r ArbitrationRequest) error {
	if err := ValidateID("request.post", r.PostID); err != nil {
		return err
	}
	if err := ValidateID("request.agent", r.Agent); err != nil {
		return err
	}
	switch {
	case !KnownPlatform(r.Platform):
		return fieldErr("request.platform", "unknown platform %q", r.Platform)
	case !r.Action.Valid():
		return fieldErr("request.action", "unknown action type %q", r.Action)
	case !CapabilitiesOf(r.Platform).Supports(r.Action):
		return unsupportedAction("request.action", r.Platform, r.Action)
	case !r.Tier.Valid():
		return fieldErr("request.tier", "unknown tier %q", r.Tier)
	case len(r.Texts) == 0 || len(r.Texts) > MaxThreadParts:
		return fieldErr("request.texts", "must have 1 to %d texts, got %d", MaxThreadParts, len(r.Texts))
	case r.At.IsZero():
		return fieldErr("request.at", "is missing")
	}
	// The automation asks with its own sheal_ keys only. A person's action names the person,
	// and carries either the automation's key (its proposal, approved) or an operator key: the
	// two prefixes never collide, so an operator's request cannot pass for the automation's.
	if r.IsAutonomous() {
		switch {
		case !strings.HasPrefix(r.Key, automationKeyPrefix):
			return fieldErr("request.idempotency_key", "must be a sheal_ key, got %q", shorten(r.Key, 80))
		case r.Operator != "" || r.OperatorReason != "":
			return fieldErr("request.operator", "only a non-autonomous request (autonomous: false) names an operator")
		}
		return nil
	}
	if !IsAutomationKey(r.Key) && !IsOperatorKey(r.Key) {
		return fieldErr("request.idempotency_key", "a non-autonomous request carries the approved sheal_ key or an operator's op_ key, got %q", shorten(r.Key, 80))
	}
	return validatePerson("request", r.Operator, r.OperatorReason)
}

// AllowedChange is an action the arbiter allowed, kept for the hourly budgets.
type AllowedChange struct {
	PostID string    `json:"post"`
	At     time.Time `json:"at"`
}

// ArbiterView is what the arbitration looks at besides the request.
type ArbiterView struct {
	LockActive     bool
	LockConfidence float64
	// AgentTier is the latest anomaly tier monitors reported per agent (absent = 0).
	AgentTier map[string]int
	// Allowed are the changes allowed in the last hour (older ones may be present; they are
	// ignored).
	Allowed []AllowedChange
}

// Arbitrate decides a request. Rules, in order: an active lock → lock; an agent at anomaly
// tier 3, or a critical risk → lock (and the caller turns the lock state on); policy
// violations or a risk or action that needs approval → deny with every reason (and
// RequiresApproval when approval is the only one); else allow.
//
// A non-autonomous request (a person approved or asked for the action) skips the lock rules,
// the approval rules and the autonomous budgets: only the content rules (empty or too long
// texts, banned terms) can deny it.
func Arbitrate(p SafetyPolicy, v ArbiterView, r ArbitrationRequest, now time.Time) ArbitrationDecision {
	d := ArbitrationDecision{Tier: r.Tier, At: now, Confidence: 1}
	if !r.IsAutonomous() {
		if violations := p.contentViolations(r); len(violations) > 0 {
			d.Decision, d.Reasons = DecisionDeny, violations
			return d
		}
		d.Decision, d.Reasons = DecisionAllow, []string{fmt.Sprintf("no content violations; %s by operator %s (not autonomous)", r.Action, r.Operator)}
		return d
	}
	if v.LockActive {
		d.Decision, d.LockActive, d.Confidence = DecisionLock, true, v.LockConfidence
		d.Reasons = []string{"existing lock state is active"}
		return d
	}
	agentTier := v.AgentTier[r.Agent]
	risk := ActionRisk(r.Action) + agentTier
	if agentTier >= 3 {
		d.Decision, d.LockActive = DecisionLock, true
		d.Reasons = []string{fmt.Sprintf("agent %s is at anomaly tier 3", r.Agent)}
		return d
	}
	if risk >= p.CriticalRisk {
		d.Decision, d.LockActive = DecisionLock, true
		d.Reasons = []string{fmt.Sprintf("critical risk %d: %s by an agent at anomaly tier %d", risk, r.Action, agentTier)}
		return d
	}
	content := p.contentViolations(r)
	budget, freesAt := p.budgetViolations(v, r, now)
	violations := append(content, budget...)
	var approval []string
	if risk >= p.ApprovalRisk {
		approval = append(approval, fmt.Sprintf("approval required: risk %d (%s by an agent at anomaly tier %d)", risk, r.Action, agentTier))
	}
	if p.NeedsApproval(r.Action) {
		approval = append(approval, fmt.Sprintf("approval required: the policy's approval_actions list %s", r.Action))
	}
	if len(violations)+len(approval) > 0 {
		d.Decision, d.Reasons = DecisionDeny, append(violations, approval...)
		d.RequiresApproval = len(violations) == 0
		if len(content)+len(approval) == 0 {
			// Only the budgets refuse: asking again before a slot frees changes nothing.
			d.RetryAt = freesAt
		}
		return d
	}
	d.Decision, d.Reasons = DecisionAllow, []string{"no policy violations detected"}
	return d
}

// contentViolations lists every content rule the request's texts break.
func (p SafetyPolicy) contentViolations(r ArbitrationRequest) []string {
	var out []string
	limit, caps := p.LengthLimit(r.Platform), CapabilitiesOf(r.Platform)
	for i, t := range r.Texts {
		switch n := caps.TextLength(t); {
		case strings.TrimSpace(t) == "":
			out = append(out, fmt.Sprintf("text %d is empty", i+1))
		case n > limit:
			out = append(out, fmt.Sprintf("text %d is %d %s, over the %s limit of %d", i+1, n, caps.TextUnit(), r.Platform, limit))
		case caps.MaxTextBytes > 0 && len(t) > caps.MaxTextBytes:
			out = append(out, fmt.Sprintf("text %d is %d bytes, over the %s limit of %d bytes", i+1, len(t), r.Platform, caps.MaxTextBytes))
		}
		lower := strings.ToLower(t)
		for _, term := range p.BannedTerms {
			if term != "" && strings.Contains(lower, strings.ToLower(term)) {
				out = append(out, fmt.Sprintf("text %d contains the banned term %q", i+1, term))
			}
		}
	}
	return out
}

// budgetViolations lists the autonomous budgets the request would exceed, and when every one
// of them frees a slot again: the moment enough of the allowed changes they count have left
// the hour (zero when none is exceeded).
func (p SafetyPolicy) budgetViolations(v ArbiterView, r ArbitrationRequest, now time.Time) ([]string, time.Time) {
	var out []string
	var freesAt time.Time
	hourAgo := now.Add(-time.Hour)
	var global, perPost []time.Time
	for _, c := range v.Allowed {
		if c.At.After(hourAgo) {
			global = append(global, c.At)
			if c.PostID == r.PostID {
				perPost = append(perPost, c.At)
			}
		}
	}
	if len(global) >= p.GlobalPerHour {
		out = append(out, fmt.Sprintf("global budget exhausted: %d autonomous changes in the last hour (limit %d)", len(global), p.GlobalPerHour))
		freesAt = laterOf(freesAt, slotFreesAt(global, p.GlobalPerHour))
	}
	if len(perPost) >= p.PerPostPerHour {
		out = append(out, fmt.Sprintf("post budget exhausted: %d changes to %s in the last hour (limit %d)", len(perPost), r.PostID, p.PerPostPerHour))
		freesAt = laterOf(freesAt, slotFreesAt(perPost, p.PerPostPerHour))
	}
	return out, freesAt
}

// slotFreesAt is when a budget of limit per hour, exhausted by the changes at times, has room
// for one more: once all but limit-1 of them are an hour old.
func slotFreesAt(times []time.Time, limit int) time.Time {
	sorted := slices.SortedFunc(slices.Values(times), time.Time.Compare)
	return sorted[len(sorted)-limit].Add(time.Hour)
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
