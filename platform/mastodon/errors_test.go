package mastodon_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resurge/platform"
	"resurge/platform/mastodon"
)

// call is one adapter call, named for messages.
type call struct {
	name string
	run  func(c *mastodon.Client) error
}

var (
	callMetrics = call{"Metrics", func(c *mastodon.Client) error { _, err := c.Metrics(ctx, postID); return err }}
	callComment = call{"Comment", func(c *mastodon.Client) error { _, err := c.Comment(ctx, postID, "hi", keyComment); return err }}
	callEdit    = call{"Edit", func(c *mastodon.Client) error { _, err := c.Edit(ctx, postID, "hi", keyEdit); return err }}
	callThread  = call{"Thread", func(c *mastodon.Client) error {
		_, err := c.Thread(ctx, postID, []string{"a", "b"}, keyThread)
		return err
	}}
	callFind = call{"FindEffect", func(c *mastodon.Client) error { _, _, err := c.FindEffect(ctx, postID, keyComment); return err }}
	allCalls = []call{callMetrics, callComment, callEdit, callThread, callFind}
)

func TestStatusCodes(t *testing.T) {
	mastodonError := func(msg string) string { return `{"error":"` + msg + `"}` }
	tests := []struct {
		status    int
		body      string
		code      string // for every call but Metrics
		metrics   string // for Metrics
		transient bool
	}{
		{400, mastodonError("Bad request"), platform.CodeBadRequest, platform.CodeBadRequest, false},
		{401, mastodonError("The access token is invalid"), platform.CodeUnauthorized, platform.CodeUnauthorized, false},
		{403, mastodonError("This action is not allowed"), platform.CodeForbidden, platform.CodeForbidden, false},
		{404, mastodonError("Record not found"), platform.CodeNotFound, platform.CodePostGone, false},
		{410, mastodonError("Gone"), platform.CodeNotFound, platform.CodePostGone, false},
		{422, mastodonError("Validation failed: Text can't be blank"), platform.CodeUnprocessable, platform.CodeUnprocessable, false},
		{429, mastodonError("Too many requests"), platform.CodeRateLimit, platform.CodeRateLimit, true},
		{500, mastodonError("We're sorry, but something went wrong on our end."), platform.CodeServiceUnavailable, platform.CodeServiceUnavailable, true},
		{502, "<html><body>Bad Gateway</body></html>", platform.CodeServiceUnavailable, platform.CodeServiceUnavailable, true},
		{503, mastodonError("Service Unavailable"), platform.CodeServiceUnavailable, platform.CodeServiceUnavailable, true},
		{504, "", platform.CodeServiceUnavailable, platform.CodeServiceUnavailable, true},
		{408, "", platform.CodeTimeout, platform.CodeTimeout, true},
		{418, "teapot", platform.CodeUnexpected, platform.CodeUnexpected, false},
	}
	for _, tc := range tests {
		for _, cl := range allCalls {
			c := fixedServer(t, fixed(tc.status, tc.body, "Content-Type", "application/json"))
			want := tc.code
			if cl.name == "Metrics" {
				want = tc.metrics
			}
			pe := wantCode(t, cl.run(c), want)
			if pe.Status != tc.status || pe.Transient() != tc.transient {
				t.Errorf("%s on HTTP %d: %+v (transient %v), want status %d transient %v", cl.name, tc.status, pe, pe.Transient(), tc.status, tc.transient)
			}
		}
	}
	// Mastodon's error text reaches the message.
	c := fixedServer(t, fixed(422, mastodonError("Validation failed: Text character limit of 500 exceeded")))
	if err := callComment.run(c); !strings.Contains(err.Error(), "character limit of 500") {
		t.Errorf("message %q does not carry Mastodon's error", err)
	}
}

// A 404 on the metrics' second call (the context: the post was deleted in between) is post_gone.
func TestMetricsContextNotFoundIsPostGone(t *testing.T) {
	f := newFakeMastodon(t)
	f.add(fakeStatus{AccountID: otherID, InReplyTo: postID, Text: "hi"})
	f.setBefore(func(w http.ResponseWriter, r *http.Request, _ request) bool {
		if strings.HasSuffix(r.URL.Path, "/context") {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
			return true
		}
		return false
	})
	c := newClient(t, f.URL())
	wantCode(t, callMetrics.run(c), platform.CodePostGone)
}

func TestDeletedPostIsPostGone(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	if err := callMetrics.run(c); err != nil {
		t.Fatal(err)
	}
	f.delete(postID)
	wantCode(t, callMetrics.run(c), platform.CodePostGone)
	wantCode(t, callComment.run(c), platform.CodeNotFound)
}

func TestRateLimitDelay(t *testing.T) {
	reset := clientNow.Add(90 * time.Second)
	tests := []struct {
		name    string
		headers []string
		want    time.Duration
	}{
		{"X-RateLimit-Reset as Mastodon writes it", []string{"X-RateLimit-Limit", "300", "X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", reset.Format("2006-01-02T15:04:05.000000Z")}, 90 * time.Second},
		{"X-RateLimit-Reset with an offset", []string{"X-RateLimit-Reset", reset.In(time.FixedZone("", 3600)).Format(time.RFC3339)}, 90 * time.Second},
		{"X-RateLimit-Reset in Unix seconds (to the end of that second)", []string{"X-RateLimit-Reset", "1740830490"}, 91 * time.Second},
		{"Retry-After seconds wins", []string{"Retry-After", "30", "X-RateLimit-Reset", reset.Format(time.RFC3339)}, 30 * time.Second},
		{"Retry-After as an HTTP date", []string{"Retry-After", clientNow.Add(45 * time.Second).Format(http.TimeFormat)}, 45 * time.Second},
		{"reset in the past", []string{"X-RateLimit-Reset", clientNow.Add(-time.Minute).Format(time.RFC3339)}, 0},
		{"unreadable reset", []string{"X-RateLimit-Reset", "soon"}, 0},
		{"no advice", nil, 0},
		{"absurd advice is capped at a day", []string{"Retry-After", "99999999999"}, 24 * time.Hour},
		// The reset is the server's clock reading: it is measured against the reply's Date. A
		// client clock two minutes ahead of the server still waits the 60 s left.
		{"client clock ahead: reset against Date", []string{"Date", clientNow.Add(-2 * time.Minute).Format(http.TimeFormat),
			"X-RateLimit-Reset", clientNow.Add(-time.Minute).Format(time.RFC3339)}, time.Minute},
		{"client clock behind: reset against Date", []string{"Date", clientNow.Add(3 * time.Minute).Format(http.TimeFormat),
			"X-RateLimit-Reset", clientNow.Add(4 * time.Minute).Format(time.RFC3339)}, time.Minute},
		{"Retry-After date against Date", []string{"Date", clientNow.Add(-2 * time.Minute).Format(http.TimeFormat),
			"Retry-After", clientNow.Add(-90 * time.Second).Format(http.TimeFormat)}, 30 * time.Second},
		{"no Date: the local clock", []string{"Date", "", "X-RateLimit-Reset", reset.Format(time.RFC3339)}, 90 * time.Second},
		{"unreadable Date: the local clock", []string{"Date", "yesterday", "X-RateLimit-Reset", reset.Format(time.RFC3339)}, 90 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, cl := range []call{callMetrics, callComment} {
				c := fixedServer(t, fixed(429, `{"error":"Too many requests"}`, tc.headers...))
				pe := wantCode(t, cl.run(c), platform.CodeRateLimit)
				if pe.RetryAfter != tc.want {
					t.Errorf("%s: RetryAfter %s, want %s", cl.name, pe.RetryAfter, tc.want)
				}
			}
		})
	}
	// A 503 with Retry-After keeps its advice.
	c := fixedServer(t, fixed(503, "", "Retry-After", "12"))
	if pe := wantCode(t, callMetrics.run(c), platform.CodeServiceUnavailable); pe.RetryAfter != 12*time.Second {
		t.Errorf("503 RetryAfter %s", pe.RetryAfter)
	}
}

func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := newClient(t, srv.URL, mastodon.WithTimeout(50*time.Millisecond))
	for _, cl := range allCalls {
		if pe := wantCode(t, cl.run(c), platform.CodeTimeout); !pe.Transient() {
			t.Errorf("%s: a timeout is final", cl.name)
		}
	}
	// The caller's deadline too.
	c = newClient(t, srv.URL, mastodon.WithTimeout(0))
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := c.Metrics(dctx, postID)
	wantCode(t, err, platform.CodeTimeout)
}

func TestConnectionErrors(t *testing.T) {
	// Reset: the server closes the connection without a reply.
	c := fixedServer(t, func(w http.ResponseWriter, r *http.Request) { dropConnection(w) })
	for _, cl := range allCalls {
		if pe := wantCode(t, cl.run(c), platform.CodeNetworkError); !pe.Transient() {
			t.Errorf("%s: a reset is final", cl.name)
		}
	}
	// Refused: nothing listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c = newClient(t, "http://"+addr)
	wantCode(t, callMetrics.run(c), platform.CodeNetworkError)
}

// The transport must not re-send a POST by itself when a kept-alive connection breaks: on a
// server that ignores Idempotency-Key that would be a second comment.
func TestAPostIsNeverResentByTheTransport(t *testing.T) {
	f := newFakeMastodon(t)
	f.setHonorKeys(false)
	c := newClient(t, f.URL())
	if err := callMetrics.run(c); err != nil { // opens a kept-alive connection
		t.Fatal(err)
	}
	f.setAfterCreate(func(w http.ResponseWriter, _ *http.Request, _ *fakeStatus) bool {
		dropConnection(w)
		return true
	})
	wantCode(t, callComment.run(c), platform.CodeNetworkError)
	if n := f.count(http.MethodPost, "/api/v1/statuses"); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
	if n := len(f.repliesTo(postID)); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
}

func TestInvalidResponses(t *testing.T) {
	status := func(fields string) string {
		return `{"id":"` + postID + `","created_at":"2025-03-01T11:00:00.000Z","content":"<p>x</p>",` +
			`"account":{"id":"` + selfID + `","followers_count":4},` + fields + `}`
	}
	counts := `"replies_count":0,"reblogs_count":1,"favourites_count":2`
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", "<html>maintenance</html>"},
		{"empty", ""},
		{"an array", "[]"},
		{"no id", `{"created_at":"2025-03-01T11:00:00.000Z","content":"","account":{"id":"1"},` + counts + `}`},
		{"numeric id", `{"id":1,"created_at":"2025-03-01T11:00:00.000Z","content":"","account":{"id":"1"},` + counts + `}`},
		{"another status", strings.Replace(status(counts), postID, "999", 1)},
		{"no created_at", `{"id":"` + postID + `","content":"","account":{"id":"1"},` + counts + `}`},
		{"bad created_at", strings.Replace(status(counts), "2025-03-01T11:00:00.000Z", "yesterday", 1)},
		{"no account", `{"id":"` + postID + `","created_at":"2025-03-01T11:00:00.000Z","content":"",` + counts + `}`},
		{"no content", `{"id":"` + postID + `","created_at":"2025-03-01T11:00:00.000Z","account":{"id":"1"},` + counts + `}`},
		{"no favourites_count", status(`"replies_count":0,"reblogs_count":1`)},
		{"a string count", status(`"replies_count":0,"reblogs_count":"1","favourites_count":2`)},
		{"a negative count", status(`"replies_count":0,"reblogs_count":-1,"favourites_count":2`)},
		{"a fractional count", status(`"replies_count":0,"reblogs_count":1.5,"favourites_count":2`)},
		{"a string quotes_count", status(counts + `,"quotes_count":"3"`)},
		{"a negative quotes_count", status(counts + `,"quotes_count":-3`)},
	}
	for _, tc := range tests {
		c := fixedServer(t, fixed(200, tc.body, "Content-Type", "application/json"))
		err := callMetrics.run(c)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if pe := platform.AsError(err); pe.Code != platform.CodeInvalidResponse || pe.Transient() {
			t.Errorf("%s: %v, want a final invalid_response", tc.name, err)
		}
	}
}

// Replies to the calls after the first one that are not what Mastodon sends.
func TestInvalidSecondaryResponses(t *testing.T) {
	tests := []struct {
		name   string
		path   string // the request whose reply is replaced
		body   string
		calls  []call
		setup  func(f *fakeMastodon)
		method string
	}{
		{"context without descendants", "/context", `{"ancestors":[]}`, []call{callMetrics, callFind, callThread},
			func(f *fakeMastodon) { f.add(fakeStatus{AccountID: otherID, InReplyTo: postID, Text: "hi"}) }, http.MethodGet},
		{"a descendant without an account", "/context", `{"ancestors":[],"descendants":[{"id":"5","created_at":"2025-03-01T11:00:00Z","content":""}]}`,
			[]call{callMetrics, callFind, callThread},
			func(f *fakeMastodon) { f.add(fakeStatus{AccountID: otherID, InReplyTo: postID, Text: "hi"}) }, http.MethodGet},
		{"verify_credentials without an id", "/verify_credentials", `{"username":"x"}`, []call{callMetrics, callFind, callThread},
			func(f *fakeMastodon) { f.add(fakeStatus{AccountID: otherID, InReplyTo: postID, Text: "hi"}) }, http.MethodGet},
		{"a created status replying to something else", "/api/v1/statuses",
			`{"id":"7","created_at":"2025-03-01T11:00:00Z","content":"<p>hi</p><p>[rs:878d89c3]</p>","in_reply_to_id":"1","account":{"id":"` + selfID + `"}}`,
			[]call{callComment}, nil, http.MethodPost},
		{"a created status without our marker", "/api/v1/statuses",
			`{"id":"7","created_at":"2025-03-01T11:00:00Z","content":"<p>someone else's</p>","in_reply_to_id":"` + postID + `","account":{"id":"` + selfID + `"}}`,
			[]call{callComment}, nil, http.MethodPost},
		{"an edited status without our marker", "/api/v1/statuses/" + postID,
			`{"id":"` + postID + `","created_at":"2025-03-01T11:00:00Z","content":"<p>old text</p>","account":{"id":"` + selfID + `"}}`,
			[]call{callEdit}, nil, http.MethodPut},
		{"a created status that is not JSON", "/api/v1/statuses", `OK`, []call{callComment, callThread}, nil, http.MethodPost},
	}
	for _, tc := range tests {
		for _, cl := range tc.calls {
			f := newFakeMastodon(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			f.setBefore(func(w http.ResponseWriter, r *http.Request, _ request) bool {
				if r.Method == tc.method && strings.HasSuffix(r.URL.Path, tc.path) {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(tc.body))
					return true
				}
				return false
			})
			c := newClient(t, f.URL())
			err := cl.run(c)
			if err == nil {
				t.Errorf("%s, %s: no error", tc.name, cl.name)
				continue
			}
			if pe := platform.AsError(err); pe.Code != platform.CodeInvalidResponse {
				t.Errorf("%s, %s: %v, want invalid_response", tc.name, cl.name, err)
			}
		}
	}
}

// echoAuth answers status with a body quoting the request's Authorization header, as a careless
// proxy's error page might, in shapes the client renders differently.
func echoAuth(status int, shape string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		var body string
		switch shape {
		case "json":
			body = `{"error":"you sent ` + auth + `","error_description":"` + auth + `"}`
		case "text":
			body = "you sent " + auth
		case "straddling":
			body = strings.Repeat("x", 190) + auth
		case "json-straddling":
			body = `{"error":"` + strings.Repeat("x", 285) + auth + `"}`
		}
		w.Header().Set("Location", "https://elsewhere.example/"+auth)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func TestTheTokenNeverAppearsInErrors(t *testing.T) {
	for _, status := range []int{301, 400, 401, 403, 404, 422, 429, 500, 503, 418, 200} {
		for _, shape := range []string{"json", "text", "straddling", "json-straddling"} {
			c := fixedServer(t, echoAuth(status, shape))
			for _, cl := range allCalls {
				err := cl.run(c)
				if err == nil {
					t.Fatalf("HTTP %d %s %s: no error", status, shape, cl.name)
				}
				if strings.Contains(err.Error(), testToken[:len(testToken)/2]) || strings.Contains(err.Error(), testToken[len(testToken)/2:]) {
					t.Errorf("HTTP %d %s %s: the token leaks: %v", status, shape, cl.name, err)
				}
			}
		}
	}
	// A transport error on a URL that (mistakenly) holds the token.
	c := newClient(t, "http://127.0.0.1:1/"+testToken)
	if err := callMetrics.run(c); err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("%v", err)
	}
}

// A redirect is not followed: the other host never sees the token (nor anything).
func TestRedirectsAreNotFollowed(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(200)
	}))
	t.Cleanup(other.Close)
	for _, status := range []int{301, 302, 307, 308} {
		c := fixedServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, status)
		})
		for _, cl := range allCalls {
			pe := wantCode(t, cl.run(c), platform.CodeUnexpected)
			if pe.Transient() || !strings.Contains(pe.Message, other.URL) {
				t.Errorf("HTTP %d %s: %v, want a final error naming %s", status, cl.name, pe, other.URL)
			}
		}
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the other host was reached %d times", n)
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	for _, u := range []string{"", "mastodon.example", "ftp://mastodon.example", "https://", "https://user:pw@mastodon.example",
		"http://mastodon.example", "http://192.168.1.20:3000",
		"https://mastodon.example/?token=" + testToken, "https://mastodon.example/#x"} {
		if _, err := mastodon.New(u, testToken); err == nil {
			t.Errorf("New(%q) accepted", u)
		} else if strings.Contains(err.Error(), testToken) {
			t.Errorf("New(%q): the error leaks the token: %v", u, err)
		}
	}
	if _, err := mastodon.New("https://mastodon.example", ""); err == nil {
		t.Errorf("New without a token accepted")
	}
	for _, u := range []string{"https://mastodon.example/", "http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"} {
		if c, err := mastodon.New(u, testToken); err != nil || c == nil {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}

func TestActionsNeedAKey(t *testing.T) {
	f := newFakeMastodon(t)
	c := newClient(t, f.URL())
	_, err1 := c.Comment(ctx, postID, "x", "")
	_, err2 := c.Edit(ctx, postID, "x", "")
	_, err3 := c.Thread(ctx, postID, []string{"x"}, "")
	for _, err := range []error{err1, err2, err3} {
		wantCode(t, err, platform.CodeBadRequest)
	}
	if n := len(f.Requests()); n != 0 {
		t.Fatalf("%d requests without a key, want none", n)
	}
}

// Settings swapped by mistake: the token in the URL's place is not quoted back.
func TestNewDoesNotQuoteTheToken(t *testing.T) {
	for _, u := range []string{testToken, "https://" + testToken + ".example/%zz", "ftp://" + testToken} {
		_, err := mastodon.New(u, testToken)
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("New(%q): %v", u, err)
		}
		// Swapped: the URL holds the token, the token setting the URL.
		_, err = mastodon.New(u, "https://mastodon.example")
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("New(%q, URL): %v", u, err)
		}
	}
}
