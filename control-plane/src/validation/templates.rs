//! `${...}` templates in action parameters, compiled with the rule engine exactly as workers will.

use tributary_protocol::resources::{
    FieldError, KafkaConsumerParameters, KafkaProducerParameters, RepublishArgs,
};
use tributary_rules::Template;

fn check(field: &str, text: &str, errors: &mut Vec<FieldError>) {
    if let Err(err) = Template::parse(text) {
        errors.push(FieldError::new(field, err.to_string()));
    }
}

pub fn kafka_producer(params: &KafkaProducerParameters) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, text) in params.templates() {
        check(&field, text, &mut errors);
    }
    errors
}

pub fn kafka_consumer(params: &KafkaConsumerParameters) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, mapping) in params.topic_mapping.iter().enumerate() {
        check(
            &format!("topic_mapping[{i}].mqtt_topic"),
            &mapping.mqtt_topic,
            &mut errors,
        );
        check(
            &format!("topic_mapping[{i}].payload_template"),
            &mapping.payload_template,
            &mut errors,
        );
    }
    errors
}

pub fn republish(args: &RepublishArgs) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, text) in [
        ("topic", args.topic.as_str()),
        ("qos", args.qos.as_str()),
        ("retain", args.retain.as_str()),
        ("payload", args.payload.as_str()),
    ] {
        check(field, text, &mut errors);
    }
    for (name, value) in &args.mqtt_properties {
        if let Some(text) = value.as_str() {
            check(&format!("mqtt_properties.{name}"), text, &mut errors);
        }
    }
    errors
}
