#!/usr/bin/env bash
# The compose topology without Docker: PostgreSQL, Redis, the schema migration and N silo processes on loopback,
# from the local build.
#   compose/local-cluster.sh start [N]   start (or restart) N silos (default 3)
#   compose/local-cluster.sh stop        stop everything; state and keys are kept for the next start
#   compose/local-cluster.sh settings    print the path of the settings file broker-ops reads (--settings)
#   compose/local-cluster.sh destroy     stop, then delete the state, keys and database
# Silo i listens on gRPC 5300+i, HTTP 5380+i, silo port 11111+i, gateway 30000+i (all plus $BROKER_LOCAL_PORT_OFFSET,
# default 0). State lives in $BROKER_LOCAL_DIR (default ~/.local/state/broker-local), a directory only you can
# read: the encryption key, the 'local' caller's API key and the broker-ops settings are made once, mode 0600, and
# kept there. Other Broker__... variables in the environment reach the silos (providers, for instance).
set -euo pipefail
umask 077   # every file and directory this script makes is readable by its owner only
cd "$(dirname "$0")/.."
dir=${BROKER_LOCAL_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/broker-local}
pg_port=${BROKER_LOCAL_PG_PORT:-55432}
redis_port=${BROKER_LOCAL_REDIS_PORT:-56379}
off=${BROKER_LOCAL_PORT_OFFSET:-0}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The state directory must be ours and closed to everyone else: keys in a directory another user made first (or
# can write to) are not secret.
private_dir() {
  mkdir -p "$dir"
  if [ "$(stat -c %u "$dir")" != "$(id -u)" ] || [ -L "$dir" ]; then
    echo "refusing $dir: it is not a directory owned by $(id -un)" >&2; exit 2
  fi
  chmod 700 "$dir"
}

# PostgreSQL's data and socket. When run as root, the server runs as 'postgres', which cannot enter our private
# directory: it gets a directory of its own from mktemp -d (unpredictable name, owned by postgres), remembered in
# $dir/pg-dir. Otherwise it lives inside $dir.
pg_dir() {
  if [ -f "$dir/pg-dir" ]; then cat "$dir/pg-dir"; return; fi
  local pg
  if [ "$(id -u)" -eq 0 ]; then pg=$(mktemp -d /tmp/broker-local-pg.XXXXXXXX); chown postgres "$pg"; else pg="$dir/pg"; mkdir -p "$pg"; fi
  echo "$pg" > "$dir/pg-dir"
  echo "$pg"
}

settings_file() { echo "$dir/broker-ops.json"; }

start() {
  local silos=${1:-3}
  private_dir
  mkdir -p "$dir/run"
  local pg; pg=$(pg_dir)
  if [ ! -d "$pg/data" ]; then
    as_pg "$pg_bin/initdb" -D "$pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$pg_bin/pg_ctl" -D "$pg/data" -l "$pg/pg.log" -w -o "-p $pg_port -k $pg -c listen_addresses=127.0.0.1" start >/dev/null
  # Persistent (append-only file): cluster membership lives in Redis only, and a Redis that comes back empty after
  # a restart lets a newly started silo found a second cluster on the same database.
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --appendonly yes --save '' \
    --dir "$dir/run" --pidfile "$dir/run/redis.pid" --logfile "$dir/run/redis.log"
  [ -f "$dir/key" ] || head -c 32 /dev/urandom | base64 > "$dir/key"
  # One caller, "local", allowed everything; its API key is made once and kept beside the encryption key.
  [ -f "$dir/api-key" ] || { printf 'bk_'; head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; } > "$dir/api-key"

  dotnet build -c Release silo/Broker.Silo -v q -nologo >/dev/null
  dotnet build -c Release silo/Broker.Ops -v q -nologo >/dev/null   # broker-ops, for the operator
  local silo=silo/Broker.Silo/bin/Release/net10.0/Broker.Silo.dll
  local postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
  export Broker__Mode=Cluster Broker__Cluster__Redis="127.0.0.1:$redis_port" Broker__Cluster__PostgreSql="$postgres" \
         Broker__Encryption__Keys__0__Id=local Broker__Encryption__Keys__0__KeyFile="$dir/key" \
         Broker__Callers__local__ApiKeyHashes__0="sha256:$(tr -d '\n' < "$dir/api-key" | sha256sum | cut -d' ' -f1)" \
         Broker__Callers__local__Providers__0='*' Broker__Callers__local__Subjects__0='*' Broker__Callers__local__Scopes__0='*' \
         Broker__Callers__local__MayGetClientTokens=true Broker__Callers__local__MayBeginAuthorization=true \
         Broker__Callers__local__MayImport=true Broker__Callers__local__MayRevoke=true \
         Broker__Callers__local__InsecureDirectCompletion=true
  # InsecureDirectCompletion: a local cluster has no application in front to complete authorizations for its
  # signed-in user, so the callback completes them for whoever logs in. Never in a shared deployment (README, Security).
  # What broker-ops needs to reach this cluster (it reads the silos' own setting names).
  printf '{\n  "Broker": {\n    "Cluster": {\n      "Redis": "127.0.0.1:%s",\n      "PostgreSql": "%s"\n    }\n  }\n}\n' \
    "$redis_port" "$postgres" > "$(settings_file)"
  # One redirect URI for the whole cluster (silo 0's HTTP port): whichever silo begins an authorization builds
  # the same one, and any silo can take the callback.
  export Broker__Http__PublicBaseUrl="${Broker__Http__PublicBaseUrl:-http://127.0.0.1:$((5380 + off))}"
  dotnet "$silo" migrate
  for i in $(seq 0 $((silos - 1))); do
    Broker__Http__GrpcPort=$((5300 + off + i)) Broker__Http__HttpPort=$((5380 + off + i)) \
    Broker__Cluster__SiloPort=$((11111 + off + i)) Broker__Cluster__GatewayPort=$((30000 + off + i)) \
      nohup dotnet "$silo" > "$dir/run/silo-$i.log" 2>&1 &
    echo $! > "$dir/run/silo-$i.pid"
  done
  for i in $(seq 0 $((silos - 1))); do
    for _ in $(seq 1 120); do
      curl -fs "http://127.0.0.1:$((5380 + off + i))/health/ready" >/dev/null 2>&1 && break
      sleep 0.5
    done
    curl -fs "http://127.0.0.1:$((5380 + off + i))/health/ready" >/dev/null || { echo "silo $i not ready; see $dir/run/silo-$i.log"; exit 1; }
    echo "silo $i ready: gRPC 127.0.0.1:$((5300 + off + i)), HTTP 127.0.0.1:$((5380 + off + i)), log $dir/run/silo-$i.log"
  done
  echo "caller 'local': authorization: Bearer \$(cat $dir/api-key)"
  echo "broker-ops settings: $(settings_file)   (dotnet silo/Broker.Ops/bin/Release/net10.0/broker-ops.dll --settings $(settings_file) cluster show)"
}

stop() {
  [ -d "$dir" ] || { echo "stopped"; return; }
  local pids=()
  for pidfile in "$dir"/run/silo-*.pid; do
    [ -f "$pidfile" ] || continue
    pids+=("$(cat "$pidfile")")
    kill -TERM "${pids[-1]}" 2>/dev/null || true   # graceful: the silo hands over its grains and leaves the cluster
    rm -f "$pidfile"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  done
  [ -f "$dir/run/redis.pid" ] && kill "$(cat "$dir/run/redis.pid")" 2>/dev/null || true
  if [ -f "$dir/pg-dir" ] && [ -d "$(cat "$dir/pg-dir")/data" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$(cat "$dir/pg-dir")/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  echo "stopped"
}

destroy() {
  stop
  [ -f "$dir/pg-dir" ] && rm -rf "$(cat "$dir/pg-dir")"
  rm -rf "$dir"
  echo "destroyed"
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  stop) stop ;;
  settings) settings_file ;;
  destroy) destroy ;;
  *) echo "usage: $0 start [silos] | stop | settings | destroy"; exit 2 ;;
esac
