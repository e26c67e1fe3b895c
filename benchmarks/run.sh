#!/usr/bin/env bash
# Builds the benchmarks module (and what it depends on) and runs the suites.
#
#   benchmarks/run.sh                      # every suite, defaults: -f 1 -wi 6 -w 2s -i 3 -r 2s
#   benchmarks/run.sh l1 l2                # some suites
#   benchmarks/run.sh l2 -i 5 -r 5s        # JMH options override the defaults
#   SKIP_BUILD=1 benchmarks/run.sh getall  # reuse the last build
#   BENCH_REVISION=HEAD benchmarks/run.sh  # measure a commit, not the work tree (see below)
#
# Suites: l1 l2 getall peers invalidation stampede tags cluster. Results: benchmarks/results/<suite>.md and .svg, summary
# in benchmarks/results/README.md. Redis comes from the test fixture's chain: REDIS_URL, redis-server on PATH, else
# the redis-server binary inside com.github.codemonstur:embedded-redis (started on a loopback port, stopped at the
# end). BENCH_JAVA_OPTS replaces the JVM options (default -Xms1g -Xmx4g); the JMH forks inherit them.
#
# BENCH_REVISION=<commit> builds that commit's modules from a clean export (git archive) under
# benchmarks/target/bench-source, with this work tree's benchmarks module on top, so that half-finished changes to
# other modules in a shared work tree are not what gets measured.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build_root="$root"
revision_args=()

if [[ -n "${BENCH_REVISION:-}" ]]; then
  rev="$(git -C "$root" rev-parse --short "$BENCH_REVISION")"
  build_root="$here/target/bench-source"
  if [[ "${SKIP_BUILD:-}" != "1" ]]; then
    rm -rf "$build_root"
    mkdir -p "$build_root"
    git -C "$root" archive "$BENCH_REVISION" | tar -x -C "$build_root"
    rm -rf "$build_root/benchmarks"
    mkdir -p "$build_root/benchmarks"
    cp -r "$here/pom.xml" "$here/src" "$build_root/benchmarks/"
  fi
  revision_args=("--revision=$rev (a clean export of $BENCH_REVISION; the benchmarks module from the work tree)")
fi

if [[ "${SKIP_BUILD:-}" != "1" ]]; then
  (cd "$build_root" && mvn -q -pl benchmarks -am package -DskipTests)
fi

built="$build_root/benchmarks/target"
classpath_file="$built/benchmark.classpath"
if [[ ! -f "$classpath_file" ]]; then
  echo "missing $classpath_file: build with 'mvn -pl benchmarks -am package -DskipTests'" >&2
  exit 1
fi

# Snapshot what was just built (this module's classes and the sibling modules' jars), so that a rebuild of the
# work tree during a long run cannot change the code under measurement half-way.
snapshot="$here/target/bench-snapshot"
rm -rf "$snapshot"
mkdir -p "$snapshot/lib"
cp -r "$built/classes" "$snapshot/classes"
classpath="$snapshot/classes"
IFS=":" read -r -a entries < "$classpath_file" || true  # no final newline: read returns 1
for entry in "${entries[@]}"; do
  if [[ "$entry" == "$build_root"/* ]]; then
    cp -r "$entry" "$snapshot/lib/"
    entry="$snapshot/lib/$(basename "$entry")"
  fi
  classpath="$classpath:$entry"
done

# shellcheck disable=SC2086
exec java ${BENCH_JAVA_OPTS:--Xms1g -Xmx4g} \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dorg.slf4j.simpleLogger.log.dev.tiercache.redis.testing=info \
  -cp "$classpath" \
  dev.tiercache.bench.BenchMain \
  "--results=$here/results" "--repository=$root" \
  "--command=${BENCH_REVISION:+BENCH_REVISION=$BENCH_REVISION }benchmarks/run.sh $*" \
  ${revision_args[@]+"${revision_args[@]}"} "$@"
