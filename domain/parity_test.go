package domain

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The parity test runs the reference executor (shared/seed-baseline/seed_executor.py) through
// testdata/parity.py over the scenarios below and compares its verdicts with PlanAction's.
//
// It needs python3 and the reference. Without them it logs and passes, unless
// RESURGE_REQUIRE_PARITY=1, in which case it fails. RESURGE_SEED_BASELINE overrides where the
// reference is looked for (default: <repo>/../shared/seed-baseline).
//
// Not covered, on purpose: blocked records (the reference has no such status; ours count neither
// toward the window cap nor toward cooldowns), samples after now (rejected by DecodePlanRequest;
// the reference would count them), and logs out of time order (the reference takes the cooldown
// from the last record of the list, we from the most recent one).

type refRecord struct {
	Key         string  `json:"idempotency_key"`
	PostID      string  `json:"post_id"`
	Action      string  `json:"action_type"`
	Tier        string  `json:"tier"`
	InitiatedAt string  `json:"initiated_at"`
	Status      string  `json:"status"`
	Attempts    int     `json:"attempts"`
	Outcome     any     `json:"outcome"`
	ErrorCode   *string `json:"error_code"`
}

type refSample struct {
	At          string `json:"at"`
	Impressions int64  `json:"impressions"`
	Engagements int64  `json:"engagements"`
}

type parityRequest struct {
	PostID  string         `json:"post_id"`
	Now     string         `json:"now"`
	Samples []refSample    `json:"samples"`
	Log     []refRecord    `json:"log"`
	Config  map[string]any `json:"config,omitempty"`
}

type refConfig struct {
	WindowMinutes int            `json:"per_post_window_minutes"`
	MinSamples    int            `json:"min_samples_required"`
	Cooldowns     map[string]int `json:"cooldown_by_action_seconds"`
	MaxActions    int            `json:"max_actions_per_window"`
}

type refPlan struct {
	PostID      string   `json:"post_id"`
	Eligible    bool     `json:"eligible"`
	Reason      *string  `json:"reason"`
	SampleCount *int     `json:"sample_count"`
	Score       *float64 `json:"stagnation_score"`
	Tier        *string  `json:"tier"`
	Action      *string  `json:"action_type"`
	Key         *string  `json:"idempotency_key"`
	Computed    *struct {
		Score  float64 `json:"stagnation_score"`
		Tier   string  `json:"tier"`
		Action string  `json:"action_type"`
	} `json:"computed"`
}

// pyISO writes t the way Python's isoformat writes an aware UTC datetime with microseconds.
func pyISO(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000-07:00") }

func refRec(post string, a ActionType, tier Tier, status ActionStatus, at time.Time) refRecord {
	r := refRecord{
		Key: IdempotencyKey(post, a, tier), PostID: post, Action: string(a), Tier: string(tier),
		InitiatedAt: pyISO(at), Status: string(status), Attempts: 1,
	}
	if status == StatusFailed {
		code := "timeout"
		r.ErrorCode = &code
	}
	if status == StatusSuccess {
		r.Outcome = map[string]string{"id": "x-1"}
	}
	return r
}

func refSamples(samples []MetricsSample) []refSample {
	out := make([]refSample, len(samples))
	for i, s := range samples {
		out[i] = refSample{pyISO(s.At), s.Impressions, s.Engagements}
	}
	return out
}

func parityScenarios() map[string]parityRequest {
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	req := func(samples []MetricsSample, log ...refRecord) parityRequest {
		return parityRequest{PostID: "p1", Now: pyISO(t0), Samples: refSamples(samples), Log: log}
	}
	with := func(r parityRequest, edit func(*parityRequest)) parityRequest { edit(&r); return r }
	return map[string]parityRequest{
		"insufficient samples": req(append(series(t0, 10*time.Minute, 2, 100, 0), MetricsSample{At: ago(91 * time.Minute)})),
		"sample exactly at the window edge counts": req([]MetricsSample{
			{ago(90 * time.Minute), 0, 0}, {ago(45 * time.Minute), 50, 0}, {t0, 100, 1},
		}),
		"score exactly 0.80":    req(series(t0, 20*time.Minute, 3, 100, 1)),
		"score just below 0.80": req(series(t0, 20*time.Minute, 3, 1_000_000, 10_001)),
		"score exactly 0.55":    req(series(t0, 20*time.Minute, 3, 400, 9)),
		"score just below 0.55": req(series(t0, 20*time.Minute, 3, 1_000_000, 22_501)),
		"zero impressions":      req([]MetricsSample{{ago(20 * time.Minute), 100, 0}, {ago(10 * time.Minute), 100, 3}, {t0, 100, 5}}),
		"unsorted samples, equal timestamps": req([]MetricsSample{
			{t0, 400, 9}, {ago(20 * time.Minute), 0, 0}, {ago(10 * time.Minute), 200, 4}, {ago(10 * time.Minute), 200, 5},
		}),
		"duplicate: success": req(stagnant(t0), refRec("p1", ActionThread, Tier3, StatusSuccess, ago(5*time.Hour))),
		"duplicate beats window cap": req(stagnant(t0),
			refRec("p1", ActionComment, Tier1, StatusSuccess, ago(30*time.Minute)),
			refRec("p1", ActionThread, Tier3, StatusRunning, ago(time.Minute))),
		"failed same key: not a duplicate, but cooling down": req(healthy(t0),
			refRec("p1", ActionComment, Tier1, StatusFailed, ago(12*time.Minute))),
		"window cap beats cooldown": req(healthy(t0),
			refRec("p1", ActionComment, Tier2, StatusSuccess, ago(80*time.Minute)),
			refRec("p1", ActionComment, Tier3, StatusFailed, ago(10*time.Minute))),
		"window cap: record exactly at now-window counts": req(stagnant(t0),
			refRec("p1", ActionComment, Tier1, StatusSuccess, ago(90*time.Minute)),
			refRec("p1", ActionEdit, Tier2, StatusSuccess, ago(10*time.Minute))),
		"window cap: record 1µs before now-window does not": req(stagnant(t0),
			refRec("p1", ActionComment, Tier1, StatusSuccess, ago(90*time.Minute+time.Microsecond)),
			refRec("p1", ActionEdit, Tier2, StatusSuccess, ago(10*time.Minute))),
		"cooldown: edit 2h outlasts the window, microseconds": req(series(t0, 20*time.Minute, 3, 400, 9),
			refRec("p1", ActionEdit, Tier1, StatusSuccess, ago(119*time.Minute+500*time.Millisecond+time.Microsecond))),
		"cooldown: over exactly at its end": req(healthy(t0),
			refRec("p1", ActionComment, Tier3, StatusSuccess, ago(30*time.Minute))),
		"cooldown: 1µs before its end": req(healthy(t0),
			refRec("p1", ActionComment, Tier3, StatusSuccess, ago(30*time.Minute-time.Microsecond))),
		"another post's records do not count": req(stagnant(t0),
			refRec("p2", ActionThread, Tier3, StatusSuccess, ago(time.Minute)),
			refRec("p2", ActionThread, Tier2, StatusRunning, ago(2*time.Minute)),
			refRec("p2", ActionComment, Tier1, StatusFailed, ago(3*time.Minute))),
		"unicode post ID": with(req(healthy(t0), refRec("пост-42", ActionComment, Tier2, StatusSuccess, ago(time.Hour))),
			func(r *parityRequest) { r.PostID = "пост-42" }),
		"custom config": with(req(series(t0, 20*time.Minute, 2, 400, 9),
			refRec("p1", ActionComment, Tier1, StatusSuccess, ago(29*time.Minute))),
			func(r *parityRequest) {
				r.Config = map[string]any{"window": "30m", "min_samples": 2, "sample_interval": "5m",
					"max_actions_per_window": 1, "edit_cooldown": "5m"}
			}),
	}
}

func TestPlannerParityWithReference(t *testing.T) {
	required := os.Getenv("RESURGE_REQUIRE_PARITY") == "1"
	unavailable := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf("parity with the reference executor cannot be checked: "+format+" (RESURGE_REQUIRE_PARITY=1)", args...)
		}
		t.Logf("parity with the reference executor NOT checked: "+format+" (set RESURGE_REQUIRE_PARITY=1 to make this an error)", args...)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		unavailable("python3 is not on PATH")
		return
	}
	seedDir := os.Getenv("RESURGE_SEED_BASELINE")
	if seedDir == "" {
		repoRoot, err := filepath.Abs("..") // the test runs in <repo>/domain
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
			t.Fatalf("repository root not found above %s: %v", repoRoot, err)
		}
		seedDir = filepath.Join(repoRoot, "..", "shared", "seed-baseline")
	}
	if _, err := os.Stat(filepath.Join(seedDir, "seed_executor.py")); err != nil {
		unavailable("no seed_executor.py in %s", seedDir)
		return
	}

	scenarios := parityScenarios()
	names := make([]string, 0, len(scenarios))
	for name := range scenarios {
		names = append(names, name)
	}
	slices.Sort(names)

	type input struct {
		Name      string        `json:"name"`
		Request   parityRequest `json:"request"`
		RefConfig refConfig     `json:"ref_config"`
	}
	var inputs []input
	plans := map[string]Plan{}
	for _, name := range names {
		sc := scenarios[name]
		body, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		req, err := DecodePlanRequest(body)
		if err != nil {
			t.Fatalf("%s: our decoder rejects the scenario: %v\n%s", name, err, body)
		}
		plans[name] = PlanAction(req.PostID, req.Log, req.Samples, req.Config, req.Now)
		c := req.Config
		for _, d := range []time.Duration{c.Window, c.CommentCooldown, c.EditCooldown, c.ThreadCooldown} {
			if d%time.Second != 0 || c.Window%time.Minute != 0 {
				t.Fatalf("%s: the reference takes whole minutes (window) and seconds (cooldowns)", name)
			}
		}
		inputs = append(inputs, input{name, sc, refConfig{
			WindowMinutes: int(c.Window / time.Minute),
			MinSamples:    c.MinSamples,
			Cooldowns: map[string]int{
				"comment": int(c.CommentCooldown / time.Second),
				"edit":    int(c.EditCooldown / time.Second),
				"thread":  int(c.ThreadCooldown / time.Second),
			},
			MaxActions: c.MaxActionsPerWindow,
		}})
	}
	stdin, err := json.Marshal(map[string]any{"scenarios": inputs})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "parity.py"))
	cmd.Env = append(os.Environ(), "RESURGE_SEED_BASELINE="+seedDir, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testdata/parity.py: %v\n%s", err, stderr.String())
	}
	var ref []refPlan
	if err := json.Unmarshal(stdout.Bytes(), &ref); err != nil {
		t.Fatalf("parity.py output: %v\n%s", err, stdout.String())
	}
	if len(ref) != len(inputs) {
		t.Fatalf("parity.py returned %d results for %d scenarios", len(ref), len(inputs))
	}

	seen := map[Reason]int{}
	for i, in := range inputs {
		r, p := ref[i], plans[in.Name]
		seen[p.Reason]++
		t.Run(in.Name, func(t *testing.T) {
			refReason := ""
			if r.Reason != nil {
				refReason = *r.Reason
			}
			if r.Eligible != p.Eligible || refReason != string(p.Reason) {
				t.Fatalf("reference: eligible=%v reason=%q; ours: eligible=%v reason=%q", r.Eligible, refReason, p.Eligible, p.Reason)
			}
			if r.PostID != p.PostID {
				t.Errorf("post_id: reference %q, ours %q", r.PostID, p.PostID)
			}
			if r.Key != nil && *r.Key != p.Key {
				t.Errorf("idempotency_key: reference %s, ours %s", *r.Key, p.Key)
			}
			if r.Eligible {
				if r.Key == nil || r.Score == nil || r.Tier == nil || r.Action == nil {
					t.Fatalf("reference's eligible plan lacks fields: %+v", r)
				}
				if *r.Score != p.Score || *r.Tier != string(p.Tier) || *r.Action != string(p.Action) {
					t.Errorf("reference %v/%s/%s, ours %v/%s/%s", *r.Score, *r.Tier, *r.Action, p.Score, p.Tier, p.Action)
				}
			}
			if r.SampleCount != nil && *r.SampleCount != p.SampleCount {
				t.Errorf("sample_count: reference %d, ours %d", *r.SampleCount, p.SampleCount)
			}
			// Score, tier and action as the reference computes them, eligible or not.
			if (r.Computed == nil) != (p.Reason == ReasonInsufficientSamples) {
				t.Fatalf("reference scored: %v; ours: reason %q", r.Computed != nil, p.Reason)
			}
			if c := r.Computed; c != nil {
				if c.Score != p.Score || c.Tier != string(p.Tier) || c.Action != string(p.Action) {
					t.Errorf("computed: reference %v/%s/%s, ours %v/%s/%s", c.Score, c.Tier, c.Action, p.Score, p.Tier, p.Action)
				}
				if want := IdempotencyKey(p.PostID, ActionType(c.Action), Tier(c.Tier)); want != p.Key {
					t.Errorf("key for the reference's action and tier %s, ours %s", want, p.Key)
				}
			}
		})
	}
	for _, reason := range []Reason{"", ReasonInsufficientSamples, ReasonDuplicateAction, ReasonWindowFrequency, ReasonCooldownActive} {
		if seen[reason] == 0 {
			t.Errorf("no parity scenario ends with reason %q", reason)
		}
	}
}
