package domain

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Cadence modes (EvaluationConfig.Cadence).
const (
	// CadenceFixed samples every SampleInterval, for the post's whole life.
	CadenceFixed = "fixed"
	// CadenceAdaptive samples every SampleInterval while the post is young, has just acted or
	// its score moves, and relaxes towards the sparsest interval the window allows while it
	// stays stable (NextCadence).
	CadenceAdaptive = "adaptive"
)

// The adaptive cadence's rules, relative to the post's configuration. They were tuned on the
// simulated platform's curves (grow, stall, die, and stalls beginning at 1 h, 6 h and 24 h):
// see bench/README.md, "cadence".
const (
	// CadenceMoveThreshold is the change of the stagnation score between two samples (or a
	// change of tier) that makes a post dense again: engagement is changing, and the next tier
	// may be near.
	CadenceMoveThreshold = 0.05
	// cadenceYoungWindows is how long a post is young, in windows: dense from its start.
	cadenceYoungWindows = 1
	// cadenceActedWindows is how long a post stays dense after an action reached the platform,
	// in windows: the action's effect (and the impact measurement) is being watched.
	cadenceActedWindows = 0.5
	// cadenceRelaxWindows is how long a post stays at one interval, in windows, before it
	// doubles (up to the sparsest).
	cadenceRelaxWindows = 0.5
	// cadenceWindowSlack is the part of the window kept free when the sparsest interval is
	// derived from it, so that timers firing a little late never leave the window with fewer
	// than MinSamples samples.
	cadenceWindowSlack = 1.0 / 30
)

// Cadence is how long a post waits before its next sample, and why. The post workflow gets it
// with each plan (the planner's local activity computes both), so a change of these rules
// never changes the cadence of a running workflow's recorded past; it carries the last one,
// which is the next call's Previous.
type Cadence struct {
	Mode     string        `json:"mode"`
	Interval time.Duration `json:"next_interval"`
	Reason   string        `json:"reason"`
	// CalmSince is when the post last had a reason to be dense (its start, an action, a score
	// move, too few samples): the interval relaxes with the time since (adaptive only).
	CalmSince time.Time `json:"calm_since,omitzero"`
	// Score and Tier are what this cadence was judged on (Scored false: too few samples).
	Score  float64 `json:"stagnation_score"`
	Tier   Tier    `json:"tier,omitempty"`
	Scored bool    `json:"scored"`
}

// cadenceJSON is Cadence on the wire, the interval as a Go duration string.
type cadenceJSON struct {
	Mode      string    `json:"mode"`
	Interval  string    `json:"next_interval"`
	Reason    string    `json:"reason"`
	CalmSince time.Time `json:"calm_since,omitzero"`
	Score     float64   `json:"stagnation_score"`
	Tier      Tier      `json:"tier,omitempty"`
	Scored    bool      `json:"scored"`
}

// MarshalJSON writes the interval as a duration string ("20m0s").
func (c Cadence) MarshalJSON() ([]byte, error) {
	return json.Marshal(cadenceJSON{Mode: c.Mode, Interval: c.Interval.String(), Reason: c.Reason,
		CalmSince: c.CalmSince, Score: c.Score, Tier: c.Tier, Scored: c.Scored})
}

// UnmarshalJSON reads what MarshalJSON writes; errors name the field.
func (c *Cadence) UnmarshalJSON(data []byte) error {
	var raw cadenceJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("cadence: %w", err)
	}
	d, err := time.ParseDuration(raw.Interval)
	if err != nil {
		return fieldErr("cadence.next_interval", "%v", err)
	}
	*c = Cadence{Mode: raw.Mode, Interval: d, Reason: raw.Reason, CalmSince: raw.CalmSince, Score: raw.Score, Tier: raw.Tier, Scored: raw.Scored}
	return nil
}

// CadenceInput is what the next interval depends on.
type CadenceInput struct {
	Config    EvaluationConfig
	PostID    string
	StartedAt time.Time
	Now       time.Time
	Log       []ActionRecord
	// Plan is this sample's plan; Previous the cadence of the sample before (nil: none).
	Plan     Plan
	Previous *Cadence
}

// Adaptive reports whether the configuration samples on the adaptive cadence. An empty
// Cadence is fixed: a post started before the field existed keeps its cadence.
func (c EvaluationConfig) Adaptive() bool { return c.Cadence == CadenceAdaptive }

// SparsestInterval is the longest interval the adaptive cadence uses: MaxSampleInterval (when
// set) but never so long that the window could hold fewer than MinSamples samples, with a
// thirtieth of the window kept free for late timers; never below SampleInterval.
func (c EvaluationConfig) SparsestInterval() time.Duration {
	limit := c.Window
	if c.MinSamples > 1 {
		limit = time.Duration(float64(c.Window)*(1-cadenceWindowSlack)) / time.Duration(c.MinSamples-1)
	}
	if c.MaxSampleInterval > 0 && c.MaxSampleInterval < limit {
		limit = c.MaxSampleInterval
	}
	return max(limit, c.SampleInterval)
}

// NextCadence is how long the post waits before its next sample. On the fixed cadence it is
// always SampleInterval. On the adaptive one, it is SampleInterval (dense) while the post is
// young (its first window), within half a window after an action reached the platform, when the
// score moved by CadenceMoveThreshold or changed tier since the previous sample, or when the
// window holds too few samples to judge; otherwise the interval doubles every half window the
// post stays calm, up to SparsestInterval. It is a pure function of its input.
func NextCadence(in CadenceInput) Cadence {
	cfg := in.Config
	base := cfg.SampleInterval
	if !cfg.Adaptive() {
		return Cadence{Mode: CadenceFixed, Interval: base, Reason: "fixed cadence: every sample_interval", Score: in.Plan.Score, Tier: in.Plan.Tier,
			Scored: in.Plan.Reason != ReasonInsufficientSamples}
	}
	c := Cadence{Mode: CadenceAdaptive, Interval: base, Score: in.Plan.Score, Tier: in.Plan.Tier,
		Scored: in.Plan.Reason != ReasonInsufficientSamples}
	now, window := in.Now, cfg.Window

	young := in.StartedAt.Add(windows(cadenceYoungWindows, window))
	calm, why := young, fmt.Sprintf("young: dense for the first %s", durationText(young.Sub(in.StartedAt)))
	if at, ok := lastActionAt(in.PostID, in.Log); ok {
		if until := at.Add(windows(cadenceActedWindows, window)); until.After(calm) {
			calm, why = until, "just acted at "+clockText(at)+": dense for half a window"
		}
	}
	prev := in.Previous
	if prev != nil && prev.Mode == CadenceAdaptive && prev.CalmSince.After(calm) {
		calm = prev.CalmSince // a score move or too few samples, before this sample: calm since
	}
	dense := now.Before(calm)
	switch {
	case !c.Scored:
		calm, why, dense = now, fmt.Sprintf("%d samples in the window, too few to judge", in.Plan.SampleCount), true
	case prev != nil && prev.Scored && (math.Abs(c.Score-prev.Score) >= CadenceMoveThreshold || c.Tier != prev.Tier):
		calm, why, dense = now, fmt.Sprintf("score moved %.2f → %.2f (%s → %s)", prev.Score, c.Score, prev.Tier, c.Tier), true
	}
	c.CalmSince = calm
	if dense {
		c.Reason = why
		return c
	}
	sparsest := cfg.SparsestInterval()
	stable := now.Sub(calm)
	steps := 1 + int(stable/windows(cadenceRelaxWindows, window))
	interval := base
	for i := 0; i < steps && interval < sparsest; i++ {
		interval *= 2
	}
	c.Interval = min(interval, sparsest)
	c.Reason = fmt.Sprintf("stable for %s: ×%.0f", durationText(stable), float64(c.Interval)/float64(base))
	if c.Interval == sparsest {
		c.Reason += fmt.Sprintf(", the sparsest (%d samples in a %s window)", cfg.MinSamples, durationText(window))
	}
	return c
}

// lastActionAt is when the post's latest action that reached (or may have reached) the
// platform started.
func lastActionAt(postID string, log []ActionRecord) (time.Time, bool) {
	var at time.Time
	ok := false
	for _, r := range log {
		if countsAgainstLimits(r, postID) && (!ok || r.InitiatedAt.After(at)) {
			at, ok = r.InitiatedAt, true
		}
	}
	return at, ok
}

// windows is n windows as a duration.
func windows(n float64, window time.Duration) time.Duration {
	return time.Duration(n * float64(window))
}

func clockText(t time.Time) string { return t.UTC().Format("15:04:05") }

// durationText prints a duration without trailing zero units ("1h30m", "45m", "20s").
func durationText(d time.Duration) string {
	s := d.Round(time.Second).String()
	for _, z := range []struct{ from, to string }{{"m0s", "m"}, {"h0m", "h"}} {
		if len(s) > len(z.from) && s[len(s)-len(z.from):] == z.from {
			s = s[:len(s)-len(z.from)] + z.to
		}
	}
	return s
}
