// Package devserver runs a complete Temporal server, with its Web UI, inside the calling
// process: the equivalent of `temporal server start-dev`, without the separate binary.
//
// State lives in one SQLite file (Options.DataDir), so stopping and starting again resumes
// every workflow. It is meant for local development and integration tests: one node, one
// history shard, no auth, no TLS.
//
// This package and the integration tests are the only importers of go.temporal.io/server;
// nothing from the server module appears in the exported API, so the rest of Resurge can
// depend on this package's API without dragging server types along.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/temporal"
)

// Server is a running dev server. Create it with Start, release it with Stop.
type Server struct {
	hostPort  string
	uiURL     string
	namespace string

	temporal temporal.Server
	ui       *webUI     // nil when disabled
	log      *serverLog // where the server's logs go, per phase (see logger.go)

	stopOnce sync.Once
	stopErr  error
}

// Start starts the server and, unless disabled, its Web UI, and returns once the frontend
// serves Options.Namespace (with its search attributes registered) and the UI answers.
// ctx bounds that wait; without a deadline it is one minute. Cancelling ctx later does not
// stop the server: call Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	requested := opts
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}

	store, err := openSQLiteStore(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	if err := store.ensureNamespace(clusterName, opts.Namespace, opts.SearchAttributes); err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}

	if opts.uiEnabled() {
		if err := checkPortFree(opts.IP, opts.UIPort); err != nil {
			return nil, fmt.Errorf("devserver: web UI: %w", err)
		}
	}

	logs, err := openServerLog(opts.Logger, opts.LogFile)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	started := false
	defer func() {
		if !started {
			logs.stopped() // closes the log file
		}
	}()
	serverLogger := logs.adapter

	// The ports are found free and bound a moment later by the server; in between, another
	// process (or an outgoing connection, which takes its port from the same ephemeral range)
	// can take one. The server then fails to bind: pick new ports and try again.
	var ts temporal.Server
	for attempt := 1; ; attempt++ {
		ts, err = startTemporal(opts, store, serverLogger)
		if err == nil {
			break
		}
		if !isAddrInUse(err) || attempt == maxStartAttempts {
			return nil, fmt.Errorf("devserver: %w", err)
		}
		opts.Logger.Warn("a port the dev server picked was taken before it could bind it; trying new ports", "attempt", attempt, "error", err)
		if requested.GRPCPort == 0 {
			if opts.GRPCPort, err = freePort(opts.IP); err != nil {
				return nil, fmt.Errorf("devserver: %w", err)
			}
		}
	}
	s := &Server{
		hostPort:  hostPort(opts.dialIP(), opts.GRPCPort),
		namespace: opts.Namespace,
		temporal:  ts,
		log:       logs,
	}

	if err := s.finishStart(ctx, opts, serverLogger.SLog()); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("devserver: %w", err)
	}
	logs.running()
	started = true
	return s, nil
}

// maxStartAttempts bounds the retries of a start that lost a picked port to another process.
const maxStartAttempts = 5

// startTemporal builds and starts the Temporal server on freshly picked internal ports.
func startTemporal(opts Options, store *sqliteStore, logger slogAdapter) (temporal.Server, error) {
	ports, err := pickServicePorts(opts)
	if err != nil {
		return nil, err
	}
	ts, err := newTemporalServer(opts, ports, store, logger)
	if err != nil {
		return nil, err
	}
	if err := ts.Start(); err != nil {
		_ = ts.Stop()
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	return ts, nil
}

// isAddrInUse reports whether err comes from binding a port that is in use. The server's
// dependency injection does not always keep the error chain, hence the text check.
func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// finishStart runs once the server's services are up: wait until the frontend serves,
// register search attributes, start the UI and wait for it.
func (s *Server) finishStart(ctx context.Context, opts Options, logger *slog.Logger) error {
	c, err := dialWhenServing(ctx, s.hostPort, opts.Namespace, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := ensureSearchAttributes(ctx, c, opts.Namespace, opts.SearchAttributes); err != nil {
		return err
	}

	if !opts.uiEnabled() {
		return nil
	}
	s.ui = startWebUI(opts.IP, opts.UIPort, s.hostPort, opts.Namespace, logger)
	s.uiURL = "http://" + hostPort(opts.dialIP(), opts.UIPort)
	return waitForUI(ctx, s.uiURL)
}

// newTemporalServer assembles the server from our static config and dev dynamic config.
func newTemporalServer(opts Options, ports servicePorts, store *sqliteStore, logger slogAdapter) (temporal.Server, error) {
	cfg := serverConfig(opts, ports, store)

	// No authorization: the noop authorizer and claim mapper of an empty auth config.
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("claim mapper: %w", err)
	}

	ts, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(ports.staticHosts(opts.dialIP())),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(devDynamicConfig(opts)),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	return ts, nil
}

// HostPort is the frontend's gRPC address for SDK clients, e.g. "127.0.0.1:7233".
func (s *Server) HostPort() string { return s.hostPort }

// UIURL is the Web UI's base URL, e.g. "http://127.0.0.1:8233", or "" when the UI is disabled.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace created at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the Web UI and then the server. Workflows in a DataDir resume at the next Start.
// It is safe to call more than once; later calls return the first call's result.
//
// Two things outlive Stop, both inside the server module: the SQLite driver keeps its
// database connection for the life of the process (a later Start on the same DataDir reuses
// it), and the server never stops its parent-close-policy system worker, which idles,
// retrying against the closed port with backoff. Neither matters for a process that stops
// the server on exit; a test binary that starts many servers carries a little of each.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.log.stopped()
		if s.ui != nil {
			s.ui.stop()
		}
		if err := s.temporal.Stop(); err != nil {
			s.stopErr = fmt.Errorf("devserver: stop temporal server: %w", err)
		}
	})
	return s.stopErr
}
