# Shared by the scripts (sourced, not run).

# build_tree DIR CMAKE_ARGS...: configures and builds DIR, keeping the build's
# chatter in DIR/build.log and showing it only when the build fails.
# TENURE_TARGETS="a b" builds only those targets.
build_tree() {
  local dir="$1"
  shift
  local targets=()
  if [ -n "${TENURE_TARGETS:-}" ]; then
    read -r -a names <<<"$TENURE_TARGETS"
    targets=(--target "${names[@]}")
  fi
  mkdir -p "$dir"
  if ! { cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$(nproc)" "${targets[@]}"; } \
    >"$dir/build.log" 2>&1; then
    tail -n 60 "$dir/build.log"
    echo "build of $dir failed; full log: $dir/build.log" >&2
    return 1
  fi
}
