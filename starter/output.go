package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes v as one indented JSON document.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// reportResult ends a command that changes something and reports whether it took: with
// --json it prints res and is done (the exit code carries failure); otherwise it is done only
// on failure, and the caller prints its text.
func (e *env) reportResult(res any, failure error) (done bool, err error) {
	if e.opts.json {
		if err := printJSON(e.stdout, res); err != nil {
			return true, err
		}
		return true, failure
	}
	return failure != nil, failure
}

// table writes aligned columns; cells are sanitised so that a value cannot break the layout.
type table struct {
	tw *tabwriter.Writer
	// maxCell shortens longer cells (runes); 0 keeps them whole.
	maxCell int
}

// newTable returns a table whose cells are shortened to 80 characters.
func newTable(w io.Writer, indent string, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0), maxCell: 80}
	if len(header) > 0 {
		t.row(indent, header...)
	}
	return t
}

func (t *table) row(indent string, cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = cell(c, t.maxCell)
	}
	fmt.Fprintln(t.tw, indent+strings.Join(clean, "\t"))
}

func (t *table) flush() { t.tw.Flush() }

// cell makes one table cell: one line, no tabs, "-" when empty, values longer than maxCell
// runes (if not 0) shortened.
func cell(s string, maxCell int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	if r := []rune(s); maxCell > 0 && len(r) > maxCell {
		return string(r[:maxCell-1]) + "…"
	}
	return s
}

// timestamp formats t in UTC to the second (or "-" for the zero time).
func timestamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// relative says how far t is from now: "in 4m10s", "3m ago".
func relative(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + shortDuration(d)
	case d < 0:
		return shortDuration(-d) + " ago"
	}
	return "now"
}

// shortDuration drops the zero units Go prints ("1h0m0s" -> "1h").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// when is "2026-11-25 12:00:00Z (in 4m)".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return timestamp(t) + " (" + relative(t, now) + ")"
}
