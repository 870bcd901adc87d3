package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxPolicyBytes bounds an encoded safety policy (a policy file, a set-policy signal); the
// decoder refuses anything larger.
const MaxPolicyBytes = 256 << 10

// policyJSON is SafetyPolicy on the wire, each field kept raw so that an absent field (keep the
// base's value) differs from a null one (an error).
type policyJSON struct {
	GlobalPerHour  json.RawMessage `json:"global_per_hour"`
	PerPostPerHour json.RawMessage `json:"per_post_per_hour"`
	LengthLimits   json.RawMessage `json:"length_limits"`
	BannedTerms    json.RawMessage `json:"banned_terms"`
	ApprovalRisk   json.RawMessage `json:"approval_risk"`
	CriticalRisk   json.RawMessage `json:"critical_risk"`
	// ApprovalActions replaces the list, as banned_terms does.
	ApprovalActions json.RawMessage `json:"approval_actions"`
}

// DecodeSafetyPolicy decodes a JSON safety policy onto base and validates the result. The
// JSON is one object with any of SafetyPolicy's fields: a field left out keeps base's value;
// length_limits is merged platform by platform into base's limits; banned_terms, when given,
// replaces base's list ([] bans nothing). Unknown fields, nulls and values of the wrong type
// are errors naming the field. base is not modified, and the result shares no map or slice
// with it; its LengthLimits and BannedTerms are never nil.
func DecodeSafetyPolicy(base SafetyPolicy, data []byte) (SafetyPolicy, error) {
	p := base
	p.LengthLimits = maps.Clone(base.LengthLimits)
	if p.LengthLimits == nil {
		p.LengthLimits = map[string]int{}
	}
	p.BannedTerms = slices.Clone(base.BannedTerms)
	if p.BannedTerms == nil {
		p.BannedTerms = []string{}
	}
	p.ApprovalActions = slices.Clone(base.ApprovalActions)
	if p.ApprovalActions == nil {
		p.ApprovalActions = []ActionType{}
	}
	if len(data) > MaxPolicyBytes {
		return base, fmt.Errorf("policy is %d bytes, the limit is %d", len(data), MaxPolicyBytes)
	}
	switch string(bytes.TrimSpace(data)) {
	case "":
		return base, errors.New("policy: no input: want one JSON object")
	case "null":
		return base, errors.New("policy: must be a JSON object, got null")
	}
	var raw policyJSON
	if err := strictUnmarshal(data, &raw); err != nil {
		return base, policyJSONError(err)
	}
	ints := []struct {
		name string
		raw  json.RawMessage
		dst  *int
	}{
		{"global_per_hour", raw.GlobalPerHour, &p.GlobalPerHour},
		{"per_post_per_hour", raw.PerPostPerHour, &p.PerPostPerHour},
		{"approval_risk", raw.ApprovalRisk, &p.ApprovalRisk},
		{"critical_risk", raw.CriticalRisk, &p.CriticalRisk},
	}
	for _, f := range ints {
		if f.raw == nil {
			continue
		}
		if err := decodePolicyField(f.name, f.raw, f.dst, "a whole number"); err != nil {
			return base, err
		}
	}
	if raw.LengthLimits != nil {
		var limits map[string]json.RawMessage
		if err := decodePolicyField("length_limits", raw.LengthLimits, &limits, "an object of whole numbers by platform"); err != nil {
			return base, err
		}
		for _, name := range slices.Sorted(maps.Keys(limits)) {
			var n int
			if err := decodePolicyField("length_limits."+name, limits[name], &n, "a whole number"); err != nil {
				return base, err
			}
			p.LengthLimits[name] = n
		}
	}
	if raw.BannedTerms != nil {
		terms, err := decodePolicyList[string]("banned_terms", raw.BannedTerms, "strings", "a string")
		if err != nil {
			return base, err
		}
		p.BannedTerms = terms
	}
	if raw.ApprovalActions != nil {
		actions, err := decodePolicyList[ActionType]("approval_actions", raw.ApprovalActions, "action types", "an action type")
		if err != nil {
			return base, err
		}
		p.ApprovalActions = actions
	}
	if err := p.Validate(); err != nil {
		return base, err
	}
	return p, nil
}

// decodePolicyList decodes a present list field element by element, so that an error names
// the element at fault ("policy.banned_terms[2]"); the result is never nil.
func decodePolicyList[T any](name string, raw json.RawMessage, wantItems, wantItem string) ([]T, error) {
	var items []json.RawMessage
	if err := decodePolicyField(name, raw, &items, "an array of "+wantItems); err != nil {
		return nil, err
	}
	out := make([]T, len(items))
	for i, item := range items {
		if err := decodePolicyField(fmt.Sprintf("%s[%d]", name, i), item, &out[i], wantItem); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodePolicyField decodes one present field: null and wrong types are field errors.
func decodePolicyField(name string, raw json.RawMessage, dst any, want string) error {
	field := "policy." + name
	text := string(bytes.TrimSpace(raw))
	if text == "null" {
		return fieldErr(field, "must be %s, got null (leave the field out to keep the current value)", want)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fieldErr(field, "must be %s, got %s", want, shorten(text, 40))
	}
	return nil
}

// policyJSONError turns the envelope's decoding errors into readable ones, unknown fields into
// field errors.
func policyJSONError(err error) error {
	const unknown = `json: unknown field "`
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, unknown), `"`)
		return fieldErr("policy."+name, "unknown field (known: global_per_hour, per_post_per_hour, length_limits, banned_terms, approval_risk, critical_risk, approval_actions)")
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return fmt.Errorf("policy: must be a JSON object, got %s", te.Value)
	}
	return fmt.Errorf("policy: %w", err)
}

// shorten cuts s to n characters for an error message.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Complete returns a copy of p that spells out what p leaves implicit: every known platform's
// length limit (the platform's default where p has none) and empty rather than nil lists. It is
// the same policy (LengthLimit answers the same for every platform), in the form that, decoded
// onto any base with DecodeSafetyPolicy, gives exactly it.
func (p SafetyPolicy) Complete() SafetyPolicy {
	limits := make(map[string]int, len(p.LengthLimits)+len(Platforms))
	for _, name := range Platforms {
		limits[name] = CapabilitiesOf(name).TextLimit
	}
	maps.Copy(limits, p.LengthLimits)
	p.LengthLimits = limits
	p.BannedTerms = append([]string{}, p.BannedTerms...)
	p.ApprovalActions = append([]ActionType{}, p.ApprovalActions...)
	return p
}
