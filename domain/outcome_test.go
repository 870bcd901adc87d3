package domain

import (
	"math"
	"testing"
	"time"
)

func validOutcome() Outcome {
	return Outcome{Agent: "a1", PostID: "p1", Key: keyP1Comment1, Action: ActionComment, Tier: Tier1,
		Status: StatusSuccess, Attempts: 1, InitiatedAt: t0, FinishedAt: t0.Add(3 * time.Second), RateBefore: 0.01}
}

func validImpact() Impact {
	return Impact{Agent: "a1", PostID: "p1", Key: keyP1Comment1, RateBefore: 0.01, RateAfter: 0.03, MeasuredAt: t0}
}

func TestOutcomeValidate(t *testing.T) {
	ok := []func(*Outcome){
		func(o *Outcome) {},
		func(o *Outcome) { o.Status, o.ErrorCode = StatusFailed, "rate_limit" },
		func(o *Outcome) { o.FinishedAt = o.InitiatedAt }, // an instant answer
		func(o *Outcome) { o.RateBefore = 0 },
		func(o *Outcome) { o.RateBefore = 1 },
		func(o *Outcome) { o.Action = ActionThread },
	}
	for i, f := range ok {
		o := validOutcome()
		f(&o)
		if err := o.Validate(); err != nil {
			t.Errorf("valid outcome %d rejected: %v", i, err)
		}
	}
	cases := []struct {
		field string
		f     func(*Outcome)
	}{
		{"outcome.agent", func(o *Outcome) { o.Agent = "" }},
		{"outcome.agent", func(o *Outcome) { o.Agent = "a 1" }},
		{"outcome.post_id", func(o *Outcome) { o.PostID = "" }},
		{"outcome.post_id", func(o *Outcome) { o.PostID = "p\t1" }},
		{"outcome.action_type", func(o *Outcome) { o.Action = "like" }},
		{"outcome.action_type", func(o *Outcome) { o.Action = "" }},
		{"outcome.status", func(o *Outcome) { o.Status = StatusRunning }},
		{"outcome.status", func(o *Outcome) { o.Status = StatusBlocked }},
		{"outcome.status", func(o *Outcome) { o.Status = "exploded" }},
		{"outcome.finished_at", func(o *Outcome) { o.InitiatedAt = time.Time{} }},
		{"outcome.finished_at", func(o *Outcome) { o.FinishedAt = time.Time{} }},
		{"outcome.finished_at", func(o *Outcome) { o.FinishedAt = o.InitiatedAt.Add(-time.Nanosecond) }},
		{"outcome.rate_before", func(o *Outcome) { o.RateBefore = math.NaN() }},
		{"outcome.rate_before", func(o *Outcome) { o.RateBefore = -0.001 }},
		{"outcome.rate_before", func(o *Outcome) { o.RateBefore = 1.001 }},
		{"outcome.rate_before", func(o *Outcome) { o.RateBefore = math.Inf(1) }},
	}
	for _, tc := range cases {
		o := validOutcome()
		tc.f(&o)
		wantFieldErr(t, o.Validate(), tc.field)
	}
}

func TestImpactValidate(t *testing.T) {
	ok := []func(*Impact){
		func(i *Impact) {},
		func(i *Impact) { i.RateBefore, i.RateAfter = 0, 0 },
		func(i *Impact) { i.RateBefore, i.RateAfter = 1, 1 },
		func(i *Impact) { i.RateAfter = 0 }, // engagement fell to nothing: valid, and scored
	}
	for n, f := range ok {
		i := validImpact()
		f(&i)
		if err := i.Validate(); err != nil {
			t.Errorf("valid impact %d rejected: %v", n, err)
		}
	}
	cases := []struct {
		field string
		f     func(*Impact)
	}{
		{"impact.agent", func(i *Impact) { i.Agent = "" }},
		{"impact.agent", func(i *Impact) { i.Agent = "a 1" }},
		{"impact.post_id", func(i *Impact) { i.PostID = "" }},
		{"impact.post_id", func(i *Impact) { i.PostID = "p\n" }},
		{"impact.idempotency_key", func(i *Impact) { i.Key = "" }},
		{"impact.rate_before", func(i *Impact) { i.RateBefore = math.NaN() }},
		{"impact.rate_before", func(i *Impact) { i.RateBefore = -1 }},
		{"impact.rate_before", func(i *Impact) { i.RateBefore = 2 }},
		{"impact.rate_after", func(i *Impact) { i.RateAfter = math.NaN() }},
		{"impact.rate_after", func(i *Impact) { i.RateAfter = -0.1 }},
		{"impact.rate_after", func(i *Impact) { i.RateAfter = 1.1 }},
		{"impact.rate_after", func(i *Impact) { i.RateAfter = math.Inf(-1) }},
	}
	for _, tc := range cases {
		i := validImpact()
		tc.f(&i)
		wantFieldErr(t, i.Validate(), tc.field)
	}
}

// A valid outcome and impact make it into a snapshot: the validated fields are the ones
// BuildSnapshot reads.
func TestValidatedReportsBuildASnapshot(t *testing.T) {
	o, im := validOutcome(), validImpact()
	if o.Validate() != nil || im.Validate() != nil {
		t.Fatal("fixtures must be valid")
	}
	s := BuildSnapshot("a1", []Outcome{o}, []Impact{im}, t0)
	// lift = (0.03 − 0.01) / 0.05 = 0.4: market impact 0.7, efficiency 1.
	if s.Outcomes != 1 || s.Measured != 1 || s.ResponseTime != 3 || math.Abs(s.MarketImpact-0.7) > 1e-12 || s.EfficiencyScore != 1 {
		t.Fatalf("snapshot %+v", s)
	}
}
