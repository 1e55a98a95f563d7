#!/usr/bin/env bash
# The wheels the GPU machine lacks, into .whl/ (git-ignored through .git/info/exclude), for the device
# command in README.md: hydra-core, omegaconf, antlr4-python3-runtime (an sdist only: built here into
# a py3 wheel) and hydra-joblib-launcher (hydra/launcher=packed). All are pure Python, so the same
# wheels serve the GPU machine's Python 3.12. Versions: the ones this checkout's .venv runs (what the
# tests pass with), else the pins below; each is checked against pyproject.toml's requirement.
#   bash experiments/bench_gpu/wheels.sh        # from the repository root
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
DEST=.whl

declare -A PIN=([hydra-core]=1.3.8 [omegaconf]=2.3.1 [antlr4-python3-runtime]=4.9.3 [hydra-joblib-launcher]=1.2.0)

version() {  # the version installed in $PY's environment, else the pin
    local v
    v=$("$PY" -m pip show "$1" 2>/dev/null | awk '/^Version:/ {print $2}') || true
    echo "${v:-${PIN[$1]}}"
}

grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf "$DEST" && mkdir -p "$DEST"
for name in hydra-core omegaconf hydra-joblib-launcher; do
    v=$(version "$name")
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform any -d "$DEST" "$name==$v"
done
v=$(version antlr4-python3-runtime)
"$PY" -m pip wheel -q --no-deps --no-binary=:all: -w "$DEST" "antlr4-python3-runtime==$v"

# every wheel pure Python, one version each, and within pyproject.toml's requirement
"$PY" - "$DEST" <<'EOF'
import re, sys, tomllib, zipfile
from pathlib import Path
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

wheels = sorted(Path(sys.argv[1]).glob("*.whl"))
wanted = {Requirement(r).name: Requirement(r) for r in tomllib.loads(Path("pyproject.toml").read_text())["project"]["dependencies"]}
wanted = {canonicalize_name(k): v for k, v in wanted.items()}
seen = {}
for w in wheels:
    name, version, _, tags = parse_wheel_filename(w.name)
    if any(t.abi != "none" or t.platform != "any" for t in tags):
        sys.exit(f"wheels.sh: {w.name} is not pure Python: it would not run on the GPU machine's Python 3.12")
    if name in seen:
        sys.exit(f"wheels.sh: two versions of {name} in .whl")
    seen[name] = version
    req = wanted.get(name)
    if req is not None and version not in req.specifier:
        sys.exit(f"wheels.sh: {name} {version} does not satisfy pyproject.toml's {req}")
size = sum(w.stat().st_size for w in wheels)
print(f"wheels.sh: {len(wheels)} wheels, {size / 2**20:.1f} MiB in .whl: "
      + ", ".join(f"{n} {v}" for n, v in sorted(seen.items())))
EOF
