package benchlib

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/worker"

	"resurge/bench/analysis"
	"resurge/devserver"
	"resurge/domain"
	"resurge/production"
)

// The scale phase: N open posts at the real default cadence (a sample every 10 minutes, not
// the load phases' accelerated second), started by the starter binary from a CSV file as an
// operator would, with the worker's sticky cache sized for them, the server's history cache
// at the dev server's default as `worker --dev` runs it (--history-cache sets it), under a Go
// soft memory limit. A server cache sized for 100,000 posts held their mutable states (half
// the live heap), which the memory limit made the GC mark again and again: 107.9 cycles/s and
// p99 165 s, against 134.3 and 5.1 s at the default (README.md, "Performance"). It
// measures what one machine needs for them: resident memory (server, worker and platform
// share the process), the lag from a timer's due time to the evaluation it wakes being done,
// CPU per cycle, and the starter's rate.

// KindScale is the scale phase's kind (a load phase run in a child process).
const KindScale = "scale"

// Scale is what the scale phase adds to a LoadPhase.
type Scale struct {
	IntervalSeconds float64 `json:"sample_interval_s"`
	// StickyCache and HistoryCache are the caches it ran with (the worker's sized for N).
	StickyCache  int `json:"worker_sticky_cache"`
	HistoryCache int `json:"server_history_cache"`
	// MemoryLimitBytes is the process's Go soft memory limit (GOMEMLIMIT), 0 for none.
	MemoryLimitBytes int64 `json:"memory_limit_bytes"`
	// The starter: `starter start --file` with StarterConcurrency, its time and rate.
	StarterConcurrency int     `json:"starter_concurrency"`
	StarterSeconds     float64 `json:"starter_seconds"`
	StarterPerS        float64 `json:"starter_posts_per_s"`
	StarterSummary     string  `json:"starter_summary"`
	// FirstSampledSeconds is when every post had taken its first sample (its first workflow
	// task done), from the starter's start.
	FirstSampledSeconds float64 `json:"first_sampled_s"`
	// FirstSampledPosts is how many posts had taken their first sample by then: all of them,
	// unless the machine could not keep up within scaleFirstSampleWait (then Errors says so and
	// the window measures the backlogged machine).
	FirstSampledPosts int64    `json:"first_sampled_posts"`
	Errors            []string `json:"errors,omitempty"`
	// Timer lag over the sampled workflows' cycles in the window, in seconds: from the
	// timer's due time to the server firing it, and to the evaluation it woke being done.
	LagCycles  int     `json:"lag_cycles"`
	FireLagP50 float64 `json:"fire_lag_p50_s"`
	FireLagP99 float64 `json:"fire_lag_p99_s"`
	DoneLagP50 float64 `json:"done_lag_p50_s"`
	DoneLagP99 float64 `json:"done_lag_p99_s"`
	DoneLagMax float64 `json:"done_lag_max_s"`
}

// defaultScaleMemoryLimitGiB is the scale phases' Go soft memory limit: 1 GiB below the
// issue's 8 GiB budget for 100,000 posts, for what the Go runtime does not count (SQLite's
// memory outside the Go heap, the binary's mapped pages). Without it GOGC=100 lets the heap
// grow to twice the live set before a collection: 8.37 GiB at 100,000 posts for a 3.34 GiB
// live heap (README.md, "Performance"); with it, 6.75 GiB for 3.45 GiB, and the GC's share of
// the CPU doubled.
const defaultScaleMemoryLimitGiB = 7

// withMemoryLimit sets the process's soft memory limit to gib GiB (none when not positive)
// and returns what restores the previous one.
func withMemoryLimit(gib float64) (limit int64, restore func()) {
	if gib <= 0 {
		return 0, func() {}
	}
	limit = int64(gib * (1 << 30))
	prev := debug.SetMemoryLimit(limit)
	return limit, func() { debug.SetMemoryLimit(prev) }
}

// scaleFirstSampleWait bounds the wait, from the starter's start, for every post's first sample.
const scaleFirstSampleWait = 30 * time.Minute

// scaleCache is the cache size for n open posts: them, their monitor, the arbiter and room.
func scaleCache(n int) int { return n + n/10 + 1000 }

// sdkDefaultStickyCache is the SDK's sticky workflow cache size when none is set.
const sdkDefaultStickyCache = 10000

// withStickyCache sets the process-wide sticky cache size for the workers started next (the
// SDK sizes its shared cache when the first worker of the process starts after all others
// stopped) and returns what puts back the size the options asked for (0: the SDK default).
func withStickyCache(size, optionsSize int) (restore func()) {
	worker.SetStickyWorkflowCacheSize(size)
	return func() { worker.SetStickyWorkflowCacheSize(cmp.Or(optionsSize, sdkDefaultStickyCache)) }
}

// scaleConfig is a quiet post (it never acts) at the default configuration's cadence.
func scaleConfig(interval time.Duration) domain.EvaluationConfig { return quietConfig(interval) }

// runScale is one scale phase in this (child) process.
func (r *runner) runScale(ctx context.Context, n int) (LoadPhase, error) {
	o := r.o
	iv := o.ScaleInterval
	sc := &Scale{IntervalSeconds: iv.Seconds(), StickyCache: scaleCache(n), HistoryCache: cmp.Or(o.HistoryCache, devserver.DefaultHistoryCacheSize), StarterConcurrency: o.ScaleStartConcurrency}
	res := LoadPhase{Kind: KindScale, N: n, Throughput: Throughput{OfferedPerS: float64(n) / iv.Seconds()}, Scale: sc}
	// Process-wide, before the worker starts.
	defer withStickyCache(sc.StickyCache, o.StickyCache)()
	limit, restoreLimit := withMemoryLimit(o.ScaleMemoryLimitGiB)
	defer restoreLimit()
	sc.MemoryLimitBytes = limit

	r.progress("scale N=%d: building the starter", n)
	bin, err := production.Build(ctx, o.FleetBinDir)
	if err != nil {
		return res, fmt.Errorf("scale: %w", err)
	}
	so := r.stackOptions(nil)
	so.historyCache = sc.HistoryCache
	s, err := r.startStack(ctx, fmt.Sprintf("scale-%d", n), so)
	if err != nil {
		return res, err
	}
	defer r.stopStack(s)
	settle()
	res.RSSBeforeBytes, res.HeapBeforeBytes = rssBytes(), liveHeapBytes()

	csv := filepath.Join(s.dir, "posts.csv")
	if err := writeScaleCSV(csv, n, iv); err != nil {
		return res, err
	}
	r.progress("scale N=%d: the starter starts them from %s (--concurrency %d)", n, csv, sc.StarterConcurrency)
	var startProfile string // the starts and their first workflow tasks get a profile of their own
	stopStartProfile := r.startProfile(&startProfile, KindScale+"-start", n)
	t := time.Now()
	out, err := runStarter(ctx, bin.Starter(), s.ds.Server.HostPort(), csv, sc.StarterConcurrency)
	sc.StarterSeconds = time.Since(t).Seconds()
	sc.StarterSummary = out
	if err != nil {
		stopStartProfile()
		return res, fmt.Errorf("scale N=%d: starter: %w (%s)", n, err, out)
	}
	started, failed := parseStarterSummary(out)
	res.StartSeconds, res.StartErrors = sc.StarterSeconds, failed
	sc.StarterPerS = float64(started) / sc.StarterSeconds
	res.StartsPerS = sc.StarterPerS
	r.progress("scale N=%d: the starter took %.0fs (%.0f posts/s): %s", n, sc.StarterSeconds, sc.StarterPerS, out)

	// Every post takes its first sample in its first workflow task: wait for all of them, so
	// that the window sees the steady state, not the starts' backlog. A machine that cannot
	// keep up is measured anyway (what it does backlogged is the finding), with the shortfall
	// recorded.
	for s.counter.posts.Load() < int64(started) {
		if time.Since(t) > scaleFirstSampleWait {
			sc.Errors = append(sc.Errors, fmt.Sprintf("only %d of %d posts took their first sample within %s of the starter's start: the machine did not keep up (the window measures it backlogged)",
				s.counter.posts.Load(), started, scaleFirstSampleWait))
			break
		}
		if err := sleep(ctx, time.Second); err != nil {
			stopStartProfile()
			return res, err
		}
	}
	sc.FirstSampledSeconds = time.Since(t).Seconds()
	sc.FirstSampledPosts = s.counter.posts.Load()
	stopStartProfile()
	r.progress("scale N=%d: every post took its first sample %.0fs after the starter began; warming up %s", n, sc.FirstSampledSeconds, o.Warmup)
	if err := sleep(ctx, o.Warmup); err != nil {
		return res, err
	}
	// One whole interval: every post samples once in it.
	t0, t1, err := r.measure(ctx, s, &res, s.counter.metrics.Load, iv, min(10*time.Second, iv))
	if err != nil {
		return res, err
	}

	ids := make([]string, 0, o.HistorySample)
	for _, i := range sampleIndexes(n, o.HistorySample) {
		ids = append(ids, quietWorkflowID(i))
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var fire, done []float64
	for _, id := range ids {
		events, err := readHistory(hctx, s.client, id, "")
		if err != nil {
			return res, fmt.Errorf("scale N=%d: history of %s: %w", n, id, err)
		}
		for _, l := range analysis.TimerLags(events, t0, t1) {
			fire, done = append(fire, l.FireLag().Seconds()), append(done, l.DoneLag().Seconds())
		}
	}
	sc.LagCycles = len(done)
	if len(done) > 0 {
		sc.FireLagP50, sc.FireLagP99 = analysis.Quantile(fire, 0.5), analysis.Quantile(fire, 0.99)
		sc.DoneLagP50, sc.DoneLagP99, sc.DoneLagMax = analysis.Quantile(done, 0.5), analysis.Quantile(done, 0.99), analysis.Quantile(done, 1)
	}
	res.History, err = sampleHistories(hctx, s.client, ids, t0, t1, n)
	if err != nil {
		return res, fmt.Errorf("scale N=%d: histories: %w", n, err)
	}
	res.HeapAfterBytes = liveHeapBytes()
	res.HeapPerWorkflow = float64(res.HeapAfterBytes-res.HeapBeforeBytes) / float64(n)
	r.progress("scale N=%d: timer lag over %d cycles: fired p50 %.3fs p99 %.3fs; evaluation done p50 %.3fs p99 %.3fs (max %.3fs)",
		n, sc.LagCycles, sc.FireLagP50, sc.FireLagP99, sc.DoneLagP50, sc.DoneLagP99, sc.DoneLagMax)
	return res, nil
}

// writeScaleCSV writes n quiet posts in the starter's CSV format, with their configuration in
// the configuration columns.
func writeScaleCSV(path string, n int, interval time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	c := scaleConfig(interval)
	fmt.Fprintln(w, "post_id,platform,agent,comment_text,edit_text,thread_texts,window,min_samples,sample_interval,horizon,cadence")
	for i := range n {
		p := benchPost(quietPostID(i), "bench")
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s\n", p.ID, p.Platform, p.Agent, p.CommentText, p.EditText, strings.Join(p.ThreadTexts, " | "),
			c.Window, c.MinSamples, c.SampleInterval, c.Horizon, c.Cadence)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runStarter runs `starter start --file csv` against the server and returns its summary line.
func runStarter(ctx context.Context, starter, hostPort, csv string, concurrency int) (string, error) {
	cmd := exec.CommandContext(ctx, starter, "--address", hostPort, "--timeout", "1m", "start", "--file", csv,
		"--concurrency", strconv.Itoa(concurrency), "--progress-every", "0")
	out, err := cmd.Output()
	line := strings.TrimSpace(string(out))
	if ee, ok := err.(*exec.ExitError); ok {
		line += " " + strings.TrimSpace(string(ee.Stderr))
	}
	return line, err
}

var starterSummary = regexp.MustCompile(`started (\d+), already watching (\d+), failed (\d+)`)

// parseStarterSummary reads "N posts from F: started S, already watching E, failed X".
func parseStarterSummary(line string) (started, failed int) {
	m := starterSummary.FindStringSubmatch(line)
	if m == nil {
		return 0, 0
	}
	s, _ := strconv.Atoi(m[1])
	e, _ := strconv.Atoi(m[2])
	f, _ := strconv.Atoi(m[3])
	return s + e, f
}

// Targets of the scale phase (issue 13 §3), for its largest N.
const (
	scaleMemoryGoal  = 8 * gib
	scaleLagGoal     = 5.0   // seconds, p99, due → evaluation done
	scaleCPUGoal     = 1.25  // CPU per cycle, largest N over smallest
	scaleStarterGoal = 900.0 // seconds to start the largest N
)

func scaleTargets(ps []LoadPhase) []Target {
	mem := Target{Name: "resident memory of the scale phase's largest N (server + worker + platform)", Goal: "≤ 8 GiB"}
	lag := Target{Name: "timer lag at the scale phase's largest N, due → evaluation done", Goal: "p99 ≤ 5 s"}
	cpu := Target{Name: "per-post cost flat across the scale phases", Goal: "CPU per cycle at the largest N within ×1.25 of the smallest"}
	start := Target{Name: "the starter starting the scale phase's largest N", Goal: "≤ 15 minutes"}
	if len(ps) == 0 {
		for _, t := range []*Target{&mem, &lag, &cpu, &start} {
			t.Met = "n/a"
		}
		return []Target{mem, lag, cpu, start}
	}
	small, big := ps[0], ps[len(ps)-1]
	sc := big.Scale
	mem.Measured = fmt.Sprintf("N=%d: %.2f GiB (%s per post; %.2f GiB at N=%d)", big.N, float64(big.RSSAfterBytes)/gib, kib(big.RSSPerWorkflow), float64(small.RSSAfterBytes)/gib, small.N)
	mem.Met = yesNo(big.RSSAfterBytes > 0 && float64(big.RSSAfterBytes) <= scaleMemoryGoal)
	if sc != nil {
		lag.Measured = fmt.Sprintf("N=%d: p50 %.3f s, p99 %.3f s over %d cycles (server firing: p50 %.3f s, p99 %.3f s)", big.N, sc.DoneLagP50, sc.DoneLagP99, sc.LagCycles, sc.FireLagP50, sc.FireLagP99)
		lag.Met = yesNo(sc.LagCycles > 0 && sc.DoneLagP99 <= scaleLagGoal)
		start.Measured = fmt.Sprintf("N=%d: %.0f s (%.0f posts/s, --concurrency %d): %s", big.N, sc.StarterSeconds, sc.StarterPerS, sc.StarterConcurrency, sc.StarterSummary)
		start.Met = yesNo(sc.StarterSeconds <= scaleStarterGoal && big.StartErrors == 0)
	}
	r := ratio(big.CPUMsPerCycle, small.CPUMsPerCycle)
	cpu.Measured = fmt.Sprintf("%.2f ms (N=%d) → %.2f ms (N=%d) = ×%.2f", small.CPUMsPerCycle, small.N, big.CPUMsPerCycle, big.N, r)
	cpu.Met = yesNo(len(ps) > 1 && r > 0 && r <= scaleCPUGoal)
	if big.Saturated && len(ps) > 1 {
		// A backlogged machine's CPU per cycle is not the steady state's cost per post.
		cpu.Met = "no"
		cpu.Why = fmt.Sprintf("N=%d saturated: %.1f of %.1f cycles/s offered", big.N, big.CyclesPerS, big.OfferedPerS)
	}
	if len(ps) < 2 {
		cpu.Met = "n/a"
	}
	for _, t := range []*Target{&mem, &lag, &cpu, &start} {
		if big.N < 100_000 && t.Met != "n/a" {
			t.Why = strings.TrimPrefix(t.Why+fmt.Sprintf("; largest N measured: %d, not 100,000", big.N), "; ")
		}
		if sc != nil && len(sc.Errors) > 0 {
			t.Why = strings.TrimPrefix(t.Why+"; "+strings.Join(sc.Errors, "; "), "; ")
		}
		if big.OtherCPU >= 0.25 {
			t.Why = strings.TrimPrefix(t.Why+fmt.Sprintf("; other processes used %.2f cores meanwhile", big.OtherCPU), "; ")
		}
	}
	return []Target{mem, lag, cpu, start}
}

func writeScale(w io.Writer, ps []LoadPhase) {
	if len(ps) == 0 {
		return
	}
	iv := time.Duration(ps[0].Scale.IntervalSeconds * float64(time.Second))
	limit := "no Go memory limit"
	if l := ps[0].Scale.MemoryLimitBytes; l > 0 {
		limit = fmt.Sprintf("Go memory limit %.1f GiB", float64(l)/gib)
	}
	fmt.Fprintf(w, "\nScale (quiet posts sampling every %s, workflow caches in workflows, %s; started by the starter binary):\n", iv, limit)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tworker cache\tserver cache\tstarter s\tposts/s\toffered/s\tcycles/s\tCPU cores\tothers' CPU\tCPU ms/cycle\tRSS\tRSS/post\tfired p50/p99 s\tdone p50/p99 s\treplayed\t")
	for _, p := range ps {
		sc := p.Scale
		_, miss := sdkSummary(p.SDK)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.0f\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%.3f / %.3f\t%.3f / %.3f\t%s\t\n", p.N, sc.StickyCache, sc.HistoryCache, sc.StarterSeconds, sc.StarterPerS, p.OfferedPerS, p.CyclesPerS,
			p.CPUUtil, p.OtherCPU, p.CPUMsPerCycle, mib(p.RSSAfterBytes), kib(p.RSSPerWorkflow), sc.FireLagP50, sc.FireLagP99, sc.DoneLagP50, sc.DoneLagP99, miss)
	}
	tw.Flush()
	for _, p := range ps {
		for _, e := range p.Scale.Errors {
			fmt.Fprintf(w, "  N=%d: %s\n", p.N, e)
		}
	}
}
