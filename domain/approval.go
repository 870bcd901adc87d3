package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// People in the loop: an operator approves or rejects an action the arbiter refused only for
// want of approval, or asks a post to perform an action now. Both are non-autonomous: the lock
// does not stop them (content rules still apply), the autonomous budgets do not count them, and
// monitors do not grade them.

// Bounds on what people type.
const (
	// MaxOperatorLen bounds an operator's name, MaxReasonLen a reason (characters).
	MaxOperatorLen = 200
	MaxReasonLen   = 1000
	// MaxRequestIDLen bounds an operator action's request ID (bytes).
	MaxRequestIDLen = 64
	// DefaultApprovalTimeout is how long an action waits for approval when the post's config
	// does not say (never past the post's horizon).
	DefaultApprovalTimeout = 6 * time.Hour
)

const (
	automationKeyPrefix = "sheal_"
	operatorKeyPrefix   = "op_"
)

// OperatorKey is the idempotency key of an operator's request: "op_" + the first 32 hex digits
// of SHA-256("operator:<postID>:<action>:<requestID>"). Its prefix differs from the
// automation's "sheal_", so the two can never collide, and the same request (same post, action
// and request ID) always gets the same key: sent again, it acts once.
func OperatorKey(postID string, action ActionType, requestID string) string {
	sum := sha256.Sum256([]byte("operator:" + postID + ":" + string(action) + ":" + requestID))
	return operatorKeyPrefix + hex.EncodeToString(sum[:])[:32]
}

// IsAutomationKey reports whether key has the shape of IdempotencyKey's keys.
func IsAutomationKey(key string) bool { return hexKey(key, automationKeyPrefix) }

// IsOperatorKey reports whether key has the shape of OperatorKey's keys.
func IsOperatorKey(key string) bool { return hexKey(key, operatorKeyPrefix) }

func hexKey(key, prefix string) bool {
	rest, ok := strings.CutPrefix(key, prefix)
	return ok && len(rest) == 32 && isLowerHex(rest)
}

// TierOfAction is the tier whose action is a on platform, and false when no tier leads to it
// there (an operator may only ask for an action the platform has).
func TierOfAction(platform string, a ActionType) (Tier, bool) {
	for _, t := range []Tier{Tier1, Tier2, Tier3} {
		if ActionForTierOn(platform, t) == a {
			return t, true
		}
	}
	return "", false
}

// ApprovalAnswer is an operator's approve or reject signal to a post.
type ApprovalAnswer struct {
	Operator string `json:"operator"`
	Reason   string `json:"reason"`
	// Key, when given, must be the key awaiting approval: an answer meant for an earlier
	// request (expired, answered) is refused instead of applying to a newer one.
	Key string `json:"idempotency_key,omitempty"`
}

// Validate checks an answer; signal ("approve" or "reject") prefixes the field names.
func (a ApprovalAnswer) Validate(signal string) error {
	if err := validatePerson(signal, a.Operator, a.Reason); err != nil {
		return err
	}
	if a.Key != "" && !IsAutomationKey(a.Key) {
		return fieldErr(signal+".idempotency_key", "must be the sheal_ key awaiting approval, got %q", shorten(a.Key, 80))
	}
	return nil
}

// OperatorRequest is an operator's act signal: perform this action on the post now.
type OperatorRequest struct {
	Operator string     `json:"operator"`
	Reason   string     `json:"reason"`
	Action   ActionType `json:"action"`
	// RequestID names the request: the action's key derives from it, so the same request sent
	// twice acts once.
	RequestID string `json:"request_id"`
	// Texts are what to publish: one text for a comment or an edit, the parts of a thread.
	// Empty means the post's configured texts for the action.
	Texts []string `json:"texts,omitempty"`
}

// Validate checks a request for post p: the operator and reason, a request ID, an action that
// p's platform has, and texts of the action's shape.
func (r OperatorRequest) Validate(p Post) error {
	if err := validatePerson("act", r.Operator, r.Reason); err != nil {
		return err
	}
	if err := ValidateRequestID("act.request_id", r.RequestID); err != nil {
		return err
	}
	if !r.Action.Valid() {
		return fieldErr("act.action", "unknown action type %q", shorten(string(r.Action), 40))
	}
	if _, ok := TierOfAction(p.Platform, r.Action); !ok {
		return fieldErr("act.action", "%s has no %s", p.Platform, r.Action)
	}
	if len(r.Texts) == 0 {
		return nil
	}
	if r.Action == ActionThread {
		if len(r.Texts) > MaxThreadParts {
			return fieldErr("act.texts", "a thread has 1 to %d parts, got %d", MaxThreadParts, len(r.Texts))
		}
	} else if len(r.Texts) != 1 {
		return fieldErr("act.texts", "a %s has one text, got %d", r.Action, len(r.Texts))
	}
	for i, t := range r.Texts {
		if err := ValidateText(fmt.Sprintf("act.texts[%d]", i), t); err != nil {
			return err
		}
	}
	return nil
}

// Key is the request's idempotency key on post p.
func (r OperatorRequest) Key(p Post) string { return OperatorKey(p.ID, r.Action, r.RequestID) }

// ValidateRequestID checks a request ID: 1 to MaxRequestIDLen letters, digits, '.', '_' or '-'.
func ValidateRequestID(field, id string) error {
	switch {
	case id == "":
		return fieldErr(field, "is required")
	case len(id) > MaxRequestIDLen:
		return fieldErr(field, "is %d bytes long, the limit is %d", len(id), MaxRequestIDLen)
	}
	for i, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fieldErr(field, "may hold only letters, digits, '.', '_' and '-' (byte %d is %q)", i, c)
		}
	}
	return nil
}

// validatePerson checks who answers and why: both required, of bounded length, printable.
func validatePerson(signal, operator, reason string) error {
	if err := validatePersonText(signal+".operator", operator, MaxOperatorLen); err != nil {
		return err
	}
	return validatePersonText(signal+".reason", reason, MaxReasonLen)
}

func validatePersonText(field, s string, limit int) error {
	if err := validateBoundedText(field, s, limit, "is required"); err != nil {
		return err
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return fieldErr(field, "has a control character at byte %d", i)
		}
	}
	return nil
}

// joinNames lists names (statuses, action types) for an error message.
func joinNames[T ~string](names []T) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return strings.Join(out, ", ")
}

// PendingApproval is an action awaiting a person's approval: what a post shows while it waits
// and what the approval_requested alert carries.
type PendingApproval struct {
	PostID   string     `json:"post_id"`
	Agent    string     `json:"agent"`
	Platform string     `json:"platform"`
	Action   ActionType `json:"action_type"`
	Tier     Tier       `json:"tier"`
	Key      string     `json:"idempotency_key"`
	// Texts are what the action would publish.
	Texts []string `json:"texts"`
	Score float64  `json:"stagnation_score"`
	// Reasons are the arbiter's: why a person must decide.
	Reasons []string `json:"reasons"`
	// Since is when the arbiter asked for approval; Until when the request expires.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// The commands that answer it.
	ApproveCommand string `json:"approve_command"`
	RejectCommand  string `json:"reject_command"`
}

// DecodeApprovalAnswer decodes and validates the payload of an approve or reject signal
// (signal names it in errors): one JSON object with ApprovalAnswer's fields and no others, so
// that a misspelt "idempotency_key" is refused rather than ignored.
func DecodeApprovalAnswer(signal string, data []byte) (ApprovalAnswer, error) {
	var a ApprovalAnswer
	if err := decodeSignal(signal, data, &a, "operator, reason, idempotency_key"); err != nil {
		return ApprovalAnswer{}, err
	}
	return a, a.Validate(signal)
}

// DecodeOperatorRequest decodes and validates the payload of an act signal to post p.
func DecodeOperatorRequest(p Post, data []byte) (OperatorRequest, error) {
	var r OperatorRequest
	if err := decodeSignal("act", data, &r, "operator, reason, action, request_id, texts"); err != nil {
		return OperatorRequest{}, err
	}
	return r, r.Validate(p)
}

// decodeSignal decodes a person's signal payload strictly into v.
func decodeSignal(signal string, data []byte, v any, known string) error {
	switch t := strings.TrimSpace(string(data)); {
	case t == "" || t == "null":
		return fmt.Errorf("%s: the payload must be a JSON object with %s", signal, known)
	case len(data) > MaxPolicyBytes:
		return fmt.Errorf("%s: the payload is %d bytes, the limit is %d", signal, len(data), MaxPolicyBytes)
	}
	err := strictUnmarshal(data, v)
	if err == nil {
		return nil
	}
	const unknown = `json: unknown field "`
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, unknown), `"`)
		return fieldErr(signal+"."+name, "unknown field (known: %s)", known)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fieldErr(signal+"."+te.Field, "must be %s, got %s", jsonKind(te.Type.Kind()), te.Value)
	}
	return fmt.Errorf("%s: the payload must be a JSON object with %s: %w", signal, known, err)
}

// jsonKind names what a Go kind is in JSON, for errors.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + k.String()
}
