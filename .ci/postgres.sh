#!/usr/bin/env bash
# Make sure a local PostgreSQL server runs for the test suite's PostgreSQL mode, and print
# its SQLAlchemy URL (the only line on stdout; everything else goes to stderr):
#   url=$(bash .ci/postgres.sh)
#   MOBILITY_MATCH_TEST_DATABASE_URL=$url .venv/bin/pytest -q
# Idempotent. For Debian (postgresql-common's pg_lsclusters/pg_ctlcluster), run as root:
# installs Debian's postgresql package if no server is present, creates a cluster if none
# exists, starts it, and creates the role and database if missing. Exits non-zero with a
# message on stderr if any step fails.
#
# The role, password and database below are development-only credentials for a throw-away
# local test database that listens on 127.0.0.1 only; they protect nothing.
set -euo pipefail

role=mobility
password=mobility
database=mobility_test
host=127.0.0.1
timeout=${MOBILITY_PG_TIMEOUT:-30}  # seconds to wait for the server to accept connections

exec 3>&1 1>&2  # keep fd 3 for the URL; any other output goes to stderr
die() { echo "postgres.sh: $*" >&2; exit 1; }
# Run a command with every file descriptor above 2 closed, so that a server it leaves in
# the background holds no pipe of ours or of the caller (the one of url=$(...) above all,
# which would otherwise never reach end-of-file). perl-base is Essential in Debian.
only_std_fds() { perl -e 'use POSIX (); POSIX::close($_) for 3 .. 1023; exec @ARGV or die "$ARGV[0]: $!\n"' "$@"; }

if [ "$(id -u)" -ne 0 ]; then
  die "must run as root (installs packages, manages the cluster as the postgres user)"
fi

# 1. Server binaries: Debian's packages under /usr/lib/postgresql/<version>/bin.
#    (Another `postgres` on PATH, such as /usr/local/bin/postgres, is not used.)
shopt -s nullglob
servers=(/usr/lib/postgresql/*/bin/postgres)
if [ "${#servers[@]}" -eq 0 ]; then
  echo "postgres.sh: installing Debian's postgresql package" >&2
  log=$(mktemp)
  apt_install() {
    DEBIAN_FRONTEND=noninteractive only_std_fds apt-get install -y -q --no-install-recommends postgresql >>"$log" 2>&1
  }
  if ! apt_install; then
    # A fresh machine may have empty package lists; update them only when needed.
    apt-get update -q >>"$log" 2>&1 && apt_install \
      || { cat "$log" >&2; die "could not install the postgresql package (apt-get output above)"; }
  fi
  rm -f "$log"
  servers=(/usr/lib/postgresql/*/bin/postgres)
  [ "${#servers[@]}" -gt 0 ] || die "postgresql installed, but no /usr/lib/postgresql/*/bin/postgres"
fi
command -v pg_lsclusters >/dev/null || die "pg_lsclusters not found (postgresql-common missing?)"

# 2. A cluster: the newest-version existing "main" (else any existing one), else a new
#    "main" of the newest server version.
cluster=$(pg_lsclusters -h | sort -k1,1V | awk '$2 == "main" {m = $0} {a = $0} END {print m ? m : a}')
if [ -z "$cluster" ]; then
  version=$(printf '%s\n' "${servers[@]}" | awk -F/ '{print $5}' | sort -V | tail -n 1)
  echo "postgres.sh: creating cluster $version/main" >&2
  # UTF-8 whatever the caller's locale; pg_createcluster picks a free port from 5432 up.
  only_std_fds pg_createcluster --locale=C.UTF-8 "$version" main >/dev/null \
    || die "pg_createcluster $version main failed"
  cluster=$(pg_lsclusters -h "$version" main)
fi
read -r version name port status _owner _datadir logfile <<<"$cluster"

# 3. Running. The Debian default listen_addresses is localhost, with password (scram)
#    authentication for TCP connections from 127.0.0.1 in pg_hba.conf.
if [ "$status" != online ]; then
  only_std_fds pg_ctlcluster "$version" "$name" start </dev/null \
    || { tail -n 20 "$logfile" >&2 2>/dev/null || true; die "could not start cluster $version/$name"; }
fi
waited=0
until pg_isready -q -h "$host" -p "$port" -t 1; do
  if [ "$waited" -ge "$timeout" ]; then
    tail -n 20 "$logfile" >&2 2>/dev/null || true
    die "cluster $version/$name does not accept connections on $host:$port after ${timeout}s"
  fi
  sleep 1
  waited=$((waited + 1))
done

# 4. Role and database (as the postgres superuser, over the Unix socket). ALTER every time,
#    so a pre-existing role or database ends up with the expected password and owner.
(cd / && PGOPTIONS='-c client_min_messages=warning' \
  runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres >/dev/null) \
  <<SQL || die "could not create role $role / database $database"
SELECT format('CREATE ROLE %I', '$role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') \gexec
ALTER ROLE "$role" LOGIN CREATEDB PASSWORD '$password';
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L LOCALE %L',
              '$database', '$role', 'UTF8', 'C.UTF-8')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$database') \gexec
ALTER DATABASE "$database" OWNER TO "$role";
SQL

# 5. Check the credentials the tests will use, over TCP as they will.
PGPASSWORD=$password psql -X -q -At -h "$host" -p "$port" -U "$role" -d "$database" \
  -c 'SELECT 1' >/dev/null \
  || die "cannot log in as $role to $database on $host:$port"

echo "postgresql+psycopg://$role:$password@$host:$port/$database" >&3
