package simclient_test

import (
	"context"
	"testing"

	"resurge/platform"
	"resurge/platform/sim"
)

// A reply that never comes: the platform makes the effect and drops the connection. When the
// connection was a reused keep-alive one, net/http on its own resends a request that carries an
// Idempotency-Key header (it deems it replayable). The adapter must not let it: the outcome is
// unknown, and only the activity's retry, which looks the effect up first, may send the action
// again. Against a platform that ignores the key the resend is a second effect.
func TestDroppedReplyIsNotResentByTheTransport(t *testing.T) {
	for _, action := range []string{"comment", "edit", "thread"} {
		t.Run(action, func(t *testing.T) {
			s, _ := startSim(t, sim.Faults{IgnoreIdempotency: true, Rules: []sim.FaultRule{
				{Kind: sim.FaultDrop, Scope: sim.ScopeActions, Next: 1, EffectFirst: true},
			}})
			c := clientFor(s)
			ctx := context.Background()
			// Leave an idle keep-alive connection for the action to reuse.
			for range 3 {
				if _, err := c.Metrics(ctx, "p"); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			switch action {
			case "comment":
				_, err = c.Comment(ctx, "p", "hello", "k-drop")
			case "edit":
				_, err = c.Edit(ctx, "p", "hello", "k-drop")
			default:
				_, err = c.Thread(ctx, "p", []string{"a", "b"}, "k-drop")
			}
			if n := len(s.Effects()); n != 1 {
				t.Fatalf("%d effects after one %s whose reply was dropped, want 1 (err %v)", n, action, err)
			}
			wantCode(t, err, platform.CodeNetworkError)
			// The lookup finds the one effect, as verify-before-retry will.
			if e, found, err := c.FindEffect(ctx, "p", "k-drop"); err != nil || !found || !e.Replayed {
				t.Fatalf("FindEffect: %+v %v %v", e, found, err)
			}
		})
	}
}
