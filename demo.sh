#!/usr/bin/env bash
# The demo: two cache nodes on one Redis (found like the tests find one; nothing to install) over an H2 database.
set -euo pipefail
cd "$(dirname "$0")"
echo "==> Building (the first run downloads dependencies; later runs take seconds)"
mvn -B -q -ntp -Dstyle.color=never install -DskipTests -pl benchmarks -am
# The build writes the runtime class path of the benchmarks module, which holds the demo.
exec java -cp "benchmarks/target/classes:$(cat benchmarks/target/benchmark.classpath)" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  dev.tiercache.bench.demo.Demo "$@"
