package benchlib

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/worker"

	"resurge/app"
)

type runner struct {
	o       Options
	res     *Results
	dataDir string
	tempDir bool
}

// Run runs every phase and returns the results. It fails only when a phase cannot run at all;
// what a phase measures (good or bad) is in the results.
func Run(ctx context.Context, opts Options) (*Results, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	r := &runner{o: o, res: &Results{StartedAt: time.Now().UTC()}}
	r.res.Machine = machineInfo()
	r.res.Machine.LoadAvgStart = loadAvg()
	if err := r.prepareDataDir(); err != nil {
		return nil, err
	}
	defer r.cleanupDataDir()
	if o.StickyCache > 0 {
		// Process-wide; read when the first worker starts.
		worker.SetStickyWorkflowCacheSize(o.StickyCache)
	}
	r.res.Settings = Settings{
		Posts: o.Posts, IntervalSeconds: o.Interval.Seconds(), DurationSeconds: o.Duration.Seconds(),
		WarmupSeconds: o.Warmup.Seconds(), Quick: o.Quick, DataDir: r.dataDir,
		StartConcurrency: o.StartConcurrency, HistorySample: o.HistorySample,
		WorkflowPollers: o.WorkflowPollers, WorkflowExecutions: o.WorkflowExecutions,
		LocalActivities: o.LocalActivities, StickyCache: o.StickyCache, StickyTimeoutSeconds: o.StickyTimeout.Seconds(),
		HistoryCache: o.HistoryCache,
		Isolated:     o.LoadPhaseRunner != nil,
		Stack:        stackName(o.SimStateFile),
		QuietConfig:  fmt.Sprintf("%+v", quietConfig(o.Interval)),
		ActingConfig: fmt.Sprintf("%+v", actingConfig(o.Interval)),
	}

	for _, n := range o.Posts {
		p, err := r.load(ctx, KindPosts, n)
		if err != nil {
			return r.res, err
		}
		r.res.Posts = append(r.res.Posts, p)
		if o.SkipFloor {
			continue
		}
		f, err := r.load(ctx, KindFloor, n)
		if err != nil {
			return r.res, err
		}
		r.res.Floor = append(r.res.Floor, f)
	}
	for _, n := range o.ScalePosts {
		p, err := r.load(ctx, KindScale, n)
		if err != nil {
			return r.res, err
		}
		r.res.ScalePhases = append(r.res.ScalePhases, p)
	}
	if !o.SkipActing || !o.SkipLock {
		if err := r.runActingAndLock(ctx); err != nil {
			return r.res, err
		}
	}
	if len(o.FleetPosts) > 0 {
		if err := r.runFleet(ctx); err != nil {
			return r.res, err
		}
	}
	if !o.SkipLockLoad {
		l, err := r.runLockLoad(ctx)
		if l != nil {
			r.res.LockLoad = l
		}
		if err != nil {
			return r.res, err
		}
	}
	if !o.SkipCadence {
		c, err := r.runCadence(ctx)
		if err != nil {
			return r.res, err
		}
		r.res.Cadence = c
	}
	if !o.SkipSeed {
		r.res.Seed = r.runSeed(ctx)
	}
	r.finish()
	r.res.Machine.LoadAvgEnd = loadAvg()
	r.res.FinishedAt = time.Now().UTC()
	return r.res, nil
}

// RunLoadPhase runs one load phase (kind KindPosts or KindFloor with n workflows) in this
// process: what the bench command's child processes do.
func RunLoadPhase(ctx context.Context, opts Options, kind string, n int) (LoadPhase, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return LoadPhase{}, err
	}
	if kind != KindPosts && kind != KindFloor && kind != KindScale {
		return LoadPhase{}, fmt.Errorf("unknown phase %q", kind)
	}
	r := &runner{o: o, res: &Results{}}
	if err := r.prepareDataDir(); err != nil {
		return LoadPhase{}, err
	}
	defer r.cleanupDataDir()
	if kind == KindScale {
		return r.runScale(ctx, n)
	}
	if o.StickyCache > 0 {
		worker.SetStickyWorkflowCacheSize(o.StickyCache)
	}
	return r.runLoad(ctx, kind, n)
}

func (r *runner) load(ctx context.Context, kind string, n int) (LoadPhase, error) {
	if r.o.LoadPhaseRunner == nil && kind == KindScale {
		return r.runScale(ctx, n)
	}
	if r.o.LoadPhaseRunner == nil {
		return r.runLoad(ctx, kind, n)
	}
	p, err := r.o.LoadPhaseRunner(ctx, kind, n, r.dataDir)
	if err != nil {
		return p, fmt.Errorf("%s N=%d: %w", kind, n, err)
	}
	if p.Profile != "" {
		r.res.Profiles = append(r.res.Profiles, p.Profile)
	}
	return p, nil
}

func (r *runner) prepareDataDir() error {
	if r.o.DataDir != "" {
		r.dataDir = r.o.DataDir
		return os.MkdirAll(r.dataDir, 0o755)
	}
	d, err := os.MkdirTemp("", "resurge-bench-")
	if err != nil {
		return err
	}
	r.dataDir, r.tempDir = d, true
	return nil
}

func (r *runner) cleanupDataDir() {
	if r.tempDir && !r.o.KeepData {
		_ = os.RemoveAll(r.dataDir)
	}
}

func (r *runner) stackOptions(safety *app.SafetyConfig) stackOptions {
	so := stackOptions{
		worker: worker.Options{
			MaxConcurrentWorkflowTaskPollers:        r.o.WorkflowPollers,
			MaxConcurrentWorkflowTaskExecutionSize:  r.o.WorkflowExecutions,
			MaxConcurrentLocalActivityExecutionSize: r.o.LocalActivities,
			StickyScheduleToStartTimeout:            r.o.StickyTimeout,
			// A saturated 2-core box is slow; a deadlock report would only add noise.
			DeadlockDetectionTimeout: time.Minute,
		},
		logger:       r.o.Logger,
		historyCache: r.o.HistoryCache,
		simStateFile: r.o.SimStateFile,
	}
	if safety != nil {
		so.safety = *safety
	}
	return so
}

func (r *runner) startStack(ctx context.Context, phase string, so stackOptions) (*stack, error) {
	so.dataDir = filepath.Join(r.dataDir, phase)
	_ = os.RemoveAll(so.dataDir) // a fresh database per phase
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	t := time.Now()
	s, err := startStack(sctx, so)
	if err != nil {
		return nil, fmt.Errorf("%s: start stack: %w", phase, err)
	}
	r.progress("%s: stack up in %.1fs (data in %s)", phase, time.Since(t).Seconds(), so.dataDir)
	return s, nil
}

func (r *runner) stopStack(s *stack) {
	if err := s.stop(); err != nil {
		r.progress("stop stack: %v", err)
	}
	if !r.o.KeepData {
		_ = os.RemoveAll(s.dir)
	}
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.o.Progress, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
