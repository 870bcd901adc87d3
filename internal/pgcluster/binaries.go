package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// EnvBinDir names a directory holding initdb, postgres and psql, for machines where they are
// neither on PATH nor where Debian puts them.
const EnvBinDir = "RESURGE_PG_BINDIR"

// debianBinGlob is where Debian's postgresql-NN packages put the server binaries (they are not
// on PATH: only the client wrappers are).
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// binaries are the programs a cluster needs, all from one installation.
var binaries = []string{"initdb", "postgres", "psql"}

// ErrNotInstalled is returned (wrapped, with what to install) when no PostgreSQL server
// binaries are found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries not found")

// installHint says exactly what to do when the binaries are missing.
const installHint = "install Debian's PostgreSQL server: `apt-get install postgresql` " +
	"(scripts/test does it when run as root), or set " + EnvBinDir + " to the directory holding initdb, postgres and psql"

// FindBinDir returns the directory of the PostgreSQL server binaries: binDir if not empty, else
// $RESURGE_PG_BINDIR, else the directory of initdb on PATH (symlinks resolved, so that
// postgres and psql come from the same installation), else the newest
// /usr/lib/postgresql/<version>/bin.
func FindBinDir(binDir string) (string, error) {
	return findBinDir(binDir, debianBinGlob)
}

func findBinDir(binDir, glob string) (string, error) {
	if binDir == "" {
		binDir = os.Getenv(EnvBinDir)
	}
	if binDir != "" {
		if err := checkBinDir(binDir); err != nil {
			return "", fmt.Errorf("%w in %s: %v; %s", ErrNotInstalled, binDir, err, installHint)
		}
		return binDir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if dir := filepath.Dir(real); checkBinDir(dir) == nil {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob(glob)
	// Newest version first: "16" before "15" before "9.6".
	slices.SortFunc(dirs, func(a, b string) int { return compareVersions(versionOf(b), versionOf(a)) })
	for _, dir := range dirs {
		if checkBinDir(dir) == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (looked for initdb on PATH and in %s): %s", ErrNotInstalled, glob, installHint)
}

// checkBinDir checks that every binary is in dir and executable.
func checkBinDir(dir string) error {
	for _, name := range binaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("no %s", name)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not executable", name)
		}
	}
	return nil
}

// versionOf is the <version> of /usr/lib/postgresql/<version>/bin.
func versionOf(binDir string) string { return filepath.Base(filepath.Dir(binDir)) }

// compareVersions compares dotted version numbers numerically ("9.6" < "15"); a part that is
// not a number sorts first.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		na, nb := -1, -1
		if i < len(pa) {
			if n, err := strconv.Atoi(pa[i]); err == nil {
				na = n
			}
		}
		if i < len(pb) {
			if n, err := strconv.Atoi(pb[i]); err == nil {
				nb = n
			}
		}
		if na != nb {
			if na < nb {
				return -1
			}
			return 1
		}
	}
	return 0
}
