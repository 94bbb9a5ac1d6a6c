# Shared by the scripts: paths and the build step.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${JOBS:-$(nproc)}"

# build DIR [cmake args...]: configure and build everything into DIR.
# BUILD_TARGET (env) limits the build to one ninja target.
build() {
  local dir="$1"; shift
  cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  ninja -C "$dir" -j "$JOBS" ${BUILD_TARGET:-}
}
