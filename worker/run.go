package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	"resurge/app"
	"resurge/demo"
	"resurge/devstack"
	"resurge/metrics"
)

func run(ctx context.Context, o options) error {
	logger, err := app.NewLogger(os.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	reg, stopMetrics, err := startMetrics(o.metricsAddr, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if o.dev {
		return runDev(ctx, o, logger, reg)
	}
	return runWorker(ctx, o, logger, reg)
}

// startMetrics serves Prometheus metrics on addr, or returns a nil registry when addr is empty.
// stop flushes what the SDK's scope holds and closes the server; call it after the worker stops.
func startMetrics(addr string, logger *slog.Logger) (reg *metrics.Registry, stop func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	if reg, err = metrics.NewRegistry(logger.With("component", "metrics")); err != nil {
		return nil, nil, err
	}
	srv, err := metrics.Serve(addr, reg, logger)
	if err != nil {
		_ = reg.Close()
		return nil, nil, err
	}
	logger.Info("serving metrics", "url", srv.URL())
	return reg, func() {
		_ = reg.Close()
		_ = srv.Close()
	}, nil
}

// safetyConfig is the environment's safety configuration with the flags applied.
func safetyConfig(o options) (app.SafetyConfig, error) {
	cfg, err := app.SafetyConfigFromEnv()
	if err != nil {
		return cfg, err
	}
	if o.lockViewTTL != 0 {
		cfg.LockViewTTL = o.lockViewTTL
	}
	return cfg, nil
}

// runWorker connects with Temporal's standard client configuration (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS variables, temporal.toml profiles), so the same
// binary serves a local server, a self-hosted cluster or Temporal Cloud.
// With reg (not nil), the SDK's metrics and Resurge's go to it.
func runWorker(ctx context.Context, o options, logger *slog.Logger, reg *metrics.Registry) error {
	copts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return fmt.Errorf("temporal client configuration: %w", err)
	}
	copts.Logger = app.SDKLogger(logger.With("component", "sdk"))
	if reg != nil {
		copts.MetricsHandler = reg.SDKHandler()
		copts.ConnectionOptions.DialOptions = append(copts.ConnectionOptions.DialOptions,
			grpc.WithChainUnaryInterceptor(reg.UpdateRetryInterceptor()))
	}
	pcfg, err := app.PlatformConfigFromEnv()
	if err != nil {
		return err
	}
	safety, err := safetyConfig(o)
	if err != nil {
		return err
	}
	platforms, err := app.Platforms(pcfg)
	if err != nil {
		return err
	}
	if len(platforms) == 0 {
		logger.Warn("no platform configured: posts will fail with unknown_platform", "hint", "set "+app.EnvSimURL+" and "+app.EnvSimToken+", or "+app.EnvMastodonURL+" and "+app.EnvMastodonToken)
	}
	c, err := client.DialContext(ctx, copts)
	if err != nil {
		return fmt.Errorf("connect to temporal at %q: %w", copts.HostPort, err)
	}
	defer c.Close()
	wiring := app.Wire(c, platforms, safety, logger)
	if reg != nil {
		wiring.Instrument(reg)
	}
	w, err := app.StartWorker(ctx, c, wiring, worker.Options{})
	if err != nil {
		return err
	}
	logPolicy(logger, safety)
	logger.Info("worker running", "address", copts.HostPort, "namespace", copts.Namespace)
	<-ctx.Done()
	logger.Info("shutting down")
	w.Stop()
	return nil
}

// serverLogName is the embedded server's log file in the data directory.
const serverLogName = "temporal-server.log"

// serverLogFile is where --dev's embedded server logs: --server-log, by default a file in the
// data directory; "" (--server-log -, or an in-memory data directory) means the terminal.
func serverLogFile(o options) string {
	switch {
	case o.serverLog == "-":
		return ""
	case o.serverLog != "":
		return o.serverLog
	case o.dataDir == "":
		return ""
	}
	return filepath.Join(o.dataDir, serverLogName)
}

// runDev runs the whole stack in this process until interrupted; with reg (not nil) the
// worker's metrics go to it.
func runDev(ctx context.Context, o options, logger *slog.Logger, reg *metrics.Registry) error {
	safety, err := devSafetyConfig(o)
	if err != nil {
		return err
	}
	serverLog := serverLogFile(o)
	stack, err := devstack.Start(ctx, devstack.Options{
		ServerLogFile: serverLog,
		DataDir:       o.dataDir,
		GRPCPort:      o.grpcPort,
		UIPort:        o.uiPort,
		SimAddr:       o.simAddr,
		SimTimeScale:  o.simTimeScale,
		Logger:        logger,
		Safety:        safety,
		Metrics:       reg,
	})
	if err != nil {
		return err
	}
	logPolicy(logger, safety)
	defer func() {
		logger.Info("shutting down")
		if err := stack.Stop(); err != nil {
			logger.Warn("shutdown", "error", err)
		}
	}()
	logger.Info("dev stack running", "temporal", stack.Server.HostPort(), "web_ui", stack.Server.UIURL(),
		"simulated_platform", stack.Sim.URL(), "data_dir", o.dataDir, "server_log", cmp.Or(serverLog, "terminal"))
	if o.demo {
		if err := startDemo(ctx, stack, logger); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

func startDemo(ctx context.Context, stack *devstack.Stack, logger *slog.Logger) error {
	if err := stack.Sim.SetFaults(demo.Faults()); err != nil {
		return err
	}
	posts, err := demo.Start(ctx, stack.Client)
	if err != nil {
		return err
	}
	ui := stack.Server.UIURL()
	fmt.Fprintf(os.Stderr, "\nDemo started: %d posts on the simulated platform (1 real second = 1 simulated minute).\n", len(posts))
	for _, p := range posts {
		if p.Shows != "-" {
			fmt.Fprintf(os.Stderr, "  %-16s %s\n", p.Input.Post.ID, p.Shows)
		}
	}
	fmt.Fprintf(os.Stderr, `
What to look at:
  Workflows:        %[1]s/namespaces/default/workflows
  Blocked posts:    %[1]s/namespaces/default/workflows?query=ResurgeState%%3D%%22blocked%%22
  One post:         %[1]s/namespaces/default/workflows/post%%2Fdie-teaser
  Awaiting a person: %[1]s/namespaces/default/workflows?query=ResurgeState%%3D%%22awaiting_approval%%22
  The lock:         %[1]s/namespaces/default/workflows/safety-arbiter
  From a terminal:  go run ./starter list        go run ./starter status die-teaser
                    go run ./starter arbiter     go run ./starter monitor faulty-bot
                    go run ./starter approvals
  Approve the thread (it passes the lock too):
                    %[2]s
  Release the lock: go run ./starter release-lock --operator you --reason "checked the account"
Actions happen within a minute and the lock within about two; die-teaser's thread waits for
you until the post's horizon; press Ctrl-C to stop (restart with the same --data-dir to resume).

`, ui, demo.ApproveCommand)
	logger.Debug("demo posts started", "count", len(posts))
	return nil
}

// devSafetyConfig: in dev mode monitors evaluate every few seconds so the demo moves, alerts go
// to the webhook named by the environment, if any, and the policy file, if any, is sent to the
// arbiter.
func devSafetyConfig(o options) (app.SafetyConfig, error) {
	cfg, err := safetyConfig(o)
	if err != nil {
		return cfg, err
	}
	if o.demo {
		cfg.Monitor.EvalInterval = 5 * time.Second
		// The demo's own policy (threads await approval), unless a policy file says otherwise.
		if cfg.PolicySource == "" {
			cfg.Policy, cfg.PolicySource = demo.Policy(), "the demo (every thread awaits a person's approval)"
		}
	}
	return cfg, nil
}

// logPolicy says which safety policy the worker sent to the arbiter, if any.
func logPolicy(logger *slog.Logger, cfg app.SafetyConfig) {
	if cfg.PolicySource == "" {
		return
	}
	p := cfg.Policy
	logger.Info("safety policy sent to the arbiter", "from", cfg.PolicySource, "global_per_hour", p.GlobalPerHour,
		"per_post_per_hour", p.PerPostPerHour, "approval_risk", p.ApprovalRisk, "critical_risk", p.CriticalRisk,
		"banned_terms", len(p.BannedTerms), "approval_actions", p.ApprovalActions)
}
