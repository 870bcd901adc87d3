package sim

import (
	"context"
	"testing"
	"time"
)

func TestHoldActionsMakesTheEffectAndHoldsTheReply(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{HoldActions: true}})
	replies := make(chan reply, 1)
	req := request(t, s, "POST", "/v1/posts/p/comments", map[string]string{"text": "x"}, key("k-hold"))
	go func() {
		resp, err := testClient.Do(req)
		if err != nil {
			replies <- reply{status: -1}
			return
		}
		resp.Body.Close()
		replies <- reply{status: resp.StatusCode, header: resp.Header}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitHeld(ctx, 1); err != nil {
		t.Fatalf("no reply was held: %v", err)
	}
	if n := len(s.Effects()); n != 1 {
		t.Fatalf("%d effects while the reply is held, want 1", n)
	}
	select {
	case r := <-replies:
		t.Fatalf("the reply got out while held: HTTP %d", r.status)
	default:
	}
	// A retry with the same key (a restarted worker) is answered at once, as a replay.
	if r := comment(t, s, "p", "k-hold"); r.status != 201 || r.header.Get(HeaderReplayed) != "true" {
		t.Errorf("retry while held: HTTP %d replayed=%q", r.status, r.header.Get(HeaderReplayed))
	}
	var admin AdminEffectsReply
	call(t, s, "GET", "/admin/effects", nil, nil).decode(t, &admin)
	if admin.Held != 1 {
		t.Errorf("admin effects says %d held, want 1", admin.Held)
	}

	var released map[string]int
	call(t, s, "POST", "/admin/release", nil, nil).decode(t, &released)
	if released["released"] != 1 {
		t.Errorf("released %v, want 1", released)
	}
	if r := <-replies; r.status != 201 {
		t.Errorf("held reply after release: HTTP %d", r.status)
	}
	if s.Held() != 0 {
		t.Errorf("%d still held", s.Held())
	}
}

func TestHoldEndsWhenTheClientGoesAway(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{HoldActions: true}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	req := request(t, s, "POST", "/v1/posts/p/comments", map[string]string{"text": "x"}, key("k-gone-client"))
	go func() {
		defer close(done)
		if resp, err := testClient.Do(req.WithContext(ctx)); err == nil {
			resp.Body.Close()
		}
	}()
	wait, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := s.WaitHeld(wait, 1); err != nil {
		t.Fatal(err)
	}
	cancel() // the worker dies
	<-done
	eventually(t, "the held reply to be dropped", func() bool { return s.Held() == 0 })
	if n := len(s.Effects()); n != 1 {
		t.Errorf("%d effects, want 1: the effect stays although the caller never heard of it", n)
	}
}

func TestSwitchingHoldOffReleases(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{HoldActions: true}})
	replies := make(chan int, 1)
	req := request(t, s, "PUT", "/v1/posts/p", map[string]string{"text": "x"}, key("k"))
	go func() {
		resp, err := testClient.Do(req)
		if err != nil {
			replies <- -1
			return
		}
		resp.Body.Close()
		replies <- resp.StatusCode
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if r := call(t, s, "PUT", "/admin/faults", map[string]any{"rules": []any{}}, nil); r.status != 200 {
		t.Fatalf("PUT faults: HTTP %d", r.status)
	}
	if status := <-replies; status != 200 {
		t.Errorf("held edit after hold was switched off: HTTP %d", status)
	}
}
