package benchlib

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"resurge/bench/analysis"
	"resurge/devserver"
)

const (
	productionInterval = "10m"
	cyclesPerDay       = 24 * 60 / 10 // at the default 10-minute sampling
	// actionsPerDayAssumed is the busiest a post gets by design: one action per idempotency key
	// (post, action, tier), three tiers, over the default 48-hour horizon.
	actionsPerDayAssumed = 1.5
	gib                  = 1 << 30
)

var costRules = []string{
	"WorkflowExecutionStarted = 1 (client start and each continue-as-new; search attributes given at start are free)",
	"TimerStarted = 1",
	"MarkerRecorded (local activities): all markers recorded by one workflow task = 1, plus metering_metadata.nonfirst_local_activity_execution_attempts",
	"workflow task heartbeats (a workflow task scheduled right after one completed, nothing new in between) = 1 each (heuristic)",
	"ActivityTaskScheduled = 1, plus ActivityTaskStarted.attempt-1 retries",
	"WorkflowExecutionSignaled = 1 (counted in the signalled workflow); WorkflowExecutionUpdateAccepted = 1",
	"UpsertWorkflowSearchAttributes = 1 per command; StartChildWorkflowExecutionInitiated = 2; WorkflowExecutionOptionsUpdated = 1",
	"not in histories, not counted: queries (none in steady state), activity heartbeats (none), signal-with-start counted once",
}

var costSources = []string{
	"https://docs.temporal.io/cloud/actions (temporalio/documentation docs/evaluate/cloud/actions.mdx)",
	"https://docs.temporal.io/cloud/actions-usage (billable actions shown per history event)",
	"https://docs.temporal.io/cloud/migrate/estimate-actions (history samples as an estimate)",
}

// Rederive recomputes the derived sections (cost, comparison, marginal memory, targets,
// notes) of results read back from a file, with this version's rules.
func Rederive(res *Results) {
	st := res.Settings
	o := Options{
		HistorySample: st.HistorySample, StickyCache: st.StickyCache,
		HistoryCache: st.HistoryCache, SimStateFile: stackHasSimStateFile(st.Stack),
	}
	res.Compare, res.Marginal = nil, nil
	(&runner{o: o, res: res}).finish()
}

// finish derives the cost estimate, the comparison, the targets and the notes.
func (r *runner) finish() {
	res := r.res
	res.Cost = r.cost()
	for i, p := range res.Posts {
		c := Compare{N: p.N, OursPerS: p.CyclesPerS}
		if i < len(res.Floor) && res.Floor[i].N == p.N {
			c.FloorPerS = res.Floor[i].CyclesPerS
			c.VsFloor = ratio(c.OursPerS, c.FloorPerS)
		}
		if s := seedFor(res.Seed, p.N); s != nil {
			c.SeedPerS = seedRate(*s)
			c.SeedExtrapolated = !s.Completed
			c.VsSeed = ratio(c.OursPerS, c.SeedPerS)
		}
		res.Compare = append(res.Compare, c)
	}
	for i := 1; i < len(res.Posts); i++ {
		a, b := res.Posts[i-1], res.Posts[i]
		if b.N > a.N {
			res.Marginal = append(res.Marginal, Marginal{FromN: a.N, ToN: b.N,
				BytesPerPost: float64(b.RSSAfterBytes-a.RSSAfterBytes) / float64(b.N-a.N)})
		}
	}
	res.Targets = r.targets()
	res.Notes = r.notes()
}

func (r *runner) cost() *Cost {
	res := r.res
	c := &Cost{
		SampleInterval: productionInterval, CyclesPerDay: cyclesPerDay,
		ActionsPerDayAssumed: actionsPerDayAssumed, Rules: costRules, Sources: costSources,
	}
	// The least loaded phase: the closest to a post sampling every 10 minutes.
	for _, p := range res.Posts {
		if q := p.History.Kinds[analysis.KindQuiet]; q.Cycles > 0 {
			c.FromN, c.QuietEventsPerCycle, c.QuietActionsPerCycle = p.N, q.EventsPerCycle, q.ActionsPerCycle
			break
		}
	}
	if c.FromN == 0 {
		return c
	}
	c.ContinueAsNewPerDay = cyclesPerDay / float64(productionCyclesPerRun)
	c.CANActionsPerRun = 1 // the new run's WorkflowExecutionStarted, unless measured below
	canEvents := 0.0
	if a := res.Acting; a != nil && a.ContinueAsNew != nil && a.ContinueAsNew.RunsMeasured > 0 {
		c.CANActionsPerRun = a.ContinueAsNew.OverheadActions
		canEvents = a.ContinueAsNew.OverheadEvents
	}
	c.QuietActionsPerDay = cyclesPerDay*c.QuietActionsPerCycle + c.ContinueAsNewPerDay*c.CANActionsPerRun
	c.QuietEventsPerDay = cyclesPerDay*c.QuietEventsPerCycle + c.ContinueAsNewPerDay*canEvents
	if a := res.Acting; a != nil {
		c.ExtraActionsPerAction = a.ExtraActionsPerAction
	}
	c.BusyActionsPerDay = c.QuietActionsPerDay + actionsPerDayAssumed*c.ExtraActionsPerAction
	for _, p := range res.Posts {
		if p.N == c.FromN && p.History.OneOffActions > 0 {
			c.LifetimeActions = p.History.OneOffActions
		}
	}
	for _, f := range res.Floor {
		if q := f.History.Kinds[analysis.KindQuiet]; q.Cycles > 0 {
			c.FloorActionsPerDay = cyclesPerDay*q.ActionsPerCycle + c.ContinueAsNewPerDay
			break
		}
	}
	return c
}

func seedFor(s *Seed, n int) *SeedRun {
	if s == nil {
		return nil
	}
	for i := range s.Runs {
		if s.Runs[i].Posts == n && (s.Runs[i].Completed || s.Runs[i].TimedOut) {
			return &s.Runs[i]
		}
	}
	return nil
}

// seedRate is the reference's decisions/s: measured, else extrapolated, else the upper bound
// a timeout proves.
func seedRate(s SeedRun) float64 {
	if s.DecisionsPerS > 0 {
		return s.DecisionsPerS
	}
	return s.UpperBoundPerS
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func (r *runner) targets() []Target {
	res := r.res
	var ts []Target

	// 1. Events per quiet cycle.
	t := Target{Name: "history events per quiet cycle", Goal: "≤ 7"}
	worst, parts := 0.0, []string{}
	double := false
	for _, p := range res.Posts {
		q := p.History.Kinds[analysis.KindQuiet]
		part := fmt.Sprintf("N=%d: %.3f per timer", p.N, q.EventsPerCycle)
		// A post cycle records two markers (fetch, plan); more means a timer firing that ran
		// two evaluations in one workflow task (sleepUntil's d <= 0 path, no timer between).
		perEval := q.EventsPerCycle
		if m := q.EventTypes["MarkerRecorded"]; m > 2 {
			perEval = q.EventsPerCycle / (m / 2)
			part += fmt.Sprintf(" (%.1f%% of firings ran two evaluations: %.3f per evaluation)", 100*(m-2)/2, perEval)
			double = true
		}
		parts = append(parts, part)
		worst = math.Max(worst, perEval)
	}
	t.Measured = strings.Join(parts, ", ")
	t.Met = yesNo(len(res.Posts) > 0 && worst <= 7.0001)
	if double {
		t.Why = "met per evaluation; per timer firing the rare double evaluation adds two markers"
	}
	ts = append(ts, t)

	// 2. Quiet cycles/s against the floor.
	t = Target{Name: "quiet cycles/s vs the bare floor", Goal: "≥ 80% of the floor's"}
	parts, ok, any := nil, true, false
	for _, c := range res.Compare {
		if c.FloorPerS == 0 {
			continue
		}
		any = true
		parts = append(parts, fmt.Sprintf("N=%d: %.0f%%", c.N, 100*c.VsFloor))
		ok = ok && c.VsFloor >= 0.8
	}
	t.Measured, t.Met = strings.Join(parts, ", "), yesNo(any && ok)
	if !any {
		t.Met = "n/a"
	}
	ts = append(ts, t)

	// 3. Flat cost per post.
	t = Target{Name: "flat per-post cost as N grows", Goal: "CPU per cycle and events per cycle at the largest N within 25% of the smallest"}
	if len(res.Posts) >= 2 {
		a, b := res.Posts[0], res.Posts[len(res.Posts)-1]
		qa, qb := a.History.Kinds[analysis.KindQuiet], b.History.Kinds[analysis.KindQuiet]
		cpu := ratio(b.CPUMsPerCycle, a.CPUMsPerCycle)
		ev := ratio(qb.EventsPerCycle, qa.EventsPerCycle)
		t.Measured = fmt.Sprintf("CPU ms/cycle %.2f (N=%d) → %.2f (N=%d) = ×%.2f; events/cycle ×%.2f; RSS/post %s → %s",
			a.CPUMsPerCycle, a.N, b.CPUMsPerCycle, b.N, cpu, ev, kib(a.RSSPerWorkflow), kib(b.RSSPerWorkflow))
		t.Met = yesNo(cpu <= 1.25 && ev <= 1.25)
	} else {
		t.Met = "n/a"
	}
	ts = append(ts, t)

	// 4. Against the reference at the largest N.
	t = Target{Name: "persisted decisions/s vs the reference executor", Goal: "≥ 10× at 10,000 posts"}
	if n := len(res.Compare); n > 0 && res.Compare[n-1].SeedPerS > 0 {
		c := res.Compare[n-1]
		t.Measured = fmt.Sprintf("N=%d: %.1f vs %.1f decisions/s = ×%.1f", c.N, c.OursPerS, c.SeedPerS, c.VsSeed)
		if c.SeedExtrapolated {
			t.Measured += " (reference timed out: extrapolated, time ∝ N²)"
		}
		t.Met = yesNo(c.VsSeed >= 10)
		if c.N != 10000 {
			t.Why = fmt.Sprintf("measured at N=%d, not 10,000", c.N)
		}
	} else {
		t.Met, t.Measured = "n/a", "reference not run"
	}
	ts = append(ts, t)

	// 5. Memory at 10,000.
	t = Target{Name: "resident memory with 10,000 open posts", Goal: "≤ 2 GiB (server + worker + platform)"}
	if n := len(res.Posts); n > 0 {
		p := res.Posts[n-1]
		rss := float64(p.RSSAfterBytes)
		t.Measured = fmt.Sprintf("N=%d: %.2f GiB (%s per post)", p.N, rss/gib, kib(p.RSSPerWorkflow))
		if p.N != 10000 {
			rss = float64(p.RSSBeforeBytes) + 10000*p.RSSPerWorkflow
			t.Measured += fmt.Sprintf("; extrapolated to 10,000: %.2f GiB", rss/gib)
			t.Why = "extrapolated"
		}
		for _, m := range res.Marginal {
			t.Measured += fmt.Sprintf("; marginal %s per post from N=%d to %d", kib(m.BytesPerPost), m.FromN, m.ToN)
		}
		t.Met = yesNo(rss <= gib*2)
	}
	ts = append(ts, t)

	// 6. Lock.
	t = Target{Name: "lock latency and actions allowed after the lock", Goal: "≤ 1 s; 0 allowed"}
	if l := res.Lock; l != nil {
		t.Measured = fmt.Sprintf("%.3f s (server %.3f s) under %.0f arbitrations/s; allowed after lock: %d recorded, %d acknowledged",
			l.LatencySeconds, l.ServerLatencySeconds, l.ArbitrationsPerS, l.AllowedAfterLockRecorded, l.AllowedAfterLockAck)
		t.Met = yesNo(l.LatencySeconds >= 0 && l.LatencySeconds <= 1 && l.AllowedAfterLockRecorded == 0 && l.AllowedAfterLockAck == 0 && l.Found)
	} else {
		t.Met = "n/a"
	}
	ts = append(ts, t)
	if len(r.o.ScalePosts) > 0 || len(res.ScalePhases) > 0 {
		ts = append(ts, scaleTargets(res.ScalePhases)...)
	}
	if !r.o.SkipLockLoad || res.LockLoad != nil {
		ts = append(ts, lockLoadTarget(res.LockLoad))
	}
	if !r.o.SkipCadence || res.Cadence != nil {
		ts = append(ts, cadenceTargets(res.Cadence)...)
	}
	return ts
}

func (r *runner) notes() []string {
	res, o := r.res, r.o
	var ns []string
	ns = append(ns, fmt.Sprintf("Quiet posts: %s. A cycle is counted as one metrics read on the simulated platform; the histories of %d sampled workflows per phase give events/actions per cycle and an independent cycles/s estimate.",
		"MinSamples 1000 (the domain's maximum) with a 9-interval window, so every plan is insufficient_samples and nothing acts", o.HistorySample))
	ns = append(ns, "Starts are not staggered beyond what bounded-concurrency starting gives: every post samples at once when it starts, then every interval after its previous cycle, so they spread by themselves; the warm-up is measured after the last start.")
	if !o.SimStateFile {
		ns = append(ns, "The simulated platform keeps its state in memory (devstack.Options.SimInMemory): with a state file the sim writes and fsyncs its whole JSON state before every effect's reply, which would be measured instead of Resurge. --devstack keeps the state file, as the worker's --dev does.")
	}
	cache := o.StickyCache
	if cache == 0 {
		cache = 10000
	}
	for _, p := range res.Posts {
		if p.N+1 >= cache {
			ns = append(ns, fmt.Sprintf("N=%d: %d post workflows plus the arbiter exceed the worker's sticky cache (%d, holds %d) once all are cached: a task of an evicted post replays its whole history (--sticky-cache raises it). The replayed column is mostly not that (in a separate run at N=10000, --sticky-cache 12000 left it at 30%%): on a saturated worker, tasks wait past the sticky queue's 5 s schedule-to-start timeout, go to the normal queue with the full history, and are replayed.", p.N, p.N, cache, cache-1))
			break
		}
	}
	hcache := o.HistoryCache
	if hcache == 0 {
		hcache = devserver.DefaultHistoryCacheSize
	}
	for _, p := range res.Posts {
		if p.N > hcache {
			ns = append(ns, fmt.Sprintf("N=%d exceeds the dev server's host-level history cache (HistoryCacheHostLevelMaxSize %d, see devserver/dynamicconfig.go): mutable state is reloaded from SQLite for evicted workflows (--history-cache raises it).", p.N, hcache))
			break
		}
	}
	for _, p := range append(append([]LoadPhase{}, res.Posts...), res.Floor...) {
		if p.OtherCPU >= 0.25 {
			ns = append(ns, fmt.Sprintf("%s N=%d shared the machine: other processes used %.2f of the 2 cores during its window (load average %.2f); its throughput is a lower bound.", p.Kind, p.N, p.OtherCPU, p.LoadAvgEnd[0]))
		}
	}
	for _, p := range append(append([]LoadPhase{}, res.Posts...), res.Floor...) {
		if !p.Saturated || len(p.History.PerWorkflow) == 0 {
			continue
		}
		idle, hi := 0, 0
		for _, d := range p.History.PerWorkflow {
			if d == 0 {
				idle++
			}
			hi = max(hi, d)
		}
		if idle > 0 {
			ns = append(ns, fmt.Sprintf("%s N=%d is served unfairly while saturated: %d of %d sampled workflows recorded no decision in the window while others recorded up to %d (likely a hot set that stays on the worker's sticky queue while the rest wait in the normal queue's backlog). The history-based cycles/s estimate rests on that sample and is unreliable here; the platform counter is the measurement.",
				p.Kind, p.N, idle, len(p.History.PerWorkflow), hi))
		}
	}
	for _, p := range res.Posts {
		if p.Saturated {
			ns = append(ns, fmt.Sprintf("N=%d is saturated (%.0f of %.0f offered cycles/s): its cycles/s is the machine's capacity, not the timers' demand.", p.N, p.CyclesPerS, p.OfferedPerS))
		}
	}
	ns = append(ns, cadenceNotes(res.Cadence)...)
	return ns
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// WriteTable prints the results as readable tables.
func WriteTable(w io.Writer, res *Results) {
	m := res.Machine
	fmt.Fprintf(w, "Machine: %d CPUs (GOMAXPROCS %d), %.1f GiB, %s %s/%s, kernel %s, %s\n",
		m.CPUs, m.GOMAXPROCS, float64(m.MemTotalBytes)/gib, m.GoVersion, m.OS, m.Arch, m.Kernel, orNone(m.Python))
	fmt.Fprintf(w, "Load average: %.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
		m.LoadAvgStart[0], m.LoadAvgStart[1], m.LoadAvgStart[2], m.LoadAvgEnd[0], m.LoadAvgEnd[1], m.LoadAvgEnd[2])
	if res.Command != "" {
		fmt.Fprintf(w, "Command: %s\n", res.Command)
	}
	s := res.Settings
	fmt.Fprintf(w, "Stack: %s, history cache %s; sample interval %gs, warm-up %gs, measure %gs; worker: pollers %s, executions %s, local activities %s, sticky cache %s\n\n",
		s.Stack, orDefault(s.HistoryCache), s.IntervalSeconds, s.WarmupSeconds, s.DurationSeconds, orDefault(s.WorkflowPollers), orDefault(s.WorkflowExecutions), orDefault(s.LocalActivities), orDefault(s.StickyCache))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workflows\tN\tstarts/s\toffered/s\tcycles/s\t(history est.)\tmin..max/s\tCPU cores\tothers' CPU\tCPU ms/cycle\tevents/cycle\tactions/cycle\tWFTs/cycle\tB/cycle\tWFT wait ms\treplayed\tRSS before\tRSS after\tRSS/wf\theap/wf\tload1\t")
	rows := append(append([]LoadPhase{}, res.Posts...), res.Floor...)
	for _, p := range rows {
		q := p.History.Kinds[analysis.KindQuiet]
		lo, hi := minMax(p.PerSecond)
		wait, miss := sdkSummary(p.SDK)
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.1f\t%.1f\t%d..%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n",
			p.Kind, p.N, p.StartsPerS, p.OfferedPerS, p.CyclesPerS, p.History.CyclesPerSEstimate, lo, hi, p.CPUUtil, p.OtherCPU, p.CPUMsPerCycle,
			q.EventsPerCycle, q.ActionsPerCycle, q.WorkflowTasksPerCycle, q.PayloadBytesPerCycle, wait, miss,
			mib(p.RSSBeforeBytes), mib(p.RSSAfterBytes), kib(p.RSSPerWorkflow), kib(p.HeapPerWorkflow), p.LoadAvgEnd[0])
	}
	tw.Flush()

	if len(res.Compare) > 0 {
		fmt.Fprintln(w, "\nPersisted decisions per second (ours: plans recorded in history = quiet cycles)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "N\tResurge\tbare floor\tResurge/floor\treference\tResurge/reference\t")
		for _, c := range res.Compare {
			seed := "-"
			if c.SeedPerS > 0 {
				seed = fmt.Sprintf("%.1f", c.SeedPerS)
				if c.SeedExtrapolated {
					seed += "*"
				}
			}
			fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.0f%%\t%s\t×%.1f\t\n", c.N, c.OursPerS, c.FloorPerS, 100*c.VsFloor, seed, c.VsSeed)
		}
		tw.Flush()
		if res.Seed != nil {
			if res.Seed.Skipped != "" {
				fmt.Fprintf(w, "reference executor skipped: %s\n", res.Seed.Skipped)
			}
			for _, sr := range res.Seed.Runs {
				if !sr.Completed {
					fmt.Fprintf(w, "* reference N=%d: %s\n", sr.Posts, seedSummary(sr))
				}
			}
		}
	}

	if a := res.Acting; a != nil {
		fmt.Fprintf(w, "\nActing (%d posts, %d platform effects, %.0fs):\n", a.Posts, a.Effects, a.WaitSeconds)
		for _, k := range []string{analysis.KindQuiet, analysis.KindActing, analysis.KindBlocked, analysis.KindImpact, analysis.KindOther} {
			if st, ok := a.Kinds[k]; ok {
				fmt.Fprintf(w, "  %-8s cycles %3d: %.2f events, %.2f actions, %.2f workflow tasks per cycle\n", k, st.Cycles, st.EventsPerCycle, st.ActionsPerCycle, st.WorkflowTasksPerCycle)
			}
		}
		fmt.Fprintf(w, "  arbiter: %d arbitrations, %d events, %d actions in %d run(s); monitor: %d events, %d actions\n",
			a.Arbitrations, a.ArbiterEvents, a.ArbiterActions.Total(), a.ArbiterRuns, a.MonitorEvents, a.MonitorActions.Total())
		fmt.Fprintf(w, "  per arbitration in the arbiter: %.1f events, %.1f actions; per action in the monitor: %.1f events, %.1f actions (starts excluded)\n",
			a.ArbiterEventsPerArbitration, a.ArbiterActionsPerArbitration, a.MonitorEventsPerAction, a.MonitorActionsPerAction)
		fmt.Fprintf(w, "  per acting cycle with the arbiter and monitor: %.1f events, %.1f actions; one action adds %.1f events, %.1f actions over a quiet cycle (impact cycle included)\n",
			a.TotalEventsPerActingCycle, a.TotalActionsPerActingCycle, a.ExtraEventsPerAction, a.ExtraActionsPerAction)
		if c := a.ContinueAsNew; c != nil && c.RunsMeasured > 0 {
			fmt.Fprintf(w, "  continue-as-new (probe, %d runs of %.0f cycles): %.1f events, %.1f actions per run beyond its cycles\n",
				c.RunsMeasured, c.CyclesPerRun, c.OverheadEvents, c.OverheadActions)
		}
	}
	if c := res.Cost; c != nil && c.FromN > 0 {
		fmt.Fprintf(w, "\nBillable actions per post per day at %s sampling (%.0f cycles/day; quiet cycle measured at N=%d):\n", c.SampleInterval, c.CyclesPerDay, c.FromN)
		fmt.Fprintf(w, "  quiet: %.0f × %.2f + %.2f continue-as-new × %.1f = %.0f actions/day (%.0f history events/day); bare floor %.0f\n",
			c.CyclesPerDay, c.QuietActionsPerCycle, c.ContinueAsNewPerDay, c.CANActionsPerRun, c.QuietActionsPerDay, c.QuietEventsPerDay, c.FloorActionsPerDay)
		if res.Acting != nil {
			fmt.Fprintf(w, "  each action adds %.1f (post + arbiter + monitor); at %.1f actions/day: %.0f actions/day\n",
				c.ExtraActionsPerAction, c.ActionsPerDayAssumed, c.BusyActionsPerDay)
		}
		fmt.Fprintf(w, "  plus %.0f once per post (its start, and any search attribute upsert before its first timer)\n", c.LifetimeActions)
	}
	if l := res.Lock; l != nil {
		fmt.Fprintf(w, "\nLock: %d clients at %.0f arbitrations/s; first lock answer %.3f s after sending the signal (signal call %.3f s, server %.3f s); allowed after the lock: %d recorded, %d acknowledged; %d lock answers, %d errors\n",
			l.Clients, l.ArbitrationsPerS, l.LatencySeconds, l.SignalSeconds, l.ServerLatencySeconds, l.AllowedAfterLockRecorded, l.AllowedAfterLockAck, l.LockDecisions, l.Errors)
	}
	writeScale(w, res.ScalePhases)
	writeLockLoad(w, res.LockLoad)
	writeCadence(w, res.Cadence)
	writeFleet(w, res)

	fmt.Fprintln(w, "\nTargets:")
	for _, t := range res.Targets {
		why := ""
		if t.Why != "" {
			why = " (" + t.Why + ")"
		}
		fmt.Fprintf(w, "  [%s] %s — goal %s — %s%s\n", t.Met, t.Name, t.Goal, t.Measured, why)
	}
	if len(res.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range res.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	for _, p := range res.Profiles {
		fmt.Fprintf(w, "CPU profile: %s\n", p)
	}
}

func minMax(xs []int64) (int64, int64) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func orNone(s string) string {
	if s == "" {
		return "no python3"
	}
	return s
}

func orDefault(n int) string {
	if n == 0 {
		return "default"
	}
	return fmt.Sprint(n)
}

// sdkSummary is the mean workflow task schedule-to-start latency and the share of workflow
// tasks that replayed their history, "-" when the SDK's metrics were not collected.
func sdkSummary(m map[string]SDKMetric) (wait, miss string) {
	wait, miss = "-", "-"
	if w, ok := m["temporal_workflow_task_schedule_to_start_latency"]; ok {
		wait = fmt.Sprintf("%.0f", 1000*w.Mean)
	}
	// A workflow task whose state was not in the sticky cache (a sticky miss, or a task from
	// the normal queue with the full history) replays the whole history.
	if polls := m["temporal_workflow_task_queue_poll_succeed"].Sum; polls > 0 {
		miss = fmt.Sprintf("%.1f%%", 100*max(0, polls-m["temporal_sticky_cache_hit"].Sum)/polls)
	}
	return wait, miss
}

// writeFleet prints the fleet phases beside the embedded phases of the same N.
func writeFleet(w io.Writer, res *Results) {
	if len(res.Fleet) == 0 && res.FleetLock == nil {
		return
	}
	if len(res.Fleet) > 0 {
		fmt.Fprintln(w, "\nProduction topology (PostgreSQL, the server binary, worker processes) beside the embedded server:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "N\tworkers\tcycles/s\toffered\tCPU ms/cycle\tserver\tpostgres\tworkers\tsim\tother cores\tembedded cycles/s\tembedded CPU ms/cycle\t")
		for _, f := range res.Fleet {
			emb, embCPU := "—", "—"
			for _, p := range res.Posts {
				if p.N == f.N {
					emb, embCPU = fmt.Sprintf("%.1f", p.CyclesPerS), fmt.Sprintf("%.2f", p.CPUMsPerCycle)
				}
			}
			per := func(k string) string {
				if f.Cycles == 0 {
					return "—"
				}
				return fmt.Sprintf("%.2f", 1000*f.CPUSecondsBy[k]/float64(f.Cycles))
			}
			sat := ""
			if f.Saturated {
				sat = " (sat.)"
			}
			fmt.Fprintf(tw, "%d\t%d\t%.1f%s\t%.0f\t%.2f\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t\n", f.N, f.Workers, f.CyclesPerS, sat, f.OfferedPerS,
				f.CPUMsPerCycle, per(cpuServer), per(cpuPostgres), per(cpuWorkers), per(cpuSim), f.OtherCPU, emb, embCPU)
		}
		tw.Flush()
	}
	if l := res.FleetLock; l != nil {
		fmt.Fprintf(w, "Fleet lock (%d workers): %d clients at %.0f arbitrations/s; first lock answer %.3f s after sending the signal (server %.3f s); allowed after the lock: %d recorded, %d acknowledged; %d errors\n",
			l.Workers, l.Clients, l.ArbitrationsPerS, l.LatencySeconds, l.ServerLatencySeconds, l.AllowedAfterLockRecorded, l.AllowedAfterLockAck, l.Errors)
	}
}
