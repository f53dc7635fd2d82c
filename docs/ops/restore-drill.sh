#!/usr/bin/env bash
# Restore drill: back up Engage's database, restore the backup somewhere else, and prove the copy whole.
#
#   docs/ops/restore-drill.sh DATABASE_URL [BACKUP_DIR]
#
# DATABASE_URL is Engage's own (postgresql+psycopg://... or sqlite:///...). The backup stays in BACKUP_DIR
# (default: the current directory); it is what you keep. The drill then:
#   PostgreSQL: pg_dump --format=custom, pg_restore into a new scratch database on the same server,
#   SQLite:     sqlite3 .backup (a consistent copy while Engage runs), PRAGMA integrity_check,
# and on the copy runs `engage audit verify` (the hash chain of every audited action), compares the rows
# of every table with the original and the migration revision; then drops the scratch database
# (KEEP_RESTORED=1 keeps it). Exit 0 only when all of it holds. ENGAGE names the engage command.
# tests/test_restore_drill.py runs this script on both databases.
set -euo pipefail

url="${1:?usage: restore-drill.sh DATABASE_URL [BACKUP_DIR]}"
backup_dir="${2:-.}"
engage="${ENGAGE:-engage}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$backup_dir"

tables_sql="SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"

pg_counts() {  # rows per table, one "table count" line each
    local libpq="$1" table
    for table in $(psql "$libpq" -At -c "$tables_sql"); do
        echo "$table $(psql "$libpq" -At -c "SELECT count(*) FROM \"$table\"")"
    done
    echo "revision $(psql "$libpq" -At -c "SELECT version_num FROM alembic_version")"
}

sqlite_counts() {
    local file="$1" table
    for table in $(sqlite3 "$file" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"); do
        echo "$table $(sqlite3 "$file" "SELECT count(*) FROM \"$table\"")"
    done
    echo "revision $(sqlite3 "$file" "SELECT version_num FROM alembic_version")"
}

compare() {  # original counts, restored counts
    if [ "$1" != "$2" ]; then
        echo "restore drill FAILED: the restored tables differ from the original" >&2
        diff <(echo "$1") <(echo "$2") >&2 || true
        exit 1
    fi
    echo "$2" | sed 's/^/  same in both: /'
}

case "$url" in
postgresql*|postgres*)
    libpq="$(echo "$url" | sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#')"
    base="${libpq%/*}"
    rest="${libpq##*/}"
    name="${rest%%\?*}"
    query=""
    [ "$rest" != "$name" ] && query="?${rest#*\?}"
    dump="$backup_dir/engage-$stamp.dump"
    pg_dump --format=custom --no-owner --file "$dump" "$libpq"
    echo "backup: $dump ($(du -h "$dump" | cut -f1))"
    scratch="${name}_restore_${stamp,,}"
    scratch_url="$base/$scratch$query"
    psql "$libpq" -q -c "CREATE DATABASE \"$scratch\""
    cleanup() { [ "${KEEP_RESTORED:-0}" = 1 ] || psql "$libpq" -q -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)"; }
    trap cleanup EXIT
    pg_restore --no-owner --exit-on-error --dbname "$scratch_url" "$dump"
    echo "restored into: $scratch"
    original="$(pg_counts "$libpq")"
    restored="$(pg_counts "$scratch_url")"
    engage_url="$(echo "$url" | sed -E "s#/[^/?]+(\?|$)#/$scratch\1#")"
    ;;
sqlite*)
    file="${url#sqlite:///}"
    [ -f "$file" ] || { echo "restore drill FAILED: no SQLite file at $file" >&2; exit 1; }
    copy="$backup_dir/engage-$stamp.db"
    sqlite3 "$file" ".backup '$copy'"
    echo "backup: $copy ($(du -h "$copy" | cut -f1))"
    check="$(sqlite3 "$copy" "PRAGMA integrity_check")"
    [ "$check" = ok ] || { echo "restore drill FAILED: integrity check: $check" >&2; exit 1; }
    original="$(sqlite_counts "$file")"
    restored="$(sqlite_counts "$copy")"
    engage_url="sqlite:///$(cd "$(dirname "$copy")" && pwd)/$(basename "$copy")"
    ;;
*)
    echo "restore drill: DATABASE_URL must be postgresql... or sqlite:///..." >&2
    exit 2
    ;;
esac

compare "$original" "$restored"
DATABASE_URL="$engage_url" "$engage" audit verify
echo "restore drill passed"
