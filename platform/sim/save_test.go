package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// never is a SaveInterval that no test outlives: only durable saves and Close write.
const never = time.Hour

// readState reads the state file as the sim wrote it; ok is false if there is none yet.
func readState(t *testing.T, path string) (st stateFile, ok bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st, true
}

// seenInFile reports whether the file holds the post with its clock started.
func seenInFile(t *testing.T, path, postID string) bool {
	t.Helper()
	st, _ := readState(t, path)
	for _, p := range st.Posts {
		if p.ID == postID {
			return !p.FirstSeen.IsZero()
		}
	}
	return false
}

func TestNewPostReachesTheFileWithinTheInterval(t *testing.T) {
	const interval = 200 * time.Millisecond
	path := filepath.Join(t.TempDir(), "sim-state.json")
	s, _ := startSim(t, Options{StateFile: path, SaveInterval: interval})
	start := time.Now()
	sample(t, s, "grow-lazy")
	for !seenInFile(t, path, "grow-lazy") {
		// Generous slack over the interval for a loaded machine running -race.
		if time.Since(start) > interval+2*time.Second {
			t.Fatalf("the post first seen was not saved %v after its first call (interval %v)", time.Since(start), interval)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.writes.Load(); n != 1 {
		t.Errorf("%d writes for one new post, want 1", n)
	}
}

func TestNewPostsAreSavedInFewWrites(t *testing.T) {
	const interval = 250 * time.Millisecond
	const posts = 200
	path := filepath.Join(t.TempDir(), "sim-state.json")
	s, _ := startSim(t, Options{StateFile: path, SaveInterval: interval})
	start := time.Now()
	for i := range posts {
		sample(t, s, fmt.Sprintf("grow-many-%d", i))
	}
	elapsed := time.Since(start)
	eventually(t, "every post in the file", func() bool {
		st, _ := readState(t, path)
		return len(st.Posts) == posts
	})
	// One write per interval while posts kept coming, plus the one after the last post.
	limit := int64(elapsed/interval) + 2
	if n := s.writes.Load(); n > limit || n >= posts/4 {
		t.Errorf("%d writes for %d new posts seen over %v (interval %v), want at most %d", n, posts, elapsed, interval, limit)
	}
}

func TestDurableChangesAreInTheFileBeforeTheReply(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, s *Server)
		// check inspects the file read right after do returned.
		check func(st stateFile) error
	}{
		{"comment", func(t *testing.T, s *Server) {
			if r := comment(t, s, "grow-d", "k-c"); r.status != http.StatusCreated {
				t.Fatalf("comment: HTTP %d %s", r.status, r.body)
			}
		}, func(st stateFile) error { return hasEffect(st, "grow-d", "k-c", KindComment) }},
		{"edit", func(t *testing.T, s *Server) {
			r := call(t, s, http.MethodPut, "/v1/posts/grow-d", map[string]string{"text": "edited"}, key("k-e"))
			if r.status != http.StatusOK {
				t.Fatalf("edit: HTTP %d %s", r.status, r.body)
			}
		}, func(st stateFile) error {
			if err := hasEffect(st, "grow-d", "k-e", KindEdit); err != nil {
				return err
			}
			if p := postIn(st, "grow-d"); p == nil || !strings.HasPrefix(p.Text, "edited") {
				return fmt.Errorf("the edited text is not saved: %+v", p)
			}
			return nil
		}},
		{"thread", func(t *testing.T, s *Server) {
			r := call(t, s, http.MethodPost, "/v1/posts/grow-d/threads", map[string][]string{"parts": {"a", "b"}}, key("k-t"))
			if r.status != http.StatusCreated {
				t.Fatalf("thread: HTTP %d %s", r.status, r.body)
			}
		}, func(st stateFile) error { return hasEffect(st, "grow-d", "k-t", KindThread) }},
		{"set curve", func(t *testing.T, s *Server) {
			if err := s.SetCurve("grow-d", CurveDie); err != nil {
				t.Fatal(err)
			}
		}, func(st stateFile) error {
			if p := postIn(st, "grow-d"); p == nil || p.Curve != CurveDie {
				return fmt.Errorf("the curve is not saved: %+v", p)
			}
			return nil
		}},
		{"delete", func(t *testing.T, s *Server) { s.DeletePost("grow-d") }, func(st stateFile) error {
			if p := postIn(st, "grow-d"); p == nil || !p.Deleted || p.FirstSeen.IsZero() {
				return fmt.Errorf("the deletion is not saved: %+v", p)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sim-state.json")
			s, _ := startSim(t, Options{StateFile: path, SaveInterval: never})
			tt.do(t, s)
			st, ok := readState(t, path)
			if !ok {
				t.Fatal("no state file after the reply")
			}
			if err := tt.check(st); err != nil {
				t.Error(err)
			}
		})
	}
}

func hasEffect(st stateFile, postID, k, kind string) error {
	found := false
	for _, e := range st.Effects {
		if e.PostID == postID && e.Key == k && e.Kind == kind {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("no %s effect with key %s in the file: %+v", kind, k, st.Effects)
	}
	for _, r := range st.Replies {
		if r.Key == k {
			return nil
		}
	}
	return fmt.Errorf("no stored reply for key %s in the file", k)
}

func postIn(st stateFile, postID string) *postState {
	for i := range st.Posts {
		if st.Posts[i].ID == postID {
			return &st.Posts[i]
		}
	}
	return nil
}

func TestRepliesThatRevealSavedStateDoNotWriteAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim-state.json")
	s, _ := startSim(t, Options{StateFile: path, SaveInterval: never})
	comment(t, s, "grow-r", "k-r")
	if n := s.writes.Load(); n != 1 {
		t.Fatalf("%d writes after one action, want 1", n)
	}
	if r := comment(t, s, "grow-r", "k-r"); r.header.Get(HeaderReplayed) != "true" {
		t.Fatalf("not a replay: HTTP %d %s", r.status, r.body)
	}
	effectsFor(t, s, "grow-r", "k-r")
	sample(t, s, "grow-r")
	s.Effects()
	if n := s.writes.Load(); n != 1 {
		t.Errorf("%d writes after a replay and reads of saved state, want still 1", n)
	}
}

func TestCloseSavesNewPostsAndReopeningRestoresThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim-state.json")
	opts := Options{StateFile: path, SaveInterval: never}
	s, clock := startSim(t, opts)
	ids := []string{"grow-close-1", "grow-close-2", "grow-close-3"}
	for _, id := range ids {
		sample(t, s, id)
	}
	clock.Advance(20 * time.Minute)
	before := map[string]int64{}
	for _, id := range ids {
		before[id] = sample(t, s, id).Impressions
	}
	if n := s.writes.Load(); n != 0 {
		t.Fatalf("%d writes for posts first seen, before the interval, want 0", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.writes.Load(); n != 1 {
		t.Errorf("%d writes after Close, want 1", n)
	}
	for _, id := range ids {
		if !seenInFile(t, path, id) {
			t.Errorf("Close did not save %s", id)
		}
	}
	s.Close() // a second Close is harmless and has nothing left to write
	if n := s.writes.Load(); n != 1 {
		t.Errorf("%d writes after a second Close, want still 1", n)
	}
	select {
	case <-s.writerDone:
	default:
		t.Error("the background writer is still running after Close")
	}

	s2 := restart(t, s, clock, opts)
	for _, id := range ids {
		// Same clock, same first sighting: the same counters. A lost sighting would restart
		// the curve from its first counters.
		if got := sample(t, s2, id).Impressions; got != before[id] {
			t.Errorf("%s: %d impressions after reopening, %d before", id, got, before[id])
		}
	}
}

func TestCloseWithoutStateFile(t *testing.T) {
	s := New(Options{Token: testToken})
	if s.writerDone != nil || s.kick != nil {
		t.Error("a background writer was started without a state file")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	// Started, used and closed twice.
	s2, _ := startSim(t, Options{})
	sample(t, s2, "grow-nofile")
	comment(t, s2, "grow-nofile", "k-nofile")
	s2.Close()
	s2.Close()
}

func TestFailedSaveDoesNotHangReplies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "sim-state.json")
	s, _ := startSim(t, Options{StateFile: path, SaveInterval: 10 * time.Millisecond})
	if r := comment(t, s, "grow-fail", "k-fail"); r.status != http.StatusCreated {
		t.Fatalf("comment: HTTP %d %s", r.status, r.body)
	}
	if r := comment(t, s, "grow-fail", "k-fail"); r.header.Get(HeaderReplayed) != "true" {
		t.Errorf("not a replay: HTTP %d %s", r.status, r.body)
	}
	sample(t, s, "grow-fail")
	if n := s.writes.Load(); n != 0 {
		t.Errorf("%d successful writes into a missing directory", n)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// TestConcurrentCallsAllSurviveAReopen mixes new posts and actions from many clients (the race
// detector watches the snapshots taken outside the writer), then checks the reopened sim has
// every effect once and every post.
func TestConcurrentCallsAllSurviveAReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim-state.json")
	opts := Options{StateFile: path, SaveInterval: 5 * time.Millisecond}
	s, clock := startSim(t, opts)
	const clients, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, clients*each*2)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("grow-conc-%d-%d", c, i)
				if err := rawCall(s, http.MethodGet, "/v1/posts/"+id+"/metrics", "", http.StatusOK); err != nil {
					errs <- err
				}
				if err := rawCall(s, http.MethodPost, "/v1/posts/"+id+"/comments", "k-"+id, http.StatusCreated); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s2 := restart(t, s, clock, opts)
	counts := map[string]int{}
	for _, e := range s2.Effects() {
		counts[e.Key]++
	}
	if len(counts) != clients*each {
		t.Errorf("%d keys with effects after reopening, want %d", len(counts), clients*each)
	}
	for k, n := range counts {
		if n != 1 {
			t.Errorf("key %s has %d effects", k, n)
		}
	}
	st, _ := readState(t, path)
	if len(st.Posts) != clients*each {
		t.Errorf("%d posts in the file, want %d", len(st.Posts), clients*each)
	}
}

// rawCall is call for goroutines other than the test's: it returns an error instead of failing.
func rawCall(s *Server, method, path, idemKey string, want int) error {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"text":"hello"}`)
	}
	req, err := http.NewRequest(method, s.URL()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if idemKey != "" {
		req.Header.Set(HeaderIdempotencyKey, idemKey)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, b)
	}
	return nil
}
