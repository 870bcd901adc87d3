package domain

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// configJSON is EvaluationConfig on the wire: durations as Go duration strings ("90m", "2h"),
// which people can read and write in a start file.
type configJSON struct {
	Window              string `json:"window"`
	MinSamples          int    `json:"min_samples"`
	SampleInterval      string `json:"sample_interval"`
	CommentCooldown     string `json:"comment_cooldown"`
	EditCooldown        string `json:"edit_cooldown"`
	ThreadCooldown      string `json:"thread_cooldown"`
	QuoteCooldown       string `json:"quote_cooldown"`
	MaxActionsPerWindow int    `json:"max_actions_per_window"`
	Horizon             string `json:"horizon"`
	// ApprovalTimeout is left out when 0 (the default), so configs without it read as before.
	ApprovalTimeout string `json:"approval_timeout,omitempty"`
	// Cadence and MaxSampleInterval likewise: left out when empty and 0.
	Cadence           string `json:"cadence,omitempty"`
	MaxSampleInterval string `json:"max_sample_interval,omitempty"`
}

// MarshalJSON writes durations as strings.
func (c EvaluationConfig) MarshalJSON() ([]byte, error) {
	approval, sparsest := "", ""
	if c.ApprovalTimeout != 0 {
		approval = c.ApprovalTimeout.String()
	}
	if c.MaxSampleInterval != 0 {
		sparsest = c.MaxSampleInterval.String()
	}
	return json.Marshal(configJSON{
		Window:              c.Window.String(),
		MinSamples:          c.MinSamples,
		SampleInterval:      c.SampleInterval.String(),
		CommentCooldown:     c.CommentCooldown.String(),
		EditCooldown:        c.EditCooldown.String(),
		ThreadCooldown:      c.ThreadCooldown.String(),
		QuoteCooldown:       c.QuoteCooldown.String(),
		MaxActionsPerWindow: c.MaxActionsPerWindow,
		Horizon:             c.Horizon.String(),
		ApprovalTimeout:     approval,
		Cadence:             c.Cadence,
		MaxSampleInterval:   sparsest,
	})
}

// UnmarshalJSON reads durations as strings. Fields that are absent keep the value c already
// has, so decoding into DefaultConfig() overrides only what the input names.
func (c *EvaluationConfig) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"window", &c.Window},
		{"sample_interval", &c.SampleInterval},
		{"comment_cooldown", &c.CommentCooldown},
		{"edit_cooldown", &c.EditCooldown},
		{"thread_cooldown", &c.ThreadCooldown},
		{"quote_cooldown", &c.QuoteCooldown},
		{"horizon", &c.Horizon},
		{"approval_timeout", &c.ApprovalTimeout},
		{"max_sample_interval", &c.MaxSampleInterval},
	}
	for _, d := range durations {
		v, ok := raw[d.name]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fieldErr("config."+d.name, "must be a duration string such as \"90m\"")
		}
		parsed, err := time.ParseDuration(s)
		if err != nil {
			return fieldErr("config."+d.name, "%v", err)
		}
		*d.dst = parsed
	}
	ints := []struct {
		name string
		dst  *int
	}{
		{"min_samples", &c.MinSamples},
		{"max_actions_per_window", &c.MaxActionsPerWindow},
	}
	for _, n := range ints {
		v, ok := raw[n.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, n.dst); err != nil {
			return fieldErr("config."+n.name, "must be a whole number")
		}
	}
	if v, ok := raw["cadence"]; ok {
		if err := json.Unmarshal(v, &c.Cadence); err != nil {
			return fieldErr("config.cadence", "must be a string: %q or %q", CadenceFixed, CadenceAdaptive)
		}
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names) // name the same unknown field every time
	for _, name := range names {
		if !knownConfigField(name) {
			return fieldErr("config."+name, "unknown field")
		}
	}
	return nil
}

func knownConfigField(name string) bool {
	switch name {
	case "window", "min_samples", "sample_interval", "comment_cooldown", "edit_cooldown",
		"thread_cooldown", "quote_cooldown", "max_actions_per_window", "horizon", "approval_timeout",
		"cadence", "max_sample_interval":
		return true
	}
	return false
}
