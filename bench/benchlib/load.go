package benchlib

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"resurge/bench/analysis"
	"resurge/domain"
	"resurge/workflows"
)

// Kinds of load phase.
const (
	KindPosts = "posts"
	KindFloor = "floor"
)

// quietConfig keeps a post quiet for ever: MinSamples (1,000, the domain's maximum) can never
// be reached because the window holds about 9 samples (as the product's 90-minute window does
// at 10-minute sampling), so every plan is "insufficient_samples", the state stays "watching"
// and no search attribute changes. The samples carried and handed to the planner are the same
// size as in production.
func quietConfig(interval time.Duration) domain.EvaluationConfig {
	c := domain.DefaultConfig()
	c.SampleInterval = interval
	c.Window = 9 * interval
	c.MinSamples = domain.MaxMinSamples
	c.Horizon = 24 * time.Hour
	c.Cadence = domain.CadenceFixed // the load phases measure the cost of one cycle
	return c
}

func benchPost(id, agent string) domain.Post {
	return domain.Post{
		ID: id, Platform: domain.PlatformSim, Agent: agent,
		CommentText: "What do you think?", EditText: "Edit: more details", ThreadTexts: []string{"1/2", "2/2"},
	}
}

func quietPostID(i int) string     { return fmt.Sprintf("quiet-%06d", i) }
func floorID(i int) string         { return fmt.Sprintf("floor-%06d", i) }
func quietWorkflowID(i int) string { return workflows.PostWorkflowID(quietPostID(i)) }

// runLoad measures one steady state: N quiet posts, or N bare floor workflows.
func (r *runner) runLoad(ctx context.Context, kind string, n int) (LoadPhase, error) {
	o := r.o
	res := LoadPhase{Kind: kind, N: n}
	res.OfferedPerS = float64(n) / o.Interval.Seconds()
	s, err := r.startStack(ctx, fmt.Sprintf("%s-%d", kind, n), r.stackOptions(nil))
	if err != nil {
		return res, err
	}
	defer r.stopStack(s)

	settle()
	res.RSSBeforeBytes = rssBytes()
	res.HeapBeforeBytes = liveHeapBytes()

	count := func() int64 { return floorTicks.Load() }
	start := func(ctx context.Context, i int) error {
		_, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: floorID(i), TaskQueue: floorTaskQueue,
		}, FloorWorkflow, FloorInput{Interval: o.Interval})
		return err
	}
	if kind == KindPosts {
		count = s.counter.metrics.Load
		cfg := quietConfig(o.Interval)
		start = func(ctx context.Context, i int) error {
			_, err := workflows.StartPost(ctx, s.client, workflows.PostInput{Post: benchPost(quietPostID(i), "bench"), Config: cfg})
			return err
		}
	}

	r.progress("%s N=%d: starting %d workflows (%d at a time)", kind, n, n, o.StartConcurrency)
	t := time.Now()
	res.StartErrors = startAll(ctx, n, o.StartConcurrency, start)
	res.StartSeconds = time.Since(t).Seconds()
	res.StartsPerS = float64(n-res.StartErrors) / res.StartSeconds
	if res.StartErrors == n {
		return res, fmt.Errorf("%s N=%d: every start failed", kind, n)
	}
	r.progress("%s N=%d: started in %.1fs (%.0f/s, %d errors); warming up %s", kind, n, res.StartSeconds, res.StartsPerS, res.StartErrors, o.Warmup)
	if err := sleep(ctx, o.Warmup); err != nil {
		return res, err
	}

	t0, t1, err := r.measure(ctx, s, &res, count, o.Duration, time.Second)
	if err != nil {
		return res, err
	}

	ids := make([]string, 0, o.HistorySample)
	for _, i := range sampleIndexes(n, o.HistorySample) {
		if kind == KindPosts {
			ids = append(ids, quietWorkflowID(i))
		} else {
			ids = append(ids, floorID(i))
		}
	}
	hctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	res.History, err = sampleHistories(hctx, s.client, ids, t0, t1, n)
	cancel()
	if err != nil {
		return res, fmt.Errorf("%s N=%d: histories: %w", kind, n, err)
	}
	q := res.History.Kinds[analysis.KindQuiet]
	r.progress("%s N=%d: histories of %d workflows: %.2f events and %.2f actions per quiet cycle (%d cycles), estimate %.1f cycles/s",
		kind, n, res.History.Workflows, q.EventsPerCycle, q.ActionsPerCycle, q.Cycles, res.History.CyclesPerSEstimate)

	res.HeapAfterBytes = liveHeapBytes()
	res.HeapPerWorkflow = float64(res.HeapAfterBytes-res.HeapBeforeBytes) / float64(n)
	return res, nil
}

// measure is a phase's measuring window of length d after its warm-up: cycles (count, sampled
// every step into PerSecond), the process's and the machine's CPU, memory, the SDK's metrics;
// it fills res and returns the window.
func (r *runner) measure(ctx context.Context, s *stack, res *LoadPhase, count func() int64, d, step time.Duration) (t0, t1 time.Time, err error) {
	stopProfile := r.startProfile(&res.Profile, res.Kind, res.N)
	defer stopProfile()
	errs0 := s.counter.errors.Load()
	var sdk0 map[string]SDKMetric
	if s.sdk != nil {
		sdk0 = s.sdk.snapshot()
	}
	c0, cpu0, busy0 := count(), cpuSeconds(), machineBusySeconds()
	t0 = time.Now()
	last := c0
	tick := time.NewTicker(step)
	defer tick.Stop()
	for deadline := t0.Add(d); time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return t0, t0, ctx.Err()
		case <-tick.C:
			c := count()
			res.PerSecond = append(res.PerSecond, int64(float64(c-last)/step.Seconds()))
			last = c
		}
	}
	c1, cpu1, busy1 := count(), cpuSeconds(), machineBusySeconds()
	t1 = time.Now()
	stopProfile()
	if s.sdk != nil {
		res.SDK = sdkDelta(sdk0, s.sdk.snapshot())
	}
	res.MemoryAtEnd = memoryNow()
	res.RSSAfterBytes = res.MemoryAtEnd.RSS
	res.LoadAvgEnd = loadAvg()
	res.MetricsErrors = s.counter.errors.Load() - errs0
	r.writeHeapProfile(res.Kind, res.N)

	res.MeasureSeconds = t1.Sub(t0).Seconds()
	res.Cycles = c1 - c0
	res.CyclesPerS = float64(res.Cycles) / res.MeasureSeconds
	res.Saturated = res.CyclesPerS < 0.9*res.OfferedPerS
	res.CPUSeconds = cpu1 - cpu0
	res.CPUUtil = res.CPUSeconds / res.MeasureSeconds
	res.OtherCPU = max(0, (busy1-busy0)-res.CPUSeconds) / res.MeasureSeconds
	if res.Cycles > 0 {
		res.CPUMsPerCycle = 1000 * res.CPUSeconds / float64(res.Cycles)
	}
	res.RSSPerWorkflow = float64(res.RSSAfterBytes-res.RSSBeforeBytes) / float64(res.N)
	r.progress("%s N=%d: %.1f cycles/s over %.1fs (offered %.1f/s), %.2f CPU ms/cycle, RSS %s → %s",
		res.Kind, res.N, res.CyclesPerS, res.MeasureSeconds, res.OfferedPerS, res.CPUMsPerCycle, mib(res.RSSBeforeBytes), mib(res.RSSAfterBytes))
	m := res.MemoryAtEnd
	r.progress("%s N=%d: RSS at the end: heap objects %s, free heap %s, stacks %s (%d goroutines), runtime %s, outside Go %s",
		res.Kind, res.N, mib(m.HeapObjects), mib(m.HeapFree), mib(m.Stacks), m.Goroutines, mib(m.Runtime), mib(m.OutsideGo))
	return t0, t1, nil
}

// startAll runs start(i) for i in [0, n) with at most conc in flight, retrying each a few
// times; it returns how many could not be started.
func startAll(ctx context.Context, n, conc int, start func(context.Context, int) error) int {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					err = start(cctx, i)
					cancel()
					if err == nil || ctx.Err() != nil {
						break
					}
					time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
				}
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(failed.Load())
}

// sampleIndexes spreads k indexes over [0, n).
func sampleIndexes(n, k int) []int {
	if k > n {
		k = n
	}
	out := make([]int, 0, k)
	for j := 0; j < k; j++ {
		out = append(out, j*n/k)
	}
	return out
}

// readHistory returns the events of a run ("" = the latest).
func readHistory(ctx context.Context, c client.Client, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}

// readRuns returns every run of a workflow, oldest first, following continue-as-new back
// from the latest run (at most max runs).
func readRuns(ctx context.Context, c client.Client, workflowID string, max int) ([][]*historypb.HistoryEvent, error) {
	var runs [][]*historypb.HistoryEvent
	runID := ""
	for len(runs) < max {
		events, err := readHistory(ctx, c, workflowID, runID)
		if err != nil {
			return nil, err
		}
		if len(events) == 0 {
			break
		}
		runs = append([][]*historypb.HistoryEvent{events}, runs...)
		runID = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			break
		}
	}
	return runs, nil
}

func closed(events []*historypb.HistoryEvent) bool {
	if len(events) == 0 {
		return false
	}
	switch events[len(events)-1].GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return true
	}
	return false
}

// sampleHistories reads the sampled workflows' latest runs and aggregates their complete
// cycles whose timer fired in [from, to).
func sampleHistories(ctx context.Context, c client.Client, ids []string, from, to time.Time, n int) (HistorySample, error) {
	hs := HistorySample{Workflows: len(ids), Kinds: map[string]analysis.CycleStats{}}
	type one struct {
		events []*historypb.HistoryEvent
		err    error
	}
	got := make([]one, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			got[i].events, got[i].err = readHistory(ctx, c, id, "")
		}()
	}
	wg.Wait()
	var agg analysis.Aggregator
	decisions, starts := 0, 0
	for i, g := range got {
		if g.err != nil {
			return hs, fmt.Errorf("%s: %w", ids[i], g.err)
		}
		if closed(g.events) {
			hs.Closed++
		}
		if len(g.events) > 0 && g.events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId() == "" {
			// Only runs past their first timer: a saturated server may not have run the first
			// cycle of every sampled workflow yet.
			if head, ok := beforeFirstTimerFired(g.events); ok {
				starts++
				a := analysis.CountActions(head, nil)
				hs.StartEvents += float64(len(head))
				hs.StartActions += float64(a.Total())
				hs.OneOffActions += float64(a.WorkflowStarted + a.Upserts)
			}
		}
		cs := analysis.Cycles(g.events, from, to)
		d := analysis.RecordedDecisions(g.events, from, to)
		decisions += d
		hs.PerWorkflow = append(hs.PerWorkflow, d)
		agg.Add(g.events, cs)
	}
	for _, k := range agg.Kinds() {
		hs.Kinds[k] = agg.Stats(k)
	}
	hs.Unusual = agg.Unusual
	if starts > 0 {
		hs.StartEvents /= float64(starts)
		hs.StartActions /= float64(starts)
		hs.OneOffActions /= float64(starts)
	}
	if len(ids) > 0 {
		hs.CyclesPerSEstimate = float64(decisions) / float64(len(ids)) * float64(n) / to.Sub(from).Seconds()
	}
	return hs, nil
}

// startProfile starts a CPU profile for one measuring window when asked; the returned func
// stops it.
func (r *runner) startProfile(name *string, kind string, n int) func() {
	if r.o.CPUProfile == "" {
		return func() {}
	}
	path := fmt.Sprintf("%s-%s-%d.pprof", strings.TrimSuffix(r.o.CPUProfile, ".pprof"), kind, n)
	if dir := filepath.Dir(path); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
	}
	f, err := os.Create(path)
	if err != nil {
		r.progress("cpu profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		r.progress("cpu profile: %v", err)
		return func() {}
	}
	*name = path
	r.res.Profiles = append(r.res.Profiles, path)
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// writeHeapProfile writes a heap profile (after a GC) when asked.
func (r *runner) writeHeapProfile(kind string, n int) {
	if r.o.MemProfile == "" {
		return
	}
	path := fmt.Sprintf("%s-%s-%d.heap.pprof", strings.TrimSuffix(r.o.MemProfile, ".pprof"), kind, n)
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		r.progress("heap profile: %v", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		r.progress("heap profile: %v", err)
		return
	}
	r.res.Profiles = append(r.res.Profiles, path)
	r.progress("heap profile: %s", path)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// beforeFirstTimerFired is a fresh run's start: its first workflow task, which also runs the
// first cycle (a new post samples at once), up to its first timer.
func beforeFirstTimerFired(events []*historypb.HistoryEvent) ([]*historypb.HistoryEvent, bool) {
	for i, e := range events {
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
			return events[:i], true
		}
	}
	return events, false
}
