#!/bin/sh
# Prepares a fresh (or existing) Temporal cluster for Resurge: waits for the frontend, creates the
# namespace if it is missing and registers Resurge's custom search attributes. Run by the one-shot
# `temporal-setup` job of docker-compose.yml in the temporalio/admin-tools image (Alpine: POSIX
# sh, no bash), after the `temporal` service is healthy; the worker starts only once this exits 0.
#
# Idempotent: an existing namespace is left alone and a search attribute that already exists with
# the same type counts as registered. A name that exists with ANOTHER type is a real conflict and
# fails the job.
#
# The search attributes below must stay equal to workflows.SearchAttributeNames (Go), all of type
# Keyword: compose_test.go parses every `--name X --type T` pair in this file and checks it. Keep
# each name literal (no variables) so that the test can read it.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=72h}"
: "${SETUP_TIMEOUT_SECONDS:=300}"
# The CLI reads TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS* from the
# environment as well; the address and namespace are also passed explicitly below.
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE

deadline=$(($(date +%s) + SETUP_TIMEOUT_SECONDS))

log() { echo "temporal-setup: $*"; }

# retry DESCRIPTION COMMAND...: runs COMMAND until it succeeds or the deadline passes.
retry() {
	what=$1
	shift
	until "$@"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			log "gave up after ${SETUP_TIMEOUT_SECONDS}s: $what" >&2
			exit 1
		fi
		log "not yet: $what; retrying in 3s"
		sleep 3
	done
}

cli() {
	temporal "$@" --address "$TEMPORAL_ADDRESS"
}

log "waiting for the Temporal frontend at $TEMPORAL_ADDRESS"
retry "cluster health" cli operator cluster health

if cli operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
	log "namespace $TEMPORAL_NAMESPACE already exists"
else
	log "creating namespace $TEMPORAL_NAMESPACE (retention $NAMESPACE_RETENTION)"
	# A concurrent creation makes create fail; describe below is what decides.
	cli operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
		--retention "$NAMESPACE_RETENTION" || true
fi
# A new namespace takes a few seconds to reach the frontend's namespace cache.
retry "namespace $TEMPORAL_NAMESPACE visible" \
	cli operator namespace describe --namespace "$TEMPORAL_NAMESPACE" -o none

REGISTERED=""

# try_search_attribute --name NAME --type TYPE: one attempt; 0 when the attribute is registered
# (now or before), 1 to retry, exits the script on a type conflict.
try_search_attribute() {
	if out=$(cli operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" "$@" 2>&1); then
		return 0
	fi
	case $out in
	*"different type"*)
		log "search attribute conflict: $out" >&2
		exit 1
		;;
	*"already exists"*)
		return 0
		;;
	esac
	log "$out"
	return 1
}

# add_search_attribute --name NAME --type TYPE
add_search_attribute() {
	log "search attribute $2 ($4)"
	retry "search attribute $2" try_search_attribute "$@"
	REGISTERED="$REGISTERED $2"
}

add_search_attribute --name ResurgePostID --type Keyword
add_search_attribute --name ResurgeAgent --type Keyword
add_search_attribute --name ResurgeState --type Keyword
add_search_attribute --name ResurgeTier --type Keyword
add_search_attribute --name ResurgeLastAction --type Keyword

# Check that every attribute is listed for the namespace before letting the worker start.
all_listed() {
	listed=$(cli operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" -o json) || return 1
	for name in $REGISTERED; do
		case $listed in
		*"\"$name\""*) ;;
		*) return 1 ;;
		esac
	done
}
retry "search attributes listed" all_listed

# Frontend and history hosts refresh their namespace cache (where SQL visibility keeps the search
# attribute aliases) about every 10s; let that pass so the worker's first upsert finds them.
sleep "${SETTLE_SECONDS:-10}"

log "done: namespace $TEMPORAL_NAMESPACE, search attributes:$REGISTERED"
