package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/platform"
)

const (
	aliceDID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	aliceURI = "at://" + aliceDID + "/app.bsky.feed.post/3l3qo2vuowo2b"
)

// handles is a resolver for the starter's tests (the reference-server suites resolve for real:
// platform/bluesky, integration). It counts its look-ups.
type handles struct {
	dids    map[string]string
	lookups int
}

func (h *handles) ResolveHandle(_ context.Context, handle syntax.Handle) (syntax.DID, error) {
	h.lookups++
	if did, ok := h.dids[handle.String()]; ok {
		return syntax.DID(did), nil
	}
	return "", &platform.Error{Code: platform.CodeBadRequest, Message: "the handle " + handle.String() + " does not resolve to an account"}
}

func blueskyEnv(t *testing.T, fc *fakeClient, stdin string) (*testEnv, *handles) {
	te := newTestEnv(t, fc, stdin)
	h := &handles{dids: map[string]string{"alice.test": aliceDID}}
	te.env.resolver = &cachedResolver{r: h, dids: map[syntax.Handle]syntax.DID{}}
	return te, h
}

func TestStartBlueskyNormalizesThePostID(t *testing.T) {
	for _, id := range []string{
		"https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b",
		"https://bsky.app/profile/" + aliceDID + "/post/3l3qo2vuowo2b",
		"at://alice.test/app.bsky.feed.post/3l3qo2vuowo2b",
		aliceURI,
	} {
		fc := newFakeClient()
		te, _ := blueskyEnv(t, fc, "")
		code := te.run("start", "--platform", "bluesky", "--post", id, "--agent", "alice", "--comment", "c", "--edit", "q", "--thread", "t")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", id, code, te.stderr)
		}
		if len(fc.started) != 1 || fc.started[0].ID != "post/"+aliceURI {
			t.Fatalf("%s: started %+v, want workflow post/%s", id, fc.started, aliceURI)
		}
	}
}

func TestStartBlueskyBadIDsStartNothing(t *testing.T) {
	tests := []struct{ id, want string }{
		{"https://bsky.app/profile/nobody.test/post/3l3qo2vuowo2b", "nobody.test"},
		{"https://bsky.app/profile/alice.test/lists/3l3qo2vuowo2b", "--post"},
		{"at://" + aliceDID + "/app.bsky.feed.like/3l3qo2vuowo2b", "--post"},
		{"3l3qo2vuowo2b", "--post"},
		{"https://example.org/", "--post"},
	}
	for _, tc := range tests {
		fc := newFakeClient()
		te, _ := blueskyEnv(t, fc, "")
		code := te.run("start", "--platform", "bluesky", "--post", tc.id, "--agent", "a", "--comment", "c", "--edit", "q", "--thread", "t")
		if code != exitUsage || !strings.Contains(te.stderr.String(), tc.want) || len(fc.started) != 0 {
			t.Errorf("%s: exit %d, stderr %q, started %d; want exit 2 naming %s, nothing started", tc.id, code, te.stderr, len(fc.started), tc.want)
		}
	}
}

// A start file: every Bluesky row normalized before anything starts (a handle resolved once),
// a bad one reported with its line, and a URL and the AT URI of one post are one post.
func TestStartFileBlueskyRows(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	header := "post_id,platform,agent,comment_text,edit_text,thread_texts\n"
	good := write("good.csv", header+
		"https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b,bluesky,a,c,q,t\n"+
		"https://bsky.app/profile/alice.test/post/3l3qo2vuowo2c,bluesky,a,c,q,t\n"+
		"p1,sim,a,c,e,t\n")
	fc := newFakeClient()
	te, h := blueskyEnv(t, fc, "")
	if code := te.run("start", "--file", good); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	ids := map[string]bool{}
	for _, s := range fc.started {
		ids[s.ID] = true
	}
	if !ids["post/"+aliceURI] || !ids["post/at://"+aliceDID+"/app.bsky.feed.post/3l3qo2vuowo2c"] || !ids["post/p1"] || h.lookups != 1 {
		t.Fatalf("started %v, %d look-ups; want both AT URIs and p1, alice.test resolved once", ids, h.lookups)
	}

	bad := write("bad.csv", header+
		"p1,sim,a,c,e,t\n"+
		"https://bsky.app/profile/nobody.test/post/3l3qo2vuowo2b,bluesky,a,c,q,t\n"+
		"https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b,bluesky,a,c,q,t\n"+
		aliceURI+",bluesky,a,c,q,t\n")
	fc = newFakeClient()
	te, _ = blueskyEnv(t, fc, "")
	if code := te.run("start", "--file", bad); code != exitUsage || len(fc.started) != 0 {
		t.Fatalf("exit %d, started %d: %s", code, len(fc.started), te.stderr)
	}
	for _, want := range []string{"line 3: post_id:", "nobody.test", "line 5: post_id:", "appears twice"} {
		if !strings.Contains(te.stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", te.stderr, want)
		}
	}
}

// status and stop take a Bluesky post in any accepted form.
func TestStatusAndStopNormalizeBlueskyIDs(t *testing.T) {
	fc := newFakeClient()
	te, _ := blueskyEnv(t, fc, "")
	te.run("stop", "https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b")
	if !strings.Contains(te.stdout.String()+te.stderr.String(), aliceURI) {
		t.Fatalf("stop: %s %s, want the post named by its AT URI", te.stdout, te.stderr)
	}
	te, _ = blueskyEnv(t, fc, "")
	if code := te.run("status", "https://bsky.app/profile/nobody.test/post/3l3qo2vuowo2b"); code != exitUsage {
		t.Fatalf("status of an unknown handle: exit %d: %s", code, te.stderr)
	}
	// A resolution that fails for another reason is a failure, not a usage error.
	te = newTestEnv(t, fc, "")
	te.env.resolver = &cachedResolver{r: failing{}, dids: map[syntax.Handle]syntax.DID{}}
	if code := te.run("status", "https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b"); code != exitFailed {
		t.Fatalf("status with the service down: exit %d: %s", code, te.stderr)
	}
}

type failing struct{}

func (failing) ResolveHandle(context.Context, syntax.Handle) (syntax.DID, error) {
	return "", &platform.Error{Code: platform.CodeNetworkError, Message: "connection refused"}
}
