package benchlib

import (
	"context"
	"fmt"
	"time"

	historypb "go.temporal.io/api/history/v1"

	"resurge/app"
	"resurge/bench/analysis"
	"resurge/domain"
	"resurge/workflows"
)

// actingConfig makes a post act as soon as it has 3 samples (the integration tests' config):
// a "grow-" post comments, a "stall-" post edits; each acts once per idempotency key, then its
// plans are duplicates and it is quiet.
func actingConfig(interval time.Duration) domain.EvaluationConfig {
	return domain.EvaluationConfig{
		Window:              6 * interval,
		MinSamples:          3,
		SampleInterval:      interval,
		CommentCooldown:     2 * interval,
		EditCooldown:        3 * interval,
		ThreadCooldown:      4 * interval,
		MaxActionsPerWindow: 2,
		Horizon:             time.Hour,
	}
}

const (
	actingAgent  = "bench-actor"
	canProbeID   = "can-probe"
	canProbeRuns = 5 // cycles per run of the probe
	// productionCyclesPerRun is the post workflow's default run length
	// (workflows.defaultMaxCyclesPerRun, unexported).
	productionCyclesPerRun = 500
)

// benchPolicy is the default safety policy with budgets large enough that the arbiter allows
// everything the benchmark asks (the hourly budgets are not what is measured).
func benchPolicy() domain.SafetyPolicy {
	p := domain.DefaultSafetyPolicy()
	p.GlobalPerHour = 1_000_000
	p.PerPostPerHour = 1_000
	return p
}

func (r *runner) runActingAndLock(ctx context.Context) error {
	o := r.o
	safety := app.SafetyConfig{Policy: benchPolicy(), Monitor: workflows.MonitorConfig{EvalInterval: o.Interval}}
	s, err := r.startStack(ctx, "acting", r.stackOptions(&safety))
	if err != nil {
		return err
	}
	defer r.stopStack(s)
	if !o.SkipActing {
		a, err := r.runActing(ctx, s)
		if err != nil {
			return err
		}
		r.res.Acting = a
	}
	if !o.SkipLock {
		l, err := r.runLock(ctx, s)
		if err != nil {
			return err
		}
		r.res.Lock = l
	}
	return nil
}

func (r *runner) runActing(ctx context.Context, s *stack) (*Acting, error) {
	o := r.o
	res := &Acting{Posts: o.ActingPosts}
	cfg := actingConfig(o.Interval)
	var ids []string
	for i := 0; i < o.ActingPosts; i++ {
		curve := []string{"grow", "stall"}[i%2]
		id := fmt.Sprintf("%s-act-%02d", curve, i)
		if _, err := workflows.StartPost(ctx, s.client, workflows.PostInput{Post: benchPost(id, actingAgent), Config: cfg}); err != nil {
			return nil, fmt.Errorf("start %s: %w", id, err)
		}
		ids = append(ids, workflows.PostWorkflowID(id))
	}
	probe := workflows.PostInput{Post: benchPost(canProbeID, "bench"), Config: quietConfig(o.Interval), MaxCyclesPerRun: canProbeRuns}
	if _, err := workflows.StartPost(ctx, s.client, probe); err != nil {
		return nil, fmt.Errorf("start %s: %w", canProbeID, err)
	}
	r.progress("acting: %d posts that act once each, and a probe that continues as new every %d cycles", o.ActingPosts, canProbeRuns)

	// Wait for every post's action, and for the probe to go through at least 3 runs; then a
	// few more intervals so the acting cycles are closed by their next timer.
	t := time.Now()
	minWait := time.Duration(3*canProbeRuns+2) * o.Interval
	for {
		res.Effects = len(s.sim.Effects())
		if res.Effects >= o.ActingPosts && time.Since(t) >= minWait {
			break
		}
		if time.Since(t) > o.ActingWait {
			r.progress("acting: only %d of %d actions after %s", res.Effects, o.ActingPosts, o.ActingWait)
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if err := sleep(ctx, 3*o.Interval); err != nil {
		return nil, err
	}
	res.WaitSeconds = time.Since(t).Seconds()
	res.Effects = len(s.sim.Effects())

	hctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var agg analysis.Aggregator
	for _, id := range ids {
		events, err := readHistory(hctx, s.client, id, "")
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		agg.Add(events, analysis.Cycles(events, time.Time{}, time.Time{}))
	}
	res.Kinds = map[string]analysis.CycleStats{}
	for _, k := range agg.Kinds() {
		res.Kinds[k] = agg.Stats(k)
	}

	arbiter, err := readRuns(hctx, s.client, workflows.ArbiterWorkflowID, 100)
	if err != nil {
		return nil, fmt.Errorf("arbiter history: %w", err)
	}
	res.ArbiterRuns = len(arbiter)
	for _, run := range arbiter {
		res.ArbiterEvents += len(run)
		res.ArbiterActions = res.ArbiterActions.Add(analysis.CountActions(run, nil))
	}
	res.Arbitrations = res.ArbiterActions.Updates
	monitor, err := readRuns(hctx, s.client, workflows.MonitorWorkflowID(actingAgent), 100)
	if err != nil {
		return nil, fmt.Errorf("monitor history: %w", err)
	}
	for _, run := range monitor {
		res.MonitorEvents += len(run)
		res.MonitorActions = res.MonitorActions.Add(analysis.CountActions(run, nil))
	}
	res.perAction()
	r.progress("acting: %d effects; %d acting cycles at %.1f events / %.1f actions in the post, %.1f / %.1f with arbiter and monitor",
		res.Effects, res.Kinds[analysis.KindActing].Cycles, res.Kinds[analysis.KindActing].EventsPerCycle,
		res.Kinds[analysis.KindActing].ActionsPerCycle, res.TotalEventsPerActingCycle, res.TotalActionsPerActingCycle)

	runs, err := readRuns(hctx, s.client, workflows.PostWorkflowID(canProbeID), 100)
	if err != nil {
		return nil, fmt.Errorf("probe history: %w", err)
	}
	res.ContinueAsNew = continueAsNewCost(runs)
	return res, nil
}

// continueAsNewCost measures the runs that both started from a continue-as-new and ended in
// one (the first run has the one-off start costs, the last is still open).
func continueAsNewCost(runs [][]*historypb.HistoryEvent) *ContinueAsNew {
	c := &ContinueAsNew{ProductionCycles: productionCyclesPerRun}
	var agg analysis.Aggregator
	var events, actions, cycles int
	for i, run := range runs {
		agg.Add(run, analysis.Cycles(run, time.Time{}, time.Time{}))
		if i == 0 || i == len(runs)-1 {
			continue
		}
		c.RunsMeasured++
		events += len(run)
		actions += analysis.CountActions(run, nil).Total()
		cycles += countTimerFired(run)
	}
	if c.RunsMeasured == 0 {
		return c
	}
	q := agg.Stats(analysis.KindQuiet)
	k := float64(c.RunsMeasured)
	c.CyclesPerRun = float64(cycles) / k
	c.EventsPerRun = float64(events) / k
	c.ActionsPerRun = float64(actions) / k
	c.OverheadEvents = c.EventsPerRun - c.CyclesPerRun*q.EventsPerCycle
	c.OverheadActions = c.ActionsPerRun - c.CyclesPerRun*q.ActionsPerCycle
	return c
}

func countTimerFired(run []*historypb.HistoryEvent) int {
	n := 0
	for _, e := range run {
		if e.GetTimerFiredEventAttributes() != nil {
			n++
		}
	}
	return n
}

// perAction spreads what the arbiter and the monitor did over the actions (their one-off
// starts excluded) and adds the later impact cycle, giving everything one action costs.
func (a *Acting) perAction() {
	act := a.Kinds[analysis.KindActing]
	if act.Cycles == 0 {
		return
	}
	n := float64(act.Cycles)
	if a.Arbitrations > 0 {
		a.ArbiterEventsPerArbitration = float64(a.ArbiterEvents) / float64(a.Arbitrations)
		a.ArbiterActionsPerArbitration = float64(a.ArbiterActions.Total()-a.ArbiterActions.WorkflowStarted) / float64(a.Arbitrations)
	}
	a.MonitorEventsPerAction = float64(a.MonitorEvents) / n
	a.MonitorActionsPerAction = float64(a.MonitorActions.Total()-a.MonitorActions.WorkflowStarted) / n
	a.TotalEventsPerActingCycle = act.EventsPerCycle + a.ArbiterEventsPerArbitration + a.MonitorEventsPerAction
	a.TotalActionsPerActingCycle = act.ActionsPerCycle + a.ArbiterActionsPerArbitration + a.MonitorActionsPerAction
	q := a.Kinds[analysis.KindQuiet]
	if imp := a.Kinds[analysis.KindImpact]; imp.Cycles > 0 && q.Cycles > 0 {
		a.ImpactExtraActionsPerAction = (imp.ActionsPerCycle - q.ActionsPerCycle) * float64(imp.Cycles) / n
		a.ImpactExtraEventsPerAction = (imp.EventsPerCycle - q.EventsPerCycle) * float64(imp.Cycles) / n
	}
	if q.Cycles > 0 {
		a.ExtraActionsPerAction = a.TotalActionsPerActingCycle - q.ActionsPerCycle + a.ImpactExtraActionsPerAction
		a.ExtraEventsPerAction = a.TotalEventsPerActingCycle - q.EventsPerCycle + a.ImpactExtraEventsPerAction
	}
}
