package bluesky_test

import (
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/domain"
	"resurge/platform/bluesky"
)

func TestRecordKeysAreDeterministicTIDs(t *testing.T) {
	seen := map[string]string{}
	for _, k := range []string{domain.IdempotencyKey("p1", domain.ActionComment, domain.Tier1), domain.IdempotencyKey("p1", domain.ActionThread, domain.Tier3), "sheal_x"} {
		for part := 0; part <= 10; part++ {
			rkey := bluesky.RecordKey(k, part)
			if rkey != bluesky.RecordKey(k, part) {
				t.Fatalf("RecordKey(%s, %d) changes from call to call", k, part)
			}
			tid, err := syntax.ParseTID(rkey)
			if err != nil {
				t.Fatalf("RecordKey(%s, %d) = %q is not a TID: %v", k, part, rkey, err)
			}
			if y := tid.Time().Year(); y != 2023 {
				t.Errorf("RecordKey(%s, %d) has a timestamp in %d, want 2023", k, part, y)
			}
			if prev, dup := seen[rkey]; dup {
				t.Fatalf("RecordKey(%s, %d) = RecordKey of %s", k, part, prev)
			}
			seen[rkey] = k
		}
	}
	// A fixed value: a change would make every retry of an action in flight post again.
	if got := bluesky.RecordKey("sheal_878d89c30e92e1293270d561bfd03ec1", 0); got != recordKeyFixture {
		t.Fatalf("RecordKey changed: %s, was %s", got, recordKeyFixture)
	}
}

func TestParsePostRef(t *testing.T) {
	const did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	good := []struct{ in, author, rkey string }{
		{"at://" + did + "/app.bsky.feed.post/3l3qo2vuowo2b", did, "3l3qo2vuowo2b"},
		{"at://alice.bsky.social/app.bsky.feed.post/3l3qo2vuowo2b", "alice.bsky.social", "3l3qo2vuowo2b"},
		{"https://bsky.app/profile/alice.bsky.social/post/3l3qo2vuowo2b", "alice.bsky.social", "3l3qo2vuowo2b"},
		{"https://bsky.app/profile/Alice.Bsky.Social/post/3l3qo2vuowo2b/", "alice.bsky.social", "3l3qo2vuowo2b"},
		{"https://bsky.app/profile/" + did + "/post/3l3qo2vuowo2b?ref=x#y", did, "3l3qo2vuowo2b"},
		{"  https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b  ", "alice.test", "3l3qo2vuowo2b"},
	}
	for _, g := range good {
		ref, err := bluesky.ParsePostRef(g.in)
		if err != nil || ref.Author.String() != g.author || ref.RKey.String() != g.rkey {
			t.Errorf("ParsePostRef(%q) = %+v, %v; want %s %s", g.in, ref, err, g.author, g.rkey)
		}
	}
	bad := []string{
		"", "3l3qo2vuowo2b", "at://", "at://" + did, "at://" + did + "/app.bsky.feed.post",
		"at://" + did + "/app.bsky.feed.like/3l3qo2vuowo2b", "at://" + did + "/app.bsky.feed.post/3l3qo2vuowo2b?x=1",
		"at://not a did/app.bsky.feed.post/3l", "at://" + did + "/app.bsky.feed.post/bad key!",
		"https://bsky.app/profile/alice.test", "https://bsky.app/profile/alice.test/post", "https://bsky.app/profile/alice.test/lists/3l",
		"https://bsky.app/profile/not_a_handle!/post/3l3qo2vuowo2b", "https://bsky.app/profile/alice.test/post/bad%20key",
		"ftp://bsky.app/profile/alice.test/post/3l", "bsky.app/profile/alice.test/post/3l", "at:/" + did,
	}
	for _, in := range bad {
		if ref, err := bluesky.ParsePostRef(in); err == nil {
			t.Errorf("ParsePostRef(%q) = %+v, want an error", in, ref)
		} else if in != "" && !strings.Contains(err.Error(), "post") && !strings.Contains(err.Error(), "AT URI") {
			t.Errorf("ParsePostRef(%q): %v does not say what it wants", in, err)
		}
	}
	// A DID needs no resolution: no resolver, and the canonical AT URI.
	uri, err := bluesky.NormalizePostID(ctx, nil, "https://bsky.app/profile/"+did+"/post/3l3qo2vuowo2b")
	if err != nil || uri != "at://"+did+"/app.bsky.feed.post/3l3qo2vuowo2b" {
		t.Fatalf("NormalizePostID = %q, %v", uri, err)
	}
	if _, err := bluesky.NormalizePostID(ctx, nil, "https://bsky.app/profile/alice.test/post/3l3qo2vuowo2b"); err == nil {
		t.Fatal("a handle without a resolver normalized")
	}
}

const recordKeyFixture = "3jropjx6gdudh"
