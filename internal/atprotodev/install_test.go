package atprotodev

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// fakeInstall stands in for npm: it writes one file into the staging directory.
func fakeInstall(calls *int) func(context.Context, string) error {
	return func(_ context.Context, staging string) error {
		*calls++
		if err := os.MkdirAll(staging, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(staging, "package.json"), []byte("{}"), 0o644)
	}
}

// An install of a new key removes the other keys' installs and leftover staging directories,
// except one that a process holds (its shared lock) and what is not an install key; an install
// found complete is used as it is, pruning nothing.
func TestInstallPrunesOtherKeysNotInUse(t *testing.T) {
	root := t.TempDir()
	const (
		old     = "0123456789abcdef"
		crashed = "1111111111111111"
		held    = "2222222222222222"
		mine    = "aaaaaaaaaaaaaaaa"
	)
	var calls int
	for _, k := range []string{old, held} {
		_, f, err := installKey(t.Context(), root, k, fakeInstall(&calls))
		if err != nil {
			t.Fatal(err)
		}
		if k == old {
			f.Close()
		} else {
			defer f.Close() // in use by "another process" (another open file) throughout
		}
	}
	for _, dir := range []string{crashed + stagingSuffix, "not-a-key", "0123456789abcdeg"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// old is complete again but not held: the new key removes it.
	home, f, err := installKey(t.Context(), root, mine, fakeInstall(&calls))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if home != filepath.Join(root, mine) || !complete(home) || calls != 3 {
		t.Fatalf("home %s complete %v after %d installs", home, complete(home), calls)
	}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(root, name))
		return err == nil
	}
	for _, gone := range []string{old, crashed + stagingSuffix} {
		if exists(gone) {
			t.Errorf("%s was not pruned", gone)
		}
	}
	for _, kept := range []string{held, "not-a-key", "0123456789abcdeg", mine, mine + lockSuffix, old + lockSuffix} {
		if !exists(kept) {
			t.Errorf("%s was removed", kept)
		}
	}
	if !complete(filepath.Join(root, held)) {
		t.Errorf("the install in use was damaged")
	}
	// The caller holds its install shared: a pruner cannot take it.
	other, err := os.OpenFile(filepath.Join(root, mine+lockSuffix), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		t.Fatal("the install in use could be locked exclusively")
	}
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		t.Fatalf("a second user of the install cannot share it: %v", err)
	}
	syscall.Flock(int(other.Fd()), syscall.LOCK_UN)

	// Complete already: no install, nothing pruned (held is released now, and stays).
	if _, f3, err := installKey(t.Context(), root, mine, fakeInstall(&calls)); err != nil || calls != 3 {
		t.Fatalf("a complete install was installed again (%d) %v", calls, err)
	} else {
		f3.Close()
	}
	if !exists(held) {
		t.Errorf("using a complete install pruned %s", held)
	}
}

// A caller waits while another process holds the key exclusively (installing), and gives up
// with its context.
func TestInstallWaitsForTheInstaller(t *testing.T) {
	root := t.TempDir()
	const k = "bbbbbbbbbbbbbbbb"
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(root, k+lockSuffix), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var calls int
	if _, _, err := installKey(ctx, root, k, fakeInstall(&calls)); err == nil || calls != 0 {
		t.Fatalf("installed (%d) under another process's lock: %v", calls, err)
	}
}
