#!/usr/bin/env bash
# Runs every test of Broker on a fresh Debian machine. Installs what the fixtures need when it is missing
# (redis-server; PostgreSQL server binaries; docker-compose to validate the compose file; the DPoP server's npm packages), then builds and runs the whole suite. The fixtures start their own
# PostgreSQL and Redis processes on free loopback ports in temporary folders and remove them afterwards.
# Set BROKER_TEST_POSTGRES / BROKER_TEST_REDIS to use running servers instead.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_packages=()
command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${BROKER_TEST_POSTGRES:-}" ] || need_packages+=(postgresql)
# compose/docker-compose.yml is validated with `docker compose config`, or Debian's docker-compose where the plugin is absent.
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || need_packages+=(docker-compose)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "Installing: ${need_packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi
# initdb refuses root: the fixtures run PostgreSQL as this unprivileged user when the tests run as root.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

# The DPoP test server (tests/Broker.Testing/DpopServer) is node oidc-provider from npm, pinned by its package-lock.json.
command -v npm >/dev/null 2>&1 || { as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
(cd tests/Broker.Testing/DpopServer && npm ci --no-audit --no-fund --loglevel=error)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Broker.sln -c Release -nologo -v q

results=$(mktemp -d)
status=0
# -m:1: one test assembly at a time; the concurrency tests measure real time on two cores and must not share them.
dotnet test Broker.sln -c Release --no-build -m:1 --logger "trx" --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1500000 \
  2>&1 | tee "$results/console.log" || status=$?

# One closing line for the whole suite, summed over the test assemblies.
passed=0; failed=0; skipped=0
while read -r f p s; do passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s)); done < <(
  sed -nE 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/p' "$results/console.log")
echo "Tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
rm -rf "$results"
exit $status
