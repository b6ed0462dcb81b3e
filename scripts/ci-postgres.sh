#!/usr/bin/env bash
# Prepares the local PostgreSQL the integration tests use (127.0.0.1:5432, trust auth, user postgres,
# database test) and the one role that needs a real password, so the "wrong password" test has something
# to be rejected by. Idempotent: safe to run on every CI job and on a developer machine. Run as root.
set -euo pipefail

CLUSTER_VERSION=$(ls /etc/postgresql)
PGHBA=/etc/postgresql/${CLUSTER_VERSION}/main/pg_hba.conf
HBA_LINE='host all creditwatch_pw 127.0.0.1/32 scram-sha-256'

if ! pg_isready -h 127.0.0.1 -q; then
  pg_ctlcluster --skip-systemctl-redirect "${CLUSTER_VERSION}" main start
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -q && break
  sleep 1
done
pg_isready -h 127.0.0.1

if ! psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test'
fi

# pg_hba.conf is first-match, so the line must come before the trust rule for 127.0.0.1.
if ! grep -qxF "${HBA_LINE}" "${PGHBA}"; then
  FIRST_RULE=$(grep -m 1 -nvE '^[[:space:]]*(#|$)' "${PGHBA}" | cut -d: -f1 || true)
  if [ -n "${FIRST_RULE}" ]; then
    sed -i "${FIRST_RULE}i ${HBA_LINE}" "${PGHBA}"
  else
    echo "${HBA_LINE}" >>"${PGHBA}"
  fi
fi

if ! psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = 'creditwatch_pw'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "CREATE ROLE creditwatch_pw LOGIN PASSWORD 'right-password'"
fi

pg_ctlcluster --skip-systemctl-redirect "${CLUSTER_VERSION}" main reload
