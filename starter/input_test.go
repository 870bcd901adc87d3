package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"resurge/domain"
)

func defaults() batchDefaults {
	return batchDefaults{Platform: domain.PlatformSim, Config: domain.DefaultConfig()}
}

func TestDecodeCSV(t *testing.T) {
	csv := "\ufeffpost_id,platform,agent,comment_text,edit_text,thread_texts,window,max_actions_per_window\n" +
		"p1,mastodon,a1,Nice one,New text,part one | part two | part three,2h,1\n" +
		"p2,,a2,\"Comment, with a comma\",\"Edit\nover two lines\",only part,,\n" +
		" p3 ,sim,a1,c,e,t,,\n"
	items, bad := decodeBatch([]byte(csv), "csv", defaults())
	if len(bad) > 0 {
		t.Fatalf("bad rows: %v", bad)
	}
	if len(items) != 3 {
		t.Fatalf("got %d items", len(items))
	}
	p1 := items[0].Input
	if !reflect.DeepEqual(p1.Post, domain.Post{ID: "p1", Platform: "mastodon", Agent: "a1", CommentText: "Nice one", EditText: "New text",
		ThreadTexts: []string{"part one", "part two", "part three"}}) {
		t.Errorf("p1 = %+v", p1.Post)
	}
	want := domain.DefaultConfig()
	want.Window, want.MaxActionsPerWindow = 2*time.Hour, 1
	if p1.Config != want {
		t.Errorf("p1 config %+v, want %+v", p1.Config, want)
	}
	p2 := items[1].Input
	if p2.Post.Platform != domain.PlatformSim || p2.Post.CommentText != "Comment, with a comma" ||
		p2.Post.EditText != "Edit\nover two lines" || !reflect.DeepEqual(p2.Post.ThreadTexts, []string{"only part"}) {
		t.Errorf("p2 = %+v", p2.Post)
	}
	if p2.Config != domain.DefaultConfig() {
		t.Errorf("p2 config %+v: empty cells must keep the defaults", p2.Config)
	}
	if items[2].Input.Post.ID != "p3" {
		t.Errorf("IDs are trimmed: got %q", items[2].Input.Post.ID)
	}
	// Lines: a row's first line, even after a field spanning two lines.
	for i, line := range []int{2, 3, 5} {
		if items[i].Line != line || items[i].Entry != nil {
			t.Errorf("item %d at line %d entry %v, want line %d", i, items[i].Line, items[i].Entry, line)
		}
	}
}

func TestDecodeCSVDefaultsFromFlags(t *testing.T) {
	def := defaults()
	def.Platform = domain.PlatformMastodon
	def.Config.Horizon = 6 * time.Hour
	items, bad := decodeBatch([]byte("post_id,platform,agent,comment_text,edit_text,thread_texts,horizon\np1,,a1,c,e,t,\np2,sim,a1,c,e,t,1h\n"), "csv", def)
	if len(bad) > 0 {
		t.Fatal(bad)
	}
	if items[0].Input.Post.Platform != domain.PlatformMastodon || items[0].Input.Config.Horizon != 6*time.Hour {
		t.Errorf("row 1 does not take the defaults: %+v", items[0].Input)
	}
	if items[1].Input.Post.Platform != domain.PlatformSim || items[1].Input.Config.Horizon != time.Hour {
		t.Errorf("row 2 does not override the defaults: %+v", items[1].Input)
	}
}

const csvHeaderLine = "post_id,platform,agent,comment_text,edit_text,thread_texts,window\n"

func TestDecodeCSVBadRows(t *testing.T) {
	long := strings.Repeat("x", domain.MaxTextLen+1)
	tests := []struct {
		name  string
		csv   string
		line  int
		field string
		sub   string
	}{
		{"header without a required column", "post_id,platform,agent,comment_text,edit_text\np1,sim,a1,c,e\n", 1, "thread_texts", "missing column"},
		{"unknown header column", "post_id,platform,agent,comment_text,edit_text,thread_texts,colour\n", 1, "colour", "unknown column"},
		{"repeated header column", "post_id,platform,agent,comment_text,edit_text,thread_texts,agent\n", 1, "agent", "twice"},
		{"row missing a column", csvHeaderLine + "p1,sim,a1,c,e,t,\np2,sim,a1,c,e\n", 3, "thread_texts", "missing column"},
		{"row with an extra column", csvHeaderLine + "p1,sim,a1,c,e,t,,extra\n", 2, "", "8 fields"},
		{"bad duration", csvHeaderLine + "p1,sim,a1,c,e,t,\np2,sim,a1,c,e,t,90 minutes\n", 3, "window", "invalid duration"},
		{"duration out of range", csvHeaderLine + "p1,sim,a1,c,e,t,0s\n", 2, "window", "must be between"},
		{"empty post id", csvHeaderLine + "p1,sim,a1,c,e,t,\n,sim,a1,c,e,t,\n", 3, "post_id", "must not be empty"},
		{"post id with a space", csvHeaderLine + "p 1,sim,a1,c,e,t,\n", 2, "post_id", "space"},
		{"empty agent", csvHeaderLine + "p1,sim,,c,e,t,\n", 2, "agent", "must not be empty"},
		{"oversized comment", csvHeaderLine + "p1,sim,a1," + long + ",e,t,\n", 2, "comment_text", "characters long"},
		{"oversized thread part", csvHeaderLine + "p1,sim,a1,c,e,t | " + long + ",\n", 2, "thread_texts[1]", "characters long"},
		{"blank edit", csvHeaderLine + "p1,sim,a1,c,  ,t,\n", 2, "edit_text", "must not be empty"},
		{"no thread parts", csvHeaderLine + "p1,sim,a1,c,e,,\n", 2, "thread_texts", "1 to 10 parts"},
		{"unknown platform", csvHeaderLine + "p1,twitter,a1,c,e,t,\n", 2, "platform", `unknown platform "twitter"`},
		{"duplicate post", csvHeaderLine + "p1,sim,a1,c,e,t,\np2,sim,a1,c,e,t,\np1,sim,a1,c,e,t,\n", 4, "post_id", "first at line 2"},
		{"broken quoting", csvHeaderLine + "p1,sim,a1,\"c,e,t,\n", 2, "", `"`},
		{"empty file", "", 0, "", "empty"},
		{"header only", csvHeaderLine, 0, "", "no posts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, bad := decodeBatch([]byte(tc.csv), "csv", defaults())
			if items != nil {
				t.Errorf("items returned although a row is bad: %v", items)
			}
			if len(bad) != 1 {
				t.Fatalf("want 1 bad row, got %d: %v", len(bad), bad)
			}
			b := bad[0]
			if b.Line != tc.line || b.Field != tc.field || b.Entry != nil || !strings.Contains(b.Error, tc.sub) {
				t.Errorf("got line %d field %q error %q; want line %d field %q error containing %q",
					b.Line, b.Field, b.Error, tc.line, tc.field, tc.sub)
			}
			if s := b.String(); tc.line > 0 && !strings.HasPrefix(s, fmt.Sprintf("line %d: ", tc.line)) {
				t.Errorf("message %q does not start with the line", s)
			}
		})
	}
}

func TestDecodeCSVReportsEveryBadRow(t *testing.T) {
	csv := csvHeaderLine +
		"p1,sim,a1,c,e,t,\n" + // good
		",sim,a1,c,e,t,\n" + // line 3: empty id
		"p3,sim,a1,c,e,t,\n" + // good
		"p4,myspace,a1,c,e,t,\n" + // line 5: platform
		"p5,sim,a1,c,e,t,forever\n" // line 6: window
	items, bad := decodeBatch([]byte(csv), "csv", defaults())
	if items != nil {
		t.Fatalf("good rows returned with bad ones: nothing may start")
	}
	var got []string
	for _, b := range bad {
		got = append(got, fmt.Sprintf("%d:%s", b.Line, b.Field))
	}
	if want := []string{"3:post_id", "5:platform", "6:window"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bad rows %v, want %v", got, want)
	}
}

func jsonEntry(id, extra string) string {
	return fmt.Sprintf(`{"post": {"id": %q, "platform": "sim", "agent": "a1", "comment_text": "c", "edit_text": "e", "thread_texts": ["t1", "t2"]%s}}`, id, extra)
}

func TestDecodeJSON(t *testing.T) {
	data := `[
  {"post": {"id": "p1", "platform": "mastodon", "agent": "a1", "comment_text": "c", "edit_text": "e", "thread_texts": ["t1", "t2"]},
   "config": {"window": "2h", "min_samples": 4, "horizon": "12h"}},
  {"post": {"id": "p2", "agent": "a2", "comment_text": "c2", "edit_text": "e2", "thread_texts": ["only"]}, "config": null}
]`
	items, bad := decodeBatch([]byte(data), "json", defaults())
	if len(bad) > 0 {
		t.Fatal(bad)
	}
	if len(items) != 2 {
		t.Fatalf("got %d items", len(items))
	}
	want := domain.DefaultConfig()
	want.Window, want.MinSamples, want.Horizon = 2*time.Hour, 4, 12*time.Hour
	if in := items[0].Input; in.Config != want || in.Post.Platform != "mastodon" || !reflect.DeepEqual(in.Post.ThreadTexts, []string{"t1", "t2"}) {
		t.Errorf("entry 0: %+v", in)
	}
	if in := items[1].Input; in.Config != domain.DefaultConfig() || in.Post.Platform != domain.PlatformSim || in.Post.Agent != "a2" {
		t.Errorf("entry 1: %+v", in)
	}
	for i, line := range []int{2, 4} {
		if items[i].Entry == nil || *items[i].Entry != i || items[i].Line != line {
			t.Errorf("item %d: entry %v line %d, want entry %d line %d", i, items[i].Entry, items[i].Line, i, line)
		}
	}
}

func TestDecodeJSONBadEntries(t *testing.T) {
	long := strings.Repeat("y", domain.MaxTextLen+1)
	ok := jsonEntry("p0", "")
	tests := []struct {
		name  string
		json  string
		entry int // -1: not about one entry
		line  int
		field string
		sub   string
	}{
		{"garbage", `[` + ok + `, {"post": {"id": "p1",,}}]`, 1, 1, "", "invalid JSON"},
		{"not JSON", "hello", -1, 1, "", "invalid JSON"},
		{"unterminated", "[\n" + ok + ",\n" + `{"post": {"id": "p1"`, 1, 3, "", "invalid JSON"},
		{"array not closed", "[\n" + ok + "\n", -1, 3, "", "not closed"},
		{"not an array", `{"post": {}}`, -1, 1, "", "JSON array"},
		{"trailing data", "[" + ok + "]\n[]", -1, 2, "", "after the array"},
		{"entry not an object", "[" + ok + ",\n 42]", 1, 2, "", "must be an object"},
		{"post missing", `[{"config": {"window": "1h"}}]`, 0, 1, "post", "is missing"},
		{"unknown entry field", `[{"post": {}, "posts": {}}]`, 0, 1, "posts", "unknown field"},
		{"unknown post field", "[" + jsonEntry("p1", `, "colour": "red"`) + "]", 0, 1, "post.colour", "unknown field"},
		{"id of the wrong type", `[{"post": {"id": 7}}]`, 0, 1, "post.id", "must be a string, got number"},
		{"thread not an array", `[{"post": {"id": "p1", "thread_texts": "t"}}]`, 0, 1, "post.thread_texts", "must be an array of strings"},
		{"thread part of the wrong type", `[{"post": {"id": "p1", "thread_texts": ["t", 3]}}]`, 0, 1, "post.thread_texts", "got number"},
		{"config of the wrong type", "[" + strings.TrimSuffix(ok, "}") + `, "config": [1]}]`, 0, 1, "config", "object"},
		{"min_samples of the wrong type", "[" + strings.TrimSuffix(ok, "}") + `, "config": {"min_samples": "3"}}]`, 0, 1, "config.min_samples", "whole number"},
		{"bad duration", "[\n" + ok + ",\n" + strings.TrimSuffix(jsonEntry("p1", ""), "}") + `, "config": {"edit_cooldown": "2 hours"}}]`, 1, 3, "config.edit_cooldown", "unknown unit"},
		{"duration as a number", "[" + strings.TrimSuffix(ok, "}") + `, "config": {"window": 5400}}]`, 0, 1, "config.window", "duration string"},
		{"unknown config field", "[" + strings.TrimSuffix(ok, "}") + `, "config": {"windw": "1h"}}]`, 0, 1, "config.windw", "unknown field"},
		{"config out of range", "[" + strings.TrimSuffix(ok, "}") + `, "config": {"max_actions_per_window": 0}}]`, 0, 1, "config.max_actions_per_window", "between"},
		{"empty post id", "[" + jsonEntry("", "") + "]", 0, 1, "post.id", "must not be empty"},
		{"oversized text", "[" + strings.Replace(ok, `"edit_text": "e"`, `"edit_text": "`+long+`"`, 1) + "]", 0, 1, "post.edit_text", "characters long"},
		{"unknown platform", "[" + strings.Replace(ok, `"platform": "sim"`, `"platform": "myspace"`, 1) + "]", 0, 1, "post.platform", "unknown platform"},
		{"duplicate post", "[\n" + ok + ",\n" + ok + "\n]", 1, 3, "post.id", "first at entry [0] (line 2)"},
		{"empty file", " ", -1, 0, "", "empty"},
		{"empty array", "[]", -1, 0, "", "no posts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, bad := decodeBatch([]byte(tc.json), "json", defaults())
			if items != nil {
				t.Errorf("items returned although an entry is bad")
			}
			if len(bad) != 1 {
				t.Fatalf("want 1 bad entry, got %d: %v", len(bad), bad)
			}
			b := bad[0]
			entry := -1
			if b.Entry != nil {
				entry = *b.Entry
			}
			if entry != tc.entry || b.Line != tc.line || b.Field != tc.field || !strings.Contains(b.Error, tc.sub) {
				t.Errorf("got entry %d line %d field %q error %q; want entry %d line %d field %q error containing %q",
					entry, b.Line, b.Field, b.Error, tc.entry, tc.line, tc.field, tc.sub)
			}
		})
	}
}

func TestDecodeJSONReportsEveryBadEntry(t *testing.T) {
	data := "[\n" + jsonEntry("p0", "") + ",\n" + jsonEntry("", "") + ",\n" + jsonEntry("p2", "") + ",\n" +
		`{"post": {"id": "p3", "agent": 3}}` + "\n]"
	items, bad := decodeBatch([]byte(data), "json", defaults())
	if items != nil {
		t.Fatal("good entries returned with bad ones: nothing may start")
	}
	var got []string
	for _, b := range bad {
		got = append(got, b.String())
	}
	want := []string{"entry [1] (line 3): post.id: must not be empty", "entry [3] (line 5): post.agent: must be a string, got number"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestDetectFormat(t *testing.T) {
	for _, tc := range []struct{ path, flag, want string }{
		{"posts.csv", "", "csv"}, {"POSTS.JSON", "", "json"}, {"posts.txt", "csv", "csv"}, {"posts.csv", "json", "json"},
	} {
		if got, err := detectFormat(tc.path, tc.flag); err != nil || got != tc.want {
			t.Errorf("detectFormat(%q, %q) = %q, %v; want %q", tc.path, tc.flag, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ path, flag string }{{"posts.txt", ""}, {"posts", ""}, {"posts.csv", "xml"}} {
		if _, err := detectFormat(tc.path, tc.flag); exitCode(err) != exitUsage {
			t.Errorf("detectFormat(%q, %q): %v, want a usage error", tc.path, tc.flag, err)
		}
	}
}

// TestStartFileWithBadRowsStartsNothing runs the start command on a file with good and bad
// rows: every bad row is printed, the exit code is 2, and no workflow was even looked up.
func TestStartFileWithBadRowsStartsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posts.csv")
	csv := csvHeaderLine + "p1,sim,a1,c,e,t,\n,sim,a1,c,e,t,\np3,sim,a1,c,e,t,\np4,sim,a1,c,e,t,1 hour\n"
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	fc := newFakeClient()
	te := newTestEnv(t, fc, "")
	if code := te.run("start", "--file", path); code != exitUsage {
		t.Fatalf("exit %d, want 2: %s", code, te.stderr)
	}
	if te.dials != 0 || len(fc.started) != 0 || fc.described != 0 {
		t.Fatalf("dialled %d times, started %d, described %d: nothing may happen with a bad row", te.dials, len(fc.started), fc.described)
	}
	for _, want := range []string{path + ": line 3: post_id: must not be empty", path + ": line 5: window: invalid duration"} {
		if !strings.Contains(te.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, te.stderr)
		}
	}
	if line := te.errLine(t); !strings.Contains(line, "2 invalid rows; nothing was started") {
		t.Errorf("error line %q", line)
	}

	// With --json the bad rows are also one JSON document on stdout.
	te = newTestEnv(t, fc, "")
	if code := te.run("start", "--json", "--file", path); code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Started int        `json:"started"`
		Invalid []rowError `json:"invalid"`
	}
	te.oneJSON(t, &doc)
	if doc.Started != 0 || len(doc.Invalid) != 2 || doc.Invalid[0].Line != 3 || doc.Invalid[1].Field != "window" {
		t.Errorf("JSON %+v", doc)
	}
}

// TestDecodeCSVCadence: the cadence and its sparsest interval are columns like the others; a
// cadence that is neither fixed nor adaptive is refused naming the column.
func TestDecodeCSVCadence(t *testing.T) {
	csv := "post_id,platform,agent,comment_text,edit_text,thread_texts,cadence,max_sample_interval\n" +
		"p1,sim,a1,c,e,t,fixed,\n" +
		"p2,sim,a1,c,e,t,,30m\n"
	items, bad := decodeBatch([]byte(csv), "csv", defaults())
	if len(bad) > 0 || len(items) != 2 {
		t.Fatalf("items %d, bad rows %v", len(items), bad)
	}
	if c := items[0].Input.Config; c.Cadence != domain.CadenceFixed || c.MaxSampleInterval != 0 {
		t.Errorf("p1 config %+v, want fixed", c)
	}
	if c := items[1].Input.Config; c.Cadence != domain.CadenceAdaptive || c.MaxSampleInterval != 30*time.Minute {
		t.Errorf("p2 config %+v, want adaptive (the default) up to 30m", c)
	}
	_, bad = decodeBatch([]byte("post_id,platform,agent,comment_text,edit_text,thread_texts,cadence\np1,sim,a1,c,e,t,weekly\n"), "csv", defaults())
	if len(bad) != 1 || bad[0].Field != "cadence" || !strings.Contains(bad[0].Error, "fixed") {
		t.Fatalf("bad cadence: %+v", bad)
	}
}
