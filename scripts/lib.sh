# Shared by the scripts (sourced, not run).

# build_tree DIR CMAKE_ARGS...: configures and builds DIR, keeping the build's
# chatter in DIR/build.log and showing it only when the build fails.
build_tree() {
  local dir="$1"
  shift
  mkdir -p "$dir"
  if ! { cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$(nproc)"; } >"$dir/build.log" 2>&1; then
    tail -n 60 "$dir/build.log"
    echo "build of $dir failed; full log: $dir/build.log" >&2
    return 1
  fi
}
