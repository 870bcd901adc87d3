package bluesky_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"
	lexutil "github.com/bluesky-social/indigo/lex/util"

	"resurge/internal/atprotodev"
	"resurge/platform/bluesky"
)

// The reference network is started once for the package's tests, with the PDS's rate-limit
// windows divided by rateLimitScale (createSession: 30 per 10 s instead of per 5 minutes), so
// that a test can wait for a reset.
const rateLimitScale = 30

var (
	netOnce sync.Once
	netRef  *atprotodev.Network
	netErr  error
)

// network returns the package's reference network, starting it on first use.
func network(t *testing.T) *atprotodev.Network {
	t.Helper()
	netOnce.Do(func() {
		start := time.Now()
		netRef, netErr = atprotodev.Start(context.Background(), atprotodev.Options{RateLimitScale: rateLimitScale})
		if netErr == nil {
			fmt.Printf("reference AT Protocol network ready in %s (PDS %s, AppView %s)\n", time.Since(start).Round(time.Millisecond), netRef.PDS, netRef.AppView)
		}
	})
	if netErr != nil {
		t.Fatalf("the reference AT Protocol servers: %v", netErr)
	}
	return netRef
}

var ctx = context.Background()

// actor is an account on the reference PDS, driven with indigo's own client (not the adapter).
type actor struct {
	t                     *testing.T
	handle, did           string
	password, appPassword string
	c                     *atclient.APIClient
}

var handleChars = regexp.MustCompile(`[^a-z0-9]+`)

// newActor creates an account named after the test and name, and an app password for it.
func newActor(t *testing.T, name string) *actor {
	t.Helper()
	n := network(t)
	label := handleChars.ReplaceAllString(strings.ToLower(name+"-"+t.Name()), "")
	if len(label) > 18 {
		sum := sha256.Sum256([]byte(label))
		label = label[:10] + fmt.Sprintf("%x", sum[:4])
	}
	a := &actor{t: t, handle: label + ".test", password: "pw-" + label + "-Secret1"}
	email := label + "@example.test"
	out, err := comatproto.ServerCreateAccount(ctx, atclient.NewAPIClient(n.PDS), &comatproto.ServerCreateAccount_Input{
		Handle: a.handle, Email: &email, Password: &a.password,
	})
	if err != nil {
		t.Fatalf("createAccount %s: %v", a.handle, err)
	}
	a.did = out.Did
	if a.c, err = atclient.LoginWithPasswordHost(ctx, n.PDS, a.handle, a.password, "", nil); err != nil {
		t.Fatalf("login %s: %v", a.handle, err)
	}
	ap, err := comatproto.ServerCreateAppPassword(ctx, a.c, &comatproto.ServerCreateAppPassword_Input{Name: "resurge"})
	if err != nil {
		t.Fatalf("createAppPassword %s: %v", a.handle, err)
	}
	a.appPassword = ap.Password
	return a
}

// client is the adapter logged in as the actor with its app password, against service (the
// PDS by default, or a proxy in front of it).
func (a *actor) client(service string, opts ...bluesky.Option) *bluesky.Client {
	a.t.Helper()
	if service == "" {
		service = network(a.t).PDS
	}
	c, err := bluesky.New(service, a.handle, a.appPassword, opts...)
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

func (a *actor) create(collection string, rec lexutil.CBOR) *comatproto.RepoStrongRef {
	a.t.Helper()
	out, err := comatproto.RepoCreateRecord(ctx, a.c, &comatproto.RepoCreateRecord_Input{
		Repo: a.did, Collection: collection, Record: &lexutil.LexiconTypeDecoder{Val: rec},
	})
	if err != nil {
		a.t.Fatalf("%s creates a %s: %v", a.handle, collection, err)
	}
	return &comatproto.RepoStrongRef{Uri: out.Uri, Cid: out.Cid}
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func (a *actor) post(text string) *comatproto.RepoStrongRef {
	return a.create("app.bsky.feed.post", &bsky.FeedPost{Text: text, CreatedAt: now()})
}

func (a *actor) like(p *comatproto.RepoStrongRef) {
	a.create("app.bsky.feed.like", &bsky.FeedLike{Subject: p, CreatedAt: now()})
}

func (a *actor) repost(p *comatproto.RepoStrongRef) {
	a.create("app.bsky.feed.repost", &bsky.FeedRepost{Subject: p, CreatedAt: now()})
}

func (a *actor) reply(p *comatproto.RepoStrongRef, text string) *comatproto.RepoStrongRef {
	return a.create("app.bsky.feed.post", &bsky.FeedPost{Text: text, CreatedAt: now(),
		Reply: &bsky.FeedPost_ReplyRef{Root: p, Parent: p}})
}

func (a *actor) quote(p *comatproto.RepoStrongRef, text string) *comatproto.RepoStrongRef {
	return a.create("app.bsky.feed.post", &bsky.FeedPost{Text: text, CreatedAt: now(),
		Embed: &bsky.FeedPost_Embed{EmbedRecord: &bsky.EmbedRecord{Record: p}}})
}

func (a *actor) delete(uri string) {
	a.t.Helper()
	rkey := uri[strings.LastIndex(uri, "/")+1:]
	if _, err := comatproto.RepoDeleteRecord(ctx, a.c, &comatproto.RepoDeleteRecord_Input{
		Repo: a.did, Collection: "app.bsky.feed.post", Rkey: rkey,
	}); err != nil {
		a.t.Fatalf("delete %s: %v", uri, err)
	}
}

// posts counts the actor's post records in its repository.
func (a *actor) posts() int {
	a.t.Helper()
	n, cursor := 0, ""
	for {
		out, err := comatproto.RepoListRecords(ctx, a.c, "app.bsky.feed.post", cursor, 100, a.did, false)
		if err != nil {
			a.t.Fatal(err)
		}
		n += len(out.Records)
		if out.Cursor == nil || *out.Cursor == "" || len(out.Records) == 0 {
			return n
		}
		cursor = *out.Cursor
	}
}

// appview is an unauthenticated client of the AppView, to check what it shows.
func appview(t *testing.T) *atclient.APIClient { return atclient.NewAPIClient(network(t).AppView) }

// postView returns the AppView's view of uri (nil while it does not show it).
func postView(t *testing.T, uri string) *bsky.FeedDefs_PostView {
	t.Helper()
	out, err := bsky.FeedGetPosts(ctx, appview(t), []string{uri})
	if err != nil {
		t.Fatalf("getPosts %s: %v", uri, err)
	}
	for _, p := range out.Posts {
		if p.Uri == uri {
			return p
		}
	}
	return nil
}

// eventually polls cond every 100 ms until it holds (the AppView indexes asynchronously: never
// a fixed sleep), failing the test after a minute with the last state cond described.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(time.Minute)
	for {
		ok, state := cond()
		if ok {
			if d := time.Since(start); d > 5*time.Second {
				t.Logf("%s: after %s", what, d.Round(time.Millisecond))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute (last: %s)", what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// accessJWT mints an access token for did signed with the PDS's secret, as the PDS makes them
// (HS256, scope com.atproto.access), expiring at exp.
func accessJWT(t *testing.T, did string, exp time.Time) string {
	t.Helper()
	n := network(t)
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"typ": "at+jwt", "alg": "HS256"})
	claims, _ := json.Marshal(map[string]any{
		"scope": "com.atproto.access", "aud": n.PDSDID, "sub": did,
		"iat": exp.Add(-2 * time.Hour).Unix(), "exp": exp.Unix(),
	})
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(n.JWTSecret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

func timeNow() time.Time { return time.Now().UTC() }
