// Package production runs Resurge's production topology as separate processes on loopback: a
// throwaway PostgreSQL cluster (internal/pgcluster), Temporal's schema set up by
// deploy/setup-schema.sh, the Temporal server binary with deploy/temporal-server.yaml, the
// namespace and search attributes set up by deploy/setup-temporal.sh with the temporal CLI, the
// simulated platform (resurge-sim) with a state file, and worker processes of the real worker
// binary configured only by their environment: the pieces docker-compose.yml runs, run the way a
// user would run them on a VM.
//
// It drives the server over gRPC with the SDK and never links the server library (the server is
// a binary built from go.temporal.io/server/cmd/server). The fault suite (production's tests)
// and the benchmark's fleet phase use it.
package production

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Versions of the binaries that are not built from this tree.
const (
	// CLIModule is the temporal CLI: later tags carry a replace directive and do not build
	// with go install.
	CLIModule = "github.com/temporalio/cli/cmd/temporal@v1.5.1"
	// ServerPackage and SQLToolPackage are built at the server version go.mod requires (they
	// are `tool`s of the module, so go.sum keeps what they need), sharing the build cache with
	// the embedded server.
	ServerPackage  = "go.temporal.io/server/cmd/server"
	SQLToolPackage = "go.temporal.io/server/cmd/tools/sql"
)

// EnvBinDir overrides where the binaries are built (default: <user cache dir>/resurge/production-bin).
const EnvBinDir = "RESURGE_PRODUCTION_BIN_DIR"

// Binaries are the programs of the topology, built into one directory.
type Binaries struct {
	Dir string
	// Root is the module's root: deploy/ is read from there.
	Root string
}

// Server and the others are the binaries' paths.
func (b *Binaries) Server() string  { return filepath.Join(b.Dir, "server") }
func (b *Binaries) SQLTool() string { return filepath.Join(b.Dir, "sql") }
func (b *Binaries) CLI() string     { return filepath.Join(b.Dir, "temporal") }
func (b *Binaries) Worker() string  { return filepath.Join(b.Dir, "worker") }
func (b *Binaries) Starter() string { return filepath.Join(b.Dir, "starter") }
func (b *Binaries) Sim() string     { return filepath.Join(b.Dir, "resurge-sim") }

// Deploy is a file under the module's deploy/ directory.
func (b *Binaries) Deploy(name string) string { return filepath.Join(b.Root, "deploy", name) }

// DefaultBinDir is $RESURGE_PRODUCTION_BIN_DIR, else <user cache dir>/resurge/production-bin
// (beside the Go build cache, which does the real caching: an up-to-date binary is not
// rebuilt).
func DefaultBinDir() (string, error) {
	if d := os.Getenv(EnvBinDir); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("production: no cache directory for the binaries (set %s): %w", EnvBinDir, err)
	}
	return filepath.Join(c, "resurge", "production-bin"), nil
}

// Build builds every binary into dir (DefaultBinDir when empty) with the go command: the
// server, the SQL tool, the worker, the starter and resurge-sim from this module, the temporal
// CLI with go install. Binaries already up to date are not rebuilt (the Go build cache), so
// the first build of a machine takes minutes and later ones seconds. Concurrent builds into
// one directory take turns.
func Build(ctx context.Context, dir string) (*Binaries, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultBinDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("production: %w", err)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b := &Binaries{Dir: dir, Root: root}
	// One go build for the packages of this module: they share compilation.
	if err := goCommand(ctx, root, nil, "build", "-o", dir+string(filepath.Separator),
		ServerPackage, SQLToolPackage, "./worker", "./starter", "./platform/sim/cmd/resurge-sim"); err != nil {
		return nil, err
	}
	// The CLI is a module of its own: build it outside this one, with no workspace.
	if err := goCommand(ctx, dir, []string{"GOBIN=" + dir, "GOWORK=off", "GOFLAGS="}, "install", CLIModule); err != nil {
		return nil, err
	}
	for _, p := range []string{b.Server(), b.SQLTool(), b.CLI(), b.Worker(), b.Starter(), b.Sim()} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("production: built, but %w", err)
		}
	}
	return b, nil
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("production: go env GOMOD: %w (the go command is needed to build the topology's binaries)", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("production: not inside the resurge module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// goCommand runs the go command in dir, with env added, and returns its output in the error.
func goCommand(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("production: go %s (after %s): %w\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), err, out.Bytes())
	}
	return nil
}

// lockDir takes an exclusive lock on dir/.lock until the returned function is called.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("production: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("production: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
