package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// restart closes s and starts a new server on the same state file and clock.
func restart(t *testing.T, s *Server, clock *fakeClock, opts Options) *Server {
	t.Helper()
	s.Close()
	opts.Token, opts.Now = testToken, clock.Now
	s2, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

func TestStateSurvivesARestart(t *testing.T) {
	opts := Options{StateFile: filepath.Join(t.TempDir(), "sim-state.json")}
	s, clock := startSim(t, opts)
	sample(t, s, "grow-p")
	clock.Advance(20 * time.Minute)
	before := sample(t, s, "grow-p")
	first := comment(t, s, "grow-p", "k-persist")
	if err := s.SetCurve("grow-p", CurveDie); err != nil {
		t.Fatal(err)
	}
	sample(t, s, "grow-deleted")
	s.DeletePost("grow-deleted")

	s2 := restart(t, s, clock, opts)
	after := sample(t, s2, "grow-p")
	if after.Impressions < before.Impressions || after.Engagements < before.Engagements {
		t.Errorf("counters went down across the restart: %+v then %+v", before, after)
	}
	again := comment(t, s2, "grow-p", "k-persist")
	if again.header.Get(HeaderReplayed) != "true" || !bytes.Equal(again.body, first.body) {
		t.Errorf("the repeated key was not replayed after the restart: HTTP %d %s", again.status, again.body)
	}
	if found := effectsFor(t, s2, "grow-p", "k-persist"); len(found) != 1 {
		t.Errorf("effects after the restart: %+v", found)
	}
	if r := call(t, s2, "GET", "/v1/posts/grow-deleted/metrics", nil, nil); r.status != 404 {
		t.Errorf("a deleted post came back: HTTP %d", r.status)
	}
	if got, score := tierOver(t, s2, clock, "grow-p", 3, 10*time.Minute); got != wantTier[CurveDie] {
		t.Errorf("the curve set before the restart was lost: tier %s (score %.2f)", got, score)
	}
	// New effects do not reuse IDs.
	var fresh Effect
	comment(t, s2, "grow-p", "k-new").decode(t, &fresh)
	for _, e := range s2.Effects()[:len(s2.Effects())-1] {
		if e.ID == fresh.ID {
			t.Errorf("effect ID %s reused after the restart", fresh.ID)
		}
	}
}

func TestSlowerTimeScaleAfterRestartDoesNotLowerCounters(t *testing.T) {
	opts := Options{StateFile: filepath.Join(t.TempDir(), "sim-state.json"), TimeScale: 60}
	s, clock := startSim(t, opts)
	sample(t, s, "grow-scale")
	clock.Advance(10 * time.Minute) // ten simulated hours
	before := sample(t, s, "grow-scale")
	opts.TimeScale = 1
	s2 := restart(t, s, clock, opts)
	after := sample(t, s2, "grow-scale")
	if after.Impressions < before.Impressions {
		t.Errorf("impressions went down from %d to %d when the time scale dropped", before.Impressions, after.Impressions)
	}
	clock.Advance(time.Minute)
	if later := sample(t, s2, "grow-scale"); later.Impressions <= after.Impressions {
		t.Errorf("the post stopped growing after the restart")
	}
}

func TestUnreadableStateFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim-state.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"posts":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Token: testToken, StateFile: path}); err == nil {
		t.Error("Open accepted a truncated state file")
	}
	if err := os.WriteFile(path, []byte(`{"version":99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Token: testToken, StateFile: path}); err == nil {
		t.Error("Open accepted a state file of another version")
	}
}
