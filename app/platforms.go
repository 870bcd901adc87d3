package app

import (
	"fmt"
	"os"
	"strings"
	"time"

	"resurge/domain"
	"resurge/platform"
	"resurge/platform/bluesky"
	"resurge/platform/mastodon"
	"resurge/platform/simclient"
)

// Environment variables that configure the platform adapters. Tokens come from the
// environment or a file, never from a flag (flags show up in process listings) and are never
// logged.
const (
	EnvSimURL       = "RESURGE_SIM_URL"
	EnvSimToken     = "RESURGE_SIM_TOKEN"
	EnvSimTokenFile = "RESURGE_SIM_TOKEN_FILE"

	// EnvMastodonURL is the Mastodon server's own address ("https://mastodon.example"); the
	// token is an access token of the account Resurge acts as, with the scopes read:statuses,
	// read:accounts and write:statuses.
	EnvMastodonURL       = "RESURGE_MASTODON_URL"
	EnvMastodonToken     = "RESURGE_MASTODON_TOKEN"
	EnvMastodonTokenFile = "RESURGE_MASTODON_TOKEN_FILE"

	// EnvBlueskyHandle is the handle of the account Resurge acts as on Bluesky; setting it
	// turns the adapter on. EnvBlueskyService is the account's PDS (default the public
	// entryway, https://bsky.social, for accounts hosted by Bluesky). The password is an app
	// password (Settings → Privacy and security → App passwords), never the account's own.
	EnvBlueskyService         = bluesky.EnvService
	EnvBlueskyHandle          = "RESURGE_BLUESKY_HANDLE"
	EnvBlueskyAppPassword     = "RESURGE_BLUESKY_APP_PASSWORD"
	EnvBlueskyAppPasswordFile = "RESURGE_BLUESKY_APP_PASSWORD_FILE"
)

// PlatformConfig says where each platform is and how to authenticate.
type PlatformConfig struct {
	SimURL        string
	SimToken      string
	MastodonURL   string
	MastodonToken string
	// BlueskyService is empty for the default entryway.
	BlueskyService, BlueskyHandle, BlueskyAppPassword string
	// HTTPTimeout bounds one platform call; it must stay below the action activity's
	// start-to-close timeout so a slow platform is classified as a timeout by us.
	HTTPTimeout time.Duration
}

// PlatformConfigFromEnv reads the platform configuration from the environment.
func PlatformConfigFromEnv() (PlatformConfig, error) {
	cfg := PlatformConfig{
		SimURL:         os.Getenv(EnvSimURL),
		MastodonURL:    strings.TrimSpace(os.Getenv(EnvMastodonURL)),
		BlueskyService: strings.TrimSpace(os.Getenv(EnvBlueskyService)),
		BlueskyHandle:  strings.TrimSpace(os.Getenv(EnvBlueskyHandle)),
		HTTPTimeout:    10 * time.Second,
	}
	token, err := secretFromEnv(EnvSimToken, EnvSimTokenFile)
	if err != nil {
		return cfg, err
	}
	cfg.SimToken = token
	if cfg.MastodonToken, err = secretFromEnv(EnvMastodonToken, EnvMastodonTokenFile); err != nil {
		return cfg, err
	}
	if cfg.BlueskyAppPassword, err = secretFromEnv(EnvBlueskyAppPassword, EnvBlueskyAppPasswordFile); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Platforms builds the adapters that are configured. A platform without configuration is
// absent: posts on it fail with unknown_platform instead of acting somewhere unexpected.
func Platforms(cfg PlatformConfig) (map[string]platform.Platform, error) {
	out := map[string]platform.Platform{}
	if cfg.SimURL != "" {
		if cfg.SimToken == "" {
			return nil, fmt.Errorf("%s is set but no token: set %s or %s", EnvSimURL, EnvSimToken, EnvSimTokenFile)
		}
		out[domain.PlatformSim] = simclient.New(cfg.SimURL, cfg.SimToken, simclient.WithTimeout(cfg.HTTPTimeout))
	}
	if cfg.MastodonURL != "" {
		if cfg.MastodonToken == "" {
			return nil, fmt.Errorf("%s is set but no token: set %s or %s", EnvMastodonURL, EnvMastodonToken, EnvMastodonTokenFile)
		}
		c, err := mastodon.New(cfg.MastodonURL, cfg.MastodonToken, mastodon.WithTimeout(cfg.HTTPTimeout))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvMastodonURL, err)
		}
		out[domain.PlatformMastodon] = c
	}
	if cfg.BlueskyHandle != "" {
		if cfg.BlueskyAppPassword == "" {
			return nil, fmt.Errorf("%s is set but no app password: set %s or %s", EnvBlueskyHandle, EnvBlueskyAppPassword, EnvBlueskyAppPasswordFile)
		}
		// One client, so one session, for the whole worker (see platform/bluesky).
		c, err := bluesky.New(cfg.BlueskyService, cfg.BlueskyHandle, cfg.BlueskyAppPassword, bluesky.WithTimeout(cfg.HTTPTimeout))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvBlueskyService, err)
		}
		out[domain.PlatformBluesky] = c
	} else if cfg.BlueskyService != "" || cfg.BlueskyAppPassword != "" {
		return nil, fmt.Errorf("%s or an app password is set but not %s: set the account's handle", EnvBlueskyService, EnvBlueskyHandle)
	}
	return out, nil
}

// secretFromEnv reads a secret from an environment variable, or from the file another one names.
func secretFromEnv(valueVar, fileVar string) (string, error) {
	if v := os.Getenv(valueVar); v != "" {
		return v, nil
	}
	path := os.Getenv(fileVar)
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileVar, err)
	}
	return strings.TrimSpace(string(b)), nil
}
