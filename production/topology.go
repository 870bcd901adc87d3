package production

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/internal/faultcheck"
	"resurge/internal/pgcluster"
	"resurge/metrics"
	"resurge/platform/sim"
)

// Options configure a topology. Bin and Dir are required.
type Options struct {
	Bin *Binaries
	// Dir receives every process's log, the platform's state file and the workers' homes.
	Dir string
	// Workers is how many worker processes run (default 3).
	Workers int
	// Namespace is the Temporal namespace (default "default", as compose).
	Namespace string
	// SimTimeScale is the platform's simulated seconds per real second (default 60).
	SimTimeScale float64
	// SimFaults are the platform's faults from its start (RESURGE_SIM_FAULTS).
	SimFaults sim.Faults
	// SimToken is the platform's bearer token (default: random). The suites look for it in
	// every history and log.
	SimToken string
	// WorkerEnv is added to every worker's environment (RESURGE_SAFETY_POLICY_FILE, ...).
	WorkerEnv []string
	// WorkerLogLevel is RESURGE_LOG_LEVEL for the workers (default "info").
	WorkerLogLevel string
	// ServerLogLevel is the Temporal server's LOG_LEVEL (default "warn").
	ServerLogLevel string
	// Logf, when set, is told what the harness does.
	Logf func(format string, args ...any)
}

// Topology is a running production topology.
type Topology struct {
	opts Options
	// PG is the PostgreSQL cluster Temporal persists to.
	PG *pgcluster.Cluster
	// Server is the Temporal server process; Sim the simulated platform's.
	Server, Sim *Process
	// Workers are the worker processes, by slot (a slot keeps its process across restarts).
	Workers []*Process
	// Client is the harness's own SDK client to the server.
	Client client.Client
	// SimAdmin reaches the platform's admin API.
	SimAdmin *SimAdmin
	// HostPort is the frontend's gRPC address; ServerMetrics the server's Prometheus address.
	HostPort, ServerMetrics string
	// Token is the platform's bearer token.
	Token string

	watches       map[string]*faultcheck.TokenWatch
	workerMetrics []string // each slot's metrics address, kept across restarts
	ports         map[string]int
	simAddr       string
	baseEnv       []string
}

// Start brings the topology up in compose's order: PostgreSQL, the schema, the server, the
// namespace and search attributes, the platform, the workers. On failure everything started
// is stopped.
func Start(ctx context.Context, opts Options) (*Topology, error) {
	if opts.Bin == nil || opts.Dir == "" {
		return nil, errors.New("production: Options.Bin and Options.Dir are required")
	}
	if opts.Workers == 0 {
		opts.Workers = 3
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.SimTimeScale == 0 {
		opts.SimTimeScale = 60
	}
	if opts.SimToken == "" {
		opts.SimToken = "simtok-" + randomHex(16)
	}
	if opts.WorkerLogLevel == "" {
		opts.WorkerLogLevel = "info"
	}
	if opts.ServerLogLevel == "" {
		opts.ServerLogLevel = "warn"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	t := &Topology{opts: opts, Token: opts.SimToken, watches: map[string]*faultcheck.TokenWatch{},
		baseEnv: []string{"PATH=" + os.Getenv("PATH"), "TZ=UTC", "LANG=C.UTF-8"}}
	ok := false
	defer func() {
		if !ok {
			t.Close()
		}
	}()
	steps := []struct {
		what string
		f    func(context.Context) error
	}{
		{"PostgreSQL", t.startPostgres},
		{"schema (deploy/setup-schema.sh)", t.setupSchema},
		{"Temporal server", t.startServerFirst},
		{"namespace and search attributes (deploy/setup-temporal.sh)", t.setupTemporal},
		{"simulated platform", t.startSim},
		{"workers", t.startWorkers},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.f(ctx); err != nil {
			return nil, fmt.Errorf("production: %s: %w", s.what, err)
		}
		opts.Logf("production: %s up in %s", s.what, time.Since(start).Round(time.Millisecond))
	}
	ok = true
	return t, nil
}

func (t *Topology) startPostgres(ctx context.Context) error {
	pg, err := pgcluster.Start(ctx, pgcluster.Options{User: "temporal"})
	if err != nil {
		return err
	}
	t.PG = pg
	return nil
}

// env is the base environment plus kv.
func (t *Topology) env(kv ...string) []string {
	return append(append([]string(nil), t.baseEnv...), kv...)
}

// runScript runs one of deploy/'s scripts with /bin/sh, as compose's one-shot jobs do.
func (t *Topology) runScript(ctx context.Context, name string, env []string) error {
	log, err := os.Create(filepath.Join(t.opts.Dir, strings.TrimSuffix(name, ".sh")+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, "/bin/sh", t.opts.Bin.Deploy(name))
	cmd.Env = env
	cmd.Dir = t.opts.Dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(log.Name())
		return fmt.Errorf("%s: %w:\n%s", name, err, b)
	}
	return nil
}

func (t *Topology) setupSchema(ctx context.Context) error {
	return t.runScript(ctx, "setup-schema.sh", t.env(
		"SQL_TOOL="+t.opts.Bin.SQLTool(), "SQL_PLUGIN=postgres12", "SQL_HOST="+t.PG.Host(),
		"SQL_PORT="+strconv.Itoa(t.PG.Port()), "SQL_USER="+t.PG.User(), "SQL_PASSWORD="+t.PG.Password(),
		"TEMPORAL_DBNAME=temporal", "VISIBILITY_DBNAME=temporal_visibility"))
}

// serverPortVars are the server's listening ports, by the variable that sets each.
var serverPortVars = []string{
	"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT",
	"HISTORY_GRPC_PORT", "HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT",
	"WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT", "PROMETHEUS_PORT",
}

// startServerFirst picks the server's ports and starts it; a port taken between the pick and
// the bind makes it pick again.
func (t *Topology) startServerFirst(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		// Below the ephemeral range: the PostgreSQL schema keeps membership ports in a
		// smallint column (at most 32767), and a picked ephemeral port is above it.
		ports, err := freeLowPorts(len(serverPortVars))
		if err != nil {
			return err
		}
		t.ports = map[string]int{}
		for i, v := range serverPortVars {
			t.ports[v] = ports[i]
		}
		t.HostPort = net.JoinHostPort("127.0.0.1", strconv.Itoa(t.ports["FRONTEND_GRPC_PORT"]))
		t.ServerMetrics = net.JoinHostPort("127.0.0.1", strconv.Itoa(t.ports["PROMETHEUS_PORT"]))
		env := t.env(
			// As docker-compose.yml's temporal service, on loopback.
			"DB=postgres12", "DB_PORT="+strconv.Itoa(t.PG.Port()), "POSTGRES_SEEDS="+t.PG.Host(),
			"POSTGRES_USER="+t.PG.User(), "POSTGRES_PWD="+t.PG.Password(),
			"DBNAME=temporal", "VISIBILITY_DBNAME=temporal_visibility", "NUM_HISTORY_SHARDS=4",
			"BIND_ON_IP=127.0.0.1", "DYNAMIC_CONFIG_FILE_PATH="+t.opts.Bin.Deploy("dynamicconfig/docker.yaml"),
			"LOG_LEVEL="+t.opts.ServerLogLevel, "PROMETHEUS_ENDPOINT="+t.ServerMetrics,
			"TEMPORAL_ALLOW_NO_AUTH=true")
		for _, v := range serverPortVars[:len(serverPortVars)-1] {
			env = append(env, v+"="+strconv.Itoa(t.ports[v]))
		}
		t.Server = &Process{
			Name: "temporal-server", Path: t.opts.Bin.Server(),
			Args: []string{"--config-file", t.opts.Bin.Deploy("temporal-server.yaml"), "start"},
			Env:  env, LogPath: filepath.Join(t.opts.Dir, "temporal-server.log"), Watch: t.watch("temporal-server"),
		}
		err = t.startServer(ctx)
		if err == nil || attempt == 2 || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		t.opts.Logf("production: a server port was taken, picking others: %v", err)
	}
}

// startServer starts the server process and waits until its frontend answers the health
// check.
func (t *Topology) startServer(ctx context.Context) error {
	if t.Client == nil {
		// Lazy: it connects on first use, so it can wait for the server.
		c, err := client.NewLazyClient(client.Options{
			HostPort: t.HostPort, Namespace: t.opts.Namespace, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return err
		}
		t.Client = c
	}
	if err := t.Server.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	return t.Server.waitOrExit(ctx, "serving", func() bool {
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		defer hcancel()
		_, err := t.Client.CheckHealth(hctx, &client.CheckHealthRequest{})
		return err == nil
	})
}

func (t *Topology) setupTemporal(ctx context.Context) error {
	// PATH first holds the built temporal CLI; HOME keeps the user's temporal.toml out.
	return t.runScript(ctx, "setup-temporal.sh", []string{
		"PATH=" + t.opts.Bin.Dir + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.opts.Dir,
		"TEMPORAL_ADDRESS=" + t.HostPort, "TEMPORAL_NAMESPACE=" + t.opts.Namespace, "NAMESPACE_RETENTION=72h",
	})
}

func (t *Topology) startSim(ctx context.Context) error {
	ports, err := freeLowPorts(1)
	if err != nil {
		return err
	}
	t.simAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	faults, err := json.Marshal(t.opts.SimFaults)
	if err != nil {
		return err
	}
	t.Sim = &Process{
		Name: "resurge-sim", Path: t.opts.Bin.Sim(),
		Args: []string{"--addr", t.simAddr, "--time-scale", strconv.FormatFloat(t.opts.SimTimeScale, 'g', -1, 64),
			"--state-file", filepath.Join(t.opts.Dir, "sim-state.json")},
		Env:     t.env("RESURGE_SIM_TOKEN="+t.Token, "RESURGE_SIM_FAULTS="+string(faults)),
		LogPath: filepath.Join(t.opts.Dir, "resurge-sim.log"), Watch: t.watch("resurge-sim"),
	}
	t.SimAdmin = newSimAdmin("http://"+t.simAddr, t.Token)
	return t.StartSim(ctx)
}

// StartSim starts the platform process (again, after a stop, on its state file) and waits
// for its health check.
func (t *Topology) StartSim(ctx context.Context) error {
	if err := t.Sim.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return t.Sim.waitOrExit(ctx, "healthy", func() bool { return t.SimAdmin.Healthy(ctx) })
}

func (t *Topology) startWorkers(ctx context.Context) error {
	ports, err := freeLowPorts(t.opts.Workers)
	if err != nil {
		return err
	}
	for i := range t.opts.Workers {
		name := fmt.Sprintf("worker-%d", i+1)
		t.workerMetrics = append(t.workerMetrics, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])))
		home := filepath.Join(t.opts.Dir, name)
		if err := os.MkdirAll(home, 0o755); err != nil {
			return err
		}
		// Only the standard TEMPORAL_* variables and RESURGE_*, as a user configures it.
		env := t.env("HOME="+home, "TEMPORAL_ADDRESS="+t.HostPort, "TEMPORAL_NAMESPACE="+t.opts.Namespace,
			"RESURGE_SIM_URL=http://"+t.simAddr, "RESURGE_SIM_TOKEN="+t.Token, "RESURGE_LOG_LEVEL="+t.opts.WorkerLogLevel,
			"RESURGE_METRICS_ADDR="+t.workerMetrics[i])
		t.Workers = append(t.Workers, &Process{
			Name: name, Path: t.opts.Bin.Worker(), Env: append(env, t.opts.WorkerEnv...),
			LogPath: filepath.Join(t.opts.Dir, name+".log"), Watch: t.watch(name),
		})
	}
	for i := range t.Workers {
		if err := t.StartWorker(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// StartWorker starts the worker in slot i (again) and waits until it says it runs.
func (t *Topology) StartWorker(ctx context.Context, i int) error {
	w := t.Workers[i]
	before := logSize(w.LogPath)
	if err := w.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return w.waitOrExit(ctx, "running", func() bool { return logContainsAfter(w.LogPath, before, "worker running") })
}

// WorkerSlot is the slot of the running worker whose SDK identity ("<pid>@<host>@", as
// pending activities show it) is identity, or -1.
func (t *Topology) WorkerSlot(identity string) int {
	pid, _, ok := strings.Cut(identity, "@")
	if !ok {
		return -1
	}
	for i, w := range t.Workers {
		if p := w.Pid(); p != 0 && strconv.Itoa(p) == pid {
			return i
		}
	}
	return -1
}

// WorkerMetricsURL is where the worker in slot i serves its Prometheus metrics.
func (t *Topology) WorkerMetricsURL(i int) string {
	return "http://" + t.workerMetrics[i] + metrics.Path
}

// ServerMetricsURL is where the Temporal server serves its Prometheus metrics.
func (t *Topology) ServerMetricsURL() string { return "http://" + t.ServerMetrics + metrics.Path }

// KillServer kills the Temporal server process (SIGKILL).
func (t *Topology) KillServer() error { return t.Server.Kill() }

// StartServer starts the server again on the same database and ports, and waits until its
// frontend answers.
func (t *Topology) StartServer(ctx context.Context) error { return t.startServer(ctx) }

// RestartPostgres stops PostgreSQL immediately (as a crash) and starts it again on the same
// data directory and port.
func (t *Topology) RestartPostgres(ctx context.Context) error {
	if err := t.PG.Stop(ctx, pgcluster.StopImmediate); err != nil {
		return err
	}
	return t.PG.Start(ctx)
}

// Processes are every process of the topology, server first.
func (t *Topology) Processes() []*Process {
	var out []*Process
	for _, p := range []*Process{t.Server, t.Sim} {
		if p != nil {
			out = append(out, p)
		}
	}
	return append(out, t.Workers...)
}

// LogStats are what each process's token watch saw, by process name.
func (t *Topology) LogStats() map[string]faultcheck.TokenStats {
	out := map[string]faultcheck.TokenStats{}
	for name, w := range t.watches {
		out[name] = w.Stats()
	}
	return out
}

func (t *Topology) watch(name string) *faultcheck.TokenWatch {
	w, ok := t.watches[name]
	if !ok {
		w = faultcheck.NewTokenWatch(t.Token)
		t.watches[name] = w
	}
	return w
}

// Close stops everything: the workers and the platform with SIGTERM, the server, then
// PostgreSQL (whose data goes with it).
func (t *Topology) Close() error {
	var errs []error
	for _, w := range t.Workers {
		if err := w.Stop(30 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if t.Client != nil {
		t.Client.Close()
	}
	for _, p := range []*Process{t.Sim, t.Server} {
		if p != nil {
			if err := p.Stop(30 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if t.PG != nil {
		if err := t.PG.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// freeLowPorts returns n distinct TCP ports from 10000 to 32767 free on loopback right now,
// picked at random. The server needs such ports (see startServerFirst); the others take them
// too, which also keeps them clear of the ephemeral ports other programs pick with port 0.
func freeLowPorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("no %d free ports from 10000 to 32767 on loopback", n)
		}
		p := 10000 + mathrand.IntN(32768-10000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		lns = append(lns, ln)
		ports = append(ports, p)
	}
	return ports, nil
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logContainsAfter reports whether the file holds s after offset.
func logContainsAfter(path string, offset int64, s string) bool {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return false
	}
	return strings.Contains(string(b[offset:]), s)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
