package pgcluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startCluster starts a real cluster for the test and closes it at the end. A machine without
// PostgreSQL fails here with the install hint (never skips).
func startCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustExec(t *testing.T, c *Cluster, db, sql string) string {
	t.Helper()
	out, err := c.Exec(ctxT(t), db, sql)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLifecycle: a database and its rows survive an immediate stop (a crash, recovered at the
// next start) and a fast stop; the cluster keeps its port; Close removes everything.
func TestLifecycle(t *testing.T) {
	c := startCluster(t, Options{User: "temporal"})
	if got := mustExec(t, c, "postgres", "SELECT current_user"); got != "temporal" {
		t.Fatalf("current_user = %q, want temporal", got)
	}
	if err := c.CreateDatabase(ctxT(t), "app_db"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, "app_db", "CREATE TABLE t (v int); INSERT INTO t VALUES (1)")
	port := c.Port()

	if err := c.Stop(ctxT(t), StopImmediate); err != nil {
		t.Fatal(err)
	}
	if c.Running() || c.Pid() != 0 {
		t.Fatal("still running after an immediate stop")
	}
	if _, err := c.Exec(ctxT(t), "app_db", "SELECT 1"); err == nil {
		t.Fatal("a stopped cluster answered")
	}
	// The commit acknowledged before the crash is there after recovery.
	if err := c.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if c.Port() != port {
		t.Fatalf("port %d after a restart, was %d", c.Port(), port)
	}
	mustExec(t, c, "app_db", "INSERT INTO t VALUES (2)")
	if err := c.Stop(ctxT(t), StopFast); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustExec(t, c, "app_db", "SELECT string_agg(v::text, ',' ORDER BY v) FROM t"); got != "1,2" {
		t.Fatalf("rows after two restarts: %q, want 1,2", got)
	}
	if err := c.Start(ctxT(t)); err == nil {
		t.Fatal("starting a running cluster did not fail")
	}

	dir := c.Dir()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s left behind after Close: %v", dir, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestSecuredAndLoopback: only the password gets in, the server listens on loopback only, runs
// unprivileged, and has the test settings.
func TestSecuredAndLoopback(t *testing.T) {
	c := startCluster(t, Options{})
	if _, err := c.psql(ctxT(t), "wrong-"+c.Password(), "postgres", "SELECT 1"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("a wrong password: %v, want password authentication failed", err)
	}
	for setting, want := range map[string]string{
		"listen_addresses": Host, "port": strconv.Itoa(c.Port()), "fsync": "off",
		"synchronous_commit": "on", "password_encryption": "scram-sha-256",
	} {
		if got := mustExec(t, c, "postgres", "SHOW "+setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	if got := mustExec(t, c, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"); got != "t" {
		t.Errorf("the role is not a superuser: %q", got)
	}
	// Not reachable on any other address of the machine.
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(c.Port())), time.Second)
	if err == nil {
		conn.Close()
		t.Errorf("the server answers on 127.0.0.2")
	}
	uid := processUID(t, c.Pid())
	if os.Geteuid() == 0 && uid == 0 {
		t.Errorf("the server runs as root")
	}
	if os.Geteuid() != 0 && uid != os.Geteuid() {
		t.Errorf("the server runs as uid %d, want ours (%d)", uid, os.Geteuid())
	}
	if !strings.HasPrefix(c.URL("x"), "postgres://postgres:"+c.Password()+"@127.0.0.1:") || !strings.HasSuffix(c.URL("x"), "/x?sslmode=disable") {
		t.Errorf("URL %q", c.URL("x"))
	}
	if want := "dbname=x sslmode=disable"; !strings.HasSuffix(c.DSN("x"), want) {
		t.Errorf("DSN %q does not end with %q", c.DSN("x"), want)
	}
}

// TestSettingsOverride: Options.Settings override the defaults.
func TestSettingsOverride(t *testing.T) {
	c := startCluster(t, Options{Settings: map[string]string{"max_connections": "50", "work_mem": "8MB"}})
	if got := mustExec(t, c, "postgres", "SHOW max_connections"); got != "50" {
		t.Errorf("max_connections = %q", got)
	}
	if got := mustExec(t, c, "postgres", "SHOW work_mem"); got != "8MB" {
		t.Errorf("work_mem = %q", got)
	}
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

func TestCreateDatabaseRefusesBadNames(t *testing.T) {
	c := &Cluster{}
	for _, name := range []string{"", "1db", `a"; DROP DATABASE postgres; --`, "has space", strings.Repeat("x", 64)} {
		if err := c.CreateDatabase(context.Background(), name); err == nil || !strings.Contains(err.Error(), "database name") {
			t.Errorf("CreateDatabase(%q) = %v, want a name error", name, err)
		}
	}
}

func TestStopRefusesUnknownMode(t *testing.T) {
	if err := (&Cluster{}).Stop(context.Background(), "smart"); err == nil {
		t.Fatal("no error for an unknown mode")
	}
}

// fakeInstall makes dir/<version>/bin with the binaries (or only some of them).
func fakeInstall(t *testing.T, root, version string, names ...string) string {
	t.Helper()
	bin := filepath.Join(root, version, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

func TestFindBinDir(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no initdb on PATH
	t.Setenv(EnvBinDir, "")
	root := t.TempDir()
	glob := filepath.Join(root, "*", "bin")
	fakeInstall(t, root, "9.6", binaries...)
	want := fakeInstall(t, root, "15", binaries...)
	fakeInstall(t, root, "16", "initdb") // incomplete: skipped
	got, err := findBinDir("", glob)
	if err != nil || got != want {
		t.Fatalf("findBinDir = %q, %v; want the newest complete one, %q", got, err, want)
	}

	// An initdb on PATH (a symlink, as /usr/local/bin has here) wins, resolved to its directory.
	other := fakeInstall(t, t.TempDir(), "14", binaries...)
	onPath := t.TempDir()
	if err := os.Symlink(filepath.Join(other, "initdb"), filepath.Join(onPath, "initdb")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", onPath)
	if got, err := findBinDir("", glob); err != nil || got != other {
		t.Fatalf("with initdb on PATH: %q, %v; want %q", got, err, other)
	}

	// The environment variable wins over both.
	t.Setenv(EnvBinDir, want)
	if got, err := findBinDir("", glob); err != nil || got != want {
		t.Fatalf("with %s: %q, %v", EnvBinDir, got, err)
	}
}

// TestMissingBinariesSayWhatToInstall: without PostgreSQL the error names the package.
func TestMissingBinariesSayWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(EnvBinDir, "")
	_, err := findBinDir("", filepath.Join(t.TempDir(), "*", "bin"))
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("err = %v, want ErrNotInstalled with the apt-get hint", err)
	}
	_, err = Start(context.Background(), Options{BinDir: t.TempDir()})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "no initdb") || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("Start with an empty BinDir: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"9.6", "15", -1}, {"15", "15", 0}, {"16", "15", 1}, {"x", "9", -1}, {"15.1", "15", 1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
