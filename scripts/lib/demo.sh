# shellcheck shell=bash
# The demo of the product documents, created through the REST API and then checked end to end:
#   MQTT t/1 -> rule `SELECT * FROM "t/#"` -> action kafka_producer:demo -> Kafka testtopic-in
#   Kafka testtopic-out -> source kafka_consumer:demo (topic mapping) -> MQTT t/1
# Expects TRIBUTARY_API, TRIBUTARY_API_KEY, TRIBUTARY_API_SECRET, MQTT_HOST, MQTT_PORT,
# KAFKA_BOOTSTRAP, and DEMO_WORK (a private scratch directory).

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_TOOL_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka_tool.py

# kafka_tool ARGS...: scripts/lib/kafka_tool.py in the virtualenv KAFKA_VENV.
kafka_tool() { "$KAFKA_VENV/bin/python" "$KAFKA_TOOL_PY" --bootstrap "$KAFKA_BOOTSTRAP" "$@"; }

create_demo_topics() {
  kafka_tool create-topic testtopic-in --partitions 2 || die "could not create Kafka topic testtopic-in on $KAFKA_BOOTSTRAP"
  kafka_tool create-topic testtopic-out --partitions 2 || die "could not create Kafka topic testtopic-out on $KAFKA_BOOTSTRAP"
}

# api METHOD PATH [BODY]: prints the HTTP status; the response body is left in $DEMO_WORK/response.
# The credentials go through a curl config file so that `ps` never shows the secret.
api() {
  local method=$1 path=$2 body=${3:-}
  (umask 077 && printf 'user = "%s:%s"\n' "$TRIBUTARY_API_KEY" "$TRIBUTARY_API_SECRET" >"$DEMO_WORK/curl-auth")
  local args=(-sS -m 15 -K "$DEMO_WORK/curl-auth" -o "$DEMO_WORK/response" -w '%{http_code}' -X "$method")
  if [ -n "$body" ]; then
    printf '%s' "$body" >"$DEMO_WORK/request"
    args+=(-H 'content-type: application/json' --data-binary "@$DEMO_WORK/request")
  fi
  curl "${args[@]}" "$TRIBUTARY_API$path" 2>/dev/null || true
}

api_failure() {
  local what=$1 status=$2
  case $status in
    000) die "$what: the control plane at $TRIBUTARY_API did not answer; see .dev/logs/control-plane.log" ;;
    401) die "$what: the API key was refused; the control plane's bootstrap key must match .dev/secrets.env (restart it with scripts/down.sh && scripts/up.sh)" ;;
    *) die "$what: HTTP $status: $(head -c 500 "$DEMO_WORK/response")" ;;
  esac
}

# upsert KIND ID CREATE_BODY UPDATE_BODY: PUT when KIND/ID exists, POST otherwise (EMQX v5 style:
# the create body names the resource, the update body holds only its settings). The demo rule's
# update enables it too: one disabled by hand, or by a benchmark that was interrupted, would
# otherwise fail the check below.
upsert() {
  local kind=$1 id=$2 create=$3 update=$4 status
  status=$(api GET "/$kind/$id")
  case $status in
    200)
      status=$(api PUT "/$kind/$id" "$update")
      [[ $status == 2?? ]] || api_failure "updating $kind/$id" "$status"
      say "updated $kind/$id"
      ;;
    404)
      status=$(api POST "/$kind" "$create")
      [[ $status == 2?? ]] || api_failure "creating $kind/$id" "$status"
      say "created $kind/$id"
      ;;
    *) api_failure "reading $kind/$id" "$status" ;;
  esac
}

create_demo_resources() {
  local kafka=$KAFKA_BOOTSTRAP mqtt=$MQTT_HOST:$MQTT_PORT
  upsert connectors mqtt:default \
    "{\"type\":\"mqtt\",\"name\":\"default\",\"server\":\"$mqtt\"}" \
    "{\"server\":\"$mqtt\"}"
  upsert connectors kafka_producer:demo \
    "{\"type\":\"kafka_producer\",\"name\":\"demo\",\"bootstrap_hosts\":\"$kafka\"}" \
    "{\"bootstrap_hosts\":\"$kafka\"}"
  upsert actions kafka_producer:demo \
    '{"type":"kafka_producer","name":"demo","connector":"demo","parameters":{"topic":"testtopic-in"}}' \
    '{"connector":"demo","parameters":{"topic":"testtopic-in"}}'
  upsert rules demo \
    '{"id":"demo","sql":"SELECT * FROM \"t/#\"","actions":["kafka_producer:demo"],"description":"demo: MQTT t/# to Kafka testtopic-in"}' \
    '{"sql":"SELECT * FROM \"t/#\"","actions":["kafka_producer:demo"],"description":"demo: MQTT t/# to Kafka testtopic-in","enable":true}'
  upsert connectors kafka_consumer:demo \
    "{\"type\":\"kafka_consumer\",\"name\":\"demo\",\"bootstrap_hosts\":\"$kafka\"}" \
    "{\"bootstrap_hosts\":\"$kafka\"}"
  # shellcheck disable=SC2016 # ${.} is Tributary's template for the whole record, not shell
  local mapping='{"topic_mapping":[{"kafka_topic":"testtopic-out","mqtt_topic":"t/1","qos":1,"payload_template":"${.}"}]}'
  upsert sources kafka_consumer:demo \
    "{\"type\":\"kafka_consumer\",\"name\":\"demo\",\"connector\":\"demo\",\"parameters\":$mapping}" \
    "{\"connector\":\"demo\",\"parameters\":$mapping}"
}

# Workers pick up new assignments within moments, but a message published before their MQTT
# subscription exists reaches nobody, so each check publishes again until it gets through.
DEMO_CHECK_SECONDS=${DEMO_CHECK_SECONDS:-90}

verify_mqtt_to_kafka() {
  local start deadline
  say "checking MQTT -> Kafka: publishing to t/1, expecting the record in testtopic-in"
  start=$(kafka_tool offsets testtopic-in) || die "could not read the offsets of testtopic-in"
  deadline=$((SECONDS + DEMO_CHECK_SECONDS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -t t/1 -q 1 -m '{ "msg": "Hello Kafka" }' \
      || die "mosquitto_pub could not publish to $MQTT_HOST:$MQTT_PORT"
    if kafka_tool consume testtopic-in --start "$start" --contains "Hello Kafka" --timeout 5 >"$DEMO_WORK/mqtt-to-kafka"; then
      say "MQTT -> Kafka works: $(tail -n 1 "$DEMO_WORK/mqtt-to-kafka" | head -c 300)"
      return 0
    fi
  done
  die "no record reached testtopic-in within ${DEMO_CHECK_SECONDS}s of publishing to t/1; see .dev/logs/worker-*.log and GET $TRIBUTARY_API/rules/demo/metrics"
}

verify_kafka_to_mqtt() {
  local marker sub deadline
  marker="hello-mqtt-$(random_hex 4)"
  say "checking Kafka -> MQTT: producing to testtopic-out, expecting it on MQTT t/1"
  mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t t/1 -q 1 -W "$DEMO_CHECK_SECONDS" >"$DEMO_WORK/kafka-to-mqtt" 2>&1 &
  sub=$!
  deadline=$((SECONDS + DEMO_CHECK_SECONDS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kafka_tool produce testtopic-out "{\"msg\":\"Hello MQTT\",\"check\":\"$marker\"}" \
      || { kill "$sub" 2>/dev/null; die "could not produce to testtopic-out on $KAFKA_BOOTSTRAP"; }
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      if grep -q "$marker" "$DEMO_WORK/kafka-to-mqtt"; then
        kill "$sub" 2>/dev/null || true
        say "Kafka -> MQTT works: $(grep -m 1 "$marker" "$DEMO_WORK/kafka-to-mqtt" | head -c 300)"
        return 0
      fi
      sleep 0.5
    done
  done
  kill "$sub" 2>/dev/null || true
  die "no message reached MQTT t/1 within ${DEMO_CHECK_SECONDS}s of producing to testtopic-out; see .dev/logs/worker-*.log and GET $TRIBUTARY_API/sources/kafka_consumer:demo/metrics"
}
