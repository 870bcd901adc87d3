package mastodon_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken = "mastodon-secret-token-8c1f27e4"
	selfID    = "109000000000000001" // the authenticated account
	otherID   = "109000000000000777" // somebody else
	postID    = "110000000000000100" // the watched post, by selfID
)

// fakeMastodon is an in-memory Mastodon: it serves the documented entity shapes (Status,
// Context, CredentialAccount, Error) and, like Mastodon, counts only public and unlisted direct
// replies in replies_count, and drops the attributes an edit does not resend.
type fakeMastodon struct {
	t   *testing.T
	srv *httptest.Server

	hookMu   sync.Mutex // serialises the hooks: their own state needs no locking
	mu       sync.Mutex
	now      time.Time
	nextID   int64
	statuses map[string]*fakeStatus
	// honorKeys: replay a known Idempotency-Key as Mastodon does; false plays a compatible
	// server that ignores it.
	honorKeys bool
	// quotes plays Mastodon 4.5 and later, which report quotes_count.
	quotes   bool
	keys     map[string]string // Idempotency-Key -> status ID
	requests []request
	// before may answer a request itself (return true) before the fake handles it.
	before func(w http.ResponseWriter, r *http.Request, req request) bool
	// afterCreate may replace the reply to a POST that created a status (return true): e.g.
	// drop the connection so the client never learns the status exists.
	afterCreate func(w http.ResponseWriter, r *http.Request, s *fakeStatus) bool
}

type request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Form                   url.Values // the decoded form body (nil without one)
	ContentType            string
}

type fakeStatus struct {
	ID, AccountID, InReplyTo string
	Text, SpoilerText        string
	Visibility, Language     string
	Sensitive                bool
	MediaIDs                 []string
	Poll                     bool
	Favourites, Reblogs      int
	Quotes                   int // sent as quotes_count when the fake is Mastodon 4.5 (quotes)
	CreatedAt                time.Time
	EditedAt                 *time.Time
}

func newFakeMastodon(t *testing.T) *fakeMastodon {
	t.Helper()
	f := &fakeMastodon{
		t:         t,
		now:       time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		nextID:    110000000000000200,
		statuses:  map[string]*fakeStatus{},
		honorKeys: true,
		keys:      map[string]string{},
	}
	f.statuses[postID] = &fakeStatus{ID: postID, AccountID: selfID, Text: "Our launch post #news", Visibility: "public",
		Language: "en", CreatedAt: f.now.Add(-time.Hour), Favourites: 12, Reblogs: 3}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMastodon) URL() string { return f.srv.URL }

func (f *fakeMastodon) setHonorKeys(b bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.honorKeys = b
}

func (f *fakeMastodon) setBefore(h func(w http.ResponseWriter, r *http.Request, req request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before = h
}

func (f *fakeMastodon) setAfterCreate(h func(w http.ResponseWriter, r *http.Request, s *fakeStatus) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.afterCreate = h
}

// runHook runs a hook with the other hooks held off.
func (f *fakeMastodon) runHook(h func() bool) bool {
	f.hookMu.Lock()
	defer f.hookMu.Unlock()
	return h()
}

// add puts a status on the server directly (replies by others, older replies of ours).
func (f *fakeMastodon) add(s fakeStatus) *fakeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.ID == "" {
		s.ID = f.newID()
	}
	if s.Visibility == "" {
		s.Visibility = "public"
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = f.now
	}
	f.statuses[s.ID] = &s
	return &s
}

func (f *fakeMastodon) newID() string {
	f.nextID++
	return strconv.FormatInt(f.nextID, 10)
}

func (f *fakeMastodon) status(id string) *fakeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.statuses[id]; ok {
		cp := *s
		return &cp
	}
	return nil
}

func (f *fakeMastodon) delete(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.statuses, id)
}

// Requests returns the requests received so far.
func (f *fakeMastodon) Requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// count is the number of requests with method and path.
func (f *fakeMastodon) count(method, path string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// repliesTo lists the statuses replying to id, oldest first.
func (f *fakeMastodon) repliesTo(id string) []*fakeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeStatus
	for _, s := range f.statuses {
		if s.InReplyTo == id {
			cp := *s
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (f *fakeMastodon) serve(w http.ResponseWriter, r *http.Request) {
	req := request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(),
		ContentType: r.Header.Get("Content-Type")}
	if r.Body != nil && r.ContentLength != 0 {
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("%s %s: unreadable form: %v", r.Method, r.URL.Path, err)
		}
		req.Form = r.PostForm
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	before := f.before
	f.mu.Unlock()
	if before != nil && f.runHook(func() bool { return before(w, r, req) }) {
		return
	}
	f.rateHeaders(w)
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "The access token is invalid"})
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && path == "/api/v1/accounts/verify_credentials":
		writeJSON(w, http.StatusOK, f.accountJSON(selfID))
	case r.Method == http.MethodPost && path == "/api/v1/statuses":
		f.create(w, r, req)
	case strings.HasPrefix(path, "/api/v1/statuses/"):
		rest := strings.TrimPrefix(path, "/api/v1/statuses/")
		id, sub, _ := strings.Cut(rest, "/")
		switch {
		case r.Method == http.MethodGet && sub == "":
			f.get(w, id)
		case r.Method == http.MethodGet && sub == "context":
			f.context(w, id)
		case r.Method == http.MethodPut && sub == "":
			f.edit(w, id, req)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
	}
}

func (f *fakeMastodon) rateHeaders(w http.ResponseWriter) {
	f.mu.Lock()
	reset := f.now.Add(5 * time.Minute).Format("2006-01-02T15:04:05.000000Z")
	date := f.now.Format(http.TimeFormat)
	remaining := 300 - len(f.requests)
	f.mu.Unlock()
	w.Header().Set("X-RateLimit-Limit", "300")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	w.Header().Set("X-RateLimit-Reset", reset)
	w.Header().Set("Date", date)
}

func (f *fakeMastodon) get(w http.ResponseWriter, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.statuses[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
		return
	}
	writeJSON(w, http.StatusOK, f.statusJSON(s))
}

// context lists the descendants depth first, each branch oldest first, as Mastodon does.
func (f *fakeMastodon) context(w http.ResponseWriter, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	root, ok := f.statuses[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
		return
	}
	children := map[string][]*fakeStatus{}
	for _, s := range f.statuses {
		if s.InReplyTo != "" {
			children[s.InReplyTo] = append(children[s.InReplyTo], s)
		}
	}
	var desc []any
	var walk func(string)
	walk = func(parent string) {
		kids := children[parent]
		sort.Slice(kids, func(i, j int) bool { return idLess(kids[i].ID, kids[j].ID) })
		for _, k := range kids {
			desc = append(desc, f.statusJSON(k))
			walk(k.ID)
		}
	}
	walk(root.ID)
	var anc []any
	for p := root.InReplyTo; p != ""; {
		ps, ok := f.statuses[p]
		if !ok {
			break
		}
		anc = append([]any{f.statusJSON(ps)}, anc...)
		p = ps.InReplyTo
	}
	if desc == nil {
		desc = []any{}
	}
	if anc == nil {
		anc = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ancestors": anc, "descendants": desc})
}

func (f *fakeMastodon) create(w http.ResponseWriter, r *http.Request, req request) {
	text := req.Form.Get("status")
	if strings.TrimSpace(text) == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: Text can't be blank"})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	if f.honorKeys && key != "" {
		if id, ok := f.keys[key]; ok {
			body := f.statusJSON(f.statuses[id])
			f.mu.Unlock()
			writeJSON(w, http.StatusOK, body)
			return
		}
	}
	parent := req.Form.Get("in_reply_to_id")
	if parent != "" {
		if _, ok := f.statuses[parent]; !ok {
			f.mu.Unlock()
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
			return
		}
	}
	vis := req.Form.Get("visibility")
	if vis == "" {
		vis = "public"
	}
	s := &fakeStatus{ID: f.newID(), AccountID: selfID, InReplyTo: parent, Text: text, Visibility: vis,
		Language: "en", CreatedAt: f.now}
	f.statuses[s.ID] = s
	if key != "" {
		f.keys[key] = s.ID
	}
	body := f.statusJSON(s)
	after := f.afterCreate
	cp := *s
	f.mu.Unlock()
	if after != nil && f.runHook(func() bool { return after(w, r, &cp) }) {
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// edit replaces the text and, like Mastodon, every attribute the request does not resend: the
// content warning, sensitivity and media (a poll too).
func (f *fakeMastodon) edit(w http.ResponseWriter, id string, req request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.statuses[id]
	if !ok || s.AccountID != selfID {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Record not found"})
		return
	}
	if strings.TrimSpace(req.Form.Get("status")) == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: Text can't be blank"})
		return
	}
	s.Text = req.Form.Get("status")
	s.SpoilerText = req.Form.Get("spoiler_text")
	s.Sensitive = req.Form.Get("sensitive") == "true"
	if l := req.Form.Get("language"); l != "" {
		s.Language = l
	}
	s.MediaIDs = req.Form["media_ids[]"]
	s.Poll = false
	at := f.now
	s.EditedAt = &at
	writeJSON(w, http.StatusOK, f.statusJSON(s))
}

func (f *fakeMastodon) repliesCount(id string) int {
	n := 0
	for _, s := range f.statuses {
		if s.InReplyTo == id && (s.Visibility == "public" || s.Visibility == "unlisted") {
			n++
		}
	}
	return n
}

func mastodonTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (f *fakeMastodon) accountJSON(id string) map[string]any {
	name := "resurge_agent"
	if id != selfID {
		name = "someone"
	}
	return map[string]any{
		"id": id, "username": name, "acct": name, "display_name": name, "locked": false, "bot": false,
		"discoverable": true, "group": false, "created_at": "2022-11-01T00:00:00.000Z", "note": "<p></p>",
		"url": f.srv.URL + "/@" + name, "avatar": f.srv.URL + "/avatars/original/missing.png",
		"avatar_static": f.srv.URL + "/avatars/original/missing.png", "header": f.srv.URL + "/headers/original/missing.png",
		"header_static": f.srv.URL + "/headers/original/missing.png", "followers_count": 420, "following_count": 17,
		"statuses_count": 90, "last_status_at": "2025-03-01", "emojis": []any{}, "fields": []any{},
	}
}

// statusJSON renders a Status entity as Mastodon does.
func (f *fakeMastodon) statusJSON(s *fakeStatus) map[string]any {
	var inReplyTo, inReplyToAccount any
	if s.InReplyTo != "" {
		inReplyTo = s.InReplyTo
		if p, ok := f.statuses[s.InReplyTo]; ok {
			inReplyToAccount = p.AccountID
		}
	}
	var edited any
	if s.EditedAt != nil {
		edited = mastodonTime(*s.EditedAt)
	}
	media := []any{}
	for _, m := range s.MediaIDs {
		media = append(media, map[string]any{"id": m, "type": "image", "url": f.srv.URL + "/media/" + m + ".png",
			"preview_url": f.srv.URL + "/media/" + m + "-small.png", "remote_url": nil, "description": "a picture", "blurhash": "UFBWY:8_0Jxv"})
	}
	var poll any
	if s.Poll {
		poll = map[string]any{"id": "34830", "expires_at": "2025-03-02T12:00:00.000Z", "expired": false, "multiple": false,
			"votes_count": 10, "voters_count": 10, "options": []any{map[string]any{"title": "yes", "votes_count": 6},
				map[string]any{"title": "no", "votes_count": 4}}, "emojis": []any{}}
	}
	acct := f.accountJSON(s.AccountID)
	out := map[string]any{
		"id": s.ID, "created_at": mastodonTime(s.CreatedAt), "in_reply_to_id": inReplyTo,
		"in_reply_to_account_id": inReplyToAccount, "sensitive": s.Sensitive, "spoiler_text": s.SpoilerText,
		"visibility": s.Visibility, "language": s.Language,
		"uri":           f.srv.URL + "/users/" + acct["username"].(string) + "/statuses/" + s.ID,
		"url":           f.srv.URL + "/@" + acct["username"].(string) + "/" + s.ID,
		"replies_count": f.repliesCount(s.ID), "reblogs_count": s.Reblogs, "favourites_count": s.Favourites,
		"edited_at": edited, "favourited": false, "reblogged": false, "muted": false, "bookmarked": false, "pinned": false,
		"content": renderContent(f.srv.URL, s.Text), "filtered": []any{}, "reblog": nil,
		"application": map[string]any{"name": "resurge", "website": nil}, "account": acct,
		"media_attachments": media, "mentions": []any{}, "tags": []any{}, "emojis": []any{}, "card": nil, "poll": poll,
	}
	if f.quotes {
		out["quotes_count"] = s.Quotes
	}
	return out
}

var hashtag = regexp.MustCompile(`(^|\s)#(\w+)`)

// renderContent turns plain text into Mastodon's HTML: escaped, paragraphs on blank lines, <br />
// on single newlines, hashtags as links.
func renderContent(base, text string) string {
	var b strings.Builder
	for _, para := range strings.Split(text, "\n\n") {
		p := html.EscapeString(para)
		p = hashtag.ReplaceAllString(p, `$1<a href="`+base+`/tags/$2" class="mention hashtag" rel="tag">#<span>$2</span></a>`)
		p = strings.ReplaceAll(p, "\n", "<br />")
		b.WriteString("<p>" + p + "</p>")
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprint("encoding: ", err))
	}
}

// dropConnection closes the connection without a reply, as a crash or a reset would.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}
