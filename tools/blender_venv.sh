#!/usr/bin/env bash
# Make .venvs/bpy-X.Y: the bpy module of one Blender release with only what that Blender
# ships besides (numpy) and pytest: no torch, no scipy. Blender 5.1+ embeds Python 3.13,
# earlier releases 3.11 with numpy 1.x. Prints the venv's python.
# Usage: tools/blender_venv.sh 4.2.23
set -euo pipefail
version="$1"
series="${version%.*}"
venv=".venvs/bpy-${series}"
stamp="${venv}/.installed-${version}"
major="${version%%.*}"
minor="${series#*.}"
find_python() {  # python3.X on PATH, else a pyenv install of it
  local want="$1" candidate
  for candidate in "python${want}" "$(pyenv root 2>/dev/null)"/versions/"${want}".*/bin/"python${want}"; do
    if "$candidate" -c pass 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo "tools/blender_venv.sh: Blender ${version} needs Python ${want}, which is not installed" >&2
  exit 1
}
if (( major > 5 || (major == 5 && minor >= 1) )); then
  python="$(find_python 3.13)"
  numpy=""
else
  python="$(find_python 3.11)"
  numpy="numpy<2"
fi
if [[ ! -f "$stamp" ]]; then
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-cache-dir -q "bpy==${version}" $numpy pytest==9.2.0 \
    2> >(grep -v "^WARNING: Location" >&2) >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
