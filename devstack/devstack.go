// Package devstack runs all of Resurge in one process: the embedded Temporal dev server with
// its Web UI, the simulated platform on loopback and a worker. The worker's --dev mode and the
// integration tests use it. It links the Temporal server (through devserver).
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"resurge/app"
	"resurge/devserver"
	"resurge/domain"
	"resurge/platform"
	"resurge/platform/sim"
	"resurge/platform/simclient"
	"resurge/workflows"
)

// Options configure a dev stack. Zero ports pick free ones.
type Options struct {
	// DataDir keeps the SQLite database and the simulated platform's state; restarting on the
	// same directory resumes every workflow. Empty means in memory.
	DataDir  string
	GRPCPort int
	// UIPort is the Web UI's port; -1 disables the UI.
	UIPort int
	// SimAddr is the simulated platform's listen address (default 127.0.0.1:0).
	SimAddr string
	// SimTimeScale is simulated seconds per real second on the platform (default 1).
	SimTimeScale float64
	// SimFaults are injected into the simulated platform from the start.
	SimFaults sim.Faults
	// Logger receives everything (default: discard).
	Logger *slog.Logger
	// WorkerOptions tune the worker (poller counts, cache size...).
	WorkerOptions worker.Options
	// Safety tunes the arbiter and the monitors.
	Safety app.SafetyConfig
	// WrapPlatform, when set, wraps the simulated platform's adapter (tests wrap it).
	WrapPlatform func(platform.Platform) platform.Platform
}

// Stack is a running dev stack.
type Stack struct {
	Server *devserver.Server
	Sim    *sim.Server
	Client client.Client
	Worker worker.Worker
	Wiring app.Wiring
	logger *slog.Logger
}

// Start brings up the server, the simulated platform and the worker, in that order.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Stack{logger: logger}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir:          opts.DataDir,
		GRPCPort:         opts.GRPCPort,
		UIPort:           opts.UIPort,
		SearchAttributes: workflows.SearchAttributeNames,
		Logger:           logger.With("component", "temporal"),
	})
	if err != nil {
		return nil, fmt.Errorf("temporal dev server: %w", err)
	}
	s.Server = srv

	// The token lives only in this process: generated, handed to both ends, never printed.
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	simOpts := sim.Options{
		Token:     token,
		TimeScale: opts.SimTimeScale,
		Faults:    opts.SimFaults,
		Logger:    logger.With("component", "sim"),
	}
	if opts.DataDir != "" {
		simOpts.StateFile = filepath.Join(opts.DataDir, "sim-state.json")
	}
	s.Sim = sim.New(simOpts)
	addr := opts.SimAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := s.Sim.Start(addr); err != nil {
		return nil, fmt.Errorf("simulated platform: %w", err)
	}

	c, err := client.DialContext(ctx, client.Options{
		HostPort:  srv.HostPort(),
		Namespace: srv.Namespace(),
		Logger:    app.SDKLogger(logger.With("component", "sdk")),
	})
	if err != nil {
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	s.Client = c

	var simPlatform platform.Platform = simclient.New(s.Sim.URL(), token, simclient.WithTimeout(10*time.Second))
	if opts.WrapPlatform != nil {
		simPlatform = opts.WrapPlatform(simPlatform)
	}
	s.Wiring = app.Wire(c, map[string]platform.Platform{domain.PlatformSim: simPlatform}, opts.Safety, logger)
	if s.Worker, err = app.StartWorker(ctx, c, s.Wiring, opts.WorkerOptions); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	ok = true
	return s, nil
}

// Stop stops the worker, the client, the platform and the server, in that order. It is safe to
// call on a partly started stack and more than once.
func (s *Stack) Stop() error {
	var errs []error
	if s.Worker != nil {
		s.Worker.Stop()
		s.Worker = nil
	}
	if s.Client != nil {
		s.Client.Close()
		s.Client = nil
	}
	if s.Sim != nil {
		errs = append(errs, s.Sim.Close())
		s.Sim = nil
	}
	if s.Server != nil {
		errs = append(errs, s.Server.Stop())
		s.Server = nil
	}
	return errors.Join(errs...)
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
