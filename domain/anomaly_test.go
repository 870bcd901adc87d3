package domain

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"
)

// up and down are one float64 step away from x.
func up(x float64) float64   { return math.Nextafter(x, math.Inf(1)) }
func down(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }

// fine is a snapshot of a healthy agent with plenty of evidence: every metric on the good side
// of every threshold. Tests change one field at a time.
func fine() Snapshot {
	return Snapshot{Agent: "a1", Outcomes: 10, Successes: 10, SuccessRate: 1, ResponseTime: 10,
		EfficiencyScore: 1, MarketImpact: 0.5, At: t0}
}

func with(f func(*Snapshot)) Snapshot {
	s := fine()
	f(&s)
	return s
}

func TestDefaultAnomalyPolicyMatchesTheSpecTable(t *testing.T) {
	want := AnomalyPolicy{
		MinOutcomes: 3,
		Tiers: [3]TierPolicy{
			{Tier: 1, SuccessRateMax: 0.80, EfficiencyMax: 0.65, ResponseTimeMin: 45, MarketImpactMax: 0, MaxIterations: 3,
				Lock: LockCriteria{MinConfidence: 0.85, ConsecutiveFailures: 6}},
			{Tier: 2, SuccessRateMax: 0.70, EfficiencyMax: 0.50, ResponseTimeMin: 60, MarketImpactMax: 0.35, MaxIterations: 2,
				Lock: LockCriteria{MinConfidence: 0.75, ConsecutiveFailures: 4}},
			{Tier: 3, SuccessRateMax: 0.55, EfficiencyMax: 0.35, ResponseTimeMin: 90, MarketImpactMax: 0.25, MaxIterations: 1,
				Lock: LockCriteria{MinConfidence: 0.65, ConsecutiveFailures: 3}},
		},
	}
	if got := DefaultAnomalyPolicy(); !reflect.DeepEqual(got, want) {
		t.Fatalf("DefaultAnomalyPolicy() =\n%+v\nwant\n%+v", got, want)
	}
}

// TestClassifyThresholdBoundaries walks every threshold of every tier: exactly at the threshold
// the metric is crossed (the comparisons are <= and >=), one float64 step on the good side it is
// not, and the snapshot falls to the next tier down.
func TestClassifyThresholdBoundaries(t *testing.T) {
	p := DefaultAnomalyPolicy()
	type metric struct {
		name string
		set  func(*Snapshot, float64)
		// good moves a value one step towards the healthy side.
		good func(float64) float64
		// thresholds per tier (0 = the tier does not look at the metric).
		thresholds [3]float64
		op         string
	}
	metrics := []metric{
		{"success_rate", func(s *Snapshot, v float64) { s.SuccessRate = v }, up, [3]float64{0.80, 0.70, 0.55}, "<="},
		{"efficiency_score", func(s *Snapshot, v float64) { s.EfficiencyScore = v }, up, [3]float64{0.65, 0.50, 0.35}, "<="},
		{"response_time", func(s *Snapshot, v float64) { s.ResponseTime = v }, down, [3]float64{45, 60, 90}, ">="},
		{"market_impact", func(s *Snapshot, v float64) { s.MarketImpact = v }, up, [3]float64{0, 0.35, 0.25}, "<="},
	}
	for _, m := range metrics {
		for i, th := range m.thresholds {
			tier := i + 1
			if th == 0 {
				continue // the tier-1 market impact "—" (see TestClassifyTier1IgnoresMarketImpact)
			}
			// The tier below that also looks at this metric (market impact: tier 1 does not).
			below := 0
			for j := i - 1; j >= 0; j-- {
				if m.thresholds[j] != 0 {
					below = j + 1
					break
				}
			}
			t.Run(fmt.Sprintf("%s/tier%d", m.name, tier), func(t *testing.T) {
				at := with(func(s *Snapshot) { m.set(s, th) })
				got, triggers := p.Classify(at)
				if got != tier {
					t.Fatalf("%s exactly at %v: tier %d, want %d", m.name, th, got, tier)
				}
				want := []TriggerMetric{{Metric: m.name, Value: th, Threshold: th, Op: m.op}}
				if !reflect.DeepEqual(triggers, want) {
					t.Fatalf("triggers %+v, want %+v", triggers, want)
				}
				past := with(func(s *Snapshot) { m.set(s, m.good(th)) })
				got, triggers = p.Classify(past)
				if got != below {
					t.Fatalf("%s one step on the good side of %v (%v): tier %d, want %d", m.name, th, m.good(th), got, below)
				}
				if below == 0 && triggers != nil {
					t.Fatalf("healthy snapshot with triggers %+v", triggers)
				}
				if below > 0 {
					want := []TriggerMetric{{Metric: m.name, Value: m.good(th), Threshold: m.thresholds[below-1], Op: m.op}}
					if !reflect.DeepEqual(triggers, want) {
						t.Fatalf("triggers %+v, want %+v", triggers, want)
					}
				}
			})
		}
	}
}

func TestClassifyTier1IgnoresMarketImpact(t *testing.T) {
	p := DefaultAnomalyPolicy()
	for _, mi := range []float64{up(0.35), 0.36, 0.4, 0.5, 1} {
		if got, tr := p.Classify(with(func(s *Snapshot) { s.MarketImpact = mi })); got != 0 || tr != nil {
			t.Errorf("market impact %v alone: tier %d %+v, want healthy (tier 1 has no market-impact threshold)", mi, got, tr)
		}
	}
	// With the market-impact thresholds of tiers 2 and 3 switched off (0 = not considered), even
	// a market impact of exactly 0 is healthy: a zero threshold must not mean "<= 0".
	p.Tiers[1].MarketImpactMax, p.Tiers[2].MarketImpactMax = 0, 0
	if got, tr := p.Classify(with(func(s *Snapshot) { s.MarketImpact = 0 })); got != 0 || tr != nil {
		t.Errorf("market impact 0 with every market threshold off: tier %d %+v, want healthy", got, tr)
	}
	// Market impact that triggers tier 1 is impossible; tier 1 triggers list no market_impact.
	got, tr := DefaultAnomalyPolicy().Classify(with(func(s *Snapshot) { s.SuccessRate, s.MarketImpact = 0.8, 0.36 }))
	if got != 1 || len(tr) != 1 || tr[0].Metric != "success_rate" {
		t.Errorf("tier 1 by success rate with market impact 0.36: tier %d %+v", got, tr)
	}
}

func TestClassifyListsEveryTriggerOfTheTier(t *testing.T) {
	p := DefaultAnomalyPolicy()
	s := with(func(s *Snapshot) {
		s.SuccessRate, s.EfficiencyScore, s.ResponseTime, s.MarketImpact = 0.5, 0.3, 100, 0.2
	})
	got, tr := p.Classify(s)
	want := []TriggerMetric{
		{"success_rate", 0.5, 0.55, "<="},
		{"efficiency_score", 0.3, 0.35, "<="},
		{"response_time", 100, 90, ">="},
		{"market_impact", 0.2, 0.25, "<="},
	}
	if got != 3 || !reflect.DeepEqual(tr, want) {
		t.Fatalf("Classify = %d %+v, want 3 %+v", got, tr, want)
	}
	// The highest tier wins and only its triggers are listed: success rate is tier 3, response
	// time only tier 1.
	s = with(func(s *Snapshot) { s.SuccessRate, s.ResponseTime = 0.55, 45 })
	got, tr = p.Classify(s)
	if want := []TriggerMetric{{"success_rate", 0.55, 0.55, "<="}}; got != 3 || !reflect.DeepEqual(tr, want) {
		t.Fatalf("Classify = %d %+v, want 3 %+v", got, tr, want)
	}
}

func TestClassifyMinOutcomes(t *testing.T) {
	p := DefaultAnomalyPolicy()
	worst := func(n int) Snapshot {
		return Snapshot{Agent: "a1", Outcomes: n, SuccessRate: 0, EfficiencyScore: 0, ResponseTime: 1000,
			MarketImpact: 0, ConsecutiveFailures: n}
	}
	for _, tc := range []struct{ outcomes, tier int }{{0, 0}, {1, 0}, {2, 0}, {3, 3}, {4, 3}} {
		got, tr := p.Classify(worst(tc.outcomes))
		if got != tc.tier {
			t.Errorf("%d outcomes: tier %d, want %d", tc.outcomes, got, tc.tier)
		}
		if tc.tier == 0 && tr != nil {
			t.Errorf("%d outcomes: triggers %+v on a snapshot that is not graded", tc.outcomes, tr)
		}
	}
	// And the assessment of a thin snapshot is healthy too (which resets escalation).
	a, esc := p.Assess(worst(2), Escalation{Tier: 2, Iterations: 2})
	if a.Tier != 0 || a.Classified != 0 || a.Lock || esc != (Escalation{}) {
		t.Fatalf("thin snapshot: %+v %+v", a, esc)
	}
}

// Hand-computed snapshots. HealthyRate is 0.05, so a rate change of +0.025 is a lift of +0.5.
func TestBuildSnapshot(t *testing.T) {
	start := t0.Add(-time.Hour)
	out := func(key string, st ActionStatus, secs int) Outcome {
		return Outcome{Agent: "a1", PostID: "p1", Key: key, Action: ActionComment, Tier: Tier1, Status: st,
			Attempts: 1, InitiatedAt: start, FinishedAt: start.Add(time.Duration(secs) * time.Second)}
	}
	imp := func(key string, before, after float64) Impact {
		return Impact{Agent: "a1", PostID: "p1", Key: key, RateBefore: before, RateAfter: after, MeasuredAt: t0}
	}
	S, F := StatusSuccess, StatusFailed
	cases := []struct {
		name     string
		outcomes []Outcome
		impacts  []Impact
		want     Snapshot
	}{
		{
			name: "no outcomes",
			want: Snapshot{SuccessRate: 1, EfficiencyScore: 1, MarketImpact: 0.5},
		},
		{
			name:     "all successes, no measurement",
			outcomes: []Outcome{out("k1", S, 10), out("k2", S, 20), out("k3", S, 60)},
			want:     Snapshot{Outcomes: 3, Successes: 3, SuccessRate: 1, ResponseTime: 30, EfficiencyScore: 1, MarketImpact: 0.5},
		},
		{
			// 3 of 4 succeed; k1 lifts +0.5, k3 drops -0.5; the impact of the failed k2 and of an
			// unknown key are ignored.
			// efficiency = 0.75 × mean(min(1, 1.5), min(1, 0.5)) = 0.75 × 0.75
			// market impact = mean(1.5/2, 0.5/2) = 0.5
			name:     "mixed, impacts matched by key for successes only",
			outcomes: []Outcome{out("k1", S, 10), out("k2", F, 20), out("k3", S, 30), out("k4", S, 40)},
			impacts: []Impact{imp("k1", 0.02, 0.045), imp("k2", 0, 1), imp("nope", 0, 1),
				imp("k3", 0.04, 0.015)},
			want: Snapshot{Outcomes: 4, Successes: 3, SuccessRate: 0.75, ResponseTime: 25, EfficiencyScore: 0.5625,
				MarketImpact: 0.5, Measured: 2},
		},
		{
			// Lift +3 (0 → 0.15) is clamped to +1: value min(1, 2) = 1, impact (1+1)/2 = 1.
			name:     "lift clamped at +1",
			outcomes: []Outcome{out("k1", S, 5)},
			impacts:  []Impact{imp("k1", 0, 0.15)},
			want:     Snapshot{Outcomes: 1, Successes: 1, SuccessRate: 1, ResponseTime: 5, EfficiencyScore: 1, MarketImpact: 1, Measured: 1},
		},
		{
			// Lift -2 (0.1 → 0) is clamped to -1: value 0, impact 0.
			name:     "lift clamped at -1",
			outcomes: []Outcome{out("k1", S, 5)},
			impacts:  []Impact{imp("k1", 0.1, 0)},
			want:     Snapshot{Outcomes: 1, Successes: 1, SuccessRate: 1, ResponseTime: 5, EfficiencyScore: 0, MarketImpact: 0, Measured: 1},
		},
		{
			// One unchanged (lift 0: value 1, impact 0.5) and one clamped -1 (value 0, impact 0).
			name:     "unchanged and clamped drop",
			outcomes: []Outcome{out("k1", S, 5), out("k2", S, 5)},
			impacts:  []Impact{imp("k1", 0.03, 0.03), imp("k2", 0.5, 0.1)},
			want:     Snapshot{Outcomes: 2, Successes: 2, SuccessRate: 1, ResponseTime: 5, EfficiencyScore: 0.5, MarketImpact: 0.25, Measured: 2},
		},
		{
			name:     "only the trailing failure streak counts",
			outcomes: []Outcome{out("k1", S, 1), out("k2", F, 1), out("k3", F, 1), out("k4", S, 1), out("k5", F, 1), out("k6", F, 1), out("k7", F, 1)},
			want:     Snapshot{Outcomes: 7, Successes: 2, SuccessRate: 2.0 / 7, ResponseTime: 1, EfficiencyScore: 2.0 / 7, MarketImpact: 0.5, ConsecutiveFailures: 3},
		},
		{
			name:     "a success at the end resets the streak",
			outcomes: []Outcome{out("k1", F, 2), out("k2", F, 2), out("k3", F, 2), out("k4", S, 2)},
			want:     Snapshot{Outcomes: 4, Successes: 1, SuccessRate: 0.25, ResponseTime: 2, EfficiencyScore: 0.25, MarketImpact: 0.5},
		},
		{
			name:     "all failures",
			outcomes: []Outcome{out("k1", F, 30), out("k2", F, 60), out("k3", F, 90)},
			impacts:  []Impact{imp("k1", 0, 0.15)},
			want:     Snapshot{Outcomes: 3, SuccessRate: 0, ResponseTime: 60, EfficiencyScore: 0, MarketImpact: 0.5, ConsecutiveFailures: 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := BuildSnapshot("a1", tc.outcomes, tc.impacts, t0)
			tc.want.Agent, tc.want.At = "a1", t0
			const eps = 1e-12
			if got.Outcomes != tc.want.Outcomes || got.Successes != tc.want.Successes || got.Measured != tc.want.Measured ||
				got.ConsecutiveFailures != tc.want.ConsecutiveFailures || got.Agent != "a1" || !got.At.Equal(t0) {
				t.Fatalf("counts: got %+v, want %+v", got, tc.want)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"success_rate", got.SuccessRate, tc.want.SuccessRate},
				{"response_time", got.ResponseTime, tc.want.ResponseTime},
				{"efficiency_score", got.EfficiencyScore, tc.want.EfficiencyScore},
				{"market_impact", got.MarketImpact, tc.want.MarketImpact},
			} {
				if math.Abs(f.got-f.want) > eps {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
		})
	}
}

func TestBuildSnapshotDoesNotModifyInputs(t *testing.T) {
	outs := []Outcome{{Key: "k1", Status: StatusSuccess, InitiatedAt: t0, FinishedAt: t0.Add(time.Second)}}
	imps := []Impact{{Key: "k1", RateBefore: 0.01, RateAfter: 0.02}}
	o2, i2 := append([]Outcome(nil), outs...), append([]Impact(nil), imps...)
	BuildSnapshot("a1", outs, imps, t0)
	if !reflect.DeepEqual(outs, o2) || !reflect.DeepEqual(imps, i2) {
		t.Fatal("BuildSnapshot modified its inputs")
	}
}

// Severity with the defaults: success (0.8 − v)/0.8, efficiency (0.65 − v)/0.65, response time
// (v − 45)/135 (worst 4 × 45 = 180), market impact (0.35 − v)/0.35 (tier 2's threshold); the max,
// clamped to [0, 1].
func TestSeverity(t *testing.T) {
	p := DefaultAnomalyPolicy()
	cases := []struct {
		name string
		s    Snapshot
		want float64
	}{
		{"healthy", fine(), 0},
		{"success at threshold", with(func(s *Snapshot) { s.SuccessRate = 0.8 }), 0},
		{"success 0.4", with(func(s *Snapshot) { s.SuccessRate = 0.4 }), 0.5},
		{"success 0", with(func(s *Snapshot) { s.SuccessRate = 0 }), 1},
		{"efficiency at threshold", with(func(s *Snapshot) { s.EfficiencyScore = 0.65 }), 0},
		{"efficiency 0.325", with(func(s *Snapshot) { s.EfficiencyScore = 0.325 }), 0.5},
		{"efficiency 0", with(func(s *Snapshot) { s.EfficiencyScore = 0 }), 1},
		{"response at threshold", with(func(s *Snapshot) { s.ResponseTime = 45 }), 0},
		{"response 112.5", with(func(s *Snapshot) { s.ResponseTime = 112.5 }), 0.5},
		{"response 180", with(func(s *Snapshot) { s.ResponseTime = 180 }), 1},
		{"response 10000 clamped", with(func(s *Snapshot) { s.ResponseTime = 10000 }), 1},
		{"market at tier-2 threshold", with(func(s *Snapshot) { s.MarketImpact = 0.35 }), 0},
		{"market 0.175", with(func(s *Snapshot) { s.MarketImpact = 0.175 }), 0.5},
		{"market 0", with(func(s *Snapshot) { s.MarketImpact = 0 }), 1},
		{"worst metric wins", with(func(s *Snapshot) { s.SuccessRate, s.ResponseTime = 0.6, 112.5 }), 0.5},
		{"worst metric wins 2", with(func(s *Snapshot) { s.SuccessRate, s.EfficiencyScore = 0.4, 0 }), 1},
	}
	for _, tc := range cases {
		if got := p.Severity(tc.s); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Severity = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConfidenceValues(t *testing.T) {
	p := DefaultAnomalyPolicy()
	ev := func(n int) float64 { return 1 - math.Exp(-float64(n)/5) }
	cases := []struct {
		name string
		s    Snapshot
		want float64
	}{
		{"no evidence", with(func(s *Snapshot) { s.Outcomes, s.SuccessRate = 0, 0 }), 0},
		{"5 outcomes, healthy", with(func(s *Snapshot) { s.Outcomes = 5 }), ev(5) * 0.5},
		{"10 outcomes, severity 1", with(func(s *Snapshot) { s.SuccessRate = 0 }), ev(10)},
		{"10 outcomes, severity 0.5", with(func(s *Snapshot) { s.SuccessRate = 0.4 }), ev(10) * 0.75},
	}
	for _, tc := range cases {
		if got := p.Confidence(tc.s); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Confidence = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Spot values: 1 − e^-2 = 0.8646647167633873.
	if got := p.Confidence(with(func(s *Snapshot) { s.SuccessRate = 0 })); math.Abs(got-0.8646647167633873) > 1e-15 {
		t.Errorf("confidence at 10 outcomes, severity 1 = %v", got)
	}
}

func TestConfidenceRisesWithEvidence(t *testing.T) {
	p := DefaultAnomalyPolicy()
	for _, sr := range []float64{1, 0.8, 0.6, 0.4, 0.2, 0} {
		prev := -1.0
		for n := 0; n <= 100; n++ {
			s := with(func(s *Snapshot) { s.Outcomes, s.SuccessRate = n, sr })
			c := p.Confidence(s)
			if !(c > prev) {
				t.Fatalf("success rate %v: confidence %v at %d outcomes is not above %v at %d", sr, c, n, prev, n-1)
			}
			prev = c
		}
	}
}

func TestConfidenceRisesWithSeverity(t *testing.T) {
	p := DefaultAnomalyPolicy()
	// At fixed evidence, a strictly more severe snapshot has a strictly higher confidence.
	prev := -1.0
	for sr := 0.8; sr >= 0; sr -= 0.05 {
		c := p.Confidence(with(func(s *Snapshot) { s.SuccessRate = sr }))
		if !(c > prev) {
			t.Fatalf("success rate %v: confidence %v not above %v", sr, c, prev)
		}
		prev = c
	}
}

// TestConfidenceNeverFallsAsPerformanceWorsens sweeps each metric from its best to its worst
// value in small steps, with the others healthy, at several evidence levels.
func TestConfidenceNeverFallsAsPerformanceWorsens(t *testing.T) {
	p := DefaultAnomalyPolicy()
	sweeps := []struct {
		name       string
		from, to   float64
		set        func(*Snapshot, float64)
		stepsCount int
	}{
		{"success_rate 1→0", 1, 0, func(s *Snapshot, v float64) { s.SuccessRate = v }, 1000},
		{"efficiency 1→0", 1, 0, func(s *Snapshot, v float64) { s.EfficiencyScore = v }, 1000},
		{"response_time 0→400", 0, 400, func(s *Snapshot, v float64) { s.ResponseTime = v }, 4000},
		{"market_impact 1→0", 1, 0, func(s *Snapshot, v float64) { s.MarketImpact = v }, 1000},
	}
	for _, n := range []int{3, 5, 10, 50} {
		for _, sw := range sweeps {
			prev := -1.0
			for i := 0; i <= sw.stepsCount; i++ {
				v := sw.from + (sw.to-sw.from)*float64(i)/float64(sw.stepsCount)
				s := with(func(s *Snapshot) { s.Outcomes = n; sw.set(s, v) })
				c := p.Confidence(s)
				if c < 0 || c > 1 || math.IsNaN(c) {
					t.Fatalf("%s at %v (%d outcomes): confidence %v outside [0, 1]", sw.name, v, n, c)
				}
				if c < prev {
					t.Fatalf("%s at %v (%d outcomes): confidence fell from %v to %v as performance got worse", sw.name, v, n, prev, c)
				}
				prev = c
			}
			// From the threshold to the worst value it must strictly rise (severity counts).
			if best := p.Confidence(with(func(s *Snapshot) { s.Outcomes = n; sw.set(s, sw.from) })); !(prev > best) {
				t.Fatalf("%s (%d outcomes): confidence at the worst value %v is not above the best %v", sw.name, n, prev, best)
			}
		}
	}
}

func TestConfidenceWithinUnitInterval(t *testing.T) {
	p := DefaultAnomalyPolicy()
	for _, n := range []int{0, 1, 3, 10, 100, 1000} {
		for _, sr := range []float64{0, 0.5, 1} {
			for _, rt := range []float64{0, 45, 1e9} {
				for _, mi := range []float64{0, 0.5, 1} {
					s := Snapshot{Outcomes: n, SuccessRate: sr, EfficiencyScore: sr, ResponseTime: rt, MarketImpact: mi}
					if c := p.Confidence(s); c < 0 || c > 1 || math.IsNaN(c) {
						t.Fatalf("confidence %v for %+v", c, s)
					}
					if sev := p.Severity(s); sev < 0 || sev > 1 || math.IsNaN(sev) {
						t.Fatalf("severity %v for %+v", sev, s)
					}
				}
			}
		}
	}
}

// TestRejectedConfidenceFormula shows why confidence is not 1 − |0.75 − health|: that formula
// peaks at health 0.75 and falls as the agent gets worse, so it would stop locking exactly when
// things are worst. Ours keeps rising.
func TestRejectedConfidenceFormula(t *testing.T) {
	p := DefaultAnomalyPolicy()
	rejected := func(health float64) float64 { return 1 - math.Abs(0.75-health) }
	// Health (success rate) falls from 0.75 to 0: the rejected formula falls from 1 to 0.25.
	if !(rejected(0) < rejected(0.4) && rejected(0.4) < rejected(0.75)) {
		t.Fatal("the rejected formula is expected to fall as health falls below 0.75")
	}
	if rejected(0) >= p.Tiers[2].Lock.MinConfidence {
		t.Fatal("the rejected formula is expected to be under the tier-3 lock threshold at health 0")
	}
	ours := func(health float64) float64 {
		return p.Confidence(with(func(s *Snapshot) { s.SuccessRate, s.EfficiencyScore = health, health }))
	}
	if !(ours(0) > ours(0.4) && ours(0.4) > ours(0.75)) {
		t.Fatalf("confidence must rise as health falls: %v (0.75), %v (0.4), %v (0)", ours(0.75), ours(0.4), ours(0))
	}
	if ours(0) < p.Tiers[2].Lock.MinConfidence {
		t.Fatalf("confidence at health 0 with 10 outcomes (%v) must reach the tier-3 lock threshold", ours(0))
	}
	// And the worst agent with enough failures is actually locked.
	s := Snapshot{Agent: "a1", Outcomes: 10, SuccessRate: 0, EfficiencyScore: 0, ResponseTime: 10, MarketImpact: 0.5, ConsecutiveFailures: 10}
	if a, _ := p.Assess(s, Escalation{}); !a.Lock {
		t.Fatalf("the worst agent is not locked: %+v", a)
	}
}

// tier1 is a snapshot at tier 1 only (success rate 0.8), tier2 at 2 only, tier3 at 3.
func tierSnap(tier int) Snapshot {
	switch tier {
	case 1:
		return with(func(s *Snapshot) { s.SuccessRate = 0.8 })
	case 2:
		return with(func(s *Snapshot) { s.SuccessRate = 0.7 })
	case 3:
		return with(func(s *Snapshot) { s.SuccessRate = 0.55 })
	}
	return fine()
}

type step struct {
	classified  int
	tier        int
	iterations  int
	escalated   bool
	maxIter     int
	escTier     int
	escIterates int
}

func runAssess(t *testing.T, p AnomalyPolicy, prev Escalation, classes []int, want []step) {
	t.Helper()
	esc := prev
	for i, c := range classes {
		a, next := p.Assess(tierSnap(c), esc)
		w := want[i]
		if a.Classified != w.classified || a.Tier != w.tier || a.Iterations != w.iterations || a.Escalated != w.escalated {
			t.Fatalf("evaluation %d (classified %d, prev %+v): got classified %d tier %d iterations %d escalated %v, want %+v",
				i+1, c, esc, a.Classified, a.Tier, a.Iterations, a.Escalated, w)
		}
		if a.Recommendation.Tier != w.tier || a.Recommendation.MaxIterations != w.maxIter {
			t.Fatalf("evaluation %d: recommendation %+v, want tier %d max iterations %d", i+1, a.Recommendation, w.tier, w.maxIter)
		}
		if next.Tier != w.escTier || next.Iterations != w.escIterates {
			t.Fatalf("evaluation %d: next escalation %+v, want {%d %d}", i+1, next, w.escTier, w.escIterates)
		}
		if a.Lock {
			t.Fatalf("evaluation %d: locked without consecutive failures", i+1)
		}
		esc = next
	}
}

func TestAssessEscalatesAPersistingAnomaly(t *testing.T) {
	// Tier 1 for its 3 iterations, the 4th escalates to tier 2, which holds for its 2, then tier
	// 3 (which does not escalate further and keeps counting).
	runAssess(t, DefaultAnomalyPolicy(), Escalation{}, []int{1, 1, 1, 1, 1, 1, 1, 1}, []step{
		{1, 1, 1, false, 3, 1, 1},
		{1, 1, 2, false, 3, 1, 2},
		{1, 1, 3, false, 3, 1, 3},
		{1, 2, 1, true, 2, 2, 1},
		{1, 2, 2, true, 2, 2, 2},
		{1, 3, 1, true, 1, 3, 1},
		{1, 3, 2, true, 1, 3, 2},
		{1, 3, 3, true, 1, 3, 3},
	})
}

func TestAssessHigherClassificationResetsIterations(t *testing.T) {
	runAssess(t, DefaultAnomalyPolicy(), Escalation{}, []int{1, 1, 2, 2, 2, 3, 3}, []step{
		{1, 1, 1, false, 3, 1, 1},
		{1, 1, 2, false, 3, 1, 2},
		{2, 2, 1, false, 2, 2, 1}, // higher: a fresh count at tier 2, not an escalation
		{2, 2, 2, false, 2, 2, 2},
		{2, 3, 1, true, 1, 3, 1},  // tier 2 beyond its 2 iterations
		{3, 3, 1, false, 1, 3, 1}, // now classified 3 on its own: a fresh count at tier 3
		{3, 3, 2, false, 1, 3, 2},
	})
	// Jumping straight from an escalated tier 2 to a classified tier 3 starts tier 3 afresh.
	runAssess(t, DefaultAnomalyPolicy(), Escalation{Tier: 2, Iterations: 1}, []int{3}, []step{
		{3, 3, 1, false, 1, 3, 1},
	})
}

func TestAssessHealthyResets(t *testing.T) {
	runAssess(t, DefaultAnomalyPolicy(), Escalation{}, []int{1, 1, 1, 0, 1, 1, 1, 1}, []step{
		{1, 1, 1, false, 3, 1, 1},
		{1, 1, 2, false, 3, 1, 2},
		{1, 1, 3, false, 3, 1, 3},
		{0, 0, 0, false, 0, 0, 0}, // healthy: no recommendation, escalation forgotten
		{1, 1, 1, false, 3, 1, 1},
		{1, 1, 2, false, 3, 1, 2},
		{1, 1, 3, false, 3, 1, 3},
		{1, 2, 1, true, 2, 2, 1},
	})
	// From an escalated tier 3 too.
	runAssess(t, DefaultAnomalyPolicy(), Escalation{Tier: 3, Iterations: 7}, []int{0, 1}, []step{
		{0, 0, 0, false, 0, 0, 0},
		{1, 1, 1, false, 3, 1, 1},
	})
	a, _ := DefaultAnomalyPolicy().Assess(fine(), Escalation{Tier: 3, Iterations: 1})
	if !reflect.DeepEqual(a.Recommendation, Recommendation{}) || a.Lock {
		t.Fatalf("healthy assessment carries a recommendation or a lock: %+v", a)
	}
}

// TestAssessLowerClassificationDeescalates: an agent that improves (tier 2 → tier 1) starts a
// fresh count at tier 1 instead of carrying tier 2's count towards tier 3.
func TestAssessLowerClassificationDeescalates(t *testing.T) {
	runAssess(t, DefaultAnomalyPolicy(), Escalation{}, []int{2, 1, 1, 1, 1}, []step{
		{2, 2, 1, false, 2, 2, 1},
		{1, 1, 1, false, 3, 1, 1},
		{1, 1, 2, false, 3, 1, 2},
		{1, 1, 3, false, 3, 1, 3},
		{1, 2, 1, true, 2, 2, 1},
	})
}

func TestAssessRespectsCustomMaxIterations(t *testing.T) {
	p := DefaultAnomalyPolicy()
	p.Tiers[0].MaxIterations = 1
	p.Tiers[1].MaxIterations = 1
	runAssess(t, p, Escalation{}, []int{1, 1, 1, 1}, []step{
		{1, 1, 1, false, 1, 1, 1},
		{1, 2, 1, true, 1, 2, 1},
		{1, 3, 1, true, 1, 3, 1},
		{1, 3, 2, true, 1, 3, 2},
	})
}

// lockSnap is a tier-3 snapshot (success rate sr ≤ 0.55) with 10 outcomes and the given trailing
// failure streak.
func lockSnap(sr float64, consecutive int) Snapshot {
	return Snapshot{Agent: "a1", Outcomes: 10, Successes: int(sr * 10), SuccessRate: sr, EfficiencyScore: 1,
		ResponseTime: 10, MarketImpact: 0.5, ConsecutiveFailures: consecutive, At: t0}
}

func TestAssessLockCriteria(t *testing.T) {
	p := DefaultAnomalyPolicy()
	// Success rate 0: severity 1, confidence 1 − e^-2 ≈ 0.865 ≥ 0.65.
	cases := []struct {
		name string
		s    Snapshot
		prev Escalation
		lock bool
	}{
		{"tier 3, 3 consecutive failures", lockSnap(0, 3), Escalation{}, true},
		{"tier 3, 2 consecutive failures", lockSnap(0, 2), Escalation{}, false},
		{"tier 3, 10 consecutive failures", lockSnap(0, 10), Escalation{}, true},
		// Classified tier 2 (efficiency 0.36: severity ≈ 0.446) with 50 outcomes: confidence ≈ 0.72.
		{"tier 3 by escalation", with(func(s *Snapshot) { s.Outcomes, s.EfficiencyScore, s.ConsecutiveFailures = 50, 0.36, 3 }),
			Escalation{Tier: 2, Iterations: 2, Classified: 2}, true},
		{"tier 2, tier-3 criteria met", with(func(s *Snapshot) { s.Outcomes, s.EfficiencyScore, s.ConsecutiveFailures = 50, 0.36, 10 }),
			Escalation{}, false},
		// 5 outcomes: confidence ≤ 1 − e^-1 ≈ 0.632 < 0.65, whatever the severity.
		{"tier 3, too little evidence", with(func(s *Snapshot) { s.Outcomes, s.SuccessRate, s.ConsecutiveFailures = 5, 0, 5 }),
			Escalation{}, false},
	}
	for _, tc := range cases {
		a, _ := p.Assess(tc.s, tc.prev)
		if a.Lock != tc.lock {
			t.Errorf("%s: lock %v, want %v (tier %d, confidence %v)", tc.name, a.Lock, tc.lock, a.Tier, a.Confidence)
		}
	}
	// Tier 2 never locks, even with lock criteria that anything meets.
	q := DefaultAnomalyPolicy()
	q.Tiers[0].Lock = LockCriteria{}
	q.Tiers[1].Lock = LockCriteria{}
	for _, tier := range []int{1, 2} {
		s := tierSnap(tier)
		s.ConsecutiveFailures = 10
		if a, _ := q.Assess(s, Escalation{}); a.Tier != tier || a.Lock {
			t.Errorf("tier %d with zero lock criteria: tier %d lock %v, want no lock", tier, a.Tier, a.Lock)
		}
	}
}

// TestAssessLockConfidenceBoundary finds, with the default policy, the success rate at which the
// confidence crosses 0.65 (to the last float step) and checks that the lock is decided by
// confidence >= 0.65 exactly there.
func TestAssessLockConfidenceBoundary(t *testing.T) {
	p := DefaultAnomalyPolicy()
	conf := func(sr float64) float64 { return p.Confidence(lockSnap(sr, 3)) }
	min := p.Tiers[2].Lock.MinConfidence
	// conf falls as the success rate rises; conf(0) ≥ 0.65 > conf(0.55). Bisect on the bits of
	// the (positive) float: lo always meets the threshold, hi never does.
	lo, hi := math.Float64bits(0), math.Float64bits(0.55)
	if !(conf(0) >= min) || conf(0.55) >= min {
		t.Fatalf("bad bracket: %v %v", conf(0), conf(0.55))
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if conf(math.Float64frombits(mid)) >= min {
			lo = mid
		} else {
			hi = mid
		}
	}
	at, past := math.Float64frombits(lo), math.Float64frombits(hi)
	if math.Abs(conf(at)-min) > 1e-15 {
		t.Fatalf("boundary confidence %v is not 0.65", conf(at))
	}
	if a, _ := p.Assess(lockSnap(at, 3), Escalation{}); a.Tier != 3 || !a.Lock || a.Confidence < min {
		t.Fatalf("success rate %v: confidence %v ≥ 0.65 must lock: %+v", at, a.Confidence, a)
	}
	if a, _ := p.Assess(lockSnap(past, 3), Escalation{}); a.Tier != 3 || a.Lock {
		t.Fatalf("success rate %v: confidence %v < 0.65 must not lock: %+v", past, a.Confidence, a)
	}

	// And with the criterion set to a confidence exactly: equal locks, one step above does not.
	s := lockSnap(0.3, 3)
	c := p.Confidence(s)
	q := DefaultAnomalyPolicy()
	q.Tiers[2].Lock.MinConfidence = c
	if a, _ := q.Assess(s, Escalation{}); !a.Lock {
		t.Fatalf("confidence exactly at the minimum %v must lock", c)
	}
	q.Tiers[2].Lock.MinConfidence = up(c)
	if a, _ := q.Assess(s, Escalation{}); a.Lock {
		t.Fatalf("confidence one step below the minimum must not lock")
	}
}

func TestAssessRecommendationPayload(t *testing.T) {
	p := DefaultAnomalyPolicy()
	// Severity max(0.5/0.8, 55/135) = 0.625: confidence (1 − e^-2) × 0.8125 ≈ 0.70.
	s := with(func(s *Snapshot) { s.SuccessRate, s.ResponseTime, s.ConsecutiveFailures = 0.3, 100, 3 })
	a, esc := p.Assess(s, Escalation{})
	wantTriggers := []TriggerMetric{{"success_rate", 0.3, 0.55, "<="}, {"response_time", 100, 90, ">="}}
	want := Recommendation{Agent: "a1", Tier: 3, Confidence: p.Confidence(s), MaxIterations: 1,
		LockCriteria: LockCriteria{MinConfidence: 0.65, ConsecutiveFailures: 3}, TriggerMetrics: wantTriggers}
	if !reflect.DeepEqual(a.Recommendation, want) {
		t.Fatalf("recommendation %+v, want %+v", a.Recommendation, want)
	}
	if a.Confidence != want.Confidence || !a.Lock || esc != (Escalation{Tier: 3, Iterations: 1, Classified: 3}) || !reflect.DeepEqual(a.Snapshot, s) {
		t.Fatalf("assessment %+v %+v", a, esc)
	}

	// Escalated: tier, max iterations and lock criteria of the escalated tier, triggers of the
	// classification (against tier 1's thresholds).
	s1 := tierSnap(1)
	a, _ = p.Assess(s1, Escalation{Tier: 1, Iterations: 3, Classified: 1})
	want = Recommendation{Agent: "a1", Tier: 2, Confidence: p.Confidence(s1), MaxIterations: 2,
		LockCriteria:   LockCriteria{MinConfidence: 0.75, ConsecutiveFailures: 4},
		TriggerMetrics: []TriggerMetric{{"success_rate", 0.8, 0.8, "<="}}}
	if !reflect.DeepEqual(a.Recommendation, want) || !a.Escalated {
		t.Fatalf("escalated recommendation %+v, want %+v", a.Recommendation, want)
	}

	// The JSON field names are the alert payload contract.
	b, err := json.Marshal(a.Recommendation)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"agent", "tier", "confidence", "max_iterations", "lock_criteria", "trigger_metrics"} {
		if _, ok := m[k]; !ok {
			t.Errorf("recommendation JSON %s has no %q", b, k)
		}
	}
	if len(m) != 6 {
		t.Errorf("recommendation JSON has unexpected fields: %s", b)
	}
	lc, _ := m["lock_criteria"].(map[string]any)
	if lc["min_confidence"] != 0.75 || lc["consecutive_failures"] != 4.0 {
		t.Errorf("lock_criteria JSON %v", lc)
	}
	tm, _ := m["trigger_metrics"].([]any)
	if len(tm) != 1 {
		t.Fatalf("trigger_metrics JSON %v", m["trigger_metrics"])
	}
	if got := tm[0].(map[string]any); got["metric"] != "success_rate" || got["value"] != 0.8 || got["threshold"] != 0.8 || got["op"] != "<=" {
		t.Errorf("trigger metric JSON %v", got)
	}
	if m["agent"] != "a1" || m["tier"] != 2.0 || m["max_iterations"] != 2.0 {
		t.Errorf("recommendation JSON %s", b)
	}
}

// TestAssessEscalatesOnEvidenceOnly: an anomaly escalates after its tier's max iterations of
// evaluations that saw new evidence. Evaluations over the same outcomes (a timer firing again)
// leave the count where it is, however many there are; new evidence resumes it.
func TestAssessEscalatesOnEvidenceOnly(t *testing.T) {
	type eval struct {
		classified  int
		newEvidence bool
		tier        int
		iterations  int
		escalated   bool
	}
	cases := []struct {
		name  string
		evals []eval
	}{
		{"one old failure looked at again and again stays at tier 1", []eval{
			{1, true, 1, 1, false},
			{1, false, 1, 1, false}, {1, false, 1, 1, false}, {1, false, 1, 1, false},
			{1, false, 1, 1, false}, {1, false, 1, 1, false}, {1, false, 1, 1, false},
		}},
		{"new evidence each time escalates after tier 1's 3", []eval{
			{1, true, 1, 1, false}, {1, true, 1, 2, false}, {1, true, 1, 3, false}, {1, true, 2, 1, true},
		}},
		{"quiet evaluations in between neither count nor reset", []eval{
			{1, true, 1, 1, false}, {1, false, 1, 1, false}, {1, true, 1, 2, false}, {1, false, 1, 2, false},
			{1, false, 1, 2, false}, {1, true, 1, 3, false}, {1, false, 1, 3, false}, {1, true, 2, 1, true},
		}},
		{"an escalated tier 2 holds without evidence, then goes on", []eval{
			{1, true, 1, 1, false}, {1, true, 1, 2, false}, {1, true, 1, 3, false}, {1, true, 2, 1, true},
			{1, false, 2, 1, true}, {1, false, 2, 1, true}, {1, true, 2, 2, true}, {1, true, 3, 1, true},
		}},
		{"tier 2's own 2 iterations", []eval{
			{2, true, 2, 1, false}, {2, false, 2, 1, false}, {2, true, 2, 2, false}, {2, false, 2, 2, false}, {2, true, 3, 1, true},
		}},
		{"a new classification starts afresh even without evidence (the policy changed)", []eval{
			{1, true, 1, 1, false}, {1, true, 1, 2, false}, {2, false, 2, 1, false},
		}},
		{"healthy forgets the anomaly", []eval{
			{1, true, 1, 1, false}, {1, true, 1, 2, false}, {0, false, 0, 0, false}, {1, false, 1, 1, false},
		}},
	}
	p := DefaultAnomalyPolicy()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var esc Escalation
			for i, e := range tc.evals {
				a, next := p.AssessEvidence(tierSnap(e.classified), esc, e.newEvidence)
				if a.Classified != e.classified || a.Tier != e.tier || a.Iterations != e.iterations || a.Escalated != e.escalated {
					t.Fatalf("evaluation %d %+v after %+v: got tier %d iterations %d escalated %v", i+1, e, esc, a.Tier, a.Iterations, a.Escalated)
				}
				if next.Tier != e.tier || next.Iterations != e.iterations || next.Classified != e.classified {
					t.Fatalf("evaluation %d: next escalation %+v, want {%d %d %d}", i+1, next, e.tier, e.iterations, e.classified)
				}
				esc = next
			}
		})
	}
	// Assess is the rule with evidence on every evaluation.
	a1, e1 := p.Assess(tierSnap(1), Escalation{Tier: 1, Iterations: 3, Classified: 1})
	a2, e2 := p.AssessEvidence(tierSnap(1), Escalation{Tier: 1, Iterations: 3, Classified: 1}, true)
	if !reflect.DeepEqual(a1, a2) || e1 != e2 || a1.Tier != 2 {
		t.Fatalf("Assess %+v %+v differs from AssessEvidence with evidence %+v %+v", a1, e1, a2, e2)
	}
}
