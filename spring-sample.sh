#!/usr/bin/env bash
# The Spring Boot sample: two instances of one Boot application (on the Tiercache starter) sharing a Redis (found
# like the tests find one; nothing to install) and an H2 database; shows @CacheEvict on one reaching the other.
set -euo pipefail
cd "$(dirname "$0")"
echo "==> Building (the first run downloads dependencies; later runs take seconds)"
mvn -B -q -ntp -Dstyle.color=never package -DskipTests -pl spring-sample -am
# The build writes the runtime class path of the sample (the reactor's own jars included).
exec java -cp "spring-sample/target/classes:$(cat spring-sample/target/sample.classpath)" \
  dev.tiercache.spring.sample.TwoInstances "$@"
