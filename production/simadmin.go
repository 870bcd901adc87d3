package production

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"resurge/platform/sim"
)

// SimAdmin is the harness's side of the simulated platform's admin API (what it recorded, and
// the faults it injects), over HTTP as any operator tool would reach it.
type SimAdmin struct {
	URL   string
	token string
	http  *http.Client
}

func newSimAdmin(url, token string) *SimAdmin {
	return &SimAdmin{URL: url, token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

func (a *SimAdmin) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("sim %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("sim %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sim %s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("sim %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Healthy reports whether the platform answers its health check.
func (a *SimAdmin) Healthy(ctx context.Context) bool {
	return a.do(ctx, http.MethodGet, "/healthz", nil, nil) == nil
}

// Effects returns every effect the platform created, oldest first, and how many action
// replies it holds.
func (a *SimAdmin) Effects(ctx context.Context) ([]sim.Effect, int, error) {
	var r sim.AdminEffectsReply
	if err := a.do(ctx, http.MethodGet, "/admin/effects", nil, &r); err != nil {
		return nil, 0, err
	}
	return r.Effects, r.Held, nil
}

// SetFaults replaces the platform's faults; switching HoldActions off releases held replies.
func (a *SimAdmin) SetFaults(ctx context.Context, f sim.Faults) error {
	return a.do(ctx, http.MethodPut, "/admin/faults", f, nil)
}

// Faults returns the platform's faults as they stand.
func (a *SimAdmin) Faults(ctx context.Context) (sim.Faults, error) {
	var f sim.Faults
	return f, a.do(ctx, http.MethodGet, "/admin/faults", nil, &f)
}

// WaitHeld polls until at least n action replies are held.
func (a *SimAdmin) WaitHeld(ctx context.Context, n int) (int, error) {
	for {
		_, held, err := a.Effects(ctx)
		if err == nil && held >= n {
			return held, nil
		}
		select {
		case <-ctx.Done():
			return held, fmt.Errorf("%d of %d action replies held: %w", held, n, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
