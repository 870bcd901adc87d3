// Package benchlib is the benchmark behind `go run ./bench`: it starts the embedded Temporal
// server, the simulated platform and a Resurge worker in this process, measures evaluation
// cycles, history events, billable actions, memory and lock latency, runs the reference
// executor side by side and a bare Temporal workflow as the floor, and returns Results.
package benchlib

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"resurge/domain"
)

// Options configure a run. Zero values take the defaults (see withDefaults).
type Options struct {
	// Posts are the numbers of open post workflows to measure, one phase each.
	Posts []int
	// Duration is the steady-state measuring time per phase; Warmup is waited after the last
	// workflow started, before measuring.
	Duration time.Duration
	Warmup   time.Duration
	// Interval is the accelerated sample interval (the domain's minimum is 1 s).
	Interval time.Duration
	// Quick is a smoke test of the bench code: tiny N, a few seconds per phase.
	Quick bool
	// DataDir holds one SQLite database per phase (removed afterwards unless KeepData).
	DataDir  string
	KeepData bool
	// SeedDir holds the reference executor (bench_seed.py); "" skips it. SeedTimeout bounds
	// one N of it (0 = none).
	SeedDir     string
	SeedTimeout time.Duration
	// StartConcurrency bounds the workflow starts in flight.
	StartConcurrency int
	// HistorySample is how many workflows' histories are read per phase.
	HistorySample int
	// Worker tuning, passed as worker.Options (0 = the SDK's default). StickyCache sets the
	// process-wide sticky workflow cache size (0 = the SDK's default, 10,000).
	WorkflowPollers    int
	WorkflowExecutions int
	// StickyTimeout is the worker's StickyScheduleToStartTimeout (0: the SDK's 5 s).
	StickyTimeout   time.Duration
	LocalActivities int
	StickyCache     int
	// HistoryCache is the dev server's host-level history cache, in workflows (0 = the dev
	// server's default, devserver.DefaultHistoryCacheSize).
	HistoryCache int
	// SimStateFile (--devstack) has the simulated platform keep its state in a file in the
	// data dir, as devstack.Start does by default (and the worker's --dev); by default the
	// bench keeps it in memory.
	SimStateFile bool
	// ActingPosts is how many posts act once each in the acting phase; ActingWait bounds the
	// wait for their actions.
	ActingPosts int
	ActingWait  time.Duration
	// LockClients are the goroutines calling the arbiter in a tight loop; LockPre is how long
	// they run before the lock is sent.
	LockClients int
	LockPre     time.Duration
	// FleetPosts are the numbers of quiet posts of the fleet phases on the production
	// topology, each over every worker count of FleetWorkers; empty skips them. The fleet's
	// lock latency runs with FleetLockWorkers workers (unless SkipLock). FleetBinDir is where
	// the topology's binaries are built (production.DefaultBinDir when empty).
	FleetPosts       []int
	FleetWorkers     []int
	FleetLockWorkers int
	FleetBinDir      string
	// CadencePosts is how many posts per curve and cadence the cadence phase lives through
	// CadenceHorizon (simulated), at CadenceScale simulated seconds per real second (at most
	// 600: the default 10-minute sample interval must stay at least the domain's 1 s).
	CadencePosts   int
	CadenceHorizon time.Duration
	CadenceScale   float64
	// LockLoadPosts posts sampling every LockLoadInterval are all eligible while the arbiter
	// is locked, in the lock-load phase.
	LockLoadPosts    int
	LockLoadInterval time.Duration
	// LockLoadViewOnly runs the lock-load phase with the lock view only (its lock and its
	// release), without the TTL-0 run it is compared with.
	LockLoadViewOnly bool
	// ScalePosts are the scale phases' numbers of open posts at ScaleInterval (the real
	// default cadence), each started by the starter binary with ScaleStartConcurrency posts
	// in flight; nil skips them.
	ScalePosts            []int
	ScaleInterval         time.Duration
	ScaleStartConcurrency int
	// ScaleMemoryLimitGiB is the Go soft memory limit (runtime/debug.SetMemoryLimit, what
	// GOMEMLIMIT sets) of a scale phase's process, in GiB, as an operator of that many posts
	// would set it below the memory they budget; negative runs without one (0: default 7).
	ScaleMemoryLimitGiB float64
	// Skip phases.
	SkipFloor, SkipActing, SkipLock, SkipSeed, SkipCadence, SkipLockLoad bool
	// CPUProfile, when set, is the prefix of one CPU profile per measuring window
	// (<prefix>-<phase>-<N>.pprof).
	CPUProfile string
	// MemProfile, when set, is the prefix of one heap profile at the end of each measuring
	// window (<prefix>-<phase>-<N>.heap.pprof), after a GC.
	MemProfile string
	// LoadPhaseRunner, when set, runs each load phase instead of this process: the bench
	// command runs each in a fresh child process (RunLoadPhase there), so that phases do not
	// inherit each other's garbage, leaked goroutines or resident memory. dataDir is the run's
	// data directory.
	LoadPhaseRunner func(ctx context.Context, kind string, n int, dataDir string) (LoadPhase, error)
	// Logger receives the server's and SDK's warnings (default: discard). Progress receives
	// one line per step (default: discard).
	Logger   *slog.Logger
	Progress io.Writer
}

// QuickPosts is the N of the quick mode.
const QuickPosts = 20

func (o Options) withDefaults() Options {
	if o.Quick {
		if len(o.Posts) == 0 {
			o.Posts = []int{QuickPosts}
		}
		def(&o.Duration, 3*time.Second)
		def(&o.Warmup, 2*time.Second)
		def(&o.ActingWait, 20*time.Second)
		def(&o.LockPre, time.Second)
		defInt(&o.ActingPosts, 2)
		defInt(&o.LockClients, 4)
		defInt(&o.HistorySample, 5)
		def(&o.SeedTimeout, time.Minute)
		def(&o.ScaleInterval, 3*time.Second)
		defInt(&o.LockLoadPosts, QuickPosts)
		def(&o.LockLoadInterval, 3*time.Second)
		defInt(&o.CadencePosts, 1)
		def(&o.CadenceHorizon, 2*time.Hour)
		if o.CadenceScale == 0 {
			o.CadenceScale = 600
		}
	}
	if len(o.Posts) == 0 {
		o.Posts = []int{100, 1000, 10000}
	}
	def(&o.Duration, 30*time.Second)
	def(&o.Warmup, 10*time.Second)
	def(&o.Interval, time.Second)
	def(&o.ActingWait, 45*time.Second)
	def(&o.LockPre, 3*time.Second)
	defInt(&o.StartConcurrency, 32)
	defInt(&o.HistorySample, 40)
	defInt(&o.ActingPosts, 8)
	defInt(&o.LockClients, 16)
	defInt(&o.CadencePosts, 10)
	def(&o.ScaleInterval, domain.DefaultConfig().SampleInterval)
	defInt(&o.ScaleStartConcurrency, 32)
	if o.ScaleMemoryLimitGiB == 0 {
		o.ScaleMemoryLimitGiB = defaultScaleMemoryLimitGiB
	}
	defInt(&o.LockLoadPosts, 10_000)
	def(&o.LockLoadInterval, 3*time.Minute)
	def(&o.CadenceHorizon, domain.DefaultConfig().Horizon)
	if o.CadenceScale == 0 {
		o.CadenceScale = 300
	}
	if len(o.FleetWorkers) == 0 {
		o.FleetWorkers = []int{1, 3}
	}
	defInt(&o.FleetLockWorkers, 3)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

func (o Options) validate() error {
	for _, n := range o.Posts {
		if n < 1 {
			return fmt.Errorf("posts: %d is not a positive number", n)
		}
	}
	for _, n := range append(append([]int{}, o.FleetPosts...), o.FleetWorkers...) {
		if n < 1 {
			return fmt.Errorf("fleet posts and workers: %d is not a positive number", n)
		}
	}
	if o.Interval < time.Second {
		return fmt.Errorf("interval: %s is below the domain's minimum of 1s", o.Interval)
	}
	if o.CadenceScale < 1 || o.CadenceScale > float64(domain.DefaultConfig().SampleInterval/domain.MinInterval) {
		return fmt.Errorf("cadence scale: %g must be between 1 and %d (the default sample interval over the domain's minimum)",
			o.CadenceScale, domain.DefaultConfig().SampleInterval/domain.MinInterval)
	}
	if o.HistoryCache < 0 {
		return fmt.Errorf("history cache: %d is negative (0 is the dev server's default)", o.HistoryCache)
	}
	if o.WorkflowPollers == 1 {
		return fmt.Errorf("workflow pollers: the SDK refuses 1 (sticky and normal queues alternate); use 2 or more")
	}
	return nil
}

func def(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

func defInt(d *int, v int) {
	if *d == 0 {
		*d = v
	}
}
