// Package pgcluster runs a throwaway PostgreSQL cluster for tests and benchmarks: Debian's
// server binaries, a new data directory under the system's temp dir, a free loopback port, a
// password-authenticated superuser, and nothing left behind after Close. It never touches the
// system's own PostgreSQL service.
//
// As root the server runs as the unprivileged user "nobody" (PostgreSQL refuses to run as
// root), which owns the cluster's directory; otherwise it runs as the calling user. The server
// is a child process that dies with the calling process's thread (Pdeathsig), so a crashed
// test leaves no server running.
//
//	c, err := pgcluster.Start(ctx, pgcluster.Options{})
//	defer c.Close()
//	c.CreateDatabase(ctx, "app")
//	url := c.URL("app") // postgres://postgres:…@127.0.0.1:PORT/app?sslmode=disable
package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Host is the only address a cluster listens on.
const Host = "127.0.0.1"

// StopMode is how Stop shuts the server down (the modes of `pg_ctl stop -m`).
type StopMode string

const (
	// StopFast rolls back open transactions, disconnects clients and checkpoints (SIGINT).
	StopFast StopMode = "fast"
	// StopImmediate exits at once without a checkpoint, as a crash would; the next start runs
	// crash recovery (SIGQUIT).
	StopImmediate StopMode = "immediate"
)

// Options configure a cluster. The zero value is ready to use.
type Options struct {
	// BinDir holds initdb, postgres and psql (default: see FindBinDir).
	BinDir string
	// User is the superuser role (default "postgres"); Password its password (default: 48
	// random hex digits).
	User, Password string
	// Port is the loopback port to listen on (default: a free one). A cluster started again
	// keeps its port.
	Port int
	// Settings add to or override the server settings (postgresql.conf names), which default
	// to DefaultSettings.
	Settings map[string]string
	// StartTimeout bounds each start (default 60 s).
	StartTimeout time.Duration
}

// DefaultSettings are the server settings of a cluster, tuned for throwaway test data.
//
// fsync and full_page_writes are off: they only protect against an operating system crash or
// power loss, which a throwaway cluster does not survive anyway. synchronous_commit stays on:
// with it a commit has been handed to the kernel before the client hears of it, so it survives
// StopImmediate (a killed server process); with it off a commit can be acknowledged and then
// lost by an immediate stop, which would make a "PostgreSQL restarted" fault test lose data
// for reasons that are the test setup's and not the system's under test.
var DefaultSettings = map[string]string{
	"fsync":              "off",
	"full_page_writes":   "off",
	"synchronous_commit": "on",
	// A Temporal server opens a pool per service and store (4 services x 2 stores in one
	// process), and tests may run several clients beside it.
	"max_connections": "300",
}

// Cluster is a running (or stopped) throwaway cluster. Its methods are safe for concurrent use.
type Cluster struct {
	binDir   string
	dir      string // owned by the server's user: data/, the socket, the log
	user     string
	password string
	port     int
	settings map[string]string
	cred     *syscall.Credential // nil: run as ourselves
	timeout  time.Duration

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	closed  bool
	logFile *os.File
}

// Start creates a new cluster (initdb) in a new temp directory and starts its server. On
// failure nothing is left behind.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	binDir, err := FindBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		binDir: binDir, user: opts.User, password: opts.Password, port: opts.Port,
		settings: map[string]string{}, timeout: opts.StartTimeout,
	}
	if c.user == "" {
		c.user = "postgres"
	}
	if c.password == "" {
		c.password = randomHex(24)
	}
	if c.timeout <= 0 {
		c.timeout = 60 * time.Second
	}
	for k, v := range DefaultSettings {
		c.settings[k] = v
	}
	for k, v := range opts.Settings {
		c.settings[k] = v
	}
	if os.Geteuid() == 0 {
		if c.cred, err = unprivilegedCredential(); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if err := c.makeDir(); err != nil {
		return nil, err
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	// A port picked free can be taken before the server binds it (others pick ports too):
	// pick another and try again.
	for attempt := 0; ; attempt++ {
		picked := opts.Port == 0
		if picked {
			if c.port, err = freePort(); err != nil {
				return nil, err
			}
		}
		err = c.start(ctx)
		if err == nil {
			break
		}
		if !picked || attempt == 4 || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
	ok = true
	return c, nil
}

// unprivilegedCredential is the user "nobody": an existing unprivileged account, so that a
// test binary running as root never creates system users.
func unprivilegedCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, PostgreSQL must run as an unprivileged user, and user \"nobody\" was not found: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgcluster: user nobody has uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// makeDir creates the cluster's directory, owned by the server's user. Every directory above
// it must let that user through.
func (c *Cluster) makeDir() error {
	dir, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	c.dir = dir
	if c.cred == nil {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgcluster: the server runs as nobody, who cannot enter %s (mode %s): set TMPDIR to a directory it can reach", p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// initdb creates the data directory with a password-authenticated superuser. The password goes
// through a file that is removed right after, never through a command line.
func (c *Cluster) initdb(ctx context.Context) error {
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := c.writeOwned(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	cmd := c.command(ctx, "initdb", "--pgdata", c.DataDir(), "--username", c.user, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "--encoding", "UTF8", "--no-locale", "--no-sync")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// writeOwned writes a file that the server's user owns.
func (c *Cluster) writeOwned(path string, data []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(path, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	return nil
}

// command runs one of the installation's programs as the server's user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC", "HOME=" + c.dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

var errPortTaken = errors.New("port taken")

// start starts the server on the existing data directory and waits until it accepts
// connections.
func (c *Cluster) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("pgcluster: closed")
	}
	if c.runningLocked() {
		return errors.New("pgcluster: already running")
	}
	if c.logFile == nil {
		f, err := os.OpenFile(c.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		c.logFile = f
	}
	logStart, _ := c.logFile.Seek(0, 1)
	args := []string{"-D", c.DataDir(), "-p", strconv.Itoa(c.port), "-k", c.dir, "-c", "listen_addresses=" + Host}
	for k, v := range c.settings {
		args = append(args, "-c", k+"="+v)
	}
	// Not bound to ctx: the server outlives the call that starts it.
	cmd := c.command(context.Background(), "postgres", args...)
	cmd.Stdout, cmd.Stderr = c.logFile, c.logFile
	// Its own process group: a Ctrl-C meant for the test must not stop the server under it.
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	c.cmd, c.exited = cmd, exited

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.ready(cmd.Process.Pid) {
			return nil
		}
		select {
		case <-exited:
			log := c.logSince(logStart)
			if strings.Contains(log, "could not bind") || strings.Contains(log, "already in use") {
				return fmt.Errorf("pgcluster: %w: %d: %s", errPortTaken, c.port, log)
			}
			return fmt.Errorf("pgcluster: postgres exited (%v) while starting: %s", cmd.ProcessState, log)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("pgcluster: postgres not ready after %s: %s", c.timeout, c.logSince(logStart))
		case <-tick.C:
		}
	}
}

// ready reads postmaster.pid as pg_ctl does: the server with this pid has reached "ready"
// (line 8). A file left by an earlier, killed server carries another pid.
func (c *Cluster) ready(pid int) bool {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) >= 8 && strings.TrimSpace(lines[0]) == strconv.Itoa(pid) && strings.TrimSpace(lines[7]) == "ready"
}

// logSince returns the server log written from offset on (at most its last 4 KB).
func (c *Cluster) logSince(offset int64) string {
	b, err := os.ReadFile(c.LogPath())
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	b = b[offset:]
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(bytes.TrimSpace(b))
}

// Start starts the server again on the same data directory and port, after Stop. After
// StopImmediate it runs crash recovery first.
func (c *Cluster) Start(ctx context.Context) error { return c.start(ctx) }

// Stop shuts the server down in the given mode and waits for it to exit. If ctx ends first the
// server is killed (SIGKILL) and ctx's error returned. Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(ctx context.Context, mode StopMode) error {
	var sig syscall.Signal
	switch mode {
	case StopFast:
		sig = syscall.SIGINT
	case StopImmediate:
		sig = syscall.SIGQUIT
	default:
		return fmt.Errorf("pgcluster: unknown stop mode %q (want %q or %q)", mode, StopFast, StopImmediate)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.runningLocked() {
		return nil
	}
	if err := c.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgcluster: stop: %w", err)
	}
	select {
	case <-c.exited:
		return nil
	case <-ctx.Done():
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("pgcluster: %s stop did not finish, killed: %w", mode, ctx.Err())
	}
}

// Running reports whether the server process is running.
func (c *Cluster) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runningLocked()
}

func (c *Cluster) runningLocked() bool {
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Pid is the server's (postmaster's) process ID, 0 when stopped.
func (c *Cluster) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.runningLocked() {
		return 0
	}
	return c.cmd.Process.Pid
}

// Close stops the server (immediately: the data is thrown away) and removes the cluster's
// directory. It is safe to call more than once.
func (c *Cluster) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopErr := c.Stop(ctx, StopImmediate)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.logFile != nil {
		c.logFile.Close()
		c.logFile = nil
	}
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil && stopErr == nil {
			stopErr = fmt.Errorf("pgcluster: %w", err)
		}
		c.dir = ""
	}
	return stopErr
}

// Host is the address the server listens on (always 127.0.0.1).
func (c *Cluster) Host() string { return Host }

// Port is the server's TCP port.
func (c *Cluster) Port() int { return c.port }

// Addr is "127.0.0.1:PORT".
func (c *Cluster) Addr() string { return net.JoinHostPort(Host, strconv.Itoa(c.port)) }

// User is the superuser role.
func (c *Cluster) User() string { return c.user }

// Password is the superuser's password.
func (c *Cluster) Password() string { return c.password }

// BinDir is the directory of the binaries the cluster runs.
func (c *Cluster) BinDir() string { return c.binDir }

// Dir is the cluster's directory: the data directory, the Unix socket and the log.
func (c *Cluster) Dir() string { return c.dir }

// DataDir is the cluster's data directory (PGDATA).
func (c *Cluster) DataDir() string { return filepath.Join(c.dir, "data") }

// LogPath is the server's log file.
func (c *Cluster) LogPath() string { return filepath.Join(c.dir, "postgres.log") }

// URL is a connection URL for database db, such as
// postgres://postgres:PASSWORD@127.0.0.1:PORT/db?sslmode=disable.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.user, c.password), Host: c.Addr(), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// DSN is a key=value connection string for database db (libpq's format).
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
		Host, c.port, dsnQuote(c.user), dsnQuote(c.password), dsnQuote(db))
}

// dsnQuote quotes a value for a key=value connection string when it needs it.
func dsnQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// CreateDatabase creates database name (letters, digits and underscores, not starting with a
// digit, at most 63 characters), owned by the superuser.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("pgcluster: database name %q: want letters, digits and underscores (at most 63, not starting with a digit)", name)
	}
	_, err := c.Exec(ctx, "postgres", `CREATE DATABASE "`+name+`"`)
	return err
}

// Exec runs SQL in database db with psql over TCP, as the superuser, and returns what it
// printed (unaligned, tuples only: one row a line, columns separated by |).
func (c *Cluster) Exec(ctx context.Context, db, sql string) (string, error) {
	return c.psql(ctx, c.password, db, sql)
}

func (c *Cluster) psql(ctx context.Context, password, db, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "psql"), "--no-psqlrc", "--quiet", "--no-align", "--tuples-only",
		"--set", "ON_ERROR_STOP=1", "--host", Host, "--port", strconv.Itoa(c.port), "--username", c.user, "--dbname", db, "--command", sql)
	// The password goes through the environment, never the command line.
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=10", "PGSSLMODE=disable")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pgcluster: psql on %s: %w: %s", db, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// freePort returns a TCP port free on loopback right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}
