package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// t0 is the "now" most tests plan at.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Keys the reference executor produces, computed once with Python's hashlib:
//
//	"sheal_" + hashlib.sha256(f"{post}:{action}:{tier}".encode("utf-8")).hexdigest()[:32]
const (
	keyP1Comment1 = "sheal_878d89c30e92e1293270d561bfd03ec1" // p1:comment:tier_1
	keyP1Edit2    = "sheal_2b5d2b703381450e67206d9938ff4cee" // p1:edit:tier_2
	keyP1Thread3  = "sheal_2304be7ef58ba8f0e6dd06cb68632a31" // p1:thread:tier_3
	keyP2Thread3  = "sheal_05d53dd4eff03a0621e8b6f35662d493" // p2:thread:tier_3
)

// series returns n samples spaced evenly over the last span before now (the last one at now),
// whose counters grow from (0, 0) to (impDelta, engDelta): the stagnation score over them
// depends only on the two deltas.
func series(now time.Time, span time.Duration, n int, impDelta, engDelta int64) []MetricsSample {
	out := make([]MetricsSample, n)
	for i := range n {
		var at time.Time
		var imp, eng int64
		if n == 1 {
			at = now
		} else {
			at = now.Add(-span + span*time.Duration(i)/time.Duration(n-1))
			imp = impDelta * int64(i) / int64(n-1)
			eng = engDelta * int64(i) / int64(n-1)
		}
		out[i] = MetricsSample{At: at, Impressions: 1000 + imp, Engagements: 10 + eng}
	}
	return out
}

// stagnant is three samples over the last 20 minutes with no engagement at all: score 1, tier 3,
// thread.
func stagnant(now time.Time) []MetricsSample { return series(now, 20*time.Minute, 3, 500, 0) }

// healthy is three samples over the last 20 minutes with a 10% engagement rate: score 0, tier 1,
// comment.
func healthy(now time.Time) []MetricsSample { return series(now, 20*time.Minute, 3, 500, 50) }

func rec(post string, a ActionType, tier Tier, st ActionStatus, at time.Time) ActionRecord {
	return ActionRecord{
		Key:         IdempotencyKey(post, a, tier),
		PostID:      post,
		Action:      a,
		Tier:        tier,
		InitiatedAt: at,
		Status:      st,
		Attempts:    1,
	}
}

// wantFieldErr fails unless err is a *FieldError for field (exactly) whose message also contains
// the field name.
func wantFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error for %s, got nil", field)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FieldError for %s, got %T: %v", field, err, err)
	}
	if fe.Field != field {
		t.Fatalf("error names field %q, want %q (%v)", fe.Field, field, err)
	}
	if !strings.Contains(err.Error(), field) {
		t.Fatalf("error %q does not mention %q", err, field)
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
