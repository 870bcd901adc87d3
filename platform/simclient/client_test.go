package simclient_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"resurge/platform"
	"resurge/platform/sim"
	"resurge/platform/simclient"
)

func TestMetrics(t *testing.T) {
	s, clock := startSim(t, sim.Faults{})
	c := clientFor(s)
	ctx := context.Background()
	first, err := c.Metrics(ctx, "grow-m")
	if err != nil {
		t.Fatal(err)
	}
	if first.Impressions <= 0 || !first.At.Equal(clock.Now()) {
		t.Errorf("first sample %+v", first)
	}
	clock.Advance(10 * time.Minute)
	second, err := c.Metrics(ctx, "grow-m")
	if err != nil {
		t.Fatal(err)
	}
	if second.Impressions <= first.Impressions || second.Engagements <= first.Engagements {
		t.Errorf("a growing post did not grow: %+v then %+v", first, second)
	}
}

func TestPostIDsAreEscaped(t *testing.T) {
	var got string
	c := fakePlatform(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		w.Write([]byte(`{"at":"2025-03-01T12:00:00Z","impressions":1,"engagements":0}`))
	})
	if _, err := c.Metrics(context.Background(), "a/b?c"); err != nil {
		t.Fatal(err)
	}
	if got != "/v1/posts/a%2Fb%3Fc/metrics" {
		t.Errorf("path %q", got)
	}
}

func TestActionsSendTheKeyAndReportReplays(t *testing.T) {
	s, _ := startSim(t, sim.Faults{})
	c := clientFor(s)
	ctx := context.Background()
	calls := []struct {
		name string
		do   func(key string) (platform.Effect, error)
		ids  int
	}{
		{"comment", func(k string) (platform.Effect, error) { return c.Comment(ctx, "grow-a", "nice", k) }, 1},
		{"edit", func(k string) (platform.Effect, error) { return c.Edit(ctx, "grow-a", "new text", k) }, 1},
		{"thread", func(k string) (platform.Effect, error) {
			return c.Thread(ctx, "grow-a", []string{"1", "2", "3"}, k)
		}, 3},
	}
	for _, call := range calls {
		key := "key-" + call.name
		first, err := call.do(key)
		if err != nil {
			t.Fatalf("%s: %v", call.name, err)
		}
		if first.ID == "" || len(first.IDs) != call.ids || first.IDs[0] != first.ID || first.URL == "" || first.Replayed {
			t.Errorf("%s: effect %+v", call.name, first)
		}
		again, err := call.do(key)
		if err != nil {
			t.Fatalf("%s again: %v", call.name, err)
		}
		if !again.Replayed || again.ID != first.ID {
			t.Errorf("%s again: %+v, want a replay of %s", call.name, again, first.ID)
		}
	}
	counts := map[string]int{}
	for _, e := range s.Effects() {
		counts[e.Key]++
	}
	for _, call := range calls {
		if n := counts["key-"+call.name]; n != 1 {
			t.Errorf("%s: %d effects on the platform, want 1", call.name, n)
		}
	}
}

func TestActionWithoutKeyNeverLeaves(t *testing.T) {
	s, _ := startSim(t, sim.Faults{})
	_, err := clientFor(s).Comment(context.Background(), "p", "x", "")
	wantCode(t, err, platform.CodeBadRequest)
	if len(s.Effects()) != 0 {
		t.Error("a keyless comment reached the platform")
	}
}

func TestFindEffect(t *testing.T) {
	s, _ := startSim(t, sim.Faults{})
	c := clientFor(s)
	ctx := context.Background()
	if _, found, err := c.FindEffect(ctx, "p", "k-find"); err != nil || found {
		t.Fatalf("before the action: found=%v err=%v", found, err)
	}
	made, err := c.Comment(ctx, "p", "x", "k-find")
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := c.FindEffect(ctx, "p", "k-find")
	if err != nil || !found {
		t.Fatalf("after the action: found=%v err=%v", found, err)
	}
	if got.ID != made.ID || !got.Replayed || got.URL != made.URL {
		t.Errorf("found %+v, made %+v", got, made)
	}
	if _, found, _ := c.FindEffect(ctx, "other-post", "k-find"); found {
		t.Error("found an effect of another post")
	}
}

func TestFindEffectReturnsTheFirstOfDuplicates(t *testing.T) {
	s, _ := startSim(t, sim.Faults{IgnoreIdempotency: true})
	c := clientFor(s)
	ctx := context.Background()
	first, err := c.Comment(ctx, "p", "x", "k-dup")
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Comment(ctx, "p", "x", "k-dup")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.Replayed {
		t.Fatalf("IgnoreIdempotency should have made a second effect: %+v", second)
	}
	got, found, err := c.FindEffect(ctx, "p", "k-dup")
	if err != nil || !found || got.ID != first.ID {
		t.Errorf("found=%v %+v err=%v, want the first effect %s", found, got, err, first.ID)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	followed := false
	var c *simclient.Client
	c = fakePlatform(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/elsewhere") {
			followed = true
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	_, err := c.Metrics(context.Background(), "p")
	wantCode(t, err, platform.CodeUnexpected)
	if followed {
		t.Error("the client followed a redirect")
	}
}
