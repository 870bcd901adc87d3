package sim

import (
	"context"
	"sync"
)

// holdGate keeps action replies waiting (Faults.HoldActions) until released. Tests use it to
// stop a worker between "the platform did it" and "the worker heard about it".
type holdGate struct {
	mu sync.Mutex
	// release is closed (and replaced) to let every waiting reply go.
	release chan struct{}
	// changed is closed (and replaced) whenever the number of held replies changes.
	changed chan struct{}
	held    int
}

func newHoldGate() *holdGate {
	return &holdGate{release: make(chan struct{}), changed: make(chan struct{})}
}

// wait blocks until the gate is released, ctx ends or stop is closed.
func (g *holdGate) wait(ctx context.Context, stop <-chan struct{}) {
	g.mu.Lock()
	release := g.release
	g.held++
	g.notifyLocked()
	g.mu.Unlock()

	select {
	case <-release:
	case <-ctx.Done():
	case <-stop:
	}

	g.mu.Lock()
	g.held--
	g.notifyLocked()
	g.mu.Unlock()
}

// open releases every reply held now and returns how many there were.
func (g *holdGate) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.held
	close(g.release)
	g.release = make(chan struct{})
	return n
}

// count returns how many replies are held.
func (g *holdGate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// waitFor blocks until at least n replies are held or ctx ends.
func (g *holdGate) waitFor(ctx context.Context, n int) error {
	for {
		g.mu.Lock()
		held, changed := g.held, g.changed
		g.mu.Unlock()
		if held >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *holdGate) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}
