package domain

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDecodeCounter(t *testing.T) {
	tests := []struct {
		name string
		raw  string // "" = the field is missing
		want int64
		ok   bool
	}{
		{"zero", `0`, 0, true},
		{"integer", `12345`, 12345, true},
		{"whole number in exponent form", `1e3`, 1000, true},
		{"whole number with a zero fraction", `7.0`, 7, true},
		{"negative zero", `-0`, 0, true},
		{"surrounding spaces", ` 42 `, 42, true},
		{"largest accepted (2^53-1)", `9007199254740991`, 9007199254740991, true},
		{"2^53 is not below 2^53", `9007199254740992`, 0, false},
		{"2^53+1 would round to 2^53", `9007199254740993`, 0, false},
		{"negative", `-1`, 0, false},
		{"fraction", `1.5`, 0, false},
		{"tiny fraction", `0.000001`, 0, false},
		{"huge", `1e300`, 0, false},
		{"NaN string", `"NaN"`, 0, false},
		{"Infinity string", `"Infinity"`, 0, false},
		{"numeric string", `"5"`, 0, false},
		{"null", `null`, 0, false},
		{"missing", ``, 0, false},
		{"bool", `true`, 0, false},
		{"object", `{}`, 0, false},
		{"array", `[1]`, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw json.RawMessage
			if tc.raw != "" {
				raw = json.RawMessage(tc.raw)
			}
			got, err := DecodeCounter("samples[0].impressions", raw)
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("got %d, %v; want %d", got, err, tc.want)
				}
				return
			}
			wantFieldErr(t, err, "samples[0].impressions")
		})
	}
}

func TestParseTime(t *testing.T) {
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	micro := noon.Add(123456 * time.Microsecond)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-25T12:00:00Z", noon, true},
		{"2026-11-25T12:00:00.123456789Z", noon.Add(123456789), true},
		{"2026-11-25T14:00:00+02:00", noon, true},
		{"2026-11-25T07:00:00-05:00", noon, true},
		// Python isoformat of an aware datetime, with and without microseconds.
		{"2026-11-25T12:00:00.123456+00:00", micro, true},
		{"2026-11-25T12:00:00+00:00", noon, true},
		{"2026-11-25T13:00:00.123456+01:00", micro, true},
		// Python isoformat of a naive datetime: taken as UTC.
		{"2026-11-25T12:00:00.123456", micro, true},
		{"2026-11-25T12:00:00", noon, true},
		// str(datetime): a space instead of the T.
		{"2026-11-25 12:00:00.123456+00:00", micro, true},
		{"2026-11-25 12:00:00+00:00", noon, true},
		{"", time.Time{}, false},
		{"garbage", time.Time{}, false},
		{"2026-11-25", time.Time{}, false},
		{"12:00:00", time.Time{}, false},
		{"1732536000", time.Time{}, false},
		{"2026-13-25T12:00:00Z", time.Time{}, false},
		{"2026-11-25T25:00:00Z", time.Time{}, false},
		{"2026-11-25T12:00:00+25:00", time.Time{}, false},
		{"2026-11-25T12:00:00Zjunk", time.Time{}, false},
		{" 2026-11-25T12:00:00Z", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTime("now", tc.in)
			if !tc.ok {
				wantFieldErr(t, err, "now")
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tc.in, err)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("ParseTime(%q) = %s (%s), want %s in UTC", tc.in, got, got.Location(), tc.want)
			}
		})
	}
}

// referenceHistory is testdata/reference_history.json: a history file written by the reference
// executor itself (SelfHealingExecutor.persist_outcome, json.dumps(indent=2)):
//
//	p1 comment tier_1: running at 09:59, then success at 10:00:00.123456 (attempts 2, outcome)
//	p1 edit tier_2:    failed at 11:40:00.5 with error_code "timeout"
//	p2 thread tier_3:  running at 11:55 (isoformat without microseconds)
func referenceHistory(t *testing.T) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("testdata/reference_history.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeActionLogReferenceHistory(t *testing.T) {
	log, err := DecodeActionLog(referenceHistory(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []ActionRecord{
		{
			Key: keyP1Comment1, PostID: "p1", Action: ActionComment, Tier: Tier1,
			InitiatedAt: time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC), Status: StatusSuccess, Attempts: 2,
		},
		{
			Key: keyP1Edit2, PostID: "p1", Action: ActionEdit, Tier: Tier2,
			InitiatedAt: time.Date(2026, 11, 25, 11, 40, 0, 500000000, time.UTC), Status: StatusFailed, Attempts: 1,
			ErrorCode: "timeout",
		},
		{
			Key: keyP2Thread3, PostID: "p2", Action: ActionThread, Tier: Tier3,
			InitiatedAt: time.Date(2026, 11, 25, 11, 55, 0, 0, time.UTC), Status: StatusRunning, Attempts: 1,
		},
	}
	if len(log) != len(want) {
		t.Fatalf("got %d records, want %d", len(log), len(want))
	}
	for i := range want {
		g, w := log[i], want[i]
		if g.Key != w.Key || g.PostID != w.PostID || g.Action != w.Action || g.Tier != w.Tier ||
			!g.InitiatedAt.Equal(w.InitiatedAt) || g.Status != w.Status || g.Attempts != w.Attempts ||
			g.ErrorCode != w.ErrorCode || !g.FinishedAt.IsZero() || g.Reasons != nil {
			t.Errorf("log[%d] = %+v\nwant %+v", i, g, w)
		}
	}
	var outcome map[string]string
	if err := json.Unmarshal(log[0].Outcome, &outcome); err != nil || outcome["comment_id"] != "c-1" {
		t.Errorf("log[0].outcome = %s (%v)", log[0].Outcome, err)
	}
	if log[1].Outcome != nil || log[2].Outcome != nil {
		t.Errorf("null outcomes decoded as %s, %s", log[1].Outcome, log[2].Outcome)
	}

	for _, bad := range []string{`{}`, `[1]`, `[{"idempotency_key":"x"}]`, `nope`} {
		if _, err := DecodeActionLog([]byte(bad)); err == nil || !strings.Contains(err.Error(), "log") {
			t.Errorf("DecodeActionLog(%s) = %v, want an error naming the log", bad, err)
		}
	}
}

func TestDecodeRecordResurgeFields(t *testing.T) {
	in := `{"idempotency_key":"` + keyP1Comment1 + `","post_id":"p1","action_type":"comment","tier":"tier_1",
		"initiated_at":"2026-11-25T11:00:00Z","status":"blocked","finished_at":"2026-11-25T11:00:01Z",
		"reasons":["quiet_hours"]}`
	r, err := DecodeRecord(0, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 1 || r.Status != StatusBlocked || len(r.Reasons) != 1 ||
		!r.FinishedAt.Equal(time.Date(2026, 11, 25, 11, 0, 1, 0, time.UTC)) {
		t.Fatalf("got %+v", r)
	}
	bad := strings.Replace(in, `"2026-11-25T11:00:01Z"`, `"soon"`, 1)
	_, err = DecodeRecord(4, []byte(bad))
	wantFieldErr(t, err, "log[4].finished_at")
}

// TestDecodeRecordPersonsAction: a record of an operator's action keeps who did it and why
// when read back (it used to come back autonomous, its operator dropped), and a record
// marshalled by Resurge decodes to itself.
func TestDecodeRecordPersonsAction(t *testing.T) {
	want := ActionRecord{
		Key: keyP1Comment1, PostID: "p1", Action: ActionComment, Tier: Tier1, Status: StatusSuccess, Attempts: 1,
		InitiatedAt: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 11, 25, 11, 0, 2, 0, time.UTC),
		Autonomous: NotAutonomous(), Operator: "ana", Reason: "answering a question", RequestID: "req-7",
	}
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRecord(0, data)
	if err != nil {
		t.Fatal(err)
	}
	if got.IsAutonomous() || got.Operator != want.Operator || got.Reason != want.Reason || got.RequestID != want.RequestID {
		t.Fatalf("got %+v, want the operator's fields of %+v", got, want)
	}
	auto, err := DecodeRecord(0, []byte(strings.Replace(string(data), `"autonomous":false`, `"autonomous":true`, 1)))
	if err != nil || !auto.IsAutonomous() {
		t.Fatalf("autonomous true: %+v, %v", auto, err)
	}
}

// requestJSON builds a dry-run request in the documented shape.
func requestJSON(now string, samples []string, log json.RawMessage, config string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"post_id":"p1","now":%q,"samples":[%s]`, now, strings.Join(samples, ","))
	if log != nil {
		fmt.Fprintf(&b, `,"log":%s`, log)
	}
	if config != "" {
		fmt.Fprintf(&b, `,"config":%s`, config)
	}
	b.WriteString("}")
	return []byte(b.String())
}

func sampleText(at string, imp, eng int64) string {
	return fmt.Sprintf(`{"at":%q,"impressions":%d,"engagements":%d}`, at, imp, eng)
}

func TestDecodePlanRequestReferenceHistory(t *testing.T) {
	const now = "2026-11-25T12:00:00+00:00"
	tests := []struct {
		name    string
		samples []string
		want    Plan
	}{
		{
			// Tier 1 -> comment; its key succeeded at 10:00:00.123456: a duplicate, although
			// the comment cooldown is long over.
			name: "comment already succeeded",
			samples: []string{
				sampleText("2026-11-25T11:40:00.000000+00:00", 1000, 100),
				// Python naive isoformat, taken as UTC.
				sampleText("2026-11-25T11:50:00.250000", 1200, 120),
				sampleText("2026-11-25T12:00:00+00:00", 1500, 150),
			},
			want: Plan{Reason: ReasonDuplicateAction, Tier: Tier1, Action: ActionComment, Key: keyP1Comment1},
		},
		{
			// Tier 2 -> edit; the edit failed at 11:40:00.5 (not a duplicate, but its 2h cooldown
			// runs until 13:40:00.5, to the microsecond).
			name: "edit cooling down after a failure",
			samples: []string{
				sampleText("2026-11-25T10:30:00+00:00", 1000, 10),
				sampleText("2026-11-25T11:15:00+00:00", 1200, 15),
				sampleText("2026-11-25T12:00:00+00:00", 1400, 19),
			},
			want: Plan{
				Reason: ReasonCooldownActive, Tier: Tier2, Action: ActionEdit, Key: keyP1Edit2,
				CooldownUntil: ptrTime(time.Date(2026, 11, 25, 13, 40, 0, 500000000, time.UTC)),
			},
		},
		{
			// Tier 3 -> thread; p2's running thread is another post's and another key.
			name: "thread eligible",
			samples: []string{
				sampleText("2026-11-25T11:00:00Z", 1000, 10),
				sampleText("2026-11-25T11:30:00Z", 1100, 10),
				sampleText("2026-11-25T12:00:00Z", 1200, 11),
			},
			want: Plan{Eligible: true, Tier: Tier3, Action: ActionThread, Key: keyP1Thread3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodePlanRequest(requestJSON(now, tc.samples, referenceHistory(t), ""))
			if err != nil {
				t.Fatal(err)
			}
			if req.PostID != "p1" || !req.Now.Equal(t0) || len(req.Samples) != 3 || len(req.Log) != 3 ||
				req.Config != DefaultConfig() {
				t.Fatalf("decoded %+v", req)
			}
			p := PlanAction(req.PostID, req.Log, req.Samples, req.Config, req.Now)
			w := tc.want
			if p.Eligible != w.Eligible || p.Reason != w.Reason || p.Tier != w.Tier || p.Action != w.Action || p.Key != w.Key {
				t.Fatalf("plan %+v, want %+v", p, w)
			}
			if (p.CooldownUntil == nil) != (w.CooldownUntil == nil) ||
				(w.CooldownUntil != nil && !p.CooldownUntil.Equal(*w.CooldownUntil)) {
				t.Fatalf("cooldown_until %v, want %v", p.CooldownUntil, w.CooldownUntil)
			}
		})
	}
}

func TestDecodePlanRequestOptionalParts(t *testing.T) {
	// No samples, no log, no config: defaults, nothing to plan on.
	req, err := DecodePlanRequest([]byte(`{"post_id":"p1","now":"2026-11-25T12:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Config != DefaultConfig() || req.Samples != nil || req.Log != nil || req.Platform != PlatformSim {
		t.Fatalf("got %+v", req)
	}
	req, err = DecodePlanRequest([]byte(`{"post_id":"p1","platform":"mastodon","now":"2026-11-25T12:00:00Z"}`))
	if err != nil || req.Platform != PlatformMastodon {
		t.Fatalf("mastodon: %+v %v", req, err)
	}
	// null config keeps the defaults; a partial one overrides field by field.
	for cfg, want := range map[string]EvaluationConfig{
		`null`: DefaultConfig(),
		`{}`:   DefaultConfig(),
		`{"window":"2h","max_actions_per_window":1}`: func() EvaluationConfig {
			c := DefaultConfig()
			c.Window, c.MaxActionsPerWindow = 2*time.Hour, 1
			return c
		}(),
	} {
		req, err := DecodePlanRequest(requestJSON("2026-11-25T12:00:00Z", nil, nil, cfg))
		if err != nil {
			t.Fatalf("config %s: %v", cfg, err)
		}
		if req.Config != want {
			t.Errorf("config %s: got %+v, want %+v", cfg, req.Config, want)
		}
	}
	// Unsorted samples are fine as long as the counters never go down in time order, and a
	// sample exactly at now is not in the future.
	req, err = DecodePlanRequest(requestJSON("2026-11-25T12:00:00Z", []string{
		sampleText("2026-11-25T12:00:00Z", 300, 3),
		sampleText("2026-11-25T11:40:00Z", 100, 1),
		sampleText("2026-11-25T11:50:00Z", 200, 2),
		sampleText("2026-11-25T11:50:00Z", 200, 2),
	}, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Samples) != 4 || req.Samples[0].Impressions != 300 {
		t.Fatalf("samples %+v: want the input order kept", req.Samples)
	}
}

func TestDecodePlanRequestErrors(t *testing.T) {
	const now = "2026-11-25T12:00:00Z"
	okSample := sampleText("2026-11-25T11:50:00Z", 100, 1)
	okRecord := `{"idempotency_key":"` + keyP1Comment1 + `","post_id":"p1","action_type":"comment","tier":"tier_1",` +
		`"initiated_at":"2026-11-25T10:00:00.123456+00:00","status":"success","attempts":1,"outcome":null,"error_code":null}`
	withRecord := func(old, new string) json.RawMessage {
		return json.RawMessage("[" + okRecord + "," + strings.Replace(okRecord, old, new, 1) + "]")
	}
	tests := []struct {
		name string
		in   string
		// field must appear in the error; exact, when set, is the FieldError's field.
		field string
		exact bool
	}{
		{"not JSON", `{"post_id":`, "request", false},
		{"not an object", `[]`, "request", false},
		{"missing post_id", `{"now":"` + now + `"}`, "post_id", true},
		{"empty post_id", `{"post_id":"","now":"` + now + `"}`, "post_id", true},
		{"post_id with a space", `{"post_id":"p 1","now":"` + now + `"}`, "post_id", true},
		{"post_id with NUL", `{"post_id":"p\u0000","now":"` + now + `"}`, "post_id", true},
		{"post_id with a newline", `{"post_id":"p\n","now":"` + now + `"}`, "post_id", true},
		{"post_id too long", `{"post_id":"` + strings.Repeat("x", MaxIDLen+1) + `","now":"` + now + `"}`, "post_id", true},
		{"post_id a number", `{"post_id":1,"now":"` + now + `"}`, "post_id", false},
		{"unknown platform", `{"post_id":"p1","platform":"myspace","now":"` + now + `"}`, "platform", true},
		{"platform a number", `{"post_id":"p1","platform":7,"now":"` + now + `"}`, "platform", false},
		{"missing now", `{"post_id":"p1"}`, "now", true},
		{"now garbage", `{"post_id":"p1","now":"noon"}`, "now", true},
		{"now a number", `{"post_id":"p1","now":1764072000}`, "now", false},
		{"unknown top-level field", `{"post_id":"p1","now":"` + now + `","metrics":[]}`, "metrics", false},
		{"samples not a list", `{"post_id":"p1","now":"` + now + `","samples":{}}`, "samples", false},
		{"sample missing at", string(requestJSON(now, []string{`{"impressions":1,"engagements":0}`}, nil, "")), "samples[0].at", true},
		{"sample at garbage", string(requestJSON(now, []string{okSample, sampleText("yesterday", 1, 0)}, nil, "")), "samples[1].at", true},
		{"sample in the future", string(requestJSON(now, []string{okSample, sampleText("2026-11-25T12:00:00.000001Z", 200, 2)}, nil, "")), "samples[1].at", true},
		{"sample unknown field", string(requestJSON(now, []string{`{"at":"` + now + `","impressions":1,"engagements":0,"clicks":3}`}, nil, "")), "clicks", false},
		{"sample missing impressions", string(requestJSON(now, []string{`{"at":"` + now + `","engagements":0}`}, nil, "")), "samples[0].impressions", true},
		{"negative impressions", string(requestJSON(now, []string{okSample, sampleText(now, -1, 0)}, nil, "")), "samples[1].impressions", true},
		{"fractional engagements", string(requestJSON(now, []string{`{"at":"` + now + `","impressions":1,"engagements":0.5}`}, nil, "")), "samples[0].engagements", true},
		{"NaN engagements", string(requestJSON(now, []string{`{"at":"` + now + `","impressions":1,"engagements":"NaN"}`}, nil, "")), "samples[0].engagements", true},
		{"huge impressions", string(requestJSON(now, []string{`{"at":"` + now + `","impressions":1e300,"engagements":0}`}, nil, "")), "samples[0].impressions", true},
		{"impressions go down", string(requestJSON(now, []string{sampleText(now, 50, 2), okSample}, nil, "")), "impressions", false},
		{"engagements go down", string(requestJSON(now, []string{sampleText(now, 100, 0), okSample}, nil, "")), "engagements", false},
		{"equal times, counters go down", string(requestJSON(now, []string{sampleText(now, 100, 1), sampleText(now, 99, 1)}, nil, "")), "impressions", false},
		{"config not an object", string(requestJSON(now, nil, nil, `[]`)), "config", false},
		{"config zero window", string(requestJSON(now, nil, nil, `{"window":"0s"}`)), "config.window", true},
		{"config bad duration", string(requestJSON(now, nil, nil, `{"window":"ninety"}`)), "config.window", true},
		{"config negative cooldown", string(requestJSON(now, nil, nil, `{"comment_cooldown":"-1s"}`)), "config.comment_cooldown", true},
		{"config max actions 0", string(requestJSON(now, nil, nil, `{"max_actions_per_window":0}`)), "config.max_actions_per_window", true},
		{"config min_samples 0", string(requestJSON(now, nil, nil, `{"min_samples":0}`)), "config.min_samples", true},
		{"config unknown field", string(requestJSON(now, nil, nil, `{"cooldown":"1m"}`)), "config.cooldown", true},
		{"config interval above window", string(requestJSON(now, nil, nil, `{"window":"5m"}`)), "config.sample_interval", true},
		{"log not a list", string(requestJSON(now, nil, json.RawMessage(`{}`), "")), "log", false},
		{"log record not an object", string(requestJSON(now, nil, json.RawMessage(`[1]`), "")), "log[0]", false},
		{"log bad key", string(requestJSON(now, nil, withRecord(keyP1Comment1, "sheal_123"), "")), "log[1].idempotency_key", true},
		{"log key not hex", string(requestJSON(now, nil, withRecord(keyP1Comment1, "sheal_"+strings.Repeat("\\u0001", 32)), "")), "log[1].idempotency_key", true},
		{"log bad action", string(requestJSON(now, nil, withRecord(`"comment"`, `"reply"`), "")), "log[1].action_type", true},
		{"log bad tier", string(requestJSON(now, nil, withRecord(`"tier_1"`, `"tier_0"`), "")), "log[1].tier", true},
		{"log bad status", string(requestJSON(now, nil, withRecord(`"success"`, `"ok"`), "")), "log[1].status", true},
		{"log missing initiated_at", string(requestJSON(now, nil, withRecord(`"initiated_at":"2026-11-25T10:00:00.123456+00:00",`, ``), "")), "log[1].initiated_at", true},
		{"log bad initiated_at", string(requestJSON(now, nil, withRecord(`10:00:00.123456+00:00`, `10h`), "")), "log[1].initiated_at", true},
		{"log negative attempts", string(requestJSON(now, nil, withRecord(`"attempts":1`, `"attempts":-1`), "")), "log[1].attempts", true},
		{"log attempts a string", string(requestJSON(now, nil, withRecord(`"attempts":1`, `"attempts":"1"`), "")), "attempts", false},
		{"log empty post_id", string(requestJSON(now, nil, withRecord(`"post_id":"p1"`, `"post_id":""`), "")), "log[1].post_id", true},
		{"log post_id with control char", string(requestJSON(now, nil, withRecord(`"post_id":"p1"`, `"post_id":"p1\u0007"`), "")), "log[1].post_id", true},
		{"log error_code a number", string(requestJSON(now, nil, withRecord(`"error_code":null`, `"error_code":5`), "")), "error_code", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePlanRequest([]byte(tc.in))
			if err == nil {
				t.Fatalf("no error for %s", tc.in)
			}
			if tc.exact {
				wantFieldErr(t, err, tc.field)
				return
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not mention %q", err, tc.field)
			}
		})
	}
}

func TestDecodePlanRequestEnvelope(t *testing.T) {
	good := `{"post_id":"p1","now":"2026-11-25T12:00:00Z"}`
	if _, err := DecodePlanRequest([]byte(good + "\n \t")); err != nil {
		t.Fatalf("trailing whitespace: %v", err)
	}
	for _, trailing := range []string{`x`, `{}`, `1`, `}`, `]`, ` ]`} {
		_, err := DecodePlanRequest([]byte(good + trailing))
		if err == nil {
			t.Errorf("trailing %q accepted", trailing)
		}
	}
	big := make([]byte, MaxRequestBytes+1)
	if _, err := DecodePlanRequest(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized request: %v", err)
	}
}
