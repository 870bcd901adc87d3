package platform

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := []struct{ name, s, secret, want string }{
		{"empty secret is a no-op", "Bearer tok tok", "", "Bearer tok tok"},
		{"every occurrence", "tok=abc, again abc", "abc", "tok=[redacted], again [redacted]"},
		{"absent", "nothing here", "abc", "nothing here"},
		{"empty input", "", "abc", ""},
	}
	for _, tc := range cases {
		if got := Redact(tc.s, tc.secret); got != tc.want {
			t.Errorf("%s: Redact(%q, %q) = %q, want %q", tc.name, tc.s, tc.secret, got, tc.want)
		}
	}
}

func TestDescribeReply(t *testing.T) {
	const secret = "SECRET-TOKEN-0123456789"
	redact := func(s string) string { return Redact(s, secret) }
	noRedact := func(s string) string { return s }

	// The secret straddles the cut: it starts 5 runes before the limit.
	straddleBody := strings.Repeat("b", 195) + secret + strings.Repeat("b", 50)
	straddleAPI := strings.Repeat("a", 295) + secret + strings.Repeat("a", 50)

	cases := []struct {
		name        string
		body        string
		apiError    string
		redact      func(string) string
		want        string
		keepsSecret bool
	}{
		{name: "empty body", body: "", redact: redact, want: "empty reply"},
		{name: "empty body, api error wins", body: "", apiError: "boom", redact: redact, want: "boom"},
		{name: "plain body", body: "<html>oops</html>", redact: redact, want: "reply: <html>oops</html>"},
		{name: "api error", body: `{"error":"x"}`, apiError: "x: y", redact: redact, want: "x: y"},
		{name: "body at 200 runes is kept whole", body: strings.Repeat("é", 200), redact: redact,
			want: "reply: " + strings.Repeat("é", 200)},
		{name: "body over 200 runes is cut", body: strings.Repeat("é", 201), redact: redact,
			want: "reply: " + strings.Repeat("é", 200) + "…"},
		{name: "api error at 300 runes is kept whole", body: "{}", apiError: strings.Repeat("é", 300), redact: redact,
			want: strings.Repeat("é", 300)},
		{name: "api error over 300 runes is cut", body: "{}", apiError: strings.Repeat("é", 301), redact: redact,
			want: strings.Repeat("é", 300) + "…"},
		{name: "body secret straddling the cut is redacted first", body: straddleBody, redact: redact,
			want: "reply: " + strings.Repeat("b", 195) + "[reda…"},
		{name: "api error secret straddling the cut is redacted first", body: "{}", apiError: straddleAPI, redact: redact,
			want: strings.Repeat("a", 295) + "[reda…"},
		{name: "unprintable runes in the body", body: "a\x00b\nc\x1bd\u200be", redact: redact,
			want: "reply: a?b?c?d?e"},
		{name: "unprintable runes in the api error", body: "{}", apiError: "bad\tinput\r\n", redact: redact,
			want: "bad?input??"},
		{name: "invalid UTF-8 in the body becomes U+FFFD", body: "ok\xffok", redact: redact, want: "reply: ok\uFFFDok"},
		{name: "secret in the api error", body: "{}", apiError: "token " + secret + " rejected", redact: redact,
			want: "token [redacted] rejected"},
		{name: "no-op redactor leaves the secret", body: "t=" + secret, redact: noRedact,
			want: "reply: t=" + secret, keepsSecret: true},
	}
	for _, tc := range cases {
		got := DescribeReply([]byte(tc.body), tc.apiError, tc.redact)
		if got != tc.want {
			t.Errorf("%s: DescribeReply = %q, want %q", tc.name, got, tc.want)
		}
		if tc.redact != nil && !tc.keepsSecret && strings.Contains(got, secret[:5]) {
			t.Errorf("%s: %q carries part of the secret", tc.name, got)
		}
	}
}
