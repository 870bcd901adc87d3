package bluesky

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/bluesky-social/indigo/api/bsky"
)

// linkPattern finds http(s) URLs in a text: up to the next white space.
var linkPattern = regexp.MustCompile(`https?://[^\s]+`)

// linkFacets marks every http(s) URL in text as a link. Bluesky shows a post's text as it is:
// without a facet, a URL is not clickable. Offsets are UTF-8 byte offsets, as the facet lexicon
// wants; a URL's trailing punctuation (a full stop ending the sentence) is not part of it.
func linkFacets(text string) []*bsky.RichtextFacet {
	var out []*bsky.RichtextFacet
	for _, m := range linkPattern.FindAllStringIndex(text, -1) {
		start, end := m[0], m[1]
		for end > start && strings.ContainsRune(".,;:!?)]}'\"", rune(text[end-1])) {
			end--
		}
		link := text[start:end]
		if u, err := url.Parse(link); err != nil || u.Host == "" {
			continue
		}
		out = append(out, &bsky.RichtextFacet{
			Index: &bsky.RichtextFacet_ByteSlice{ByteStart: int64(start), ByteEnd: int64(end)},
			Features: []*bsky.RichtextFacet_Features_Elem{{
				RichtextFacet_Link: &bsky.RichtextFacet_Link{LexiconTypeID: "app.bsky.richtext.facet#link", Uri: link},
			}},
		})
	}
	return out
}
