package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// PlanRequest is the dry-run input: one post's samples and action log at a given time, in the
// reference executor's formats.
type PlanRequest struct {
	PostID string
	// Platform chooses the stagnation formula (PlanActionFor); absent means sim, whose
	// formula is the reference executor's.
	Platform string
	Now      time.Time
	Samples  []MetricsSample
	Log      []ActionRecord
	Config   EvaluationConfig
	// StartedAt is when the post started watching (default: its first sample, else now), and
	// Cadence the cadence in force (optional, as the status query shows it): the dry run
	// says when the post samples next and why.
	StartedAt time.Time
	Cadence   *Cadence
}

// MaxRequestBytes bounds a decoded request; the decoders refuse anything larger.
const MaxRequestBytes = 8 << 20

type planRequestJSON struct {
	PostID   *string           `json:"post_id"`
	Platform *string           `json:"platform"`
	Now      *string           `json:"now"`
	Samples  []json.RawMessage `json:"samples"`
	Log      []json.RawMessage `json:"log"`
	Config   json.RawMessage   `json:"config"`
	// StartedAt and Cadence are optional (see PlanRequest).
	StartedAt *string         `json:"started_at"`
	Cadence   json.RawMessage `json:"cadence"`
}

// DecodePlanRequest parses and validates a dry-run request. now is required; config is
// optional and overrides the defaults field by field.
func DecodePlanRequest(data []byte) (PlanRequest, error) {
	var req PlanRequest
	if len(data) > MaxRequestBytes {
		return req, fmt.Errorf("request is %d bytes, the limit is %d", len(data), MaxRequestBytes)
	}
	var raw planRequestJSON
	if err := strictUnmarshal(data, &raw); err != nil {
		return req, fmt.Errorf("request: %w", err)
	}
	if raw.PostID == nil {
		return req, fieldErr("post_id", "is missing")
	}
	req.PostID = *raw.PostID
	if err := ValidateID("post_id", req.PostID); err != nil {
		return req, err
	}
	req.Platform = PlatformSim
	if raw.Platform != nil {
		if !KnownPlatform(*raw.Platform) {
			return req, fieldErr("platform", "unknown platform %q (want %s)", *raw.Platform, knownPlatforms())
		}
		req.Platform = *raw.Platform
	}
	// The key is computed from the post ID: a Bluesky post must be named as its workflow names
	// it (its AT URI) for the dry run to show the workflow's key.
	if err := ValidatePostID("post_id", req.Platform, req.PostID); err != nil {
		return req, err
	}
	if raw.Now == nil {
		return req, fieldErr("now", "is missing")
	}
	now, err := ParseTime("now", *raw.Now)
	if err != nil {
		return req, err
	}
	req.Now = now
	req.Config = DefaultConfig()
	if len(raw.Config) > 0 && string(raw.Config) != "null" {
		if err := json.Unmarshal(raw.Config, &req.Config); err != nil {
			return req, err
		}
	}
	if err := req.Config.Validate(); err != nil {
		return req, err
	}
	for i, rs := range raw.Samples {
		s, err := DecodeSample(fmt.Sprintf("samples[%d]", i), rs)
		if err != nil {
			return req, err
		}
		if err := ValidateSample(s, nil, req.Now); err != nil {
			return req, prefixed(fmt.Sprintf("samples[%d]", i), err)
		}
		req.Samples = append(req.Samples, s)
	}
	if err := validateSeries(req.Samples, req.Now); err != nil {
		return req, err
	}
	for i, rr := range raw.Log {
		r, err := DecodeRecord(i, rr)
		if err != nil {
			return req, err
		}
		req.Log = append(req.Log, r)
	}
	req.StartedAt = req.Now
	if len(req.Samples) > 0 {
		req.StartedAt = sortedByTime(req.Samples)[0].At
	}
	if raw.StartedAt != nil {
		if req.StartedAt, err = ParseTime("started_at", *raw.StartedAt); err != nil {
			return req, err
		}
		if req.StartedAt.After(req.Now) {
			return req, fieldErr("started_at", "is after now (%s)", req.Now.Format(time.RFC3339))
		}
	}
	if len(raw.Cadence) > 0 && string(raw.Cadence) != "null" {
		var c Cadence
		if err := json.Unmarshal(raw.Cadence, &c); err != nil {
			return req, err
		}
		req.Cadence = &c
	}
	return req, nil
}

// Plan is the dry run's answer: the plan, with when the post samples next and why.
func (r PlanRequest) Plan() Plan {
	plan := PlanActionFor(r.Platform, r.PostID, r.Log, r.Samples, r.Config, r.Now)
	c := NextCadence(CadenceInput{Config: r.Config, PostID: r.PostID, StartedAt: r.StartedAt, Now: r.Now, Log: r.Log, Plan: plan, Previous: r.Cadence})
	plan.Cadence = &c
	return plan
}

// validateSeries checks that the counters never go down once the samples are in time order.
func validateSeries(samples []MetricsSample, now time.Time) error {
	ordered := sortedByTime(samples)
	for i := 1; i < len(ordered); i++ {
		if err := ValidateSample(ordered[i], &ordered[i-1], now); err != nil {
			return prefixed("samples", err)
		}
	}
	return nil
}

type sampleJSON struct {
	At          *string         `json:"at"`
	Impressions json.RawMessage `json:"impressions"`
	Engagements json.RawMessage `json:"engagements"`
}

// DecodeSample parses one sample {"at", "impressions", "engagements"}. Counters must be whole,
// finite, non-negative numbers.
func DecodeSample(field string, data []byte) (MetricsSample, error) {
	var s MetricsSample
	var raw sampleJSON
	if err := strictUnmarshal(data, &raw); err != nil {
		return s, fmt.Errorf("%s: %w", field, err)
	}
	if raw.At == nil {
		return s, fieldErr(field+".at", "is missing")
	}
	at, err := ParseTime(field+".at", *raw.At)
	if err != nil {
		return s, err
	}
	s.At = at
	if s.Impressions, err = DecodeCounter(field+".impressions", raw.Impressions); err != nil {
		return s, err
	}
	if s.Engagements, err = DecodeCounter(field+".engagements", raw.Engagements); err != nil {
		return s, err
	}
	return s, nil
}

// DecodeCounter parses a counter: a whole, finite, non-negative JSON number. Strings such as
// "NaN" or "Infinity" (which some encoders emit) are rejected by name.
func DecodeCounter(field string, raw json.RawMessage) (int64, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return 0, fieldErr(field, "is missing")
	}
	if strings.HasPrefix(text, `"`) {
		return 0, fieldErr(field, "must be a number, got the string %s", text)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, fieldErr(field, "is not a number: %s", text)
	}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fieldErr(field, "must be finite, got %s", text)
	case f < 0:
		return 0, fieldErr(field, "must not be negative, got %s", text)
	case f != math.Trunc(f) || f >= 1<<53:
		return 0, fieldErr(field, "must be a whole number below 2^53, got %s", text)
	}
	return int64(f), nil
}

type recordJSON struct {
	Key         string          `json:"idempotency_key"`
	PostID      string          `json:"post_id"`
	Action      string          `json:"action_type"`
	Tier        string          `json:"tier"`
	InitiatedAt string          `json:"initiated_at"`
	Status      string          `json:"status"`
	Attempts    *int            `json:"attempts"`
	Outcome     json.RawMessage `json:"outcome"`
	ErrorCode   *string         `json:"error_code"`
	FinishedAt  string          `json:"finished_at"`
	Reasons     []string        `json:"reasons"`
	// A person's action (Resurge's own fields): kept, so a record read back is the record
	// written.
	Autonomous *bool  `json:"autonomous"`
	Operator   string `json:"operator"`
	Reason     string `json:"reason"`
	RequestID  string `json:"request_id"`
}

// DecodeRecord parses one record of the reference executor's persisted history (and the extra
// fields Resurge adds), then validates it.
func DecodeRecord(i int, data []byte) (ActionRecord, error) {
	field := fmt.Sprintf("log[%d]", i)
	var raw recordJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return ActionRecord{}, fmt.Errorf("%s: %w", field, err)
	}
	r := ActionRecord{
		Key:      raw.Key,
		PostID:   raw.PostID,
		Action:   ActionType(raw.Action),
		Tier:     Tier(raw.Tier),
		Status:   ActionStatus(raw.Status),
		Attempts: 1,
		Reasons:  raw.Reasons,

		Autonomous: raw.Autonomous,
		Operator:   raw.Operator,
		Reason:     raw.Reason,
		RequestID:  raw.RequestID,
	}
	if raw.Attempts != nil {
		r.Attempts = *raw.Attempts
	}
	if raw.ErrorCode != nil {
		r.ErrorCode = *raw.ErrorCode
	}
	if o := bytes.TrimSpace(raw.Outcome); len(o) > 0 && string(o) != "null" {
		r.Outcome = append(json.RawMessage(nil), o...)
	}
	if raw.InitiatedAt == "" {
		return r, fieldErr(field+".initiated_at", "is missing")
	}
	var err error
	if r.InitiatedAt, err = ParseTime(field+".initiated_at", raw.InitiatedAt); err != nil {
		return r, err
	}
	if raw.FinishedAt != "" {
		if r.FinishedAt, err = ParseTime(field+".finished_at", raw.FinishedAt); err != nil {
			return r, err
		}
	}
	return r, ValidateRecord(i, r)
}

// DecodeActionLog parses a whole persisted history (a JSON list of records).
func DecodeActionLog(data []byte) ([]ActionRecord, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	out := make([]ActionRecord, 0, len(raws))
	for i, rr := range raws {
		r, err := DecodeRecord(i, rr)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// timeLayouts are accepted in order: RFC 3339 (what Resurge writes) and Python's isoformat
// without a zone (taken as UTC), which older histories contain.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999-07:00"}

// ParseTime parses a timestamp in RFC 3339 or Python isoformat; times without a zone are UTC.
func ParseTime(field, s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldErr(field, "is not an RFC 3339 time: %q", s)
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// dec.More reports false for a trailing ']' or '}', so read one more token: only EOF is fine.
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

func prefixed(prefix string, err error) error {
	if fe, ok := err.(*FieldError); ok {
		return &FieldError{Field: prefix + "." + strings.TrimPrefix(fe.Field, "sample."), Reason: fe.Reason}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
