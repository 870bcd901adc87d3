package benchlib

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the cadence (issue 13 §2).
const (
	cadenceLifetimeGoal = 190  // lifetime billable actions per post, adaptive, default config
	cadenceLatencyGoal  = 1.10 // adaptive / fixed stall-to-action latency, stalls in the first 6 h
)

// cadenceTargets are the cadence phase's targets.
func cadenceTargets(c *CadenceResults) []Target {
	life := Target{Name: "lifetime billable actions per post, adaptive cadence", Goal: fmt.Sprintf("≤ %d at the default configuration", cadenceLifetimeGoal)}
	lat := Target{Name: "stall-to-action latency, adaptive vs fixed", Goal: "≤ +10% (median and 90th percentile) for stalls in the first 6 hours"}
	if c == nil || len(c.Modes) == 0 {
		life.Met, lat.Met = "n/a", "n/a"
		return []Target{life, lat}
	}
	a, f := c.Modes[CadenceModeAdaptive()], c.Modes[CadenceModeFixed()]
	worst := 0.0
	for _, cc := range c.Curves {
		worst = max(worst, cc.Modes[CadenceModeAdaptive()].LifetimeActions)
	}
	life.Measured = fmt.Sprintf("%.0f per post over the curves (fixed %.0f, ×%.2f); the costliest curve %.0f", a.LifetimeActions, f.LifetimeActions,
		ratio(a.LifetimeActions, f.LifetimeActions), worst)
	life.Met = yesNo(a.LifetimeActions <= cadenceLifetimeGoal)
	if c.Horizon != (48 * time.Hour).String() {
		life.Met, life.Why = "n/a", "measured over a "+c.Horizon+" horizon, not the default 48h"
	}

	var parts []string
	ok, any := true, false
	for _, cc := range c.Curves {
		at, err := time.ParseDuration(cc.StallAt)
		if cc.StallAt == "" || err != nil || at > 6*time.Hour {
			continue
		}
		fm, am := cc.Modes[CadenceModeFixed()], cc.Modes[CadenceModeAdaptive()]
		if fm.LatencyN == 0 || am.LatencyN == 0 {
			parts = append(parts, cc.Curve+": no stall action measured")
			ok = false
			continue
		}
		any = true
		r50, r90 := ratio(am.LatencyP50, fm.LatencyP50), ratio(am.LatencyP90, fm.LatencyP90)
		parts = append(parts, fmt.Sprintf("%s: p50 %.0f→%.0f min (×%.2f), p90 %.0f→%.0f min (×%.2f)", cc.Curve, fm.LatencyP50, am.LatencyP50, r50, fm.LatencyP90, am.LatencyP90, r90))
		ok = ok && r50 <= cadenceLatencyGoal && r90 <= cadenceLatencyGoal
	}
	lat.Measured, lat.Met = strings.Join(parts, "; "), yesNo(any && ok)
	return []Target{life, lat}
}

// CadenceModeFixed and CadenceModeAdaptive name the cadence phase's modes in its results.
func CadenceModeFixed() string    { return cadenceModes[0] }
func CadenceModeAdaptive() string { return cadenceModes[1] }

// cadenceNotes explain the cadence phase.
func cadenceNotes(c *CadenceResults) []string {
	if c == nil {
		return nil
	}
	ns := []string{fmt.Sprintf("Cadence: %d posts per curve and cadence lived their %s horizon on the real server at %g× (the simulated platform and every duration of the default configuration scaled alike: 10 minutes is %s of real time), in %.0f s. Lifetime billable actions are counted from every post's histories by the rules above, plus its share of the arbiter's (%.2f per arbitration) and of its agent's monitor's (%.1f per platform action), their starts excluded. Prices: %s.",
		c.PostsPerCurve, c.Horizon, c.TimeScale, time.Duration(float64(10*time.Minute)/c.TimeScale), c.WallSeconds,
		c.ArbiterActionsPerArbitration, c.MonitorActionsPerAction, c.Price)}
	for _, e := range c.Errors {
		ns = append(ns, "cadence: "+e)
	}
	return ns
}

// writeCadence prints the cadence phase.
func writeCadence(w io.Writer, c *CadenceResults) {
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\nCadence (%d posts per curve and cadence, %s horizon at %g×): per post, lifetime\n", c.PostsPerCurve, c.Horizon, c.TimeScale)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "curve\tstalls at\tcadence\tcycles\tsamples\tactions on the platform\tbillable: post\tarbiter\tmonitor\tlifetime\tstall → action p50 min\tp90 min\t(to the effect p50\tp90)\t")
	for _, cc := range c.Curves {
		for _, m := range cadenceModes {
			cm := cc.Modes[m]
			stall, p50, p90, w50, w90 := cc.StallAt, "-", "-", "-", "-"
			if stall == "" {
				stall = "-"
			}
			if cm.LatencyN > 0 {
				p50, p90 = fmt.Sprintf("%.0f", cm.LatencyP50), fmt.Sprintf("%.0f", cm.LatencyP90)
				w50, w90 = fmt.Sprintf("%.0f", cm.WallLatencyP50), fmt.Sprintf("%.0f", cm.WallLatencyP90)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t\n", cc.Curve, stall, m, cm.Cycles, cm.Samples, cm.Effects,
				cm.PostActions, cm.ArbiterActions, cm.MonitorActions, cm.LifetimeActions, p50, p90, w50, w90)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "  at $50 per million actions (Temporal Cloud's list price):")
	for _, m := range cadenceModes {
		s := c.Modes[m]
		fmt.Fprintf(w, "  %-8s %5.0f actions per post ($%.4f); 10,000 posts a month $%.2f; 10,000 posts watched at all times $%.2f a month\n",
			m, s.LifetimeActions, s.USDPerPost, s.USDPer10kPostsMonthly, s.USDPer10kOpenMonthly)
	}
}
