package sim

import (
	"fmt"
	"testing"
	"time"

	"resurge/domain"
)

func TestCurveForPrefixes(t *testing.T) {
	cases := map[string]Curve{
		"grow-1": CurveGrow, "stall-abc": CurveStall, "die-x": CurveDie, "gone-7": CurveGone,
	}
	for id, want := range cases {
		if got := CurveFor(id); got != want {
			t.Errorf("CurveFor(%q) = %s, want %s", id, got, want)
		}
	}
}

func TestCurveForOtherIDsIsDeterministicAndSpread(t *testing.T) {
	seen := map[Curve]int{}
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("post%d", i)
		c := CurveFor(id)
		if c != CurveFor(id) {
			t.Fatalf("CurveFor(%q) changed between calls", id)
		}
		if c == CurveGone {
			t.Fatalf("CurveFor(%q) = gone: only the gone- prefix may delete a post", id)
		}
		seen[c]++
	}
	for _, c := range []Curve{CurveGrow, CurveStall, CurveDie} {
		if seen[c] == 0 {
			t.Errorf("no ID out of 60 got curve %s: %v", c, seen)
		}
	}
}

func TestCountersAreMonotoneAndAFunctionOfTime(t *testing.T) {
	for _, c := range Curves {
		p := profileFor("some-post-" + string(c))
		base := c.startCounters(p)
		prev := base
		for elapsed := time.Duration(0); elapsed <= 48*time.Hour; elapsed += 7*time.Minute + 13*time.Second {
			got := c.after(base, p, elapsed)
			if got != c.after(base, p, elapsed) {
				t.Fatalf("%s: two reads at %s differ", c, elapsed)
			}
			if got.Impressions < prev.Impressions || got.Engagements < prev.Engagements {
				t.Fatalf("%s: counters went down at %s: %+v then %+v", c, elapsed, prev, got)
			}
			prev = got
		}
		if prev.Impressions <= base.Impressions {
			t.Errorf("%s: impressions never grew", c)
		}
	}
}

// wantTier is the tier each non-deleting curve must produce.
var wantTier = map[Curve]domain.Tier{CurveGrow: domain.Tier1, CurveStall: domain.Tier2, CurveDie: domain.Tier3}

func TestCurvesProduceTheirTiersOverThreeSamples(t *testing.T) {
	s, clock := startSim(t, Options{})
	for curve, want := range wantTier {
		for i := 0; i < 5; i++ {
			id := fmt.Sprintf("%s-%d", curve, i)
			// Default config: 10 minutes between samples.
			got, score := tierOver(t, s, clock, id, 3, 10*time.Minute)
			if got != want {
				t.Errorf("%s: tier %s (score %.3f), want %s", id, got, score, want)
			}
		}
	}
}

func TestHashPickedCurvesProduceTheirTiers(t *testing.T) {
	s, clock := startSim(t, Options{})
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("p%d", i)
		got, score := tierOver(t, s, clock, id, 3, 10*time.Minute)
		if want := wantTier[CurveFor(id)]; got != want {
			t.Errorf("%s (%s): tier %s (score %.3f), want %s", id, CurveFor(id), got, score, want)
		}
	}
}

func TestTimeScaleAcceleratesCurves(t *testing.T) {
	// At 60x, samples 10 real seconds apart span 10 simulated minutes each.
	s, clock := startSim(t, Options{TimeScale: 60})
	for curve, want := range wantTier {
		id := string(curve) + "-fast"
		first := sample(t, s, id)
		clock.Advance(10 * time.Second)
		second := sample(t, s, id)
		if d := second.Impressions - first.Impressions; d < 1000 {
			t.Errorf("%s: only %d impressions in 10 simulated minutes", id, d)
		}
		clock.Advance(10 * time.Second)
		third := sample(t, s, id)
		got := domain.TierForScore(domain.StagnationScore([]domain.MetricsSample{first, second, third}))
		if got != want {
			t.Errorf("%s: tier %s, want %s", id, got, want)
		}
	}
}

func TestSameSimTimeSameNumbers(t *testing.T) {
	s, clock := startSim(t, Options{})
	sample(t, s, "grow-same")
	clock.Advance(25 * time.Minute)
	a, b := sample(t, s, "grow-same"), sample(t, s, "grow-same")
	if a != b {
		t.Fatalf("two reads at the same time differ: %+v vs %+v", a, b)
	}
	if !a.At.Equal(clock.Now()) {
		t.Errorf("at = %s, want the server clock %s", a.At, clock.Now())
	}
}

func TestSetCurveNeverLowersCountersAndTakesEffect(t *testing.T) {
	s, clock := startSim(t, Options{})
	id := "grow-then-die"
	before := sample(t, s, id)
	clock.Advance(30 * time.Minute)
	r := call(t, s, "PUT", "/admin/posts/"+id, map[string]string{"curve": "die"}, nil)
	if r.status != 200 {
		t.Fatalf("set curve: HTTP %d %s", r.status, r.body)
	}
	at := sample(t, s, id)
	if at.Impressions < before.Impressions || at.Engagements < before.Engagements {
		t.Fatalf("counters went down after the curve change: %+v then %+v", before, at)
	}
	if got, score := tierOver(t, s, clock, id, 3, 10*time.Minute); got != domain.Tier3 {
		t.Errorf("after switching to die: tier %s (score %.3f), want tier_3", got, score)
	}
	if r := call(t, s, "PUT", "/admin/posts/"+id, map[string]string{"curve": "wilt"}, nil); r.status != 400 {
		t.Errorf("unknown curve: HTTP %d, want 400", r.status)
	}
}

func TestSetCurveBeforeFirstSight(t *testing.T) {
	s, clock := startSim(t, Options{})
	if err := s.SetCurve("grow-but-die", CurveDie); err != nil {
		t.Fatal(err)
	}
	if got, _ := tierOver(t, s, clock, "grow-but-die", 3, 10*time.Minute); got != domain.Tier3 {
		t.Errorf("tier %s, want tier_3", got)
	}
}

// TestLateStallCurves: a late-stall post grows (tier 1) until its stall, and a window after it
// stalls (tier 2); its prefix names it.
func TestLateStallCurves(t *testing.T) {
	for _, c := range []Curve{CurveStall1h, CurveStall6h, CurveStall24h} {
		at, ok := c.StallsAt(string(c) + "-p")
		if !ok || CurveFor(string(c)+"-1") != c {
			t.Fatalf("%s: stalls at %s %v, CurveFor %s", c, at, ok, CurveFor(string(c)+"-1"))
		}
		s, clock := startSim(t, Options{})
		id := string(c) + "-p"
		sample(t, s, id) // first seen: the curve starts
		clock.Advance(at - 40*time.Minute)
		if got, score := tierOver(t, s, clock, id, 3, 10*time.Minute); got != domain.Tier1 {
			t.Errorf("%s before the stall: tier %s (score %.3f), want tier_1", c, got, score)
		}
		clock.Advance(2 * time.Hour)
		if got, score := tierOver(t, s, clock, id, 3, 10*time.Minute); got != domain.Tier2 {
			t.Errorf("%s after the stall: tier %s (score %.3f), want tier_2", c, got, score)
		}
	}
	seen := map[time.Duration]bool{}
	for i := range 50 {
		at, _ := CurveStall6h.StallsAt(fmt.Sprintf("stall6h-%d", i))
		if at < 6*time.Hour || at >= 6*time.Hour+10*time.Minute {
			t.Fatalf("stall6h-%d stalls at %s", i, at)
		}
		seen[at.Truncate(time.Minute)] = true
	}
	if len(seen) < 5 {
		t.Fatalf("50 posts stall in %d distinct minutes: not spread", len(seen))
	}
	if _, ok := CurveStall.StallsAt("stall-1"); ok {
		t.Fatal("stall stalls from the start: no late stall")
	}
}

// TestTwinsShareTheirProfile: IDs that differ only after a '~' are the same audience and stall
// at the same point (a benchmark compares two configurations on them); other IDs differ.
func TestTwinsShareTheirProfile(t *testing.T) {
	differ := 0
	for i := range 20 {
		a, b := fmt.Sprintf("stall1h-%02d~fixed", i), fmt.Sprintf("stall1h-%02d~adaptive", i)
		if pa, pb := profileFor(a), profileFor(b); pa != pb {
			t.Fatalf("%s and %s: profiles %+v and %+v, want equal", a, b, pa, pb)
		}
		if profileFor(a) != profileFor(fmt.Sprintf("stall1h-%02d~fixed", i+1)) {
			differ++
		}
		if at, _ := CurveStall1h.StallsAt(a); at != profileFor(fmt.Sprintf("stall1h-%02d", i)).stallOffset+time.Hour {
			t.Fatalf("%s stalls at %s, not where its base ID does", a, at)
		}
	}
	if differ < 15 {
		t.Fatalf("only %d of 20 neighbouring IDs differ in profile: the '~' rule swallowed the ID", differ)
	}
}
