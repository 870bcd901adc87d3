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
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"resurge/app"
	"resurge/devserver"
	"resurge/domain"
	"resurge/metrics"
	"resurge/platform"
	"resurge/platform/sim"
	"resurge/platform/simclient"
	"resurge/workflows"
)

// Options configure a dev stack. Zero ports pick free ones.
type Options struct {
	// DataDir keeps the SQLite database and the simulated platform's state (unless
	// SimInMemory); restarting on the same directory resumes every workflow. Empty means in
	// memory.
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
	// SimInMemory keeps the simulated platform's state in memory even with a DataDir: no
	// state file, so a restart on the same DataDir finds the platform empty. With a state
	// file every effect is written and fsynced before the platform replies; the benchmark
	// sets it so as to measure Resurge, not that.
	SimInMemory bool
	// HistoryCacheSize is the dev server's host-level history cache, in workflows
	// (devserver.Options.HistoryCacheSize; 0 = devserver.DefaultHistoryCacheSize).
	HistoryCacheSize int
	// MetricsHandler, when set, receives the SDK metrics of the Temporal clients the stack
	// dials: Client and, with SeparateWorkerClient, the worker's (default: none, or Metrics').
	MetricsHandler client.MetricsHandler
	// Metrics, when set, receives the worker's metrics: the SDK's and the workflow-side ones
	// through its SDKHandler (unless MetricsHandler is set), the activity-side ones directly.
	Metrics *metrics.Registry
	// Logger receives everything (default: discard), except the Temporal server's records below
	// error when ServerLogFile is set.
	Logger *slog.Logger
	// ServerLogFile, when set, receives the embedded Temporal server's logs from info up
	// (devserver.Options.LogFile), so that Logger shows Resurge's story, not the server's
	// housekeeping.
	ServerLogFile string
	// WorkerOptions tune the worker (poller counts, cache size...).
	WorkerOptions worker.Options
	// Safety tunes the arbiter and the monitors.
	Safety app.SafetyConfig
	// WrapPlatform, when set, wraps the simulated platform's adapter (tests wrap it).
	WrapPlatform func(platform.Platform) platform.Platform
	// Platforms are adapters besides the simulated one, by platform name (the Bluesky tests
	// add one built from the worker's own configuration, app.Platforms).
	Platforms map[string]platform.Platform
	// SimToken is the simulated platform's bearer token; empty generates a random one. Tests
	// set it to look for it where it must never appear (histories, logs).
	SimToken string
	// SeparateWorkerClient runs the worker (and its activities' calls to the safety workflows)
	// on a Temporal client of its own instead of Client, so that KillWorker can drop the
	// worker's connections while Client stays usable.
	SeparateWorkerClient bool
}

// Stack is a running dev stack.
type Stack struct {
	Server *devserver.Server
	Sim    *sim.Server
	Client client.Client
	Worker worker.Worker
	// Wiring is the current worker's (StartWorker replaces it, keeping the alert sink).
	Wiring app.Wiring
	logger *slog.Logger

	opts         Options
	serverOpts   devserver.Options
	platforms    map[string]platform.Platform
	workerClient client.Client // nil unless Options.SeparateWorkerClient
}

// Start brings up the server, the simulated platform and the worker, in that order.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Stack{logger: logger, opts: opts}
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
	s.serverOpts = devserver.Options{
		DataDir:          opts.DataDir,
		GRPCPort:         opts.GRPCPort,
		UIPort:           opts.UIPort,
		SearchAttributes: workflows.SearchAttributeNames,
		Logger:           logger.With("component", "temporal"),
		LogFile:          opts.ServerLogFile,
		HistoryCacheSize: opts.HistoryCacheSize,
	}
	srv, err := devserver.Start(ctx, s.serverOpts)
	if err != nil {
		return nil, fmt.Errorf("temporal dev server: %w", err)
	}
	s.Server = srv

	// The token lives only in this process: generated, handed to both ends, never printed.
	token := opts.SimToken
	if token == "" {
		if token, err = randomToken(); err != nil {
			return nil, err
		}
	}
	simOpts := sim.Options{
		Token:     token,
		TimeScale: opts.SimTimeScale,
		Faults:    opts.SimFaults,
		Logger:    logger.With("component", "sim"),
	}
	if opts.DataDir != "" && !opts.SimInMemory {
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

	if s.opts.MetricsHandler == nil && opts.Metrics != nil {
		s.opts.MetricsHandler = opts.Metrics.SDKHandler()
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:          srv.HostPort(),
		Namespace:         srv.Namespace(),
		Logger:            app.SDKLogger(logger.With("component", "sdk")),
		MetricsHandler:    s.opts.MetricsHandler,
		ConnectionOptions: inProcessConnection(),
	})
	if err != nil {
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	s.Client = c

	var simPlatform platform.Platform = simclient.New(s.Sim.URL(), token, simclient.WithTimeout(10*time.Second))
	if opts.WrapPlatform != nil {
		simPlatform = opts.WrapPlatform(simPlatform)
	}
	s.platforms = map[string]platform.Platform{domain.PlatformSim: simPlatform}
	maps.Copy(s.platforms, opts.Platforms)
	if err := s.StartWorker(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// StartWorker starts the worker: at Start, or again after KillWorker. With
// Options.SeparateWorkerClient it dials a client of its own first.
func (s *Stack) StartWorker(ctx context.Context) error {
	if s.Worker != nil {
		return errors.New("devstack: a worker is already running")
	}
	c := s.Client
	if s.opts.SeparateWorkerClient {
		wc, err := client.DialContext(ctx, client.Options{
			HostPort:          s.Server.HostPort(),
			Namespace:         s.Server.Namespace(),
			Logger:            app.SDKLogger(s.logger.With("component", "sdk", "client", "worker")),
			MetricsHandler:    s.opts.MetricsHandler,
			ConnectionOptions: inProcessConnection(),
		})
		if err != nil {
			return fmt.Errorf("worker's temporal client: %w", err)
		}
		c, s.workerClient = wc, wc
	}
	wiring := app.Wire(c, s.platforms, s.opts.Safety, s.logger)
	if s.opts.Metrics != nil {
		wiring.Instrument(s.opts.Metrics)
	}
	if s.Wiring.Alerts != nil { // a restarted worker keeps delivering where the first one did
		wiring.Alerts, wiring.Activities.Alerts = s.Wiring.Alerts, s.Wiring.Alerts
	}
	w, err := app.StartWorker(ctx, c, wiring, s.opts.WorkerOptions)
	if err != nil {
		s.closeWorkerClient()
		return fmt.Errorf("worker: %w", err)
	}
	s.Wiring, s.Worker = wiring, w
	return nil
}

// KillWorker stops the worker the way a crash would: its client's connections are closed
// first, so nothing it does from then on (completing an activity, failing one, heartbeating,
// telling the server it is going away) reaches the server; then the worker stops without
// waiting for its tasks, whose contexts are cancelled. The server learns about in-flight
// activities only from their timeouts. It needs Options.SeparateWorkerClient.
func (s *Stack) KillWorker() error {
	if s.workerClient == nil {
		return errors.New("devstack: KillWorker needs Options.SeparateWorkerClient")
	}
	s.closeWorkerClient()
	if s.Worker != nil {
		s.Worker.Stop() // WorkerStopTimeout 0: no drain
		s.Worker = nil
	}
	return nil
}

func (s *Stack) closeWorkerClient() {
	if s.workerClient != nil {
		s.workerClient.Close()
		s.workerClient = nil
	}
}

// RestartServer stops the Temporal server under the running worker, client and simulated
// platform, and starts it again on the same data directory and gRPC port, as a server crash
// and restart look to them: their clients reconnect by themselves. It needs a DataDir.
func (s *Stack) RestartServer(ctx context.Context) error {
	if s.opts.DataDir == "" {
		return errors.New("devstack: RestartServer needs a DataDir")
	}
	opts := s.serverOpts
	_, port, err := net.SplitHostPort(s.Server.HostPort())
	if err != nil {
		return err
	}
	if opts.GRPCPort, err = strconv.Atoi(port); err != nil {
		return err
	}
	opts.UIPort = devserver.DisableUI
	if u := s.Server.UIURL(); u != "" {
		_, port, err := net.SplitHostPort(u[len("http://"):])
		if err != nil {
			return err
		}
		if opts.UIPort, err = strconv.Atoi(port); err != nil {
			return err
		}
	}
	if err := s.Server.Stop(); err != nil {
		s.logger.Warn("stopping the temporal server for a restart", "error", err)
	}
	srv, err := devserver.Start(ctx, opts)
	if err != nil {
		s.Server = nil
		return fmt.Errorf("temporal dev server restart: %w", err)
	}
	s.Server = srv
	return nil
}

// Stop stops the worker, the client, the platform and the server, in that order. It is safe to
// call on a partly started stack and more than once.
func (s *Stack) Stop() error {
	var errs []error
	if s.Worker != nil {
		s.Worker.Stop()
		s.Worker = nil
	}
	s.closeWorkerClient()
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

// inProcessConnection is how the stack's clients reach the server in the same process: without
// the SDK's default gzip, which on a loopback connection only costs CPU (4% of the process's
// CPU in a profile of 1,000 posts sampled every 10 s: compressing every request and reply).
func inProcessConnection() client.ConnectionOptions {
	return client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}}
}
