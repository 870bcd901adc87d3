package domain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// fuzzBytes hands out values from fuzz input; once it runs dry it returns zeros.
type fuzzBytes struct{ b []byte }

func (r *fuzzBytes) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzBytes) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// offset returns an offset from now: within ±10 days (bounded) or any int64 nanoseconds (raw).
func (r *fuzzBytes) offset(raw bool) time.Duration {
	v := r.varint()
	if raw {
		return time.Duration(v)
	}
	const span = int64(10 * 24 * time.Hour)
	return time.Duration(v % span)
}

// fuzzInputs turns fuzz bytes into planner inputs. The first byte holds flags: bit 0 asks for raw
// (unbounded) times and counters, bit 1 for a custom (but valid) configuration.
func fuzzInputs(postID string, data []byte, now time.Time) (log []ActionRecord, samples []MetricsSample, cfg EvaluationConfig, raw bool) {
	r := &fuzzBytes{data}
	flags := r.byte()
	raw = flags&1 != 0
	cfg = DefaultConfig()
	if flags&2 != 0 {
		c := EvaluationConfig{
			Window:              time.Duration(1+int(r.byte())) * time.Minute,
			MinSamples:          1 + int(r.byte()%8),
			SampleInterval:      time.Minute,
			CommentCooldown:     time.Duration(r.byte()) * time.Minute,
			EditCooldown:        time.Duration(r.byte()) * 2 * time.Minute,
			ThreadCooldown:      time.Duration(r.byte()) * 3 * time.Minute,
			MaxActionsPerWindow: 1 + int(r.byte()%5),
			Horizon:             48 * time.Hour,
		}
		if c.Validate() == nil {
			cfg = c
		}
	}
	for n := int(r.byte() % 16); n > 0; n-- {
		s := MetricsSample{At: now.Add(r.offset(raw))}
		if raw {
			s.Impressions, s.Engagements = r.varint(), r.varint()
		} else {
			s.Impressions, s.Engagements = int64(r.byte())*int64(r.byte()), int64(r.byte())
		}
		samples = append(samples, s)
	}
	posts := []string{postID, "p2", postID}
	actions := []ActionType{ActionComment, ActionEdit, ActionThread, "bogus"}
	tiers := []Tier{Tier1, Tier2, Tier3, ""}
	statuses := []ActionStatus{StatusRunning, StatusSuccess, StatusFailed, StatusBlocked, ""}
	for n := int(r.byte() % 8); n > 0; n-- {
		c := r.byte()
		rec := ActionRecord{
			PostID: posts[int(c)%len(posts)],
			Action: actions[int(c>>2)%len(actions)],
			Tier:   tiers[int(c>>4)%len(tiers)],
			Status: statuses[int(r.byte())%len(statuses)],
		}
		rec.InitiatedAt = now.Add(r.offset(raw))
		if c&0x40 != 0 {
			// A key that the plan may well produce, to reach the duplicate rule.
			rec.Key = IdempotencyKey(postID, ActionForTier(rec.Tier), rec.Tier)
		} else {
			rec.Key = IdempotencyKey(rec.PostID, rec.Action, rec.Tier)
		}
		log = append(log, rec)
	}
	return log, samples, cfg, raw
}

// checkPlan checks the planner's invariants on one plan.
func checkPlan(t *testing.T, postID string, log []ActionRecord, samples []MetricsSample, cfg EvaluationConfig, now time.Time, p Plan) {
	t.Helper()
	if math.IsNaN(p.Score) || p.Score < 0 || p.Score > 1 {
		t.Fatalf("score %v out of [0, 1]", p.Score)
	}
	if p.PostID != postID {
		t.Fatalf("post_id %q, want %q", p.PostID, postID)
	}
	if p.Eligible != (p.Reason == "") {
		t.Fatalf("eligible=%v with reason %q", p.Eligible, p.Reason)
	}
	window := SamplesInWindow(samples, cfg.Window, now)
	if p.SampleCount != len(window) {
		t.Fatalf("sample_count %d, %d samples in the window", p.SampleCount, len(window))
	}
	for _, s := range window {
		if s.At.After(now) || s.At.Before(now.Add(-cfg.Window)) {
			t.Fatalf("sample at %s outside [now-window, now]", s.At)
		}
	}
	if p.SampleCount < cfg.MinSamples {
		if p.Reason != ReasonInsufficientSamples || p.Tier != "" || p.Action != "" || p.Key != "" || p.Score != 0 || p.CooldownUntil != nil {
			t.Fatalf("too few samples, got %+v", p)
		}
		return
	}
	if p.Reason == ReasonInsufficientSamples {
		t.Fatalf("insufficient_samples with %d samples (min %d)", p.SampleCount, cfg.MinSamples)
	}
	if want := StagnationScore(window); p.Score != want {
		t.Fatalf("score %v, want %v", p.Score, want)
	}
	if p.Tier != TierForScore(p.Score) || p.Action != ActionForTier(p.Tier) {
		t.Fatalf("score %v tier %s action %s are inconsistent", p.Score, p.Tier, p.Action)
	}
	if p.Key != IdempotencyKey(postID, p.Action, p.Tier) {
		t.Fatalf("key %s, want %s", p.Key, IdempotencyKey(postID, p.Action, p.Tier))
	}
	dup := IsDuplicate(log, p.Key)
	switch p.Reason {
	case "":
		if dup || p.CooldownUntil != nil {
			t.Fatalf("eligible plan is a duplicate (%v) or has cooldown_until %v", dup, p.CooldownUntil)
		}
	case ReasonDuplicateAction:
		if !dup || p.CooldownUntil != nil {
			t.Fatalf("duplicate_action: IsDuplicate=%v cooldown_until=%v", dup, p.CooldownUntil)
		}
	case ReasonWindowFrequency, ReasonCooldownActive:
		if dup {
			t.Fatalf("%s although the key is a duplicate", p.Reason)
		}
		if p.CooldownUntil == nil || !p.CooldownUntil.After(now) {
			t.Fatalf("%s with cooldown_until %v (now %s)", p.Reason, p.CooldownUntil, now)
		}
	default:
		t.Fatalf("unknown reason %q", p.Reason)
	}
	// The rules that block are exactly the ones the plan names, in order.
	_, capped := windowCapUntil(postID, log, cfg, now)
	_, cooling := cooldownUntil(postID, log, p.Action, cfg, now)
	switch {
	case dup:
	case capped:
		if p.Reason != ReasonWindowFrequency {
			t.Fatalf("window cap reached, reason %q", p.Reason)
		}
	case cooling:
		if p.Reason != ReasonCooldownActive {
			t.Fatalf("cooldown active, reason %q", p.Reason)
		}
	default:
		if !p.Eligible {
			t.Fatalf("nothing blocks, reason %q", p.Reason)
		}
	}
}

// checkUntil checks that cooldown_until is exact: the rule still blocks 1ns before it and no
// longer blocks at it.
func checkUntil(t *testing.T, postID string, log []ActionRecord, cfg EvaluationConfig, p Plan) {
	t.Helper()
	if p.CooldownUntil == nil {
		return
	}
	until := *p.CooldownUntil
	blocks := func(at time.Time) bool {
		if p.Reason == ReasonWindowFrequency {
			_, b := windowCapUntil(postID, log, cfg, at)
			return b
		}
		_, b := cooldownUntil(postID, log, p.Action, cfg, at)
		return b
	}
	if !blocks(until.Add(-time.Nanosecond)) {
		t.Fatalf("%s: not blocking 1ns before cooldown_until %s", p.Reason, until.Format(time.RFC3339Nano))
	}
	if blocks(until) {
		t.Fatalf("%s: still blocking at cooldown_until %s", p.Reason, until.Format(time.RFC3339Nano))
	}
}

func FuzzPlanAction(f *testing.F) {
	f.Add("p1", []byte{}, int64(0))
	f.Add("p1", []byte{0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, int64(1_764_072_000_000_000_000))
	f.Add("пост-42", []byte{2, 90, 2, 30, 60, 60, 1, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3, 0x41, 1, 2, 0x45, 2, 4, 0x4a, 3, 6}, int64(1_000_000_000_000))
	f.Add("p1", []byte{1, 5, 0x80, 0x01, 0xff, 0x01, 0x7f, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, postID string, data []byte, nowNanos int64) {
		now := time.Unix(0, nowNanos).UTC()
		log, samples, cfg, raw := fuzzInputs(postID, data, now)
		p := PlanAction(postID, log, samples, cfg, now)
		checkPlan(t, postID, log, samples, cfg, now, p)
		if again := PlanAction(postID, log, samples, cfg, now); !samePlan(again, p) {
			t.Fatalf("not deterministic: %+v then %+v", p, again)
		}
		if !raw {
			checkUntil(t, postID, log, cfg, p)
		}
	})
}

func FuzzDecodePlanRequest(f *testing.F) {
	f.Add([]byte(`{"post_id":"p1","now":"2026-11-25T12:00:00Z"}`))
	f.Add([]byte(`{"post_id":"p1","now":"2026-11-25T12:00:00+00:00","samples":[` +
		`{"at":"2026-11-25T11:40:00Z","impressions":1000,"engagements":10},` +
		`{"at":"2026-11-25T11:50:00.5","impressions":1050,"engagements":10},` +
		`{"at":"2026-11-25T12:00:00Z","impressions":1100,"engagements":11}],` +
		`"log":[{"idempotency_key":"sheal_878d89c30e92e1293270d561bfd03ec1","post_id":"p1","action_type":"comment",` +
		`"tier":"tier_1","initiated_at":"2026-11-25T11:30:00.123456+00:00","status":"failed","attempts":2,` +
		`"outcome":null,"error_code":"timeout"}],"config":{"window":"2h","max_actions_per_window":1}}`))
	f.Add([]byte(`{"post_id":"p1","now":"2026-11-25T12:00:00Z","samples":[{"at":"2026-11-25T12:00:00Z","impressions":1e3,"engagements":"NaN"}]}`))
	f.Add([]byte(`{"post_id":"p\u0000","now":"x"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The input as a whole request, then spliced into a valid request at a few places (as a
		// raw JSON value and as a string), so that mutations also explore the values one at a
		// time instead of mostly breaking the envelope.
		checkDecode(t, data)
		quoted, _ := json.Marshal(string(data))
		for _, tmpl := range decodeTemplates {
			checkDecode(t, []byte(strings.ReplaceAll(tmpl, "RAW", string(data))))
			checkDecode(t, []byte(strings.ReplaceAll(tmpl, "RAW", string(quoted))))
		}
	})
}

// decodeTemplates are valid requests with one value replaced by RAW.
var decodeTemplates = []string{
	`{"post_id":RAW,"now":"2026-11-25T12:00:00Z","samples":[{"at":"2026-11-25T11:59:00Z","impressions":1,"engagements":0}]}`,
	`{"post_id":"p1","now":RAW,"samples":[{"at":"2026-11-25T11:59:00Z","impressions":1,"engagements":0}]}`,
	`{"post_id":"p1","now":"2026-11-25T12:00:00Z","samples":[{"at":"2026-11-25T11:00:00Z","impressions":0,"engagements":0},` +
		`{"at":RAW,"impressions":100,"engagements":1},{"at":"2026-11-25T12:00:00Z","impressions":200,"engagements":2}]}`,
	`{"post_id":"p1","now":"2026-11-25T12:00:00Z","samples":[{"at":"2026-11-25T11:00:00Z","impressions":0,"engagements":0},` +
		`{"at":"2026-11-25T11:30:00Z","impressions":RAW,"engagements":1},{"at":"2026-11-25T12:00:00Z","impressions":200,"engagements":RAW}]}`,
	`{"post_id":"p1","now":"2026-11-25T12:00:00Z","config":RAW}`,
	`{"post_id":"p1","now":"2026-11-25T12:00:00Z","config":{"window":RAW,"edit_cooldown":RAW,"max_actions_per_window":RAW}}`,
	`{"post_id":"p1","now":"2026-11-25T12:00:00Z","samples":[{"at":"2026-11-25T11:00:00Z","impressions":0,"engagements":0},` +
		`{"at":"2026-11-25T11:30:00Z","impressions":100,"engagements":0},{"at":"2026-11-25T12:00:00Z","impressions":200,"engagements":0}],` +
		`"log":[RAW]}`,
	`{"post_id":"p1","now":"2026-11-25T12:00:00Z","samples":[{"at":"2026-11-25T11:00:00Z","impressions":0,"engagements":0},` +
		`{"at":"2026-11-25T11:30:00Z","impressions":100,"engagements":0},{"at":"2026-11-25T12:00:00Z","impressions":200,"engagements":0}],` +
		`"log":[{"idempotency_key":RAW,"post_id":"p1","action_type":"thread","tier":"tier_3","initiated_at":RAW,` +
		`"status":"running","attempts":1,"outcome":RAW,"error_code":null}]}`,
}

// checkDecode decodes one request and, when that succeeds, re-validates the result, checks the
// plan made from it and checks that it survives being written back out.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	req, err := DecodePlanRequest(data)
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		return
	}
	checkRequest(t, req)
	p := PlanAction(req.PostID, req.Log, req.Samples, req.Config, req.Now)
	checkPlan(t, req.PostID, req.Log, req.Samples, req.Config, req.Now, p)

	// Written back out in the documented shape, the request decodes to the same thing.
	if !encodable(req) {
		return
	}
	again, err := DecodePlanRequest(encodeRequest(t, req))
	if err != nil {
		t.Fatalf("re-encoded request does not decode: %v\n%s", err, encodeRequest(t, req))
	}
	if d := diffRequests(req, again); d != "" {
		t.Fatalf("round trip changed the request: %s", d)
	}
}

// checkRequest re-validates a decoded request.
func checkRequest(t *testing.T, req PlanRequest) {
	t.Helper()
	if err := ValidateID("post_id", req.PostID); err != nil {
		t.Fatalf("decoded post_id invalid: %v", err)
	}
	if req.Now.Location() != time.UTC {
		t.Fatalf("now not in UTC: %s", req.Now)
	}
	if err := req.Config.Validate(); err != nil {
		t.Fatalf("decoded config invalid: %v", err)
	}
	for i, s := range req.Samples {
		if err := ValidateSample(s, nil, req.Now); err != nil {
			t.Fatalf("decoded samples[%d] invalid: %v", i, err)
		}
	}
	ordered := sortedByTime(req.Samples)
	for i := 1; i < len(ordered); i++ {
		if err := ValidateSample(ordered[i], &ordered[i-1], req.Now); err != nil {
			t.Fatalf("decoded samples invalid in time order: %v", err)
		}
	}
	for i, r := range req.Log {
		if err := ValidateRecord(i, r); err != nil {
			t.Fatalf("decoded log[%d] invalid: %v", i, err)
		}
		if r.InitiatedAt.Location() != time.UTC {
			t.Fatalf("log[%d].initiated_at not in UTC", i)
		}
	}
}

// encodable reports whether every time of req can be written as RFC 3339 (years 0..9999 in
// UTC); an offset can push a parsed time just outside that range.
func encodable(req PlanRequest) bool {
	ok := func(t time.Time) bool { return t.Year() >= 0 && t.Year() <= 9999 }
	if !ok(req.Now) {
		return false
	}
	for _, s := range req.Samples {
		if !ok(s.At) {
			return false
		}
	}
	for _, r := range req.Log {
		if !ok(r.InitiatedAt) || !ok(r.FinishedAt) {
			return false
		}
	}
	return true
}

func encodeRequest(t *testing.T, req PlanRequest) []byte {
	t.Helper()
	type sampleOut struct {
		At          string `json:"at"`
		Impressions int64  `json:"impressions"`
		Engagements int64  `json:"engagements"`
	}
	samples := make([]sampleOut, len(req.Samples))
	for i, s := range req.Samples {
		samples[i] = sampleOut{s.At.Format(time.RFC3339Nano), s.Impressions, s.Engagements}
	}
	out, err := json.Marshal(struct {
		PostID  string           `json:"post_id"`
		Now     string           `json:"now"`
		Samples []sampleOut      `json:"samples"`
		Log     []ActionRecord   `json:"log"`
		Config  EvaluationConfig `json:"config"`
	}{req.PostID, req.Now.Format(time.RFC3339Nano), samples, req.Log, req.Config})
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return out
}

func diffRequests(a, b PlanRequest) string {
	if a.PostID != b.PostID || !a.Now.Equal(b.Now) || a.Config != b.Config {
		return fmt.Sprintf("header %q %s %+v vs %q %s %+v", a.PostID, a.Now, a.Config, b.PostID, b.Now, b.Config)
	}
	if len(a.Samples) != len(b.Samples) || len(a.Log) != len(b.Log) {
		return fmt.Sprintf("%d/%d samples, %d/%d records", len(a.Samples), len(b.Samples), len(a.Log), len(b.Log))
	}
	for i := range a.Samples {
		x, y := a.Samples[i], b.Samples[i]
		if !x.At.Equal(y.At) || x.Impressions != y.Impressions || x.Engagements != y.Engagements {
			return fmt.Sprintf("samples[%d]: %+v vs %+v", i, x, y)
		}
	}
	compact := func(m json.RawMessage) string {
		var buf bytes.Buffer
		if len(m) == 0 {
			return ""
		}
		if err := json.Compact(&buf, m); err != nil {
			return "invalid:" + string(m)
		}
		return buf.String()
	}
	for i := range a.Log {
		x, y := a.Log[i], b.Log[i]
		if x.Key != y.Key || x.PostID != y.PostID || x.Action != y.Action || x.Tier != y.Tier ||
			!x.InitiatedAt.Equal(y.InitiatedAt) || x.Status != y.Status || x.Attempts != y.Attempts ||
			x.ErrorCode != y.ErrorCode || !x.FinishedAt.Equal(y.FinishedAt) ||
			strings.Join(x.Reasons, "\x00") != strings.Join(y.Reasons, "\x00") || len(x.Reasons) != len(y.Reasons) ||
			compact(x.Outcome) != compact(y.Outcome) {
			return fmt.Sprintf("log[%d]: %+v vs %+v", i, x, y)
		}
	}
	return ""
}

func samePlan(a, b Plan) bool {
	ua, ub := a.CooldownUntil, b.CooldownUntil
	a.CooldownUntil, b.CooldownUntil = nil, nil
	if a != b || (ua == nil) != (ub == nil) {
		return false
	}
	return ua == nil || ua.Equal(*ub)
}
