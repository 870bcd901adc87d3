package bluesky_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"

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

// actor is an account on the reference PDS (atprotodev.Account), failing the test on errors.
type actor struct {
	*atprotodev.Account
	t *testing.T
}

var (
	handleChars = regexp.MustCompile(`[^a-z0-9]+`)
	accounts    atomic.Int64
)

// newActor creates an account named after the test and name, and an app password for it.
func newActor(t *testing.T, name string) *actor {
	t.Helper()
	// Unique on the network, which the package's tests share (also with -count).
	label := handleChars.ReplaceAllString(strings.ToLower(name+"-"+t.Name()), "") + fmt.Sprint(accounts.Add(1))
	if len(label) > 18 {
		sum := sha256.Sum256([]byte(label))
		label = label[:10] + fmt.Sprintf("%x", sum[:4])
	}
	a, err := network(t).CreateAccount(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	return &actor{Account: a, t: t}
}

// client is the adapter logged in as the actor with its app password, against service (the
// PDS by default, or a proxy in front of it).
func (a *actor) client(service string, opts ...bluesky.Option) *bluesky.Client {
	a.t.Helper()
	if service == "" {
		service = network(a.t).PDS
	}
	c, err := bluesky.New(service, a.Handle, a.AppPassword, opts...)
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// check fails the test on err.
func (a *actor) check(err error) {
	a.t.Helper()
	if err != nil {
		a.t.Fatal(err)
	}
}

func (a *actor) post(text string) *comatproto.RepoStrongRef {
	a.t.Helper()
	p, err := a.Post(ctx, text)
	a.check(err)
	return p
}

func (a *actor) reply(p *comatproto.RepoStrongRef, text string) *comatproto.RepoStrongRef {
	a.t.Helper()
	r, err := a.Reply(ctx, p, text)
	a.check(err)
	return r
}

func (a *actor) quote(p *comatproto.RepoStrongRef, text string) *comatproto.RepoStrongRef {
	a.t.Helper()
	q, err := a.Quote(ctx, p, text)
	a.check(err)
	return q
}

func (a *actor) like(p *comatproto.RepoStrongRef)   { a.t.Helper(); a.check(a.Like(ctx, p)) }
func (a *actor) repost(p *comatproto.RepoStrongRef) { a.t.Helper(); a.check(a.Repost(ctx, p)) }
func (a *actor) delete(uri string)                  { a.t.Helper(); a.check(a.Delete(ctx, uri)) }

func (a *actor) posts() int {
	a.t.Helper()
	n, err := a.Posts(ctx)
	a.check(err)
	return n
}

// appview is an unauthenticated client of the AppView, to check what it shows.
func appview(t *testing.T) *atclient.APIClient { return network(t).AppViewClient() }

// postView returns the AppView's view of uri (nil while it does not show it).
func postView(t *testing.T, uri string) *bsky.FeedDefs_PostView {
	t.Helper()
	v, err := network(t).PostView(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newProxy starts a loopback proxy in front of the PDS for the test.
func newProxy(t *testing.T) *atprotodev.Proxy {
	t.Helper()
	p, err := network(t).NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// eventually polls cond every 100 ms until it holds (the AppView indexes asynchronously: never
// a fixed sleep), failing the test after two minutes with the last state cond described.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(2 * time.Minute)
	for {
		ok, state := cond()
		if ok {
			if d := time.Since(start); d > 5*time.Second {
				t.Logf("%s: after %s", what, d.Round(time.Millisecond))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within two minutes (last: %s)", what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// accessJWT mints an access token for did signed with the PDS's secret, expiring at exp.
func accessJWT(t *testing.T, did string, exp time.Time) string { return network(t).AccessJWT(did, exp) }

func timeNow() time.Time { return time.Now().UTC() }
