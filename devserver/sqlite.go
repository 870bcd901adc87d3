package devserver

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// dbFileName is the SQLite database inside Options.DataDir.
const dbFileName = "temporal.db"

// sqlitePragmas tune the database file. The server's SQLite plugin turns every
// ConnectAttributes key that is not a URI parameter into "PRAGMA key=value" on each new
// connection, so the keys are bare pragma names. (The server's temporaltest lite server
// prefixes them with "_", the DSN style of the old mattn/go-sqlite3 driver; with the modernc
// driver the server uses now, "_journal_mode" becomes an unknown pragma, which SQLite ignores
// without error: measured, the file stays in rollback-journal mode.)
//
// Measured with the same driver on this repo's dev box (ext4; 2000 transactions, each an
// insert and an update of 2 KiB rows, as a history write roughly is):
//
//	journal_mode=delete, synchronous=full (SQLite's defaults)  5960 µs/txn
//	journal_mode=wal,    synchronous=full                       856 µs/txn
//	journal_mode=wal,    synchronous=normal                     131 µs/txn
//	journal_mode=wal,    synchronous=off                         91 µs/txn
var sqlitePragmas = map[string]string{
	// WAL turns each commit into a sequential append to the -wal file instead of rewriting
	// pages of the main file plus a rollback journal, and lets readers (the Web UI's
	// visibility queries) proceed while the history service writes. The plugin also reads
	// this key to know that its connection pool may grow beyond one.
	"journal_mode": "wal",
	// NORMAL, not OFF. In WAL mode NORMAL only fsyncs at checkpoints: a killed or crashed
	// dev server loses nothing, and a power cut or OS crash can only roll back the last few
	// commits while the file stays consistent. OFF would save another ~40 µs per commit,
	// but then a power cut can corrupt the database, and losing the whole DataDir (every
	// running workflow) is the one thing a persistent dev server must not do.
	"synchronous": "normal",
}

// sqliteStore is where the server keeps its state.
type sqliteStore struct {
	sql *config.SQL
}

// openSQLiteStore builds the SQL config for dataDir (or an in-memory database when dataDir is
// empty) and, for a new database file, creates the schema.
func openSQLiteStore(dataDir string) (*sqliteStore, error) {
	if dataDir == "" {
		// Each in-memory server needs its own name: SQLite shares in-memory databases of the
		// same name within a process when cache=shared, which the server's connections need.
		// The plugin creates the schema itself for mode=memory.
		return &sqliteStore{sql: &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      fmt.Sprintf("resurge-devserver-%d", rand.Int64()),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}}, nil
	}

	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dataDir, dbFileName)
	attrs := map[string]string{"mode": "rwc"} // read-write, create if missing
	for k, v := range sqlitePragmas {
		attrs[k] = v
	}
	store := &sqliteStore{sql: &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      path,
		ConnectAttributes: attrs,
	}}

	// The schema is only created for a new file: running it again on an existing database
	// fails on the existing tables. (A file left half-built by a process killed during
	// setup is not detected; delete it and start again.)
	_, err = os.Stat(path)
	switch {
	case err == nil:
		return store, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("stat database: %w", err)
	}
	if err := sqliteschema.SetupSchema(store.sql); err != nil {
		// Do not leave a half-built file that the next start would take for a good one.
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return store, nil
}

// ensureNamespace registers namespace directly in the database before the server starts, with
// the given Keyword search attributes. It is a no-op when the namespace already exists, so
// attributes added to Options later are registered through the running server instead (see
// ensureSearchAttributes).
//
// Writing it before start, rather than through the API afterwards, means the namespace is in
// the server's namespace registry from its first moment: no retry loop waiting for
// "namespace not found" to go away.
func (s *sqliteStore) ensureNamespace(clusterName, namespace string, searchAttributes []string) error {
	attrs := make(map[string]enumspb.IndexedValueType, len(searchAttributes))
	for _, name := range searchAttributes {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, attrs)
	if err != nil {
		return fmt.Errorf("namespace %q: %w", namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(s.sql, ns); err != nil {
		return fmt.Errorf("create namespace %q: %w", namespace, err)
	}
	return nil
}
