package sim

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuthIsRequiredEverywhere(t *testing.T) {
	s, _ := startSim(t, Options{})
	paths := []struct{ method, path string }{
		{"GET", "/v1/posts/p1/metrics"},
		{"POST", "/v1/posts/p1/comments"},
		{"PUT", "/v1/posts/p1"},
		{"POST", "/v1/posts/p1/threads"},
		{"GET", "/v1/posts/p1/effects?key=k"},
		{"GET", "/healthz"},
		{"GET", "/admin/effects"},
		{"PUT", "/admin/faults"},
		{"POST", "/admin/posts/p1/delete"},
		{"GET", "/no/such/thing"},
	}
	auths := map[string]string{
		"missing":      "",
		"wrong token":  "Bearer not-the-token",
		"wrong scheme": "Basic " + testToken,
		"no scheme":    testToken,
	}
	for _, p := range paths {
		for name, auth := range auths {
			r := call(t, s, p.method, p.path, nil, map[string]string{"Authorization": auth, HeaderIdempotencyKey: "k"})
			if r.status != http.StatusUnauthorized || r.errorCode(t) != ErrUnauthorized {
				t.Errorf("%s %s with %s auth: HTTP %d %s", p.method, p.path, name, r.status, r.body)
			}
		}
	}
	if len(s.Effects()) != 0 {
		t.Errorf("unauthorized calls created effects: %+v", s.Effects())
	}
	// The scheme is case-insensitive, as RFC 9110 says.
	r := call(t, s, "GET", "/healthz", nil, map[string]string{"Authorization": "bearer " + testToken})
	if r.status != http.StatusOK {
		t.Errorf("lower-case bearer: HTTP %d", r.status)
	}
}

func TestServerWithoutTokenRefusesEverything(t *testing.T) {
	s := New(Options{})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := call(t, s, "GET", "/healthz", nil, map[string]string{"Authorization": "Bearer "})
	if r.status != http.StatusUnauthorized {
		t.Errorf("empty token: HTTP %d, want 401", r.status)
	}
}

func TestActionsCreateEffects(t *testing.T) {
	s, _ := startSim(t, Options{})

	r := comment(t, s, "grow-a", "k-comment")
	var c Effect
	r.decode(t, &c)
	if r.status != http.StatusCreated || c.Kind != KindComment || c.PostID != "grow-a" || c.Key != "k-comment" ||
		c.ID == "" || c.URL == "" || len(c.IDs) != 1 || c.CreatedAt.IsZero() {
		t.Errorf("comment: HTTP %d %+v", r.status, c)
	}
	if r.header.Get(HeaderReplayed) != "" {
		t.Errorf("a first call is marked replayed")
	}

	r = call(t, s, "PUT", "/v1/posts/grow-a", map[string]string{"text": "better text"}, key("k-edit"))
	var e Effect
	r.decode(t, &e)
	if r.status != http.StatusOK || e.Kind != KindEdit || !strings.HasPrefix(e.Text, "better text") {
		t.Errorf("edit: HTTP %d %+v", r.status, e)
	}

	parts := []string{"one", "two", "three"}
	r = call(t, s, "POST", "/v1/posts/grow-a/threads", map[string]any{"parts": parts}, key("k-thread"))
	var th Effect
	r.decode(t, &th)
	if r.status != http.StatusCreated || th.Kind != KindThread || len(th.IDs) != 3 || th.ID != th.IDs[0] {
		t.Errorf("thread: HTTP %d %+v", r.status, th)
	}

	for _, k := range []string{"k-comment", "k-edit", "k-thread"} {
		found := effectsFor(t, s, "grow-a", k)
		if len(found) != 1 || found[0].Key != k {
			t.Errorf("effects?key=%s: %+v", k, found)
		}
	}
	if found := effectsFor(t, s, "grow-a", "k-none"); len(found) != 0 {
		t.Errorf("effects for an unused key: %+v", found)
	}
	if found := effectsFor(t, s, "grow-b", "k-comment"); len(found) != 0 {
		t.Errorf("effects of another post: %+v", found)
	}
}

func TestKeyMarkerDoesNotMatchPrefixes(t *testing.T) {
	s, _ := startSim(t, Options{})
	comment(t, s, "p", "k10")
	if found := effectsFor(t, s, "p", "k1"); len(found) != 0 {
		t.Errorf("key k1 found the effect of k10: %+v", found)
	}
}

func TestRepeatedKeyReplaysTheFirstReply(t *testing.T) {
	s, _ := startSim(t, Options{})
	first := comment(t, s, "grow-r", "k-replay")
	second := comment(t, s, "grow-r", "k-replay")
	if second.status != first.status || !bytes.Equal(second.body, first.body) {
		t.Errorf("replay differs: HTTP %d %s vs HTTP %d %s", first.status, first.body, second.status, second.body)
	}
	if second.header.Get(HeaderReplayed) != "true" {
		t.Errorf("replay not marked: %v", second.header)
	}
	if n := len(s.Effects()); n != 1 {
		t.Errorf("%d effects, want 1", n)
	}
	var admin AdminEffectsReply
	call(t, s, "GET", "/admin/effects", nil, nil).decode(t, &admin)
	if admin.Counts["k-replay"] != 1 || len(admin.Effects) != 1 {
		t.Errorf("admin effects: %+v", admin)
	}
}

func TestConcurrentSameKeyMakesOneEffect(t *testing.T) {
	s, _ := startSim(t, Options{})
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for i := 0; i < 8; i++ {
		req := request(t, s, "POST", "/v1/posts/grow-c/comments", map[string]string{"text": "x"}, key("k-race"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := testClient.Do(req)
			if err != nil {
				statuses <- -1
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusCreated {
			t.Errorf("HTTP %d, want 201 for every call", status)
		}
	}
	if n := len(s.Effects()); n != 1 {
		t.Errorf("%d effects from one key, want 1", n)
	}
}

func TestKeyReusedForAnotherPostIsRefused(t *testing.T) {
	s, _ := startSim(t, Options{})
	comment(t, s, "p1", "k-shared")
	r := comment(t, s, "p2", "k-shared")
	if r.status != http.StatusUnprocessableEntity || r.errorCode(t) != ErrKeyReused {
		t.Errorf("HTTP %d %s, want 422 %s", r.status, r.body, ErrKeyReused)
	}
}

func TestMissingKeyIsRefused(t *testing.T) {
	s, _ := startSim(t, Options{})
	r := call(t, s, "POST", "/v1/posts/p/comments", map[string]string{"text": "x"}, nil)
	if r.status != http.StatusBadRequest || r.errorCode(t) != ErrMissingKey {
		t.Errorf("HTTP %d %s, want 400 %s", r.status, r.body, ErrMissingKey)
	}
	if len(s.Effects()) != 0 {
		t.Error("a call without a key created an effect")
	}
}

func TestInvalidBodies(t *testing.T) {
	s, _ := startSim(t, Options{})
	cases := []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/v1/posts/p/comments", map[string]string{"text": "  "}, 422},
		{"POST", "/v1/posts/p/comments", map[string]string{"txt": "typo"}, 400},
		{"POST", "/v1/posts/p/comments", "not an object", 400},
		{"PUT", "/v1/posts/p", map[string]any{"parts": []string{"a"}}, 400},
		{"POST", "/v1/posts/p/threads", map[string]any{"parts": []string{}}, 422},
		{"POST", "/v1/posts/p/threads", map[string]any{"parts": []string{"a", ""}}, 422},
		{"POST", "/v1/posts/p/threads", map[string]string{"text": "a"}, 400},
	}
	for _, c := range cases {
		r := call(t, s, c.method, c.path, c.body, key("k-invalid"))
		if r.status != c.status {
			t.Errorf("%s %s %v: HTTP %d %s, want %d", c.method, c.path, c.body, r.status, r.body, c.status)
		}
	}
	if len(s.Effects()) != 0 {
		t.Error("invalid calls created effects")
	}
	if r := call(t, s, "GET", "/v2/nothing", nil, nil); r.status != 404 || r.errorCode(t) != ErrNotFound {
		t.Errorf("unknown endpoint: HTTP %d %s", r.status, r.body)
	}
}

func TestIgnoreIdempotencyMakesDuplicatesThatLookupFinds(t *testing.T) {
	s, _ := startSim(t, Options{Faults: Faults{IgnoreIdempotency: true}})
	a := comment(t, s, "grow-dup", "k-dup")
	b := comment(t, s, "grow-dup", "k-dup")
	if a.status != http.StatusCreated || b.status != http.StatusCreated || b.header.Get(HeaderReplayed) != "" {
		t.Fatalf("HTTP %d and %d (replayed %q)", a.status, b.status, b.header.Get(HeaderReplayed))
	}
	if bytes.Equal(a.body, b.body) {
		t.Error("the second call replayed the first instead of creating a duplicate")
	}
	if found := effectsFor(t, s, "grow-dup", "k-dup"); len(found) != 2 {
		t.Errorf("effects?key found %d effects, want 2", len(found))
	}
	var admin AdminEffectsReply
	call(t, s, "GET", "/admin/effects", nil, nil).decode(t, &admin)
	if admin.Counts["k-dup"] != 2 {
		t.Errorf("admin count for k-dup = %d, want 2", admin.Counts["k-dup"])
	}
}

func TestDeletedPostAnswers404(t *testing.T) {
	s, _ := startSim(t, Options{})
	sample(t, s, "grow-del")
	first := comment(t, s, "grow-del", "k-before")
	if r := call(t, s, "POST", "/admin/posts/grow-del/delete", nil, nil); r.status != 200 {
		t.Fatalf("delete: HTTP %d %s", r.status, r.body)
	}
	if r := call(t, s, "GET", "/v1/posts/grow-del/metrics", nil, nil); r.status != 404 || r.errorCode(t) != ErrPostGone {
		t.Errorf("metrics after delete: HTTP %d %s", r.status, r.body)
	}
	if r := comment(t, s, "grow-del", "k-after"); r.status != 404 {
		t.Errorf("comment after delete: HTTP %d %s", r.status, r.body)
	}
	if r := call(t, s, "PUT", "/v1/posts/grow-del", map[string]string{"text": "x"}, key("k-edit-after")); r.status != 404 {
		t.Errorf("edit after delete: HTTP %d %s", r.status, r.body)
	}
	// What happened before the deletion stays findable and replayable.
	if r := comment(t, s, "grow-del", "k-before"); r.status != first.status || r.header.Get(HeaderReplayed) != "true" {
		t.Errorf("replay after delete: HTTP %d %s", r.status, r.body)
	}
	if found := effectsFor(t, s, "grow-del", "k-before"); len(found) != 1 {
		t.Errorf("effects after delete: %+v", found)
	}
}

func TestGonePostDisappearsAfterGoneAfter(t *testing.T) {
	s, clock := startSim(t, Options{GoneAfter: 20 * time.Minute})
	sample(t, s, "gone-1")
	clock.Advance(19 * time.Minute)
	sample(t, s, "gone-1")
	clock.Advance(time.Minute)
	if r := call(t, s, "GET", "/v1/posts/gone-1/metrics", nil, nil); r.status != 404 {
		t.Errorf("gone post after GoneAfter: HTTP %d %s", r.status, r.body)
	}
	if r := comment(t, s, "gone-1", "k-gone"); r.status != 404 {
		t.Errorf("comment on gone post: HTTP %d %s", r.status, r.body)
	}
}

func TestNewRefusesInvalidFaults(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted a fault of unknown kind")
		}
	}()
	New(Options{Token: testToken, Faults: Faults{Rules: []FaultRule{{Kind: "explode"}}}})
}
