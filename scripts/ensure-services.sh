#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis servers the tests use are up on their standard
# local ports; start them with the machine's own commands if they are not. Fails
# loudly (never skips) when they cannot be reached.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:6379; starting it"
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
fi
for _ in $(seq 1 50); do pg_up && redis_up && exit 0; sleep 0.2; done
pg_up || echo "ERROR: PostgreSQL is required on 127.0.0.1:5432 (trust auth) and could not be started" >&2
redis_up || echo "ERROR: Redis is required on 127.0.0.1:6379 and could not be started" >&2
exit 1
