package benchlib

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"resurge/app"
	"resurge/devserver"
	"resurge/devstack"
	"resurge/domain"
	"resurge/platform"
	"resurge/platform/sim"
)

// simTimeScale is the simulated platform's speed, as in the integration tests: one real second
// is a simulated minute.
const simTimeScale = 60

// stack is one running dev stack (server, simulated platform, Resurge worker) plus the floor
// worker.
type stack struct {
	dir string
	ds  *devstack.Stack
	// client, sim and wiring are ds's, for short.
	client  client.Client
	sim     *sim.Server
	wiring  app.Wiring
	floor   worker.Worker
	counter *countingPlatform
	// sdk sees the SDK's metrics of ds's client, which the worker runs on.
	sdk *sdkMetrics
}

type stackOptions struct {
	dataDir      string
	worker       worker.Options
	safety       app.SafetyConfig
	logger       *slog.Logger
	historyCache int
	// simStateFile keeps the simulated platform's state in a file in dataDir, as the worker's
	// --dev does. By default it is kept in memory: with a state file the sim writes and fsyncs
	// its whole JSON state before every effect's reply, which would be measured instead of
	// Resurge.
	simStateFile bool
	// simTimeScale is the simulated platform's speed (0: simTimeScale).
	simTimeScale float64
}

// startStack starts a stack with devstack.Start: devserver with SQLite on disk in dataDir and
// no Web UI, the simulated platform at 60x behind a counting wrapper, and the worker with the
// given options; then the floor worker on the same client.
func startStack(ctx context.Context, o stackOptions) (_ *stack, err error) {
	s := &stack{dir: o.dataDir, counter: &countingPlatform{}, sdk: newSDKMetrics()}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
		return nil, err
	}
	s.ds, err = devstack.Start(ctx, devstack.Options{
		DataDir:          o.dataDir,
		UIPort:           devserver.DisableUI,
		SimTimeScale:     cmp.Or(o.simTimeScale, simTimeScale),
		SimInMemory:      !o.simStateFile,
		HistoryCacheSize: o.historyCache,
		MetricsHandler:   s.sdk,
		Logger:           o.logger,
		WorkerOptions:    o.worker,
		Safety:           o.safety,
		WrapPlatform: func(p platform.Platform) platform.Platform {
			s.counter.Platform = p
			return s.counter
		},
	})
	if err != nil {
		return nil, err
	}
	s.client, s.sim, s.wiring = s.ds.Client, s.ds.Sim, s.ds.Wiring
	s.floor = worker.New(s.client, floorTaskQueue, o.worker)
	s.floor.RegisterWorkflow(FloorWorkflow)
	if err := s.floor.Start(); err != nil {
		return nil, fmt.Errorf("floor worker: %w", err)
	}
	return s, nil
}

// stackName is Settings.Stack.
func stackName(simStateFile bool) string {
	if simStateFile {
		return "devstack.Start (sim state file)"
	}
	return "devstack.Start (sim state in memory)"
}

// stackHasSimStateFile reads Settings.Stack back, including earlier versions' names: plain
// "devstack.Start" was --devstack, with the state file; the default was
// "devserver + sim (state in memory) + app.StartWorker".
func stackHasSimStateFile(name string) bool {
	return name == "devstack.Start" || name == stackName(true)
}

// stop stops everything; it is safe on a partly started stack.
func (s *stack) stop() error {
	var errs []error
	if s.floor != nil {
		s.floor.Stop()
		s.floor = nil
	}
	if s.ds != nil {
		errs = append(errs, s.ds.Stop())
		s.ds, s.client, s.sim = nil, nil, nil
	}
	return errors.Join(errs...)
}

// countingPlatform counts metrics reads (one per evaluation cycle that samples) and the posts
// read at least once.
type countingPlatform struct {
	platform.Platform
	metrics atomic.Int64
	errors  atomic.Int64
	seen    sync.Map // post ID → struct{}
	posts   atomic.Int64
}

func (c *countingPlatform) Metrics(ctx context.Context, postID string) (domain.MetricsSample, error) {
	s, err := c.Platform.Metrics(ctx, postID)
	if err != nil {
		c.errors.Add(1)
	} else {
		c.metrics.Add(1)
		if _, loaded := c.seen.LoadOrStore(postID, struct{}{}); !loaded {
			c.posts.Add(1)
		}
	}
	return s, err
}
