package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"resurge/domain"
	"resurge/workflows"
)

// Start files: CSV with a header row, or a JSON array of {"post": {...}, "config": {...}}.
//
// Every row is decoded and validated before anything starts: decodeBatch returns either posts
// to start or the list of bad rows, each with its line (CSV and JSON) or entry index (JSON)
// and the field at fault.

// maxFileBytes bounds a start file.
const maxFileBytes = 64 << 20

// threadSeparator separates the parts of a thread in the CSV thread_texts column.
const threadSeparator = " | "

// CSV columns: the post's (all required; an empty platform cell takes --platform) and the
// optional configuration overrides (an empty cell keeps the default).
var (
	csvPostColumns   = []string{"post_id", "platform", "agent", "comment_text", "edit_text", "thread_texts"}
	csvConfigColumns = []string{"window", "min_samples", "sample_interval", "comment_cooldown", "edit_cooldown", "thread_cooldown", "quote_cooldown", "max_actions_per_window", "horizon", "approval_timeout", "cadence", "max_sample_interval"}
)

// batchDefaults apply to every row of a start file: the platform of rows that leave it empty and
// the configuration that rows override field by field.
type batchDefaults struct {
	Platform string
	Config   domain.EvaluationConfig
	// normalize, when set, gives each post the ID its workflow uses before the row is
	// validated (a Bluesky URL becomes its AT URI; see env.normalizePostID), so that duplicates
	// are found among the IDs that will be started.
	normalize func(field, platform, id string) (string, error)
}

// startItem is one post to start and where it came from.
type startItem struct {
	Line  int  // 1-based line in the file (0: not from a file)
	Entry *int // 0-based index in the JSON array (nil: not from a JSON file)
	Input workflows.PostInput
}

// where names the item's origin for messages: "line 4", "entry [2] (line 9)" (JSON entries
// are numbered from 0, as in the array), "input".
func (it startItem) where() string { return origin(it.Line, it.Entry) }

// rowError is one bad row of a start file.
type rowError struct {
	Line  int    `json:"line,omitempty"`
	Entry *int   `json:"entry,omitempty"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

func (r rowError) String() string {
	s := origin(r.Line, r.Entry)
	if r.Field != "" {
		s += ": " + r.Field
	}
	return s + ": " + r.Error
}

func origin(line int, entry *int) string {
	switch {
	case entry != nil && line > 0:
		return fmt.Sprintf("entry [%d] (line %d)", *entry, line)
	case entry != nil:
		return fmt.Sprintf("entry [%d]", *entry)
	case line > 0:
		return fmt.Sprintf("line %d", line)
	}
	return "input"
}

// readLimited reads all of r, refusing more than limit bytes.
func readLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(data)) > limit {
		return nil, usageErrorf("%s is larger than %d bytes", what, limit)
	}
	return data, nil
}

// detectFormat returns "csv" or "json": the --format flag, else the file's extension.
func detectFormat(path, format string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(format)); f {
	case "csv", "json":
		return f, nil
	case "":
	default:
		return "", usageErrorf("--format: want csv or json, got %q", format)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".json":
		return "json", nil
	}
	return "", usageErrorf("cannot tell the format of %q from its extension: use --format csv or --format json", path)
}

// decodeBatch decodes and validates a whole start file. It returns the posts to start only if
// every row is good; otherwise the bad rows, all of them, in file order.
func decodeBatch(data []byte, format string, def batchDefaults) ([]startItem, []rowError) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // a spreadsheet's byte-order mark
	var items []startItem
	var bad []rowError
	switch format {
	case "csv":
		items, bad = decodeCSV(data, def)
	case "json":
		items, bad = decodeJSON(data, def)
	default:
		return nil, []rowError{{Error: fmt.Sprintf("unknown format %q", format)}}
	}
	bad = append(bad, duplicates(items, format == "csv")...)
	if len(bad) == 0 && len(items) == 0 {
		bad = append(bad, rowError{Error: "the file has no posts"})
	}
	if len(bad) > 0 {
		sortRowErrors(bad)
		return nil, bad
	}
	return items, nil
}

// normalizeID applies def.normalize to the post's ID, if set.
func (def batchDefaults) normalizeID(p *domain.Post) error {
	if def.normalize == nil {
		return nil
	}
	id, err := def.normalize("post.id", p.Platform, p.ID)
	if err != nil {
		return err
	}
	p.ID = id
	return nil
}

// validateInput checks a post and its configuration, as StartPost will.
func validateInput(in workflows.PostInput) error {
	if err := in.Post.Validate(); err != nil {
		return err
	}
	return in.Config.Validate()
}

// duplicates reports posts that appear twice: the second would silently reuse the first's
// workflow and ignore its own texts.
func duplicates(items []startItem, csvNames bool) []rowError {
	seen := map[string]startItem{}
	var bad []rowError
	for _, it := range items {
		id := it.Input.Post.ID
		if first, ok := seen[id]; ok {
			field := "post.id"
			if csvNames {
				field = csvField(field)
			}
			bad = append(bad, rowError{Line: it.Line, Entry: it.Entry, Field: field,
				Error: fmt.Sprintf("post %q appears twice (first at %s)", id, first.where())})
			continue
		}
		seen[id] = it
	}
	return bad
}

func sortRowErrors(bad []rowError) {
	key := func(r rowError) int {
		if r.Entry != nil {
			return *r.Entry
		}
		return r.Line
	}
	// Insertion sort: stable and the lists are short.
	for i := 1; i < len(bad); i++ {
		for j := i; j > 0 && key(bad[j]) < key(bad[j-1]); j-- {
			bad[j], bad[j-1] = bad[j-1], bad[j]
		}
	}
}

// splitFieldError returns the field an error names (if it is a *domain.FieldError) and its
// reason.
func splitFieldError(err error) (field, reason string) {
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return fe.Field, fe.Reason
	}
	return "", err.Error()
}

// ---- CSV ----

// csvField renames a domain field ("post.comment_text", "config.window") to its CSV column.
func csvField(field string) string {
	if field == "post.id" {
		return "post_id"
	}
	field = strings.TrimPrefix(field, "post.")
	return strings.TrimPrefix(field, "config.")
}

func decodeCSV(data []byte, def batchDefaults) ([]startItem, []rowError) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // row lengths are checked here, with the missing column's name
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, []rowError{{Error: "the file is empty: want a header row " + strings.Join(csvPostColumns, ",")}}
	}
	if err != nil {
		return nil, []rowError{csvParseError(err)}
	}
	cols, bad := csvHeader(header)
	if len(bad) > 0 {
		return nil, bad
	}
	var items []startItem
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A quoting error leaves the rest of the file misaligned: report it and stop.
			e := csvParseError(err)
			e.Error += " (the rest of the file was not read)"
			return items, append(bad, e)
		}
		line, _ := r.FieldPos(0)
		item, rerr := csvRow(rec, header, cols, line, def)
		if rerr != nil {
			bad = append(bad, *rerr)
			continue
		}
		items = append(items, item)
	}
	return items, bad
}

func csvParseError(err error) rowError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return rowError{Line: pe.Line, Error: fmt.Sprintf("column %d: %v", pe.Column, pe.Err)}
	}
	return rowError{Error: err.Error()}
}

// csvHeader maps column names to indexes, checking for unknown, repeated and missing columns.
func csvHeader(header []string) (map[string]int, []rowError) {
	known := map[string]bool{}
	for _, c := range append(append([]string{}, csvPostColumns...), csvConfigColumns...) {
		known[c] = true
	}
	cols := map[string]int{}
	var bad []rowError
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !known[name]:
			bad = append(bad, rowError{Line: 1, Field: name, Error: fmt.Sprintf("unknown column %d (known: %s, %s)",
				i+1, strings.Join(csvPostColumns, ","), strings.Join(csvConfigColumns, ","))})
		case hasKey(cols, name):
			bad = append(bad, rowError{Line: 1, Field: name, Error: fmt.Sprintf("column appears twice (columns %d and %d)", cols[name]+1, i+1)})
		default:
			cols[name] = i
		}
	}
	for _, c := range csvPostColumns {
		if !hasKey(cols, c) {
			bad = append(bad, rowError{Line: 1, Field: c, Error: "missing column in the header"})
		}
	}
	return cols, bad
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// csvRow decodes and validates one data row.
func csvRow(rec, header []string, cols map[string]int, line int, def batchDefaults) (startItem, *rowError) {
	fail := func(field, reason string) (startItem, *rowError) {
		return startItem{}, &rowError{Line: line, Field: field, Error: reason}
	}
	if len(rec) < len(header) {
		missing := strings.ToLower(strings.TrimSpace(header[len(rec)]))
		return fail(missing, fmt.Sprintf("missing column: the row has %d fields, the header %d", len(rec), len(header)))
	}
	if len(rec) > len(header) {
		return fail("", fmt.Sprintf("the row has %d fields, the header only %d", len(rec), len(header)))
	}
	get := func(name string) (string, bool) {
		i, ok := cols[name]
		if !ok {
			return "", false
		}
		return rec[i], true
	}
	cellOf := func(name string) string { v, _ := get(name); return v }

	p := domain.Post{
		ID:          strings.TrimSpace(cellOf("post_id")),
		Platform:    strings.TrimSpace(cellOf("platform")),
		Agent:       strings.TrimSpace(cellOf("agent")),
		CommentText: cellOf("comment_text"),
		EditText:    cellOf("edit_text"),
		ThreadTexts: splitThread(cellOf("thread_texts")),
	}
	if p.Platform == "" {
		p.Platform = def.Platform
	}
	cfg := def.Config
	for _, name := range csvConfigColumns {
		v, ok := get(name)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		if err := setConfigField(&cfg, name, strings.TrimSpace(v)); err != nil {
			f, reason := splitFieldError(err)
			return fail(csvField(f), reason)
		}
	}
	if err := def.normalizeID(&p); err != nil {
		f, reason := splitFieldError(err)
		return fail(csvField(f), reason)
	}
	in := workflows.PostInput{Post: p, Config: cfg}
	if err := validateInput(in); err != nil {
		f, reason := splitFieldError(err)
		return fail(csvField(f), reason)
	}
	return startItem{Line: line, Input: in}, nil
}

// splitThread splits a thread_texts cell into its parts (none for an empty cell).
func splitThread(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, threadSeparator)
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// setConfigField sets one configuration field from its text form: Go durations ("90m", "2h")
// and whole numbers.
func setConfigField(cfg *domain.EvaluationConfig, name, value string) error {
	durations := map[string]*time.Duration{
		"window":              &cfg.Window,
		"sample_interval":     &cfg.SampleInterval,
		"comment_cooldown":    &cfg.CommentCooldown,
		"edit_cooldown":       &cfg.EditCooldown,
		"thread_cooldown":     &cfg.ThreadCooldown,
		"quote_cooldown":      &cfg.QuoteCooldown,
		"horizon":             &cfg.Horizon,
		"approval_timeout":    &cfg.ApprovalTimeout,
		"max_sample_interval": &cfg.MaxSampleInterval,
	}
	if name == "cadence" {
		cfg.Cadence = value // Validate names the field when it is neither fixed nor adaptive
		return nil
	}
	ints := map[string]*int{
		"min_samples":            &cfg.MinSamples,
		"max_actions_per_window": &cfg.MaxActionsPerWindow,
	}
	if dst, ok := durations[name]; ok {
		d, err := time.ParseDuration(value)
		if err != nil {
			return &domain.FieldError{Field: "config." + name, Reason: fmt.Sprintf("invalid duration %q (want e.g. 90m, 2h, 45s)", value)}
		}
		*dst = d
		return nil
	}
	if dst, ok := ints[name]; ok {
		n, err := strconv.Atoi(value)
		if err != nil {
			return &domain.FieldError{Field: "config." + name, Reason: fmt.Sprintf("must be a whole number, got %q", value)}
		}
		*dst = n
		return nil
	}
	return &domain.FieldError{Field: "config." + name, Reason: "unknown field"}
}

// ---- JSON ----

const jsonShape = `a JSON array of {"post": {...}, "config": {...}} objects`

func decodeJSON(data []byte, def batchDefaults) ([]startItem, []rowError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, []rowError{{Error: "the file is empty: want " + jsonShape}}
	}
	if err != nil {
		return nil, []rowError{jsonSyntaxError(data, err, nil)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, []rowError{{Line: 1, Error: "want " + jsonShape}}
	}
	var items []startItem
	var bad []rowError
	for i := 0; dec.More(); i++ {
		entry := i
		line := lineAt(data, skipSeparators(data, int(dec.InputOffset())))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// Invalid JSON: nothing after this point can be trusted.
			return items, append(bad, jsonSyntaxError(data, err, &entry))
		}
		in, err := decodeJSONEntry(raw, def)
		if err != nil {
			f, reason := splitFieldError(err)
			bad = append(bad, rowError{Line: line, Entry: &entry, Field: f, Error: reason})
			continue
		}
		items = append(items, startItem{Line: line, Entry: &entry, Input: in})
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		if errors.Is(err, io.EOF) {
			return items, append(bad, rowError{Line: lineAt(data, len(data)), Error: "unexpected end of file: the array is not closed"})
		}
		return items, append(bad, jsonSyntaxError(data, err, nil))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return items, append(bad, rowError{Line: lineAt(data, skipSeparators(data, int(dec.InputOffset()))), Error: "unexpected data after the array"})
	}
	return items, bad
}

// decodeJSONEntry decodes one {"post", "config"} object strictly: unknown fields and wrong
// types are errors that name the field.
func decodeJSONEntry(raw json.RawMessage, def batchDefaults) (workflows.PostInput, error) {
	var in workflows.PostInput
	var e struct {
		Post   json.RawMessage `json:"post"`
		Config json.RawMessage `json:"config"`
	}
	if err := strictDecode(raw, &e); err != nil {
		return in, jsonFieldError("", err)
	}
	if isNull(e.Post) {
		return in, &domain.FieldError{Field: "post", Reason: "is missing"}
	}
	if err := strictDecode(e.Post, &in.Post); err != nil {
		return in, jsonFieldError("post", err)
	}
	if in.Post.Platform == "" {
		in.Post.Platform = def.Platform
	}
	in.Config = def.Config
	if !isNull(e.Config) {
		if err := json.Unmarshal(e.Config, &in.Config); err != nil {
			var fe *domain.FieldError
			if errors.As(err, &fe) {
				return in, fe
			}
			return in, &domain.FieldError{Field: "config", Reason: "must be an object of duration strings and numbers"}
		}
	}
	if err := def.normalizeID(&in.Post); err != nil {
		return in, err
	}
	return in, validateInput(in)
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonFieldError turns encoding/json's errors into field errors: "post.id: must be a string,
// got number", "post.foo: unknown field".
func jsonFieldError(prefix string, err error) error {
	join := func(f string) string {
		switch {
		case prefix == "":
			return f
		case f == "":
			return prefix
		}
		return prefix + "." + f
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			what := "the entry"
			if prefix != "" {
				what = prefix
			}
			return &domain.FieldError{Field: join(""), Reason: fmt.Sprintf("%s must be an object, got %s", what, te.Value)}
		}
		return &domain.FieldError{Field: join(te.Field), Reason: fmt.Sprintf("must be %s, got %s", typeName(te.Type), te.Value)}
	}
	const unknown = `json: unknown field "`
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		name := strings.TrimSuffix(strings.TrimPrefix(msg, unknown), `"`)
		return &domain.FieldError{Field: join(name), Reason: "unknown field"}
	}
	return &domain.FieldError{Field: join(""), Reason: err.Error()}
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(typeName(t.Elem()), "a ") + "s"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// jsonSyntaxError reports invalid JSON at its line.
func jsonSyntaxError(data []byte, err error, entry *int) rowError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return rowError{Line: lineAt(data, int(se.Offset)), Entry: entry, Error: "invalid JSON: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return rowError{Line: lineAt(data, len(data)), Entry: entry, Error: "invalid JSON: unexpected end of file"}
	}
	return rowError{Entry: entry, Error: "invalid JSON: " + err.Error()}
}

// lineAt is the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// skipSeparators moves off past white space and a comma, to the start of the next value.
func skipSeparators(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// readDocument reads the one JSON document a command takes (plan's request, set-policy's
// policy): from --file F, or the positional F, or stdin ("-" or neither), at most limit bytes.
// what names the document in errors; it returns the path read ("" or "-" for stdin). Every
// error is a usage error naming the command.
func readDocument(e *env, cmd, file string, pos []string, limit int64, what string) (data []byte, path string, err error) {
	path = file
	if len(pos) == 1 {
		if path != "" {
			return nil, "", usageErrorf("%s: give %s as --file or as an argument, not both", cmd, what)
		}
		path = pos[0]
	}
	if path == "" || path == "-" {
		data, err = readLimited(e.stdin, limit, what)
	} else {
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return nil, path, asUsage(fmt.Errorf("%s: %w", cmd, err))
		}
		defer f.Close()
		data, err = readLimited(f, limit, path)
	}
	if err != nil {
		return nil, path, asUsage(fmt.Errorf("%s: %w", cmd, err))
	}
	return data, path, nil
}
