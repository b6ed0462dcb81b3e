#!/usr/bin/env bash
# Prepares the local PostgreSQL the integration tests use: 127.0.0.1:5432, trust auth, user postgres,
# database test. Starts the cluster when it is down and creates the database when it is missing; it
# changes no server configuration (the wrong-password tests bring their own server,
# test/support/pg-auth-server.ts). Idempotent: safe on every CI job and on a developer machine.
# Starting the cluster needs the rights to run pg_ctlcluster (root in CI).
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -q; then
  CLUSTER_VERSION=$(ls /etc/postgresql)
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
