package mastodon

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"

	"resurge/domain"
)

// status is the part of Mastodon's Status entity the adapter reads.
type status struct {
	ID          string
	CreatedAt   time.Time
	InReplyToID string // "" when null
	Visibility  string
	URL         string
	Content     string // HTML, as the server renders it
	Text        string // the source text, when the server sends it (most do not)
	AccountID   string

	raw statusJSON
}

type statusJSON struct {
	ID              *string         `json:"id"`
	CreatedAt       *string         `json:"created_at"`
	InReplyToID     *string         `json:"in_reply_to_id"`
	Visibility      string          `json:"visibility"`
	URL             *string         `json:"url"`
	Content         *string         `json:"content"`
	Text            *string         `json:"text"`
	SpoilerText     string          `json:"spoiler_text"`
	Sensitive       bool            `json:"sensitive"`
	Language        *string         `json:"language"`
	Media           []mediaJSON     `json:"media_attachments"`
	Poll            json.RawMessage `json:"poll"`
	Account         *accountJSON    `json:"account"`
	RepliesCount    json.RawMessage `json:"replies_count"`
	ReblogsCount    json.RawMessage `json:"reblogs_count"`
	FavouritesCount json.RawMessage `json:"favourites_count"`
	// QuotesCount is sent by Mastodon 4.5 and later only.
	QuotesCount json.RawMessage `json:"quotes_count"`
}

type mediaJSON struct {
	ID string `json:"id"`
}

type accountJSON struct {
	ID *string `json:"id"`
}

// account is the part of an Account the adapter reads.
type account struct{ ID string }

// decodeStatus reads one Status. It must have an id, a created_at time, content and an account
// with an id: a reply without them is not a status.
func decodeStatus(body []byte) (status, error) {
	var raw statusJSON
	if err := json.Unmarshal(body, &raw); err != nil {
		return status{}, err
	}
	return raw.status()
}

func (raw statusJSON) status() (status, error) {
	s := status{Visibility: raw.Visibility, raw: raw}
	switch {
	case raw.ID == nil || *raw.ID == "":
		return s, fmt.Errorf("id is missing")
	case raw.CreatedAt == nil:
		return s, fmt.Errorf("created_at is missing")
	case raw.Content == nil:
		return s, fmt.Errorf("content is missing")
	case raw.Account == nil || raw.Account.ID == nil || *raw.Account.ID == "":
		return s, fmt.Errorf("account.id is missing")
	}
	at, err := domain.ParseTime("created_at", *raw.CreatedAt)
	if err != nil {
		return s, err
	}
	s.ID, s.CreatedAt, s.Content, s.AccountID = *raw.ID, at, *raw.Content, *raw.Account.ID
	if raw.InReplyToID != nil {
		s.InReplyToID = *raw.InReplyToID
	}
	if raw.URL != nil {
		s.URL = *raw.URL
	}
	if raw.Text != nil {
		s.Text = *raw.Text
	}
	return s, nil
}

// counters are a status's public counters.
type counters struct{ Replies, Reblogs, Favourites, Quotes int64 }

// counters decodes replies_count, reblogs_count and favourites_count: whole, finite and
// non-negative numbers, all present; and quotes_count, which only Mastodon 4.5 and later send
// (absent or null, it counts 0; present, it must be such a number too).
func (s status) counters() (counters, error) {
	var c counters
	var err error
	if c.Replies, err = domain.DecodeCounter("replies_count", s.raw.RepliesCount); err != nil {
		return c, err
	}
	if c.Reblogs, err = domain.DecodeCounter("reblogs_count", s.raw.ReblogsCount); err != nil {
		return c, err
	}
	if c.Favourites, err = domain.DecodeCounter("favourites_count", s.raw.FavouritesCount); err != nil {
		return c, err
	}
	if q := strings.TrimSpace(string(s.raw.QuotesCount)); q != "" && q != "null" {
		if c.Quotes, err = domain.DecodeCounter("quotes_count", s.raw.QuotesCount); err != nil {
			return c, err
		}
	}
	return c, nil
}

// decodeContext reads a Context's descendants; each must be a status as decodeStatus wants.
func decodeContext(body []byte) ([]status, error) {
	var raw struct {
		Descendants *[]statusJSON `json:"descendants"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	if raw.Descendants == nil {
		return nil, fmt.Errorf("descendants is missing")
	}
	out := make([]status, 0, len(*raw.Descendants))
	for i, d := range *raw.Descendants {
		s, err := d.status()
		if err != nil {
			return nil, fmt.Errorf("descendants[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeAccount reads an Account (verify_credentials): it must have an id.
func decodeAccount(body []byte) (account, error) {
	var raw accountJSON
	if err := json.Unmarshal(body, &raw); err != nil {
		return account{}, err
	}
	if raw.ID == nil || *raw.ID == "" {
		return account{}, fmt.Errorf("id is missing")
	}
	return account{ID: *raw.ID}, nil
}

// plainText is what a reader sees of a status: its HTML content with the tags removed and the
// entities decoded, followed by its source text when the server sent one. Tags are removed
// without a trace (not replaced by spaces) so that a marker the server wrapped in markup still
// reads whole.
func (s status) plainText() string {
	var b strings.Builder
	inTag := false
	for _, r := range s.Content {
		switch {
		case inTag:
			inTag = r != '>'
		case r == '<':
			inTag = true
		default:
			b.WriteRune(r)
		}
	}
	text := html.UnescapeString(b.String())
	if s.Text != "" {
		text += "\n" + s.Text
	}
	return text
}

// countsAsReply reports whether Mastodon counts the status in its parent's replies_count: only
// public and unlisted replies are (private and direct ones are not). A status without a
// visibility is assumed counted.
func (s status) countsAsReply() bool {
	return s.Visibility != visibilityPrivate && s.Visibility != visibilityDirect
}
