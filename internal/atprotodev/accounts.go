package atprotodev

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"
	lexutil "github.com/bluesky-social/indigo/lex/util"
)

// Account is an account on the network's PDS, driven with indigo's own client: the people a
// test needs (an author, a fan), independent of the adapter under test.
type Account struct {
	Handle, DID string
	// Password is the account's password; AppPassword an app password made for it, which is
	// what Resurge is configured with.
	Password, AppPassword string
	// Client is logged in as the account.
	Client *atclient.APIClient
}

// CreateAccount creates the account <label>.test (label: lower-case letters and digits) with an
// app password.
func (n *Network) CreateAccount(ctx context.Context, label string) (*Account, error) {
	a := &Account{Handle: label + ".test", Password: "pw-" + label + "-Secret1"}
	email := label + "@example.test"
	out, err := comatproto.ServerCreateAccount(ctx, atclient.NewAPIClient(n.PDS), &comatproto.ServerCreateAccount_Input{
		Handle: a.Handle, Email: &email, Password: &a.Password,
	})
	if err != nil {
		return nil, fmt.Errorf("createAccount %s: %w", a.Handle, err)
	}
	a.DID = out.Did
	if a.Client, err = atclient.LoginWithPasswordHost(ctx, n.PDS, a.Handle, a.Password, "", nil); err != nil {
		return nil, fmt.Errorf("login %s: %w", a.Handle, err)
	}
	ap, err := comatproto.ServerCreateAppPassword(ctx, a.Client, &comatproto.ServerCreateAppPassword_Input{Name: "resurge"})
	if err != nil {
		return nil, fmt.Errorf("createAppPassword %s: %w", a.Handle, err)
	}
	a.AppPassword = ap.Password
	return a, nil
}

// Create writes a record in the account's repository.
func (a *Account) Create(ctx context.Context, collection string, rec lexutil.CBOR) (*comatproto.RepoStrongRef, error) {
	out, err := comatproto.RepoCreateRecord(ctx, a.Client, &comatproto.RepoCreateRecord_Input{
		Repo: a.DID, Collection: collection, Record: &lexutil.LexiconTypeDecoder{Val: rec},
	})
	if err != nil {
		return nil, fmt.Errorf("%s creates a %s: %w", a.Handle, collection, err)
	}
	return &comatproto.RepoStrongRef{Uri: out.Uri, Cid: out.Cid}, nil
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// Post publishes a post.
func (a *Account) Post(ctx context.Context, text string) (*comatproto.RepoStrongRef, error) {
	return a.Create(ctx, "app.bsky.feed.post", &bsky.FeedPost{Text: text, CreatedAt: now()})
}

// Like likes a post.
func (a *Account) Like(ctx context.Context, p *comatproto.RepoStrongRef) error {
	_, err := a.Create(ctx, "app.bsky.feed.like", &bsky.FeedLike{Subject: p, CreatedAt: now()})
	return err
}

// Repost reposts a post.
func (a *Account) Repost(ctx context.Context, p *comatproto.RepoStrongRef) error {
	_, err := a.Create(ctx, "app.bsky.feed.repost", &bsky.FeedRepost{Subject: p, CreatedAt: now()})
	return err
}

// Reply replies to a post that is not itself a reply.
func (a *Account) Reply(ctx context.Context, p *comatproto.RepoStrongRef, text string) (*comatproto.RepoStrongRef, error) {
	return a.Create(ctx, "app.bsky.feed.post", &bsky.FeedPost{Text: text, CreatedAt: now(),
		Reply: &bsky.FeedPost_ReplyRef{Root: p, Parent: p}})
}

// Quote publishes a quote post of p.
func (a *Account) Quote(ctx context.Context, p *comatproto.RepoStrongRef, text string) (*comatproto.RepoStrongRef, error) {
	return a.Create(ctx, "app.bsky.feed.post", &bsky.FeedPost{Text: text, CreatedAt: now(),
		Embed: &bsky.FeedPost_Embed{EmbedRecord: &bsky.EmbedRecord{Record: p}}})
}

// Delete deletes one of the account's posts.
func (a *Account) Delete(ctx context.Context, uri string) error {
	rkey := uri[strings.LastIndex(uri, "/")+1:]
	_, err := comatproto.RepoDeleteRecord(ctx, a.Client, &comatproto.RepoDeleteRecord_Input{
		Repo: a.DID, Collection: "app.bsky.feed.post", Rkey: rkey,
	})
	return err
}

// GetPost reads one of the account's posts from its repository.
func (a *Account) GetPost(ctx context.Context, uri string) (*bsky.FeedPost, error) {
	rkey := uri[strings.LastIndex(uri, "/")+1:]
	out, err := comatproto.RepoGetRecord(ctx, a.Client, "", "app.bsky.feed.post", a.DID, rkey)
	if err != nil {
		return nil, err
	}
	p, ok := out.Value.Val.(*bsky.FeedPost)
	if !ok {
		return nil, fmt.Errorf("%s is not a post", uri)
	}
	return p, nil
}

// Posts counts the post records in the account's repository.
func (a *Account) Posts(ctx context.Context) (int, error) {
	n, cursor := 0, ""
	for {
		out, err := comatproto.RepoListRecords(ctx, a.Client, "app.bsky.feed.post", cursor, 100, a.DID, false)
		if err != nil {
			return 0, err
		}
		n += len(out.Records)
		if out.Cursor == nil || *out.Cursor == "" || len(out.Records) == 0 {
			return n, nil
		}
		cursor = *out.Cursor
	}
}

// AppView is an unauthenticated client of the AppView, to see what it shows.
func (n *Network) AppViewClient() *atclient.APIClient { return atclient.NewAPIClient(n.AppView) }

// PostView is the AppView's view of uri, nil while it does not show it.
func (n *Network) PostView(ctx context.Context, uri string) (*bsky.FeedDefs_PostView, error) {
	out, err := bsky.FeedGetPosts(ctx, n.AppViewClient(), []string{uri})
	if err != nil {
		return nil, err
	}
	for _, p := range out.Posts {
		if p.Uri == uri {
			return p, nil
		}
	}
	return nil, nil
}

// AccessJWT mints an access token for did as the PDS makes them (HS256 with its secret, scope
// com.atproto.access), expiring at exp: an expired one, for instance.
func (n *Network) AccessJWT(did string, exp time.Time) string {
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
