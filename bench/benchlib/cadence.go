package benchlib

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"resurge/app"
	"resurge/bench/analysis"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform/sim"
	"resurge/workflows"
)

// The cadence phase lives posts through their whole horizon on the real server, at an
// accelerated time scale (the simulated platform and every duration of the default
// configuration scaled alike), on the simulated curves, fixed and adaptive cadence side by
// side, and counts their lifetime billable actions from their histories (the arbiter's and the
// monitors' shares included) and how soon each stall was acted on.

// cadenceCurves are the phase's curves: a stall from the start (stall, die) or later.
var cadenceCurves = []sim.Curve{sim.CurveGrow, sim.CurveStall, sim.CurveDie, sim.CurveStall1h, sim.CurveStall6h, sim.CurveStall24h}

// cadenceModes are the two cadences compared.
var cadenceModes = []string{domain.CadenceFixed, domain.CadenceAdaptive}

// Temporal Cloud's list price of actions (https://docs.temporal.io/cloud/pricing, "Action
// pricing": $50 per million, the Developer plan's price at every volume and the first 5M a
// month on the others).
const (
	actionPriceUSD     = 50.0 / 1e6
	actionPriceSource  = "https://docs.temporal.io/cloud/pricing (temporalio/documentation docs/evaluate/cloud/pricing.mdx, \"Action pricing\"): $50 per million actions, the Developer plan's price at every volume and the first 5M a month on Business and above (volume tiers down to $25/M past 100M)"
	hoursPerMonth      = 730.0 // 365 × 24 / 12
	pricedPostsPerMont = 10_000
)

// CadenceResults is the cadence phase.
type CadenceResults struct {
	// TimeScale: simulated seconds per real second; Horizon the simulated horizon.
	TimeScale     float64 `json:"time_scale"`
	Horizon       string  `json:"horizon"`
	PostsPerCurve int     `json:"posts_per_curve_and_cadence"`
	WallSeconds   float64 `json:"wall_seconds"`
	// Config is the product's default configuration the posts ran (scaled).
	Config string         `json:"config"`
	Curves []CadenceCurve `json:"curves"`
	// Modes summarizes each cadence over every curve (each curve weighs the same).
	Modes map[string]CadenceSummary `json:"modes"`
	// ArbiterActionsPerArbitration and MonitorActionsPerAction are the shares the posts were
	// charged (the arbiter's and monitors' starts excluded).
	ArbiterActionsPerArbitration float64  `json:"arbiter_actions_per_arbitration"`
	MonitorActionsPerAction      float64  `json:"monitor_actions_per_action"`
	Price                        string   `json:"price_source"`
	Errors                       []string `json:"errors,omitempty"`
}

// CadenceCurve is one curve, both cadences.
type CadenceCurve struct {
	Curve string `json:"curve"`
	// StallAt is when the curve stalls (simulated, from the post's first sample; each post of a
	// late stall adds up to 10 minutes of its own, see sim.Curve.StallsAt); empty: never.
	StallAt string                 `json:"stall_at,omitempty"`
	Modes   map[string]CadenceMode `json:"modes"`
}

// CadenceMode is one curve on one cadence, per post (means).
type CadenceMode struct {
	Posts     int `json:"posts"`
	Completed int `json:"completed_at_horizon"`
	// Cycles are timers fired; Samples metrics reads; Effects platform effects.
	Cycles  float64 `json:"cycles"`
	Samples float64 `json:"samples"`
	Effects float64 `json:"effects"`
	Events  float64 `json:"history_events"`
	Bytes   float64 `json:"history_bytes"`
	// Post is what the post's own histories (every run) count; Arbiter and Monitor its share
	// of theirs; Lifetime the sum.
	PostActions     float64          `json:"post_actions"`
	ArbiterActions  float64          `json:"arbiter_actions"`
	MonitorActions  float64          `json:"monitor_actions"`
	LifetimeActions float64          `json:"lifetime_actions"`
	Breakdown       analysis.Actions `json:"post_actions_breakdown"`
	// Latency from the stall to the first action after it (an edit, or a thread), simulated
	// minutes, over the posts that acted on it (LatencyN): to the due time of the cycle that
	// decided it (what the cadence decides; how late a shared machine ran the cycle left out),
	// and, WallLatency, to the effect on the platform.
	LatencyN       int     `json:"latency_posts,omitempty"`
	LatencyP50     float64 `json:"latency_p50_min,omitempty"`
	LatencyP90     float64 `json:"latency_p90_min,omitempty"`
	WallLatencyP50 float64 `json:"effect_latency_p50_min,omitempty"`
	WallLatencyP90 float64 `json:"effect_latency_p90_min,omitempty"`
	// Latencies are the posts' latencies (to the due time), shortest first: with ten posts
	// the 90th percentile is one post, and this shows which.
	Latencies []PostLatency `json:"latencies,omitempty"`
}

// PostLatency is one post's stall-to-action latency, simulated minutes.
type PostLatency struct {
	PostID  string  `json:"post_id"`
	Minutes float64 `json:"min"`
}

// CadenceSummary is one cadence over every curve.
type CadenceSummary struct {
	LifetimeActions float64 `json:"lifetime_actions_per_post"`
	Cycles          float64 `json:"cycles_per_post"`
	// USD at the list price: per post, per 10,000 posts a month (each watched for its
	// horizon), and per 10,000 posts watched at all times (a steady fleet).
	USDPerPost            float64 `json:"usd_per_post"`
	USDPer10kPostsMonthly float64 `json:"usd_per_10000_posts_a_month"`
	USDPer10kOpenMonthly  float64 `json:"usd_per_10000_open_posts_a_month"`
}

// scaledConfig is the default configuration with every duration divided by scale.
func scaledConfig(scale float64, cadence string) domain.EvaluationConfig {
	c := domain.DefaultConfig()
	for _, d := range []*time.Duration{&c.Window, &c.SampleInterval, &c.CommentCooldown, &c.EditCooldown, &c.ThreadCooldown,
		&c.QuoteCooldown, &c.Horizon, &c.ApprovalTimeout} {
		*d = time.Duration(float64(*d) / scale)
	}
	c.Cadence = cadence
	return c
}

// cadencePostID names post i of curve c on a cadence. The two cadences' posts i are twins on
// the simulated platform (the same ID before its '~', see sim.Curve): the same audience and
// the same stall point, so that the cadences are compared on the same posts.
func cadencePostID(c sim.Curve, mode string, i int) string {
	return fmt.Sprintf("%s-cad-%02d~%s", c, i, mode)
}
func cadenceAgent(c sim.Curve, mode string) string { return fmt.Sprintf("cad-%s-%s", mode, c) }

func (r *runner) runCadence(ctx context.Context) (*CadenceResults, error) {
	o := r.o
	scale := o.CadenceScale
	res := &CadenceResults{TimeScale: scale, PostsPerCurve: o.CadencePosts, Modes: map[string]CadenceSummary{}, Price: actionPriceSource}
	horizon := o.CadenceHorizon
	res.Horizon = horizon.String()
	res.Config = fmt.Sprintf("%+v (every duration ÷ %g)", domain.DefaultConfig(), scale)

	safety := app.SafetyConfig{Policy: benchPolicy(), Monitor: workflows.MonitorConfig{EvalInterval: time.Duration(float64(time.Minute) / scale)}}
	so := r.stackOptions(&safety)
	so.simTimeScale = scale
	s, err := r.startStack(ctx, "cadence", so)
	if err != nil {
		return nil, err
	}
	defer r.stopStack(s)

	type post struct {
		curve sim.Curve
		mode  string
		id    string
	}
	// Interleaved (every curve and cadence in turn) and started at a steady pace over one
	// sample interval, so that no curve or cadence starts first and the posts' samples and
	// actions are spread out as a fleet's are, not all at one instant of simulated time.
	var posts []post
	for i := 0; i < o.CadencePosts; i++ {
		for _, c := range cadenceCurves {
			for _, m := range cadenceModes {
				posts = append(posts, post{c, m, cadencePostID(c, m, i)})
			}
		}
	}
	r.progress("cadence: %d posts (%d per curve and cadence) living %s at %g× (%s of real time)",
		len(posts), o.CadencePosts, horizon, scale, time.Duration(float64(horizon)/scale).Round(time.Second))
	t0 := time.Now()
	interval := time.Duration(float64(domain.DefaultConfig().SampleInterval) / scale)
	pace := time.NewTicker(max(interval/time.Duration(len(posts)), time.Millisecond))
	defer pace.Stop()
	failed := startAll(ctx, len(posts), 1, func(ctx context.Context, i int) error {
		<-pace.C
		p := posts[i]
		cfg := scaledConfig(scale, p.mode)
		cfg.Horizon = time.Duration(float64(horizon) / scale)
		_, err := workflows.StartPost(ctx, s.client, workflows.PostInput{Post: benchPost(p.id, cadenceAgent(p.curve, p.mode)), Config: cfg})
		return err
	})
	if failed > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d posts could not be started", failed))
	}

	// Every post ends at its horizon: wait for all of them.
	wait := time.Duration(float64(horizon)/scale) + 5*time.Minute
	wctx, cancel := context.WithTimeout(ctx, wait)
	completed := make([]bool, len(posts))
	errs := faultcheck.Parallel(len(posts), 16, func(i int) error {
		var sum workflows.PostSummary
		err := s.client.GetWorkflow(wctx, workflows.PostWorkflowID(posts[i].id), "").Get(wctx, &sum)
		completed[i] = err == nil && sum.EndReason == workflows.EndHorizon
		return err
	})
	cancel()
	for i, err := range errs {
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", posts[i].id, err))
		}
	}
	res.WallSeconds = time.Since(t0).Seconds()
	r.progress("cadence: every post ended after %.0fs; reading histories", res.WallSeconds)

	hctx, hcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer hcancel()
	// The arbiter's and the monitors' costs, shared out.
	arbiter, err := readRuns(hctx, s.client, workflows.ArbiterWorkflowID, 1000)
	if err != nil {
		return nil, fmt.Errorf("cadence: arbiter history: %w", err)
	}
	var arbActions, arbUpdates int
	for _, run := range arbiter {
		a := analysis.CountActions(run, nil)
		arbActions, arbUpdates = arbActions+a.Total(), arbUpdates+a.Updates
	}
	if arbUpdates > 0 {
		res.ArbiterActionsPerArbitration = float64(arbActions-1) / float64(arbUpdates) // its first start excluded
	}
	monitorActions := map[string]float64{} // per agent, its start excluded
	for _, c := range cadenceCurves {
		for _, m := range cadenceModes {
			runs, err := readRuns(hctx, s.client, workflows.MonitorWorkflowID(cadenceAgent(c, m)), 1000)
			if err != nil {
				return nil, fmt.Errorf("cadence: monitor history: %w", err)
			}
			total := 0
			for _, run := range runs {
				total += analysis.CountActions(run, nil).Total()
			}
			monitorActions[cadenceAgent(c, m)] = float64(max(0, total-1))
		}
	}

	effects := map[string][]sim.Effect{}
	for _, e := range s.sim.Effects() {
		effects[e.PostID] = append(effects[e.PostID], e)
	}
	type measured struct {
		actions         analysis.Actions
		cycles, samples int
		events, bytes   int
		arbitrations    int
		latency, wall   float64 // simulated minutes; NaN: none
		effects         int
	}
	got := make([]measured, len(posts))
	var mu sync.Mutex
	var readErrs []string
	faultcheck.Parallel(len(posts), 4, func(i int) error {
		p := posts[i]
		runs, err := readRuns(hctx, s.client, workflows.PostWorkflowID(p.id), 100)
		if err != nil {
			mu.Lock()
			readErrs = append(readErrs, fmt.Sprintf("%s: %v", p.id, err))
			mu.Unlock()
			return err
		}
		m := measured{latency: math.NaN(), wall: math.NaN(), effects: len(effects[p.id])}
		var slots []analysis.ActionSlot
		for _, run := range runs {
			slots = append(slots, analysis.ActionSlots(run)...)
			m.actions = m.actions.Add(analysis.CountActions(run, nil))
			m.events += len(run)
			for _, e := range run {
				m.bytes += proto.Size(e)
				switch {
				case e.GetTimerFiredEventAttributes() != nil:
					m.cycles++
				case e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == analysis.ActivityArbitrate:
					m.arbitrations++
				}
			}
			m.samples += analysis.CountLocalActivities(run, analysis.ActivityFetchMetrics)
		}
		if stallAt, stalls := curveStall(p.curve, p.id); stalls {
			info := s.sim.PostInfo(p.id)
			start := info.FirstSeen.Add(time.Duration(float64(stallAt) / scale))
			stallAction := func(a string) bool { return a == string(domain.ActionEdit) || a == string(domain.ActionThread) }
			for _, sl := range slots {
				if stallAction(sl.Action) && !sl.Due.Before(start.Add(-time.Second)) {
					m.latency = max(0, sl.Due.Sub(start).Minutes()*scale)
					break
				}
			}
			for _, e := range effects[p.id] {
				if !e.CreatedAt.Before(start) && stallAction(e.Kind) {
					m.wall = e.CreatedAt.Sub(start).Minutes() * scale
					break
				}
			}
		}
		got[i] = m
		return nil
	})
	res.Errors = append(res.Errors, readErrs...)

	perAction := 0.0 // the monitor's share is per platform action
	for _, c := range cadenceCurves {
		cc := CadenceCurve{Curve: string(c), Modes: map[string]CadenceMode{}}
		if at, ok := curveStall(c, ""); ok {
			cc.StallAt = at.Truncate(time.Hour).String() // each post adds up to 10 minutes of its own
		}
		for _, mode := range cadenceModes {
			cm := CadenceMode{}
			var lat, wall []float64
			agent := cadenceAgent(c, mode)
			var agentEffects int
			for i, p := range posts {
				if p.curve == c && p.mode == mode {
					agentEffects += got[i].effects
				}
			}
			for i, p := range posts {
				if p.curve != c || p.mode != mode {
					continue
				}
				g := got[i]
				cm.Posts++
				if completed[i] {
					cm.Completed++
				}
				own := float64(g.actions.Total())
				arb := float64(g.arbitrations) * res.ArbiterActionsPerArbitration
				mon := 0.0
				if agentEffects > 0 {
					mon = monitorActions[agent] * float64(g.effects) / float64(agentEffects)
				}
				cm.Cycles += float64(g.cycles)
				cm.Samples += float64(g.samples)
				cm.Effects += float64(g.effects)
				cm.Events += float64(g.events)
				cm.Bytes += float64(g.bytes)
				cm.PostActions += own
				cm.ArbiterActions += arb
				cm.MonitorActions += mon
				cm.Breakdown = cm.Breakdown.Add(g.actions)
				if !math.IsNaN(g.latency) {
					lat = append(lat, g.latency)
					cm.Latencies = append(cm.Latencies, PostLatency{PostID: p.id, Minutes: g.latency})
				}
				if !math.IsNaN(g.wall) {
					wall = append(wall, g.wall)
				}
			}
			if n := float64(cm.Posts); n > 0 {
				for _, v := range []*float64{&cm.Cycles, &cm.Samples, &cm.Effects, &cm.Events, &cm.Bytes, &cm.PostActions, &cm.ArbiterActions, &cm.MonitorActions} {
					*v /= n
				}
			}
			cm.LifetimeActions = cm.PostActions + cm.ArbiterActions + cm.MonitorActions
			if len(lat) > 0 {
				cm.LatencyN, cm.LatencyP50, cm.LatencyP90 = len(lat), analysis.Quantile(lat, 0.5), analysis.Quantile(lat, 0.9)
				slices.SortFunc(cm.Latencies, func(a, b PostLatency) int { return cmp.Compare(a.Minutes, b.Minutes) })
			}
			if len(wall) > 0 {
				cm.WallLatencyP50, cm.WallLatencyP90 = analysis.Quantile(wall, 0.5), analysis.Quantile(wall, 0.9)
			}
			cc.Modes[mode] = cm
			if agentEffects > 0 {
				perAction += monitorActions[agent]
			}
		}
		res.Curves = append(res.Curves, cc)
	}
	totalEffects := 0
	for _, g := range got {
		totalEffects += g.effects
	}
	if totalEffects > 0 {
		res.MonitorActionsPerAction = perAction / float64(totalEffects)
	}
	res.summarize(horizon)
	for _, m := range cadenceModes {
		sm := res.Modes[m]
		r.progress("cadence: %s: %.0f lifetime billable actions per post (%.0f cycles), $%.4f per post", m, sm.LifetimeActions, sm.Cycles, sm.USDPerPost)
	}
	return res, nil
}

// summarize derives each cadence's means over the curves and their prices.
func (res *CadenceResults) summarize(horizon time.Duration) {
	for _, m := range cadenceModes {
		var sm CadenceSummary
		n := 0
		for _, c := range res.Curves {
			cm, ok := c.Modes[m]
			if !ok || cm.Posts == 0 {
				continue
			}
			sm.LifetimeActions += cm.LifetimeActions
			sm.Cycles += cm.Cycles
			n++
		}
		if n == 0 {
			continue
		}
		sm.LifetimeActions /= float64(n)
		sm.Cycles /= float64(n)
		sm.USDPerPost = sm.LifetimeActions * actionPriceUSD
		sm.USDPer10kPostsMonthly = pricedPostsPerMont * sm.USDPerPost
		if horizon > 0 {
			sm.USDPer10kOpenMonthly = pricedPostsPerMont * sm.USDPerPost * hoursPerMonth / horizon.Hours()
		}
		res.Modes[m] = sm
	}
}

// curveStall is when a post on a curve stalls, from its first sample (stall and die: at once).
func curveStall(c sim.Curve, postID string) (time.Duration, bool) {
	if c == sim.CurveStall || c == sim.CurveDie {
		return 0, true
	}
	return c.StallsAt(postID)
}
