package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"resurge/domain"
)

// Garbage given to `start --file` and `plan`, beyond the bad rows and requests of
// input_test.go and plan_test.go: each exits 2 with one error line saying what is wrong, and
// nothing connects to Temporal.

func TestStartFileGarbageExits2(t *testing.T) {
	entry := func(id, extra string) string { return jsonEntry(id, extra) }
	tooManyParts := `"thread_texts": ["1","2","3","4","5","6","7","8","9","10","11"]`
	cases := []struct {
		name, file, content, errSub string
	}{
		{"binary junk as JSON", "posts.json", "\x00\x01\x02\xff", "invalid JSON"},
		{"binary junk as CSV", "posts.csv", "\x00\x01\x02\xff", "unknown column"},
		{"an array of null", "posts.json", "[null]", "post: is missing"},
		{"an array of arrays", "posts.json", "[[]]", "must be an object"},
		{"post null", "posts.json", `[{"post": null}]`, "post: is missing"},
		{"an object, not an array", "posts.json", `{"posts": []}`, "JSON array"},
		{"a string", "posts.json", `"posts"`, "JSON array"},
		{"nesting too deep", "posts.json", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "invalid JSON"},
		{"trailing comma", "posts.json", "[" + entry("p1", "") + ",]", "invalid JSON"},
		{"NUL escaped in an ID", "posts.json", "[" + strings.Replace(entry("p1", ""), `"id": "p1"`, `"id": "p\u0000"`, 1) + "]", "post.id"},
		{"ID of 201 bytes", "posts.json", "[" + entry(strings.Repeat("x", domain.MaxIDLen+1), "") + "]", "post.id"},
		{"eleven thread parts", "posts.json", "[" + strings.Replace(entry("p1", ""), `"thread_texts": ["t1", "t2"]`, tooManyParts, 1) + "]", "post.thread_texts"},
		{"min_samples too large a number", "posts.json", "[" + strings.TrimSuffix(entry("p1", ""), "}") + `, "config": {"min_samples": 1e400}}]`, "config"},
		{"negative min_samples", "posts.json", "[" + strings.TrimSuffix(entry("p1", ""), "}") + `, "config": {"min_samples": -3}}]`, "config.min_samples"},
		{"negative cooldown", "posts.json", "[" + strings.TrimSuffix(entry("p1", ""), "}") + `, "config": {"comment_cooldown": "-1s"}}]`, "config.comment_cooldown"},
		{"duration overflow", "posts.json", "[" + strings.TrimSuffix(entry("p1", ""), "}") + `, "config": {"horizon": "9999999999h"}}]`, "config.horizon"},
		{"NUL in a CSV ID", "posts.csv", csvHeaderLine + "p\x001,sim,a1,c,e,t,\n", "post_id"},
		{"a CSV row of commas", "posts.csv", csvHeaderLine + ",,,,,,\n", "post_id"},
		{"a CSV with a bare quote", "posts.csv", csvHeaderLine + "p1,sim,a1,c\"c,e,t,\n", `bare "`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.file)
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			fc := newFakeClient()
			te := newTestEnv(t, fc, "")
			if code := te.run("start", "--file", path); code != exitUsage {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, te.stdout, te.stderr)
			}
			if te.dials != 0 || len(fc.started) != 0 {
				t.Fatalf("dialled %d times, started %d", te.dials, len(fc.started))
			}
			if !strings.Contains(te.stderr.String(), c.errSub) {
				t.Errorf("stderr does not say %q:\n%s", c.errSub, te.stderr)
			}
		})
	}
}

func TestPlanGarbageExits2(t *testing.T) {
	ok := func(extra string) string {
		return `{"post_id": "p1", "now": "2026-11-25T12:00:00Z"` + extra + `}`
	}
	cases := []struct{ name, request, errSub string }{
		{"null", "null", "post_id: is missing"},
		{"an array", "[]", "plan:"},
		{"a string", `"plan please"`, "plan:"},
		{"a number", "42", "plan:"},
		{"binary junk", "\x00\x01\xff", "plan:"},
		{"post_id null", `{"post_id": null, "now": "2026-11-25T12:00:00Z"}`, "post_id: is missing"},
		{"post_id a number", `{"post_id": 7, "now": "2026-11-25T12:00:00Z"}`, "plan:"},
		{"post_id with a control character", `{"post_id": "p\u0001", "now": "2026-11-25T12:00:00Z"}`, "post_id"},
		{"now not a time", `{"post_id": "p1", "now": "tomorrow"}`, "now: is not an RFC 3339 time"},
		{"sample in the future", ok(`, "samples": [{"at": "2026-11-25T12:00:01Z", "impressions": 1, "engagements": 0}]`), "samples[0].at"},
		{"sample without time", ok(`, "samples": [{"impressions": 1, "engagements": 0}]`), "samples[0].at: is missing"},
		{"sample with an unknown field", ok(`, "samples": [{"at": "2026-11-25T11:00:00Z", "impressions": 1, "engagements": 0, "likes": 3}]`), "likes"},
		{"Infinity counter", ok(`, "samples": [{"at": "2026-11-25T11:00:00Z", "impressions": "Infinity", "engagements": 0}]`), "samples[0].impressions"},
		{"fractional counter", ok(`, "samples": [{"at": "2026-11-25T11:00:00Z", "impressions": 10.5, "engagements": 0}]`), "samples[0].impressions"},
		{"config zero window", ok(`, "config": {"window": "0s"}`), "config.window"},
		{"config negative cooldown", ok(`, "config": {"thread_cooldown": "-5m"}`), "config.thread_cooldown"},
		{"config max actions 0", ok(`, "config": {"max_actions_per_window": 0}`), "config.max_actions_per_window"},
		{"log not a list", ok(`, "log": {"idempotency_key": "x"}`), "plan:"},
		{"log record of an unknown status", ok(`, "log": [{"idempotency_key": "sheal_00000000000000000000000000000000", "post_id": "p1", "action_type": "comment", "tier": "tier_1", "initiated_at": "2026-11-25T10:00:00Z", "status": "pending"}]`), "log[0].status"},
		{"trailing garbage", ok("") + " {}", "plan:"},
		{"nesting too deep", `{"post_id": "p1", "now": "2026-11-25T12:00:00Z", "config": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "plan:"},
		{"larger than the limit", ok(`, "pad": "` + strings.Repeat("x", domain.MaxRequestBytes) + `"`), "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := newTestEnv(t, nil, c.request)
			if code := te.run("plan"); code != exitUsage {
				t.Fatalf("exit %d, want 2; stdout %.200s stderr %.300s", code, te.stdout, te.stderr)
			}
			if te.stdout.Len() != 0 {
				t.Errorf("stdout not empty: %.200s", te.stdout)
			}
			if line := te.errLine(t); !strings.Contains(line, c.errSub) {
				t.Errorf("error line %.300q does not say %q", line, c.errSub)
			}
		})
	}
}
