# shellcheck shell=bash
# Apache Kafka for the local system and the tests: a pinned 4.x release, fetched from Maven Central
# as the broker jar (org.apache.kafka:kafka_2.13) with its runtime dependencies into a cache
# outside the repository, and run as one KRaft process (broker and controller) on loopback.
#
#   ensure_kafka_dist           fetch the jars once (Java 17 and Maven from Debian when missing)
#   kafka_java                  the path of a Java 17+ runtime
#   kafka_write_config ...      a broker's server.properties (see its comment)
#   kafka_format DIR CONFIG     format the storage once per data directory, SCRAM users included
#
# The cache is $TRIBUTARY_CACHE_DIR (default ~/.cache/tributary)/kafka-<version>; delete it to
# fetch again. Nothing under it is ever committed.

# shellcheck source=packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/packages.sh"

KAFKA_VERSION=4.1.1
# Kafka 4.1 logs through SLF4J 1.7; without this binding the broker would log nothing at all.
KAFKA_LOG4J_VERSION=2.24.3
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
KAFKA_CACHE=${TRIBUTARY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary}/kafka-$KAFKA_VERSION
KAFKA_LIBS=$KAFKA_CACHE/libs

# The broker's heap, sized for a 2-core, 24 GB machine that runs the tests beside it.
KAFKA_HEAP_OPTS=${TRIBUTARY_KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}

# Test users, created when a test broker's storage is formatted. Throwaway loopback credentials.
KAFKA_TEST_PLAIN_USER=tributary_plain
KAFKA_TEST_PLAIN_PASSWORD=plain-secret
KAFKA_TEST_SCRAM256_USER=tributary_scram256
KAFKA_TEST_SCRAM256_PASSWORD=scram256-secret
KAFKA_TEST_SCRAM512_USER=tributary_scram512
KAFKA_TEST_SCRAM512_PASSWORD=scram512-secret
KAFKA_TEST_KEYSTORE_PASSWORD=broker-keystore

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | cut -d. -f1
}

# kafka_java: prints a Java 17+ runtime ($JAVA_HOME's, the one on PATH, else Debian's 17, installed
# when missing).
kafka_java() {
  local candidate major
  for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/java-17-openjdk-*/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 17 ]; then echo "$candidate"; return 0; fi
  done
  apt_install openjdk-17-jre-headless
  for candidate in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  die "no Java 17 or newer found (Apache Kafka $KAFKA_VERSION needs it); install openjdk-17-jre-headless or set JAVA_HOME"
}

# ensure_kafka_dist: the broker's jars in $KAFKA_LIBS, fetched by Maven once. A lock keeps two
# scripts from fetching into the same cache at once; a half-done fetch is never mistaken for a
# finished one (the directory is renamed into place at the end).
ensure_kafka_dist() {
  [ -f "$KAFKA_CACHE/.complete" ] && return 0
  mkdir -p "$KAFKA_CACHE"
  (
    flock -w 900 8 || die "another script has held $KAFKA_CACHE/.lock for 15 minutes"
    [ -f "$KAFKA_CACHE/.complete" ] && exit 0
    command -v mvn >/dev/null || apt_install maven
    kafka_java >/dev/null
    cat >"$KAFKA_CACHE/pom.xml" <<POM
<!-- Written by scripts/lib/kafka.sh: the Apache Kafka broker and its runtime dependencies. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tributary</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
    say "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_CACHE"
    rm -rf "$KAFKA_LIBS.partial"
    mvn -B -q -f "$KAFKA_CACHE/pom.xml" "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.partial" >"$KAFKA_CACHE/mvn.log" 2>&1 \
      || { show_log "$KAFKA_CACHE/mvn.log"; die "Maven could not fetch Apache Kafka $KAFKA_VERSION (log: $KAFKA_CACHE/mvn.log); check the network and run this again"; }
    rm -rf "$KAFKA_LIBS"
    mv "$KAFKA_LIBS.partial" "$KAFKA_LIBS"
    touch "$KAFKA_CACHE/.complete"
  ) 8>"$KAFKA_CACHE/.lock"
}

# kafka_write_log_config FILE: warnings to stdout, plus the line that says the broker is ready.
kafka_write_log_config() {
  cat >"$1" <<'LOG4J'
# Written by scripts/lib/kafka.sh.
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = OUT
logger.ready.name = kafka.server.KafkaRaftServer
logger.ready.level = info
LOG4J
}

# kafka_write_config DIR PORT [secure]: DIR/server.properties for a single-node KRaft broker whose
# data lives in DIR/data. Plain mode: PLAINTEXT on PORT, the controller on PORT+1. Secure mode (the
# test stack): PLAINTEXT on PORT, SASL_PLAINTEXT on PORT+1, SSL on PORT+2, SASL_SSL on PORT+3 and
# the controller on PORT+4, with the certificates of kafka_ensure_tls in DIR/tls.
kafka_write_config() {
  local dir=$1 port=$2 mode=${3:-plain} controller listeners advertised protocols
  if [ "$mode" = secure ]; then
    controller=$((port + 4))
    listeners="PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$((port + 1)),SSL://127.0.0.1:$((port + 2)),SASL_SSL://127.0.0.1:$((port + 3)),CONTROLLER://127.0.0.1:$controller"
    advertised="PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$((port + 1)),SSL://127.0.0.1:$((port + 2)),SASL_SSL://127.0.0.1:$((port + 3))"
    protocols="PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
  else
    controller=$((port + 1))
    listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller"
    advertised="PLAINTEXT://127.0.0.1:$port"
    protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  fi
  cat >"$dir/server.properties" <<PROPS
# Written by scripts/lib/kafka.sh: one KRaft process, broker and controller, on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protocols
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A new consumer group forms at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=true
# Two cores: fewer threads than the defaults, which assume a server of its own.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
# Bounded disk for a development machine: a week or 1 GiB per partition, whichever comes first.
log.retention.hours=168
log.retention.bytes=1073741824
log.segment.bytes=134217728
PROPS
  [ "$mode" = secure ] || return 0
  cat >>"$dir/server.properties" <<PROPS
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_TEST_PLAIN_USER="$KAFKA_TEST_PLAIN_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_TEST_PLAIN_USER="$KAFKA_TEST_PLAIN_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=$KAFKA_TEST_KEYSTORE_PASSWORD
ssl.key.password=$KAFKA_TEST_KEYSTORE_PASSWORD
ssl.client.auth=none
# Clients authenticate again every 5 s, so a revoked SCRAM user is refused within seconds
# instead of keeping its connections for as long as they last.
connections.max.reauth.ms=5000
PROPS
}

# kafka_ensure_tls DIR: a throwaway CA (DIR/tls/ca.pem) that signed the broker's certificate for
# 127.0.0.1 and localhost (DIR/tls/broker.p12), and a second CA that signed nothing
# (DIR/tls/other-ca.pem), for tests that must see verification fail. Made once.
kafka_ensure_tls() {
  local tls=$1/tls
  [ -f "$tls/broker.p12" ] && [ -f "$tls/other-ca.pem" ] && return 0
  command -v openssl >/dev/null || apt_install openssl
  mkdir -p "$tls"
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Tributary test CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.pem
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout "pass:$KAFKA_TEST_KEYSTORE_PASSWORD" -out broker.p12
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Some other CA" \
      -keyout other-ca.key -out other-ca.pem
  ) >"$tls/openssl.log" 2>&1 || { show_log "$tls/openssl.log"; die "openssl could not make the test certificates (log: $tls/openssl.log)"; }
}

# kafka_format DIR [secure]: formats DIR/data once, with a new cluster id; a secure broker gets its
# SCRAM users here, so no admin step is needed after it starts.
kafka_format() {
  local dir=$1 mode=${2:-plain} java scram=()
  [ -f "$dir/data/meta.properties" ] && return 0
  java=$(kafka_java)
  if [ "$mode" = secure ]; then
    scram=(--add-scram "SCRAM-SHA-256=[name=$KAFKA_TEST_SCRAM256_USER,password=$KAFKA_TEST_SCRAM256_PASSWORD]"
           --add-scram "SCRAM-SHA-512=[name=$KAFKA_TEST_SCRAM512_USER,password=$KAFKA_TEST_SCRAM512_PASSWORD]")
  fi
  "$java" -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.tools.StorageTool format \
    --config "$dir/server.properties" --cluster-id="$(kafka_cluster_id)" "${scram[@]}" >"$dir/format.log" 2>&1 \
    || { show_log "$dir/format.log"; die "formatting Kafka's storage in $dir/data failed (log: $dir/format.log)"; }
}

# A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what `random-uuid` prints).
# It may start with `-`, hence `--cluster-id=ID` above: a separate argument would read as an option.
kafka_cluster_id() { head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
