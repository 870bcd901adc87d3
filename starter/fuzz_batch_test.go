package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeBatch feeds start files to the batch decoder, as a whole and spliced into a valid
// CSV row and a valid JSON entry, and checks its contract: it never panics; it returns either
// posts (all of them valid, each once, with their line and entry) or bad rows (each with a
// message, in file order), never both and never neither; and it is deterministic.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte("post_id,platform,agent,comment_text,edit_text,thread_texts\np1,sim,a1,c,e,t1 | t2\n"), false)
	f.Add([]byte("\ufeffpost_id,platform,agent,comment_text,edit_text,thread_texts,window\np1,,a1,\"c, quoted\",\"e\nacross lines\",t,2h\n"), false)
	f.Add([]byte("post_id,platform,agent,comment_text,edit_text,thread_texts\np1,sim,a1,\"c,e,t\n"), false)
	f.Add([]byte(`[{"post": {"id": "p1", "platform": "sim", "agent": "a1", "comment_text": "c", "edit_text": "e", "thread_texts": ["t"]}, "config": {"window": "2h"}}]`), true)
	f.Add([]byte(`[{"post": {"id": "p1", "agent": 3}}, null, [], {"post": {"id": "p\u0000"}}]`), true)
	f.Add([]byte(`[{"post": {"id": "p1", "platform": "sim", "agent": "a1", "comment_text": "c", "edit_text": "e", "thread_texts": ["t"]}, "config": {"min_samples": 1e400}}`), true)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		format := "csv"
		if asJSON {
			format = "json"
		}
		checkBatch(t, data, format)
		quoted, _ := json.Marshal(string(data))
		csvCell := strings.NewReplacer(",", " ", "\n", " ", "\r", " ", `"`, "'").Replace(string(data))
		for _, tmpl := range []struct{ format, text string }{
			{"csv", "post_id,platform,agent,comment_text,edit_text,thread_texts,window\nRAW,sim,a1,c,e,t,\n"},
			{"csv", "post_id,platform,agent,comment_text,edit_text,thread_texts,window\np1,sim,a1,c,e,t,RAW\n"},
			{"csv", "post_id,platform,agent,comment_text,edit_text,thread_texts,min_samples\np1,sim,a1,RAW,e,a | RAW,RAW\n"},
			{"json", `[{"post": {"id": RAW, "platform": "sim", "agent": "a1", "comment_text": "c", "edit_text": "e", "thread_texts": ["t"]}}]`},
			{"json", `[{"post": {"id": "p1", "platform": "sim", "agent": "a1", "comment_text": "c", "edit_text": "e", "thread_texts": [RAW]}, "config": {"window": RAW}}]`},
			{"json", `[{"post": {"id": "p1", "platform": "sim", "agent": "a1", "comment_text": "c", "edit_text": "e", "thread_texts": ["t"]}, "config": RAW}]`},
			{"json", `[RAW]`},
		} {
			if tmpl.format == "csv" {
				checkBatch(t, []byte(strings.ReplaceAll(tmpl.text, "RAW", csvCell)), "csv")
				continue
			}
			checkBatch(t, []byte(strings.ReplaceAll(tmpl.text, "RAW", string(data))), "json")
			checkBatch(t, []byte(strings.ReplaceAll(tmpl.text, "RAW", string(quoted))), "json")
		}
	})
}

func checkBatch(t *testing.T, data []byte, format string) {
	t.Helper()
	items, bad := decodeBatch(data, format, defaults())
	switch {
	case len(items) > 0 && len(bad) > 0:
		t.Fatalf("both %d posts and %d bad rows", len(items), len(bad))
	case len(items) == 0 && len(bad) == 0:
		t.Fatalf("neither posts nor bad rows")
	}
	seen := map[string]bool{}
	for i, it := range items {
		if err := validateInput(it.Input); err != nil {
			t.Fatalf("post %d is invalid: %v (%+v)", i, err, it.Input)
		}
		if seen[it.Input.Post.ID] {
			t.Fatalf("post %q returned twice", it.Input.Post.ID)
		}
		seen[it.Input.Post.ID] = true
		if it.Line < 1 || (format == "json") != (it.Entry != nil) || (it.Entry != nil && *it.Entry != i) {
			t.Fatalf("post %d comes from line %d entry %v", i, it.Line, it.Entry)
		}
	}
	prev := -1
	for _, b := range bad {
		if b.Error == "" || b.String() == "" {
			t.Fatalf("a bad row without a message: %+v", b)
		}
		key := b.Line
		if b.Entry != nil {
			key = *b.Entry
		}
		if key < prev {
			t.Fatalf("bad rows out of order: %+v", bad)
		}
		prev = key
	}
	items2, bad2 := decodeBatch(data, format, defaults())
	if !reflect.DeepEqual(items, items2) || !reflect.DeepEqual(bad, bad2) {
		t.Fatalf("not deterministic")
	}
}
