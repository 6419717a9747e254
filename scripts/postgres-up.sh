#!/usr/bin/env bash
# Install (Debian's package) and start a PostgreSQL server on 127.0.0.1 for the test suite, and create
# the role the tests use. Needs root. Prints the URL to export as VERICOUNT_TEST_PG.
# The role may also sign in with its password over the server's Unix socket (/var/run/postgresql): the
# Ray tests run in a network namespace that has only its own loopback, and reach the server that way.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  apt-get update -q >&2
  apt-get install -y -q postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >&2
fi
hba=/etc/postgresql/$version/main/pg_hba.conf
if ! grep -Eq '^local[[:space:]]+all[[:space:]]+vericount[[:space:]]' "$hba"; then
  # before Debian's "local all all peer", which would refuse root signing in as vericount
  sed -i '0,/^local[[:space:]]\+all[[:space:]]\+all/s//local   all             vericount                               scram-sha-256\n&/' "$hba"
  pg_ctlcluster "$version" main reload >&2 2>/dev/null || true
fi
pg_ctlcluster "$version" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 >&2
su postgres -c "psql -q -v ON_ERROR_STOP=1" >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vericount') THEN
    CREATE ROLE vericount LOGIN CREATEDB PASSWORD 'vericount';
  END IF;
END $$;
-- the test suite drops its databases WITH (FORCE), which needs the right to end other sessions in them
GRANT pg_signal_backend TO vericount;
SQL
echo "postgresql://vericount:vericount@127.0.0.1:5432/postgres"
