package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"resurge/domain"
)

// referenceHistory is an action log in the reference executor's persisted format (Python
// isoformat times with microseconds, null outcomes and error codes).
func referenceHistory(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "reference_history.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func sample(at string, impressions, engagements any) string {
	return fmt.Sprintf(`{"at": %q, "impressions": %v, "engagements": %v}`, at, impressions, engagements)
}

func planRequest(samples []string, log string) string {
	if log == "" {
		log = "[]"
	}
	return fmt.Sprintf(`{"post_id": "p1", "now": "2026-11-25T12:00:00+00:00", "samples": [%s], "log": %s}`,
		strings.Join(samples, ", "), log)
}

func TestPlanPrintsThePlan(t *testing.T) {
	tests := []struct {
		name    string
		request string
		want    map[string]any // fields of the plan JSON; nil: must be absent
	}{
		{
			// No engagement at all over three samples: score 1, tier 3, thread, nothing in the
			// log against it.
			name: "eligible",
			request: planRequest([]string{
				sample("2026-11-25T11:40:00.000000+00:00", 1000, 10),
				sample("2026-11-25T11:50:00", 1200, 10), // Python naive isoformat: UTC
				sample("2026-11-25T12:00:00+00:00", 1500, 10),
			}, ""),
			want: map[string]any{
				"post_id": "p1", "eligible": true, "sample_count": 3.0, "stagnation_score": 1.0,
				"tier": "tier_3", "action_type": "thread",
				"idempotency_key": "sheal_2304be7ef58ba8f0e6dd06cb68632a31",
				"reason":          nil, "cooldown_until": nil,
			},
		},
		{
			name: "insufficient samples",
			request: planRequest([]string{
				sample("2026-11-25T11:50:00Z", 1000, 10),
				sample("2026-11-25T12:00:00Z", 1500, 10),
				sample("2026-11-25T09:00:00Z", 900, 10), // outside the 90m window
			}, ""),
			want: map[string]any{
				"post_id": "p1", "eligible": false, "reason": "insufficient_samples", "sample_count": 2.0,
				"tier": nil, "idempotency_key": nil, "cooldown_until": nil,
			},
		},
		{
			// Tier 2 -> edit; the reference history's edit failed at 11:40:00.5, so its 2h
			// cooldown runs to 13:40:00.5, to the microsecond.
			name: "cooldown",
			request: planRequest([]string{
				sample("2026-11-25T10:30:00+00:00", 1000, 10),
				sample("2026-11-25T11:15:00+00:00", 1200, 15),
				sample("2026-11-25T12:00:00+00:00", 1400, 19),
			}, referenceHistory(t)),
			want: map[string]any{
				"eligible": false, "reason": "action_cooldown_active", "tier": "tier_2",
				"action_type": "edit", "idempotency_key": "sheal_2b5d2b703381450e67206d9938ff4cee",
				"cooldown_until": "2026-11-25T13:40:00.5Z", "sample_count": 3.0,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEnv(t, nil, tc.request) // nil client: plan must not connect
			if code := te.run("plan"); code != exitOK {
				t.Fatalf("exit %d: %s", code, te.stderr)
			}
			if te.stderr.Len() != 0 {
				t.Errorf("stderr: %s", te.stderr)
			}
			var got map[string]any
			te.oneJSON(t, &got)
			for k, want := range tc.want {
				v, ok := got[k]
				if want == nil {
					if ok {
						t.Errorf("%s = %v, want it absent", k, v)
					}
					continue
				}
				if !ok || v != want {
					t.Errorf("%s = %v, want %v\n%s", k, v, want, te.stdout)
				}
			}
		})
	}
}

// TestPlanScoresByPlatform: the same samples are scored by the workflow's formula for the
// post's platform. Impressions grow while engagement does not: stagnant by the impression
// formula (sim), while on Mastodon (no impressions) the velocity formula sees engagement still
// coming in.
func TestPlanScoresByPlatform(t *testing.T) {
	samples := []string{
		sample("2026-11-25T11:40:00Z", 1000, 100),
		sample("2026-11-25T11:50:00Z", 3000, 110),
		sample("2026-11-25T12:00:00Z", 6000, 120),
	}
	score := func(platform string) float64 {
		t.Helper()
		req := planRequest(samples, "")
		if platform != "" {
			req = strings.Replace(req, `"post_id": "p1"`, `"post_id": "p1", "platform": "`+platform+`"`, 1)
		}
		te := newTestEnv(t, nil, req)
		if code := te.run("plan"); code != exitOK {
			t.Fatalf("%s: exit %d: %s", platform, code, te.stderr)
		}
		var got struct {
			Score float64 `json:"stagnation_score"`
		}
		te.oneJSON(t, &got)
		return got.Score
	}
	byDefault, sim, mastodon := score(""), score("sim"), score("mastodon")
	if byDefault != sim {
		t.Errorf("no platform scored %v, sim %v: the default must be sim", byDefault, sim)
	}
	if sim == mastodon {
		t.Errorf("sim and mastodon both scored %v: the platform did not choose the formula", sim)
	}
	te := newTestEnv(t, nil, strings.Replace(planRequest(samples, ""), `"post_id": "p1"`, `"post_id": "p1", "platform": "myspace"`, 1))
	if code := te.run("plan"); code != exitUsage || !strings.Contains(te.stderr.String(), "platform") {
		t.Errorf("unknown platform: exit %d, stderr %s", code, te.stderr)
	}
}

func TestPlanReadsFileOrStdin(t *testing.T) {
	req := planRequest([]string{sample("2026-11-25T12:00:00Z", 1, 1)}, "")
	path := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(path, []byte(req), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"plan", "--file", path}, {"plan", path}, {"plan", "-"}, {"--json", "plan", "--file", "-"}} {
		te := newTestEnv(t, nil, req)
		if code := te.run(args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, te.stderr)
		}
		var got map[string]any
		te.oneJSON(t, &got)
		if got["reason"] != "insufficient_samples" || got["sample_count"] != 1.0 {
			t.Errorf("%v: %v", args, got)
		}
	}
}

func TestPlanBadInputExits2(t *testing.T) {
	good := sample("2026-11-25T11:40:00Z", 1000, 10)
	tests := []struct {
		name, request, errSub string
	}{
		{"garbage", `{"post_id": "p1", "now": `, "plan:"},
		{"not JSON at all", "hello", "plan:"},
		{"empty", "  \n", "no input"},
		{"NaN counter", planRequest([]string{sample("2026-11-25T11:40:00Z", `"NaN"`, 10)}, ""), "samples[0].impressions"},
		{"negative counter", planRequest([]string{good, sample("2026-11-25T11:50:00Z", 1200, -1)}, ""), "samples[1].engagements: must not be negative"},
		{"infinite counter", planRequest([]string{sample("2026-11-25T11:40:00Z", "1e999", 10)}, ""), "samples[0].impressions"},
		{"counter going down", planRequest([]string{good, sample("2026-11-25T11:50:00Z", 900, 10)}, ""), "impressions"},
		{"missing now", `{"post_id": "p1"}`, "now: is missing"},
		{"unknown field", `{"post_id": "p1", "now": "2026-11-25T12:00:00Z", "extra": 1}`, "extra"},
		{"bad log record", planRequest(nil, `[{"idempotency_key": "nope", "post_id": "p1", "action_type": "comment", "tier": "tier_1", "initiated_at": "2026-11-25T10:00:00Z", "status": "success"}]`), "log[0].idempotency_key"},
		{"bad config", `{"post_id": "p1", "now": "2026-11-25T12:00:00Z", "config": {"window": "soon"}}`, "config.window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEnv(t, nil, tc.request)
			if code := te.run("plan"); code != exitUsage {
				t.Fatalf("exit %d, want 2; stdout %s stderr %s", code, te.stdout, te.stderr)
			}
			if te.stdout.Len() != 0 {
				t.Errorf("stdout not empty on bad input: %s", te.stdout)
			}
			if line := te.errLine(t); !strings.Contains(line, tc.errSub) {
				t.Errorf("error line %q does not name %q", line, tc.errSub)
			}
		})
	}
}

func TestPlanMissingFileExits2(t *testing.T) {
	te := newTestEnv(t, nil, "")
	if code := te.run("plan", "--file", filepath.Join(t.TempDir(), "none.json")); code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	te.errLine(t)
}

// TestPlanBlueskyQuotes: on Bluesky the tier-2 plan is a quote with the quote's key, scored by
// velocity; the post is named by its AT URI, and anything else is refused naming post_id.
func TestPlanBlueskyQuotes(t *testing.T) {
	const uri = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b"
	// 20 engagements in the first 10 minutes, 6 in the next: the recent pace at 30%, tier 2.
	samples := []string{
		sample("2026-11-25T11:40:00Z", 0, 0),
		sample("2026-11-25T11:50:00Z", 0, 20),
		sample("2026-11-25T12:00:00Z", 0, 26),
	}
	req := strings.Replace(planRequest(samples, ""), `"post_id": "p1"`, `"post_id": "`+uri+`", "platform": "bluesky"`, 1)
	te := newTestEnv(t, nil, req)
	if code := te.run("plan"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var got map[string]any
	te.oneJSON(t, &got)
	if got["action_type"] != "quote" || got["tier"] != "tier_2" || got["eligible"] != true ||
		got["idempotency_key"] != domain.IdempotencyKey(uri, domain.ActionQuote, domain.Tier2) {
		t.Fatalf("plan %v, want an eligible tier-2 quote with the quote's key", got)
	}
	bad := strings.Replace(planRequest(samples, ""), `"post_id": "p1"`, `"post_id": "https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b", "platform": "bluesky"`, 1)
	te = newTestEnv(t, nil, bad)
	if code := te.run("plan"); code != exitUsage || !strings.Contains(te.stderr.String(), "post_id") || !strings.Contains(te.stderr.String(), "AT URI") {
		t.Fatalf("a bsky.app URL as post_id: exit %d, stderr %s", code, te.stderr)
	}
}

// TestPlanShowsTheCadence: the dry run says when the post samples next and why, from the
// request's config (adaptive by default, or fixed), its start and the cadence in force.
func TestPlanShowsTheCadence(t *testing.T) {
	samples := `"samples": [` + strings.Join([]string{
		sample("2026-11-25T11:40:00Z", 1000, 60), sample("2026-11-25T11:50:00Z", 1200, 71), sample("2026-11-25T12:00:00Z", 1400, 82),
	}, ", ") + `]`
	log := `"log": [{"idempotency_key": "sheal_878d89c30e92e1293270d561bfd03ec1", "post_id": "p1", "action_type": "comment", "tier": "tier_1",
		"initiated_at": "2026-11-25T08:00:00Z", "status": "success", "attempts": 1}]`
	tests := []struct {
		name, extra  string
		mode, next   string
		reasonPrefix string
	}{
		{"young (default start: the first sample)", "", "adaptive", "10m0s", "young: dense for the first 1h30m"},
		{"started hours ago and calm", `, "started_at": "2026-11-25T06:00:00Z", "cadence": {"mode": "adaptive", "next_interval": "20m", "reason": "stable",
			"calm_since": "2026-11-25T09:00:00Z", "stagnation_score": 0, "tier": "tier_1", "scored": true}`, "adaptive", "43m30s", "stable for 3h: ×4"},
		{"the score moved", `, "started_at": "2026-11-25T06:00:00Z", "cadence": {"mode": "adaptive", "next_interval": "20m", "reason": "stable",
			"calm_since": "2026-11-25T09:00:00Z", "stagnation_score": 0.6, "tier": "tier_2", "scored": true}`, "adaptive", "10m0s", "score moved 0.60"},
		{"fixed", `, "started_at": "2026-11-25T06:00:00Z", "config": {"cadence": "fixed"}`, "fixed", "10m0s", "fixed cadence"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := `{"post_id": "p1", "now": "2026-11-25T12:00:00Z", ` + samples + `, ` + log + tc.extra + `}`
			te := newTestEnv(t, nil, req)
			if code := te.run("plan"); code != exitOK {
				t.Fatalf("exit %d: %s", code, te.stderr)
			}
			var got struct {
				Cadence map[string]any `json:"cadence"`
			}
			te.oneJSON(t, &got)
			c := got.Cadence
			if c["mode"] != tc.mode || c["next_interval"] != tc.next || !strings.HasPrefix(fmt.Sprint(c["reason"]), tc.reasonPrefix) {
				t.Fatalf("cadence %v, want %s %s %q…", c, tc.mode, tc.next, tc.reasonPrefix)
			}
		})
	}
	for _, bad := range []struct{ extra, field string }{
		{`, "started_at": "2026-11-26T00:00:00Z"`, "started_at"},
		{`, "started_at": "yesterday"`, "started_at"},
		{`, "cadence": {"next_interval": "soon"}`, "cadence.next_interval"},
		{`, "config": {"cadence": "hourly"}`, "config.cadence"},
	} {
		te := newTestEnv(t, nil, `{"post_id": "p1", "now": "2026-11-25T12:00:00Z"`+bad.extra+`}`)
		if code := te.run("plan"); code != exitUsage || !strings.Contains(te.stderr.String(), bad.field) {
			t.Errorf("%s: exit %d, %s; want 2 naming %s", bad.extra, code, te.stderr, bad.field)
		}
	}
}
