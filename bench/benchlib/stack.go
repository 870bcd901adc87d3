package benchlib

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"resurge/app"
	"resurge/devserver"
	"resurge/devstack"
	"resurge/domain"
	"resurge/platform"
	"resurge/platform/sim"
	"resurge/platform/simclient"
	"resurge/workflows"
)

// simTimeScale is the simulated platform's speed, as in the integration tests: one real second
// is a simulated minute.
const simTimeScale = 60

// stack is one running set of server, simulated platform, Resurge worker and floor worker.
type stack struct {
	dir     string
	ds      *devstack.Stack // set when started through devstack
	srv     *devserver.Server
	sim     *sim.Server
	client  client.Client
	wiring  app.Wiring
	worker  worker.Worker
	floor   worker.Worker
	counter *countingPlatform
	// sdk sees the SDK's metrics (nil when started through devstack, whose client has none).
	sdk *sdkMetrics
}

type stackOptions struct {
	dataDir     string
	worker      worker.Options
	safety      app.SafetyConfig
	logger      *slog.Logger
	useDevstack bool
}

// startStack starts a stack. By default it composes the same parts as devstack.Start
// (devserver with SQLite on disk in dataDir, the simulated platform at 60x, app.StartWorker
// with the given worker options) except that the simulated platform keeps its state in memory:
// with a state file it rewrites and fsyncs its whole JSON state under its one mutex for every
// post it sees for the first time, which is quadratic in the number of posts and would be
// measured instead of Resurge (see the README). useDevstack starts devstack.Start as is.
func startStack(ctx context.Context, o stackOptions) (_ *stack, err error) {
	s := &stack{dir: o.dataDir, counter: &countingPlatform{}}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
		return nil, err
	}
	wrap := func(p platform.Platform) platform.Platform {
		s.counter.Platform = p
		return s.counter
	}
	if o.useDevstack {
		ds, err := devstack.Start(ctx, devstack.Options{
			DataDir:       o.dataDir,
			UIPort:        devserver.DisableUI,
			SimTimeScale:  simTimeScale,
			Logger:        o.logger,
			WorkerOptions: o.worker,
			Safety:        o.safety,
			WrapPlatform:  wrap,
		})
		if err != nil {
			return nil, err
		}
		s.ds, s.srv, s.sim, s.client, s.wiring, s.worker = ds, ds.Server, ds.Sim, ds.Client, ds.Wiring, ds.Worker
	} else {
		s.srv, err = devserver.Start(ctx, devserver.Options{
			DataDir:          o.dataDir,
			UIPort:           devserver.DisableUI,
			SearchAttributes: workflows.SearchAttributeNames,
			Logger:           o.logger.With("component", "temporal"),
		})
		if err != nil {
			return nil, fmt.Errorf("temporal dev server: %w", err)
		}
		token, err := randomToken()
		if err != nil {
			return nil, err
		}
		s.sim = sim.New(sim.Options{Token: token, TimeScale: simTimeScale})
		if err := s.sim.Start("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("simulated platform: %w", err)
		}
		s.sdk = newSDKMetrics()
		s.client, err = client.DialContext(ctx, client.Options{
			HostPort:       s.srv.HostPort(),
			Namespace:      s.srv.Namespace(),
			Logger:         app.SDKLogger(o.logger.With("component", "sdk")),
			MetricsHandler: s.sdk,
		})
		if err != nil {
			return nil, fmt.Errorf("temporal client: %w", err)
		}
		// The same adapter devstack builds.
		p := wrap(simclient.New(s.sim.URL(), token, simclient.WithTimeout(10*time.Second)))
		s.wiring = app.Wire(s.client, map[string]platform.Platform{domain.PlatformSim: p}, o.safety, o.logger)
		if s.worker, err = app.StartWorker(ctx, s.client, s.wiring, o.worker); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	s.floor = worker.New(s.client, floorTaskQueue, o.worker)
	s.floor.RegisterWorkflow(FloorWorkflow)
	if err := s.floor.Start(); err != nil {
		return nil, fmt.Errorf("floor worker: %w", err)
	}
	return s, nil
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
		s.ds, s.worker, s.client, s.sim, s.srv = nil, nil, nil, nil, nil
		return errors.Join(errs...)
	}
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	if s.sim != nil {
		errs = append(errs, s.sim.Close())
		s.sim = nil
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Stop())
		s.srv = nil
	}
	return errors.Join(errs...)
}

// countingPlatform counts metrics reads: one per evaluation cycle that samples.
type countingPlatform struct {
	platform.Platform
	metrics atomic.Int64
	errors  atomic.Int64
}

func (c *countingPlatform) Metrics(ctx context.Context, postID string) (domain.MetricsSample, error) {
	s, err := c.Platform.Metrics(ctx, postID)
	if err != nil {
		c.errors.Add(1)
	} else {
		c.metrics.Add(1)
	}
	return s, err
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
