package domain

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeSafetyPolicy(t *testing.T) {
	def := DefaultSafetyPolicy()
	with := func(f func(*SafetyPolicy)) SafetyPolicy {
		p := DefaultSafetyPolicy()
		f(&p)
		return p
	}
	cases := []struct {
		name string
		base SafetyPolicy
		in   string
		want SafetyPolicy
	}{
		{"empty object keeps the base", def, `{}`, def},
		{"white space around", def, " \n{ }\n\t", def},
		{"one budget", def, `{"per_post_per_hour": 1}`, with(func(p *SafetyPolicy) { p.PerPostPerHour = 1 })},
		{"every field", def, `{"global_per_hour": 50, "per_post_per_hour": 2, "length_limits": {"sim": 280, "mastodon": 400, "bluesky": 250},
			"banned_terms": ["spam", "Crypto Giveaway"], "approval_risk": 4, "critical_risk": 5, "approval_actions": ["thread", "edit"]}`,
			SafetyPolicy{GlobalPerHour: 50, PerPostPerHour: 2, LengthLimits: map[string]int{"sim": 280, "mastodon": 400, "bluesky": 250},
				BannedTerms: []string{"spam", "Crypto Giveaway"}, ApprovalRisk: 4, CriticalRisk: 5,
				ApprovalActions: []ActionType{ActionThread, ActionEdit}}},
		{"approval actions replace the base's", with(func(p *SafetyPolicy) { p.ApprovalActions = []ActionType{ActionEdit} }),
			`{"approval_actions": ["thread"]}`, with(func(p *SafetyPolicy) { p.ApprovalActions = []ActionType{ActionThread} })},
		{"no approval actions", with(func(p *SafetyPolicy) { p.ApprovalActions = []ActionType{ActionEdit} }),
			`{"approval_actions": []}`, def},
		{"length limits merge by platform", def, `{"length_limits": {"mastodon": 400}}`,
			with(func(p *SafetyPolicy) { p.LengthLimits["mastodon"] = 400 })},
		{"empty length limits keep the base's", def, `{"length_limits": {}}`, def},
		{"banned terms replace the base's", def, `{"banned_terms": ["spam"]}`,
			with(func(p *SafetyPolicy) { p.BannedTerms = []string{"spam"} })},
		{"no banned terms", def, `{"banned_terms": []}`, with(func(p *SafetyPolicy) { p.BannedTerms = []string{} })},
		{"risk thresholds equal", def, `{"approval_risk": 6, "critical_risk": 6}`,
			with(func(p *SafetyPolicy) { p.ApprovalRisk = 6 })},
		{"thresholds switched off", def, `{"approval_risk": 7, "critical_risk": 7}`,
			with(func(p *SafetyPolicy) { p.ApprovalRisk, p.CriticalRisk = 7, 7 })},
		{"onto another base", with(func(p *SafetyPolicy) { p.GlobalPerHour = 10; p.BannedTerms = nil; p.LengthLimits = nil }),
			`{"per_post_per_hour": 1}`,
			SafetyPolicy{GlobalPerHour: 10, PerPostPerHour: 1, LengthLimits: map[string]int{}, BannedTerms: []string{}, ApprovalRisk: 5, CriticalRisk: 6,
				ApprovalActions: []ActionType{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSafetyPolicy(tc.base, []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeSafetyPolicyDoesNotAlias(t *testing.T) {
	base := DefaultSafetyPolicy()
	got, err := DecodeSafetyPolicy(base, []byte(`{"length_limits": {"mastodon": 400}, "global_per_hour": 9}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(base, DefaultSafetyPolicy()) {
		t.Fatalf("the base was modified: %+v", base)
	}
	got.LengthLimits["sim"] = 1
	got.BannedTerms[0] = "changed"
	if base.LengthLimits["sim"] != DefaultLengthLimit || base.BannedTerms[0] != "guaranteed returns" {
		t.Fatalf("the result shares its map or slice with the base: %+v", base)
	}
	// Neither does a failed decode touch the base.
	if _, err := DecodeSafetyPolicy(base, []byte(`{"length_limits": {"mastodon": 0}}`)); err == nil {
		t.Fatal("want an error")
	}
	if !reflect.DeepEqual(base, DefaultSafetyPolicy()) {
		t.Fatalf("a failed decode modified the base: %+v", base)
	}
}

func TestDecodeSafetyPolicyRoundTrip(t *testing.T) {
	// A policy's own JSON decodes back to it, onto any base.
	p := DefaultSafetyPolicy()
	p.PerPostPerHour, p.BannedTerms = 1, []string{"spam"}
	data := mustJSON(t, p)
	other := DefaultSafetyPolicy()
	other.GlobalPerHour = 3
	got, err := DecodeSafetyPolicy(other, data)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("got %+v, %v; want %+v", got, err, p)
	}
}

func TestDecodeSafetyPolicyErrors(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		field string // a *FieldError naming it; "" for another error
		sub   string
	}{
		{"unknown field", `{"per_post_per_hour": 1, "per_post_per_day": 9}`, "policy.per_post_per_day", "unknown field"},
		{"unknown field, camel case", `{"globalPerHour": 9}`, "policy.globalPerHour", "unknown field"},
		{"wrong type", `{"global_per_hour": "600"}`, "policy.global_per_hour", `must be a whole number, got "600"`},
		{"fraction", `{"per_post_per_hour": 2.5}`, "policy.per_post_per_hour", "must be a whole number, got 2.5"},
		{"exponent", `{"global_per_hour": 1e3}`, "policy.global_per_hour", "must be a whole number, got 1e3"},
		{"too big", `{"global_per_hour": 99999999999999999999}`, "policy.global_per_hour", "must be a whole number"},
		{"null number", `{"approval_risk": null}`, "policy.approval_risk", "got null"},
		{"null limits", `{"length_limits": null}`, "policy.length_limits", "got null"},
		{"null terms", `{"banned_terms": null}`, "policy.banned_terms", "got null"},
		{"limits not an object", `{"length_limits": [500]}`, "policy.length_limits", "must be an object"},
		{"limit not a number", `{"length_limits": {"sim": "500"}}`, "policy.length_limits.sim", "must be a whole number"},
		{"terms not an array", `{"banned_terms": "spam"}`, "policy.banned_terms", "must be an array of strings"},
		{"term not a string", `{"banned_terms": ["spam", 3]}`, "policy.banned_terms[1]", "must be a string, got 3"},
		{"zero global budget", `{"global_per_hour": 0}`, "policy.global_per_hour", "at least 1"},
		{"negative post budget", `{"per_post_per_hour": -1}`, "policy.per_post_per_hour", "at least 1"},
		{"approval above critical", `{"approval_risk": 6, "critical_risk": 5}`, "policy.approval_risk", "at most critical_risk"},
		{"approval too low", `{"approval_risk": 1}`, "policy.approval_risk", "at least 2"},
		{"critical too high", `{"approval_risk": 5, "critical_risk": 50}`, "policy.critical_risk", "at most 7"},
		{"zero length limit", `{"length_limits": {"mastodon": 0}}`, "policy.length_limits.mastodon", "between 1 and 10000"},
		{"negative length limit", `{"length_limits": {"sim": -5}}`, "policy.length_limits.sim", "between 1 and 10000"},
		{"huge length limit", `{"length_limits": {"sim": 1000000}}`, "policy.length_limits.sim", "between 1 and 10000"},
		{"unknown platform", `{"length_limits": {"mastadon": 400}}`, "policy.length_limits.mastadon", "unknown platform"},
		{"empty banned term", `{"banned_terms": ["spam", ""]}`, "policy.banned_terms[1]", "must not be empty"},
		{"blank banned term", `{"banned_terms": [" \t"]}`, "policy.banned_terms[0]", "must not be empty"},
		{"long banned term", fmt.Sprintf(`{"banned_terms": [%q]}`, strings.Repeat("x", MaxBannedTermLen+1)), "policy.banned_terms[0]", "the limit is 200"},
		{"duplicate banned term", `{"banned_terms": ["Spam", "eggs", "SPAM"]}`, "policy.banned_terms[2]", "repeats banned_terms[0]"},
		{"approval actions not an array", `{"approval_actions": "thread"}`, "policy.approval_actions", "must be an array of action types"},
		{"null approval actions", `{"approval_actions": null}`, "policy.approval_actions", "got null"},
		{"approval action not a string", `{"approval_actions": [3]}`, "policy.approval_actions[0]", "must be an action type"},
		{"unknown approval action", `{"approval_actions": ["thread", "like"]}`, "policy.approval_actions[1]", `unknown action type "like"`},
		{"repeated approval action", `{"approval_actions": ["edit", "edit"]}`, "policy.approval_actions[1]", "repeats approval_actions[0]"},
		{"empty input", ``, "", "no input"},
		{"blank input", " \n ", "", "no input"},
		{"not an object", `[{"global_per_hour": 1}]`, "", "must be a JSON object"},
		{"a number", `42`, "", "must be a JSON object"},
		{"null", ` null `, "", "must be a JSON object, got null"},
		{"invalid JSON", `{"global_per_hour": 1,}`, "", "policy: invalid character"},
		{"truncated", `{"global_per_hour": 1`, "", "policy: unexpected EOF"},
		{"two objects", `{} {}`, "", "trailing data"},
		{"too large", `{"banned_terms": ["` + strings.Repeat("x", MaxPolicyBytes) + `"]}`, "", "the limit is"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := DefaultSafetyPolicy()
			got, err := DecodeSafetyPolicy(base, []byte(tc.in))
			if err == nil {
				t.Fatalf("want an error, got %+v", got)
			}
			if tc.field != "" {
				wantFieldErr(t, err, tc.field)
			} else if fe := (*FieldError)(nil); errors.As(err, &fe) {
				t.Fatalf("want a plain error, got a field error %v", err)
			}
			if !strings.Contains(err.Error(), tc.sub) {
				t.Fatalf("error %q lacks %q", err, tc.sub)
			}
			if !reflect.DeepEqual(got, base) {
				t.Fatalf("on error the base must come back unchanged, got %+v", got)
			}
		})
	}
}

func TestDecodeSafetyPolicySameErrorEveryTime(t *testing.T) {
	// Two bad platforms: the error names the same one every time (map order is random).
	in := []byte(`{"length_limits": {"zz": 1, "aa": 1, "mastodon": 0}}`)
	_, first := DecodeSafetyPolicy(DefaultSafetyPolicy(), in)
	for range 20 {
		if _, err := DecodeSafetyPolicy(DefaultSafetyPolicy(), in); err == nil || err.Error() != first.Error() {
			t.Fatalf("got %v, then %v", first, err)
		}
	}
	wantFieldErr(t, first, "policy.length_limits.aa")
}

// FuzzDecodeSafetyPolicy: the decoder never panics, a policy it returns is valid and its own
// JSON decodes back to it, and a failed decode returns the base unchanged.
func FuzzDecodeSafetyPolicy(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"per_post_per_hour": 1}`, `{"length_limits": {"mastodon": 400}, "banned_terms": ["spam"]}`,
		`{"approval_risk": 6, "critical_risk": 5}`, `{"banned_terms": ["", null]}`, `{"length_limits": {"x": 1e400}}`,
		`[]`, `null`, `{"global_per_hour": 1} x`, "\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := DefaultSafetyPolicy()
		p, err := DecodeSafetyPolicy(base, data)
		if err != nil {
			if !reflect.DeepEqual(p, DefaultSafetyPolicy()) || !reflect.DeepEqual(base, DefaultSafetyPolicy()) {
				t.Fatalf("a failed decode changed the policy: %+v", p)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded an invalid policy: %v", err)
		}
		again, err := DecodeSafetyPolicy(SafetyPolicy{}, mustJSON(t, p))
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, p)
		}
	})
}

func TestSafetyPolicyComplete(t *testing.T) {
	p := DefaultSafetyPolicy()
	p.LengthLimits = map[string]int{PlatformMastodon: 400}
	p.BannedTerms = nil
	c := p.Complete()
	want := p
	want.LengthLimits = map[string]int{PlatformSim: DefaultLengthLimit, PlatformMastodon: 400, PlatformBluesky: BlueskyTextLimit}
	want.BannedTerms = []string{}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Complete() = %+v, want %+v", c, want)
	}
	for _, name := range []string{PlatformSim, PlatformMastodon, PlatformBluesky, "other"} {
		if c.LengthLimit(name) != p.LengthLimit(name) {
			t.Errorf("%s: the completed policy's limit is %d, the policy's %d", name, c.LengthLimit(name), p.LengthLimit(name))
		}
	}
	c.LengthLimits[PlatformMastodon] = 1
	if p.LengthLimits[PlatformMastodon] != 400 {
		t.Fatal("Complete shares its map with the policy")
	}
	// Its JSON, decoded onto any base, is exactly it.
	other := DefaultSafetyPolicy()
	other.LengthLimits[PlatformSim], other.BannedTerms = 100, []string{"x"}
	got, err := DecodeSafetyPolicy(other, mustJSON(t, p.Complete()))
	if err != nil || !reflect.DeepEqual(got, p.Complete()) {
		t.Fatalf("got %+v, %v; want %+v", got, err, p.Complete())
	}
}
