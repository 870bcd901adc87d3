package mastodon

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

// Markers. Every text the adapter publishes ends, after a blank line, with a short visible tag
// naming its idempotency key:
//
//	comment, edit      [rs:1a2b3c4d]
//	thread part i of n [rs:1a2b3c4d i/n]
//
// where 1a2b3c4d are the first 8 hex digits of the key after its "sheal_" prefix (of the key's
// SHA-256 for a key of another shape). The tag is plain text on purpose: Mastodon (and the
// compatible servers) keep it as it is in the rendered HTML, where an invisible character could
// be stripped or normalised away, and a hashtag would be rewritten into a link and list every
// automated reply on the server's hashtag timeline. FindEffect, Thread and Metrics look for the
// tag in a status's content with the HTML tags removed, so markup a server might wrap around it
// does not hide it. It costs 15 characters of a comment or edit and up to 21 of a thread part
// (the arbiter's Mastodon length limit should leave room for it).
const markerPrefix = "[rs:"

// markerPattern matches any marker the adapter writes.
var markerPattern = regexp.MustCompile(`\[rs:[0-9a-f]{8}(?: [1-9][0-9]*/[1-9][0-9]*)?\]`)

// Marker is the tag of a comment or an edit made with key.
func Marker(key string) string { return markerPrefix + keyTag(key) + "]" }

// PartMarker is the tag of part i (from 1) of an n-part thread made with key.
func PartMarker(key string, i, n int) string {
	return markerPrefix + keyTag(key) + " " + strconv.Itoa(i) + "/" + strconv.Itoa(n) + "]"
}

// PartKey is the Idempotency-Key of part i (from 1) of a thread made with key.
func PartKey(key string, i int) string { return key + "-" + strconv.Itoa(i) }

// keyTag is the 8 hex digits a marker carries.
func keyTag(key string) string {
	const prefix = "sheal_"
	if rest, ok := strings.CutPrefix(key, prefix); ok && len(rest) >= 8 && isLowerHex(rest[:8]) {
		return rest[:8]
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// withMarker appends the marker to text after a blank line.
func withMarker(text, marker string) string {
	return strings.TrimRight(text, " \t\r\n") + "\n\n" + marker
}

// threadLength reads n from the first part's marker of a thread made with key in text: 0 when
// text carries none.
func threadLength(text, key string) int {
	first := markerPrefix + keyTag(key) + " 1/"
	_, rest, ok := strings.Cut(text, first)
	if !ok {
		return 0
	}
	digits, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 {
		return 0
	}
	return n
}
