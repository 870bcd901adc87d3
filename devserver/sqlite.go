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

// dbFileName is the SQLite database of execution state inside Options.DataDir, and
// visibilityFileName that of visibility (the Web UI's lists, search-attribute queries).
//
// They are two files because SQLite has one writer per file and the server's SQLite plugin
// one connection per file: in one file, every visibility write (two per workflow, its start
// and its first workflow task's build ID; the table has many indexes) queued in front of the
// history service's writes. Measured with the bench's scale phase, 10,000 posts sampled every
// 2 minutes: the starter took 66 s instead of 108 s, every post had taken its first sample
// after 240 s instead of 310 s, 12.8 instead of 13.8 ms of CPU per cycle (README Performance).
// A data dir made before the split has only temporal.db, which holds both, and keeps using it.
const (
	dbFileName         = "temporal.db"
	visibilityFileName = "visibility.db"
)

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
	// sql holds execution state; visibility the visibility records. They are the same
	// config in memory and in a data dir made before the split (see visibilityFileName).
	sql, visibility *config.SQL
}

// openSQLiteStore builds the SQL configs for dataDir (or an in-memory database when dataDir
// is empty) and, for a new data dir, creates the schema.
func openSQLiteStore(dataDir string) (*sqliteStore, error) {
	if dataDir == "" {
		// Each in-memory server needs its own name: SQLite shares in-memory databases of the
		// same name within a process when cache=shared, which the server's connections need.
		// The plugin creates the schema itself for mode=memory.
		mem := &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      fmt.Sprintf("resurge-devserver-%d", rand.Int64()),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}
		return &sqliteStore{sql: mem, visibility: mem}, nil
	}

	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path, visPath := filepath.Join(dataDir, dbFileName), filepath.Join(dataDir, visibilityFileName)
	store := &sqliteStore{sql: fileStoreConfig(path), visibility: fileStoreConfig(visPath)}

	// The schema is only created for a new file: running it again on an existing database
	// fails on the existing tables. (A file left half-built by a process killed during
	// setup is not detected; delete it and start again.)
	execExists, err := fileExists(path)
	if err != nil {
		return nil, err
	}
	if execExists {
		visExists, err := fileExists(visPath)
		if err != nil {
			return nil, err
		}
		if !visExists { // made before the split: temporal.db holds visibility too
			store.visibility = store.sql
		}
		return store, nil
	}
	// A new execution database gets a new visibility database: records left from an
	// earlier temporal.db would list workflows that no longer exist.
	removeDatabase(visPath)
	// The server's schema package creates the execution and the visibility tables together,
	// so each file also has the other's tables, empty. Visibility first: a process that dies
	// before it begins temporal.db leaves none, and the next start builds both again.
	for _, db := range []string{visPath, path} {
		if err := sqliteschema.SetupSchema(fileStoreConfig(db)); err != nil {
			// Do not leave a half-built file that the next start would take for a good one.
			removeDatabase(path)
			removeDatabase(visPath)
			return nil, fmt.Errorf("create schema in %s: %w", db, err)
		}
	}
	return store, nil
}

// fileStoreConfig is the SQL config of the database file at path.
func fileStoreConfig(path string) *config.SQL {
	attrs := map[string]string{"mode": "rwc"} // read-write, create if missing
	for k, v := range sqlitePragmas {
		attrs[k] = v
	}
	return &config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: path, ConnectAttributes: attrs}
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("stat database: %w", err)
}

// removeDatabase removes a database file with its WAL and shared-memory files.
func removeDatabase(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
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
