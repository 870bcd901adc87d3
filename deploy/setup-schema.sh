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
# command line.
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:=temporal}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set (the PostgreSQL password)}"
: "${TEMPORAL_DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${WAIT_TIMEOUT_SECONDS:=120}"
export SQL_PASSWORD

sql_tool() {
	temporal-sql-tool --plugin "$SQL_PLUGIN" --endpoint "$SQL_HOST" --port "$SQL_PORT" \
		--user "$SQL_USER" "$@"
}

echo "temporal-schema: waiting for PostgreSQL at $SQL_HOST:$SQL_PORT"
deadline=$(($(date +%s) + WAIT_TIMEOUT_SECONDS))
until nc -z "$SQL_HOST" "$SQL_PORT" >/dev/null 2>&1; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "temporal-schema: PostgreSQL not reachable after ${WAIT_TIMEOUT_SECONDS}s" >&2
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
