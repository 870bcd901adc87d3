package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"resurge/domain"
)

const testToken = "sim-test-token-7c1e"

// testClient bounds every call, so that a broken server fails a test instead of hanging it.
var testClient = &http.Client{Timeout: 10 * time.Second}

// fakeClock is a settable clock, so that counters only move when a test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startSim starts a real server on loopback with a fake clock (unless opts has a clock).
func startSim(t *testing.T, opts Options) (*Server, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	s := New(opts)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

// reply is what a call got back.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r reply) errorCode(t *testing.T) string {
	t.Helper()
	var e ErrorBody
	r.decode(t, &e)
	return e.Error
}

// request builds a call with the test token; headers override (an empty value removes one).
func request(t *testing.T, s *Server, method, path string, body any, headers map[string]string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

// call sends a request and reads the whole reply; transport errors fail the test.
func call(t *testing.T, s *Server, method, path string, body any, headers map[string]string) reply {
	t.Helper()
	resp, err := testClient.Do(request(t, s, method, path, body, headers))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func key(k string) map[string]string { return map[string]string{HeaderIdempotencyKey: k} }

func comment(t *testing.T, s *Server, postID, k string) reply {
	t.Helper()
	return call(t, s, http.MethodPost, "/v1/posts/"+postID+"/comments", map[string]string{"text": "hello"}, key(k))
}

// sample reads the post's metrics, which must succeed.
func sample(t *testing.T, s *Server, postID string) domain.MetricsSample {
	t.Helper()
	r := call(t, s, http.MethodGet, "/v1/posts/"+postID+"/metrics", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("metrics of %s: HTTP %d %s", postID, r.status, r.body)
	}
	var m MetricsReply
	r.decode(t, &m)
	return domain.MetricsSample{At: m.At, Impressions: m.Impressions, Engagements: m.Engagements}
}

// tierOver takes n samples step apart (real time) and returns the planner's tier over them.
func tierOver(t *testing.T, s *Server, clock *fakeClock, postID string, n int, step time.Duration) (domain.Tier, float64) {
	t.Helper()
	var samples []domain.MetricsSample
	for i := 0; i < n; i++ {
		if i > 0 {
			clock.Advance(step)
		}
		samples = append(samples, sample(t, s, postID))
	}
	score := domain.StagnationScore(samples)
	return domain.TierForScore(score), score
}

// effectsFor returns the effects with key on the post, through the API.
func effectsFor(t *testing.T, s *Server, postID, k string) []Effect {
	t.Helper()
	r := call(t, s, http.MethodGet, "/v1/posts/"+postID+"/effects?key="+k, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("effects: HTTP %d %s", r.status, r.body)
	}
	var er EffectsReply
	r.decode(t, &er)
	return er.Effects
}

// eventually polls cond until it holds; for effects a server makes after the client gave up.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
