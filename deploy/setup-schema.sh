#!/bin/sh
# Creates, or brings up to date, Temporal's schema in PostgreSQL: the `temporal` (persistence)
# and `temporal_visibility` databases. Run by the one-shot `temporal-schema` job of
# docker-compose.yml in the temporalio/admin-tools image (Alpine: POSIX sh, no bash).
#
# Safe to run on every `docker compose up`: create-database ignores a database that already
# exists, setup-schema -v 0.0 only adds the version tables when missing, and update-schema applies
# only the versions newer than the one recorded in the database (so it is also how a Temporal
# upgrade migrates the schema: bump the image tags, then `docker compose up`).
#
# temporal-sql-tool reads SQL_PASSWORD from the environment; the password is never put on a
# command line. SQL_TOOL names the tool when it is not temporal-sql-tool on PATH (built from
# go.temporal.io/server/cmd/tools/sql, the binary is called `sql`: the production harness and
# README "Production" run this script with SQL_TOOL set).
#
# Needs only POSIX sh, date, sleep and the tool (no netcat): it waits for PostgreSQL by trying to
# create the first database until that succeeds, which also proves the credentials work.
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:=temporal}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set (the PostgreSQL password)}"
: "${TEMPORAL_DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${WAIT_TIMEOUT_SECONDS:=120}"
: "${SQL_TOOL:=temporal-sql-tool}"
export SQL_PASSWORD

sql_tool() {
	"$SQL_TOOL" --plugin "$SQL_PLUGIN" --endpoint "$SQL_HOST" --port "$SQL_PORT" \
		--user "$SQL_USER" "$@"
}

echo "temporal-schema: waiting for PostgreSQL at $SQL_HOST:$SQL_PORT"
deadline=$(($(date +%s) + WAIT_TIMEOUT_SECONDS))
# create-database leaves an existing database alone, so this is safe to repeat.
until out=$(sql_tool --database "$TEMPORAL_DBNAME" create-database 2>&1); do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "temporal-schema: PostgreSQL not usable after ${WAIT_TIMEOUT_SECONDS}s: $out" >&2
		exit 1
	fi
	sleep 2
done

# setup_db DATABASE SCHEMA: SCHEMA is the name of the versioned schema embedded in the tool
# (postgresql/v12/temporal or postgresql/v12/visibility), so no path inside the image is assumed.
setup_db() {
	echo "temporal-schema: database $1 (schema $2)"
	sql_tool --database "$1" create-database
	sql_tool --database "$1" setup-schema -v 0.0
	sql_tool --database "$1" update-schema --schema-name "$2"
}

setup_db "$TEMPORAL_DBNAME" postgresql/v12/temporal
setup_db "$VISIBILITY_DBNAME" postgresql/v12/visibility

echo "temporal-schema: done"
