package production

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one long-running program of the topology. Its output goes to a log file (appended
// across restarts) and through Watch, which sees every line. Started processes die with the
// harness (Pdeathsig), so a crashed test leaves none behind.
type Process struct {
	Name    string
	Path    string
	Args    []string
	Env     []string // the whole environment: nothing is inherited
	LogPath string
	// Watch, when set, receives the process's output as it is written.
	Watch io.Writer

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	state   *os.ProcessState
	logFile *os.File
	starts  int
}

// Start starts the process. It fails if it is running.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return fmt.Errorf("%s: already running", p.Name)
	}
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	p.starts++
	fmt.Fprintf(f, "=== %s start %d at %s\n", p.Name, p.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	var out io.Writer = f
	if p.Watch != nil {
		out = io.MultiWriter(f, p.Watch)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("%s: start: %w", p.Name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.logFile, p.state = cmd, exited, f, nil
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		p.state = cmd.ProcessState
		f.Close()
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// Running reports whether the process is running.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

func (p *Process) runningLocked() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Pid is the process's ID while it runs, else 0.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited is closed when the current run of the process has exited (nil before the first start).
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// Kill sends SIGKILL and waits for the process to be gone: no drain, no goodbye.
func (p *Process) Kill() error { return p.signalAndWait(syscall.SIGKILL, time.Minute) }

// Stop sends SIGTERM (as a deploy or Ctrl-C does) and waits up to grace for the process to
// exit, then kills it. It returns an error if the process had to be killed or exited with an
// error.
func (p *Process) Stop(grace time.Duration) error {
	err := p.signalAndWait(syscall.SIGTERM, grace)
	if errors.Is(err, errTimeout) {
		_ = p.Kill()
		return fmt.Errorf("%s: still running %s after SIGTERM, killed", p.Name, grace)
	}
	if err != nil {
		return err
	}
	if st := p.ExitState(); st != nil && !st.Success() {
		return fmt.Errorf("%s: exited after SIGTERM with %s", p.Name, st)
	}
	return nil
}

var errTimeout = errors.New("timed out")

func (p *Process) signalAndWait(sig syscall.Signal, d time.Duration) error {
	p.mu.Lock()
	if !p.runningLocked() {
		p.mu.Unlock()
		return nil
	}
	proc, exited := p.cmd.Process, p.exited
	p.mu.Unlock()
	if err := proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: %s: %w", p.Name, sig, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(d):
		return errTimeout
	}
}

// ExitState is how the last run ended (nil while running or before the first start).
func (p *Process) ExitState() *os.ProcessState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// LogTail returns the last n bytes of the process's log.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// waitOrExit calls ready every 100 ms until it returns true, the process exits or ctx ends.
func (p *Process) waitOrExit(ctx context.Context, what string, ready func() bool) error {
	exited := p.Exited()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready() {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited (%v) before %s:\n%s", p.Name, p.ExitState(), what, p.LogTail(3000))
		case <-ctx.Done():
			return fmt.Errorf("%s: not %s: %w:\n%s", p.Name, what, ctx.Err(), p.LogTail(3000))
		case <-tick.C:
		}
	}
}
