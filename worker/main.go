// Command worker runs Resurge's Temporal worker. With --dev it first starts, in the same
// process, a Temporal dev server with its Web UI and the simulated platform; with --demo it
// also starts a demo set of posts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/worker"

	"resurge/app"
	"resurge/metrics"
)

// EnvLogLevel sets the log level when --log-level is not given.
const EnvLogLevel = "RESURGE_LOG_LEVEL"

// EnvMetricsAddr sets --metrics-addr when the flag is not given.
const EnvMetricsAddr = "RESURGE_METRICS_ADDR"

type options struct {
	dev, demo    bool
	dataDir      string
	grpcPort     int
	uiPort       int
	simAddr      string
	simTimeScale float64
	logLevel     string
	// serverLog is where --dev's embedded Temporal server logs (see serverLogFile).
	serverLog string
	// metricsAddr is where Prometheus metrics are served (host:port); empty serves none.
	metricsAddr string
	// workflowCache is how many workflows the worker keeps cached (sticky): one per open post,
	// monitor and the arbiter. Past it, evicted workflows replay their history on their next
	// task, which costs CPU on every wake-up.
	workflowCache int
	// lockViewTTL is --lock-view-ttl in app.SafetyConfig's encoding (0: not given, so the
	// environment or the default decides; negative: off).
	lockViewTTL time.Duration
}

// defaultWorkflowCache is the SDK's default sticky cache size; at about 20 KB per cached
// workflow, 10,000 posts use some 200 MB.
const defaultWorkflowCache = 10_000

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.BoolVar(&o.dev, "dev", false, "start an embedded Temporal dev server (SQLite) with its Web UI and the simulated platform in this process")
	fs.BoolVar(&o.demo, "demo", false, "with --dev: start a demo set of posts with accelerated intervals")
	fs.StringVar(&o.dataDir, "data-dir", ".resurge-data", "with --dev: where the dev server keeps its SQLite database (restart on it to resume)")
	fs.IntVar(&o.grpcPort, "grpc-port", 7233, "with --dev: the dev server's gRPC port")
	fs.IntVar(&o.uiPort, "ui-port", 8233, "with --dev: the Web UI's port (-1 disables it)")
	fs.StringVar(&o.simAddr, "sim-addr", "127.0.0.1:0", "with --dev: the simulated platform's listen address (loopback)")
	fs.Float64Var(&o.simTimeScale, "sim-time-scale", 60, "with --dev: simulated seconds per real second on the simulated platform")
	fs.IntVar(&o.workflowCache, "workflow-cache", defaultWorkflowCache, "how many workflows the worker keeps in memory; set it above the number of open posts (about 20 KB each)")
	fs.StringVar(&o.serverLog, "server-log", "", "with --dev: file that receives the embedded Temporal server's logs from info up, so the terminal shows only its errors (default <data-dir>/"+serverLogName+"; - keeps its warnings on the terminal)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", os.Getenv(EnvMetricsAddr), "serve Prometheus metrics at http://ADDR"+metrics.Path+" (host:port, e.g. 0.0.0.0:9464; with --dev loopback only, :9464 meaning 127.0.0.1:9464); empty serves none (env "+EnvMetricsAddr+")")
	fs.Func("lock-view-ttl", "how long the worker refuses autonomous changes by itself after the arbiter answered it lock, without asking again (default 15s, env "+app.EnvLockViewTTL+"; 0 asks the arbiter every time)", func(v string) error {
		d, err := app.ParseLockViewTTL(v)
		o.lockViewTTL = d
		return err
	})
	fs.StringVar(&o.logLevel, "log-level", envOr(EnvLogLevel, "info"), "debug, info, warn or error (env "+EnvLogLevel+")")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.workflowCache < 1 {
		return o, fmt.Errorf("--workflow-cache must be at least 1, got %d", o.workflowCache)
	}
	if o.demo && !o.dev {
		return o, errors.New("--demo needs --dev")
	}
	var err error
	if o.metricsAddr, err = checkMetricsAddr(o.metricsAddr, o.dev); err != nil {
		return o, err
	}
	return o, nil
}

// checkMetricsAddr validates --metrics-addr. The dev stack listens on loopback only, and so do
// its metrics: with dev, an address without a host means 127.0.0.1 and any other host than a
// loopback one is refused. Without dev any host:port goes (a container serves on 0.0.0.0).
func checkMetricsAddr(addr string, dev bool) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--metrics-addr %q: want host:port, e.g. 127.0.0.1:9464: %v", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("--metrics-addr %q: port %q is not a number from 0 to 65535", addr, port)
	}
	if !dev {
		return addr, nil
	}
	if host == "" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("--metrics-addr %q: with --dev metrics are served on loopback only (e.g. 127.0.0.1:%s)", addr, port)
	}
	return addr, nil
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	// Process-wide, and only before the first worker starts.
	worker.SetStickyWorkflowCacheSize(opts.workflowCache)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts); err != nil {
		slog.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
