package sim

import (
	"hash/fnv"
	"strings"
	"time"
)

// Curve is the shape of a post's engagement over simulated time. Impressions grow linearly on
// every curve (at a per-post rate between 100 and 149 a simulated minute); what differs is the
// share of new impressions that turn into engagements, chosen so that the planner's stagnation
// score lands clearly inside one tier:
//
//	grow   5.5% → rate*20 ≥ 1, score ≈ 0    → tier 1 (comment)
//	stall  1.5% → score ≈ 0.7                → tier 2 (edit)
//	die    0.1% → score ≈ 0.98               → tier 3 (thread)
//	gone   like stall, then the post is deleted after Options.GoneAfter
//	stall1h, stall6h, stall24h
//	       like grow, then like stall from 1, 6 or 24 simulated hours into the curve: a post
//	       that stalls late (the benchmark measures how soon the stall is acted on)
//
// Posts on the same curve differ in audience (the rate above, the counters at first sight) and
// in when a late stall begins, from a hash of the ID's part before any '~' (profileFor).
//
// Counters are integers computed from the time since the curve started, never accumulated
// step by step, so two reads at the same simulated time agree and counters never go down. A
// window should span a few simulated minutes (a few hundred impressions) for the rounding of
// engagements to stay well inside the tier.
type Curve string

const (
	CurveGrow  Curve = "grow"
	CurveStall Curve = "stall"
	CurveDie   Curve = "die"
	CurveGone  Curve = "gone"
	// Late stalls: grow, then stall from a given time into the curve (StallsAt).
	CurveStall1h  Curve = "stall1h"
	CurveStall6h  Curve = "stall6h"
	CurveStall24h Curve = "stall24h"
)

// Curves lists every curve, in a fixed order.
var Curves = []Curve{CurveGrow, CurveStall, CurveDie, CurveGone, CurveStall1h, CurveStall6h, CurveStall24h}

// StallsAt is how far into a late-stall curve a post's stall begins (ok false for other
// curves): the curve's hour plus up to 10 simulated minutes from a hash of the post's ID, so
// that posts sampled on the same grid stall at different points of their sampling.
func (c Curve) StallsAt(postID string) (time.Duration, bool) {
	return c.stallAt(profileFor(postID))
}

func (c Curve) stallAt(p profile) (time.Duration, bool) {
	var at time.Duration
	switch c {
	case CurveStall1h:
		at = time.Hour
	case CurveStall6h:
		at = 6 * time.Hour
	case CurveStall24h:
		at = 24 * time.Hour
	default:
		return 0, false
	}
	return at + p.stallOffset, true
}

// Valid reports whether c is a known curve.
func (c Curve) Valid() bool {
	switch c {
	case CurveGrow, CurveStall, CurveDie, CurveGone, CurveStall1h, CurveStall6h, CurveStall24h:
		return true
	}
	return false
}

// engagementsPerMille is the share of new impressions that become engagements.
func (c Curve) engagementsPerMille() int64 {
	switch c {
	case CurveGrow, CurveStall1h, CurveStall6h, CurveStall24h: // a late stall grows first
		return 55
	case CurveDie:
		return 1
	default: // stall, gone
		return 15
	}
}

// CurveFor is the curve a post follows unless one was set through the admin API: the ID's
// prefix ("grow-", "stall-", "die-", "gone-") names it; any other ID gets grow, stall or die
// from a hash of the ID, so the same ID always behaves the same way.
func CurveFor(postID string) Curve {
	for _, c := range Curves {
		if strings.HasPrefix(postID, string(c)+"-") {
			return c
		}
	}
	return []Curve{CurveGrow, CurveStall, CurveDie}[idHash(postID)%3]
}

// Counters are a post's cumulative counters.
type Counters struct {
	Impressions int64 `json:"impressions"`
	Engagements int64 `json:"engagements"`
}

// profile is what makes posts on the same curve differ: their audience size.
type profile struct {
	impressionsPerMinute int64
	startImpressions     int64
	// stallOffset delays a late stall (StallsAt).
	stallOffset time.Duration
}

// profileFor draws a post's profile from its ID up to the first '~' (the whole ID without
// one): posts named "base~a" and "base~b" have the same audience and the same stall point, so a
// benchmark can compare two configurations on the same post rather than on two random ones.
func profileFor(postID string) profile {
	key, _, _ := strings.Cut(postID, "~")
	h := idHash(key)
	return profile{
		impressionsPerMinute: 100 + int64(h%50),
		startImpressions:     200 + int64((h/50)%300),
		stallOffset:          time.Duration((h/15000)%600) * time.Second,
	}
}

// startCounters are the counters a post has when the sim first sees it.
func (c Curve) startCounters(p profile) Counters {
	return Counters{
		Impressions: p.startImpressions,
		Engagements: p.startImpressions * c.engagementsPerMille() / 1000,
	}
}

// maxSimElapsed caps simulated time so that the integer arithmetic below cannot overflow
// (a century of simulated time is far beyond any horizon).
const maxSimElapsed = 100 * 365 * 24 * time.Hour

// after returns the counters elapsed simulated time after a curve started at base.
func (c Curve) after(base Counters, p profile, elapsed time.Duration) Counters {
	elapsed = min(max(elapsed, 0), maxSimElapsed)
	impressions := func(d time.Duration) int64 {
		return p.impressionsPerMinute * d.Milliseconds() / time.Minute.Milliseconds()
	}
	newImpressions := impressions(elapsed)
	out := Counters{
		Impressions: base.Impressions + newImpressions,
		Engagements: base.Engagements + newImpressions*c.engagementsPerMille()/1000,
	}
	if at, ok := c.stallAt(p); ok && elapsed > at {
		before := impressions(at)
		out.Engagements = base.Engagements + before*c.engagementsPerMille()/1000 + (newImpressions-before)*CurveStall.engagementsPerMille()/1000
	}
	return out
}

func idHash(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()
}
