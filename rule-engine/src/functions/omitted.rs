//! EMQX functions Tributary leaves out on purpose, and why: a rule that calls one is refused when
//! it is parsed with the reason, instead of a bare "unknown function", so its author knows it is
//! not a typo and what to do instead.

/// Why `name` (lowercase) is not available, when it is one of EMQX's functions left out.
pub(crate) fn reason(name: &str) -> Option<&'static str> {
    Some(match name {
        // EMQX keeps these in the Erlang process that runs the rule: the publishing client's
        // connection process, so a value put for one message is seen by that client's next
        // messages only. A Tributary flow evaluates the messages of every client in one task and
        // across workers, so no scope behaves like EMQX's: per flow it would leak values between
        // clients, per message it would never keep one.
        "proc_dict_get" | "proc_dict_put" | "proc_dict_del" => {
            "EMQX keeps these values in the publishing client's Erlang process, which Tributary \
             does not have (one flow evaluates every client's messages); use kv_store_get, \
             kv_store_put and kv_store_del for values kept across messages"
        }
        // Erlang's external term format carries atoms, tuples and pids, which rule values cannot
        // hold; its only readers are Erlang programs.
        "term_encode" | "term_decode" => {
            "they read and write Erlang's external term format, whose atoms and tuples rule \
             values cannot hold; use json_encode and json_decode"
        }
        // EMQX runs jq programs in its jq NIF, with a per-call timeout; Tributary embeds no jq
        // interpreter.
        "jq" => {
            "Tributary embeds no jq interpreter; select and reshape fields with the SQL's paths, \
             map_get/map_put, FOREACH and CASE"
        }
        // The result starts with an Erlang atom that only EMQX's Redis action understands.
        "map_to_redis_hset_args" => {
            "its result is an argument list for EMQX's Redis action, which Tributary does not \
             have (it writes to Kafka and MQTT)"
        }
        "schema_encode" | "schema_decode" | "schema_check" => {
            "Tributary has no schema registry; decode with json_decode"
        }
        "sparkplug_encode" | "sparkplug_decode" => "Tributary does not decode Sparkplug B",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omitted_functions_are_not_also_implemented() {
        for name in [
            "proc_dict_get",
            "proc_dict_put",
            "proc_dict_del",
            "term_encode",
            "term_decode",
            "jq",
            "map_to_redis_hset_args",
        ] {
            assert!(reason(name).is_some(), "{name}");
            assert!(super::super::lookup(name).is_none(), "{name}");
        }
        assert!(reason("upper").is_none());
    }
}
