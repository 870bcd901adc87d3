package sim

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRefusingFaultsComeBeforeTheEffect(t *testing.T) {
	cases := []struct {
		kind   FaultKind
		status int
	}{
		{FaultRateLimit, 429},
		{FaultUnavailable, 503},
		{FaultBadRequest, 400},
		{FaultUnauthorized, 401},
		{FaultNotFound, 404},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{
				{Kind: c.kind, Scope: ScopeActions, Next: 1, RetryAfter: 2500 * time.Millisecond},
			}}})
			r := comment(t, s, "p", "k")
			if r.status != c.status {
				t.Fatalf("HTTP %d %s, want %d", r.status, r.body, c.status)
			}
			if r.errorCode(t) == "" {
				t.Errorf("error reply without a code: %s", r.body)
			}
			if c.kind == FaultRateLimit && r.header.Get("Retry-After") != "3" {
				t.Errorf("Retry-After = %q, want 3 (2.5s rounded up)", r.header.Get("Retry-After"))
			}
			if len(s.Effects()) != 0 {
				t.Fatalf("a refused call created an effect")
			}
			// Next: 1 is spent; the retry goes through and is not a replay.
			r = comment(t, s, "p", "k")
			if r.status != http.StatusCreated || r.header.Get(HeaderReplayed) != "" {
				t.Errorf("retry: HTTP %d replayed=%q", r.status, r.header.Get(HeaderReplayed))
			}
		})
	}
}

func TestFaultsOnMetrics(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{
		{Kind: FaultUnavailable, Scope: ScopeMetrics, Next: 2},
	}}})
	for i := 0; i < 2; i++ {
		if r := call(t, s, "GET", "/v1/posts/p/metrics", nil, nil); r.status != 503 {
			t.Errorf("call %d: HTTP %d, want 503", i, r.status)
		}
	}
	sample(t, s, "p")
}

func TestFaultScopes(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{
		{Kind: FaultUnavailable, Scope: ScopeMetrics, Probability: 1},
		{Kind: FaultNotFound, Scope: ScopeActions, PostID: "only-me", Probability: 1},
		{Kind: FaultBadRequest, Scope: ScopeThread, Probability: 1},
	}}})
	if r := call(t, s, "GET", "/v1/posts/x/metrics", nil, nil); r.status != 503 {
		t.Errorf("metrics: HTTP %d, want 503", r.status)
	}
	if r := comment(t, s, "other", "k1"); r.status != 201 {
		t.Errorf("comment on another post: HTTP %d, want 201", r.status)
	}
	if r := comment(t, s, "only-me", "k2"); r.status != 404 {
		t.Errorf("comment on the scoped post: HTTP %d, want 404", r.status)
	}
	if r := call(t, s, "POST", "/v1/posts/other/threads", map[string]any{"parts": []string{"a"}}, key("k3")); r.status != 400 {
		t.Errorf("thread: HTTP %d, want 400", r.status)
	}
	if r := call(t, s, "GET", "/healthz", nil, nil); r.status != 200 {
		t.Errorf("healthz is not a /v1 endpoint and must not be faulted: HTTP %d", r.status)
	}
	if r := call(t, s, "GET", "/admin/effects", nil, nil); r.status != 200 {
		t.Errorf("admin endpoints must not be faulted: HTTP %d", r.status)
	}
}

func TestProbabilityFaultsAreReproducibleWithASeed(t *testing.T) {
	pattern := func() string {
		s, _ := startSim(t, Options{Faults: Faults{Seed: 42, Rules: []FaultRule{
			{Kind: FaultUnavailable, Probability: 0.5},
		}}})
		var b strings.Builder
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&b, "%d ", call(t, s, "GET", "/v1/posts/p/metrics", nil, nil).status)
		}
		return b.String()
	}
	a, b := pattern(), pattern()
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "503") || !strings.Contains(a, "200") {
		t.Errorf("probability 0.5 over 40 calls should mix failures and successes: %s", a)
	}
}

// timeoutClient gives up quickly; the slow fault waits far longer.
var timeoutClient = &http.Client{Timeout: 100 * time.Millisecond}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestSlowFaultWithoutEffectFirst(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{
		{Kind: FaultSlow, Scope: ScopeActions, Next: 1, Delay: time.Minute},
	}}})
	_, err := timeoutClient.Do(request(t, s, "POST", "/v1/posts/p/comments", map[string]string{"text": "x"}, key("k-slow")))
	if !isTimeout(err) {
		t.Fatalf("want a client timeout, got %v", err)
	}
	// The abandoned call made nothing: the retry creates the effect rather than replaying it.
	r := comment(t, s, "p", "k-slow")
	if r.status != 201 || r.header.Get(HeaderReplayed) != "" {
		t.Errorf("retry: HTTP %d replayed=%q", r.status, r.header.Get(HeaderReplayed))
	}
	if n := len(s.Effects()); n != 1 {
		t.Errorf("%d effects, want 1", n)
	}
}

func TestSlowFaultWithEffectFirstIsAnUnknownOutcome(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{
		{Kind: FaultSlow, Scope: ScopeActions, Next: 1, Delay: time.Minute, EffectFirst: true},
	}}})
	_, err := timeoutClient.Do(request(t, s, "POST", "/v1/posts/p/comments", map[string]string{"text": "x"}, key("k-slow")))
	if !isTimeout(err) {
		t.Fatalf("want a client timeout, got %v", err)
	}
	eventually(t, "the effect", func() bool { return len(s.Effects()) == 1 })
	if found := effectsFor(t, s, "p", "k-slow"); len(found) != 1 {
		t.Errorf("verify-before-retry found %d effects, want 1", len(found))
	}
	if r := comment(t, s, "p", "k-slow"); r.header.Get(HeaderReplayed) != "true" {
		t.Errorf("retry was not a replay: HTTP %d", r.status)
	}
}

func TestSlowReplyThatTheClientWaitsForSucceeds(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{
		{Kind: FaultSlow, Next: 2, Delay: 20 * time.Millisecond},
	}}})
	if r := comment(t, s, "p", "k"); r.status != 201 {
		t.Errorf("comment: HTTP %d", r.status)
	}
	sample(t, s, "p")
}

func TestDropFault(t *testing.T) {
	for _, effectFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("effect_first=%v", effectFirst), func(t *testing.T) {
			s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{
				{Kind: FaultDrop, Scope: ScopeComment, Next: 1, EffectFirst: effectFirst},
			}}})
			resp, err := testClient.Do(request(t, s, "POST", "/v1/posts/p/comments", map[string]string{"text": "x"}, key("k-drop")))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("dropped call got HTTP %d", resp.StatusCode)
			}
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
				t.Errorf("want EOF or reset, got %v", err)
			}
			r := comment(t, s, "p", "k-drop")
			replayed := r.header.Get(HeaderReplayed) == "true"
			if r.status != 201 || replayed != effectFirst {
				t.Errorf("retry: HTTP %d replayed=%v, want replayed=%v", r.status, replayed, effectFirst)
			}
			if n := len(s.Effects()); n != 1 {
				t.Errorf("%d effects, want 1", n)
			}
		})
	}
}

func TestDropFaultOnMetrics(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{Rules: []FaultRule{{Kind: FaultDrop, Scope: ScopeMetrics, Next: 1}}}})
	resp, err := testClient.Do(request(t, s, "GET", "/v1/posts/p/metrics", nil, nil))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped call got HTTP %d", resp.StatusCode)
	}
}

func TestFaultsCanBeChangedAtRunTime(t *testing.T) {
	s, _ := startSim(t, Options{})
	body := map[string]any{"seed": 7, "rules": []map[string]any{
		{"kind": "rate_limit", "scope": "metrics", "next": 1, "retry_after": "4s"},
	}}
	r := call(t, s, "PUT", "/admin/faults", body, nil)
	if r.status != 200 {
		t.Fatalf("PUT faults: HTTP %d %s", r.status, r.body)
	}
	var got Faults
	call(t, s, "GET", "/admin/faults", nil, nil).decode(t, &got)
	if len(got.Rules) != 1 || got.Rules[0].RetryAfter != 4*time.Second || got.Seed != 7 {
		t.Errorf("GET faults: %+v", got)
	}
	r = call(t, s, "GET", "/v1/posts/p/metrics", nil, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "4" {
		t.Errorf("metrics: HTTP %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	call(t, s, "GET", "/admin/faults", nil, nil).decode(t, &got)
	if got.Rules[0].Next != 0 {
		t.Errorf("the spent rule still has next=%d", got.Rules[0].Next)
	}

	bad := []any{
		map[string]any{"rules": []map[string]any{{"kind": "explode"}}},
		map[string]any{"rules": []map[string]any{{"kind": "slow", "delay": "soon"}}},
		map[string]any{"rules": []map[string]any{{"kind": "slow", "probabilty": 1}}},
		map[string]any{"rules": []map[string]any{{"kind": "slow", "probability": 2}}},
		map[string]any{"rules": []map[string]any{{"kind": "slow", "scope": "everything"}}},
		map[string]any{"hold": true},
	}
	for _, b := range bad {
		if r := call(t, s, "PUT", "/admin/faults", b, nil); r.status != 400 {
			t.Errorf("PUT %v: HTTP %d, want 400", b, r.status)
		}
	}
}
