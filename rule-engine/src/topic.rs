//! MQTT topic filter matching (`+` one level, `#` the rest), as used by FROM and `=~`.

/// Whether `topic` matches the MQTT topic `filter`.
///
/// Follows MQTT 3.1.1 §4.7: `+` matches exactly one level, `#` matches the parent level and
/// everything below it, and topics starting with `$` are not matched by a filter starting
/// with a wildcard.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut filter = Some(filter.as_bytes());
    let mut topic = Some(topic.as_bytes());
    loop {
        match (next_level(&mut filter), next_level(&mut topic)) {
            (Some(b"#"), _) => return filter.is_none(),
            (Some(b"+"), Some(_)) => {}
            (Some(f), Some(t)) if f == t => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Takes the first level off `rest`, as `str::split('/')` would give it (`None` after the
/// last). Every message's topic is matched against its rule's filters, and `split`'s searcher
/// cost that a few hundred instructions per message (callgrind, data-plane/benches/hot_path.rs).
fn next_level<'a>(rest: &mut Option<&'a [u8]>) -> Option<&'a [u8]> {
    let bytes = (*rest)?;
    match bytes.iter().position(|&b| b == b'/') {
        Some(slash) => {
            let (level, after) = bytes.split_at(slash);
            *rest = after.get(1..);
            Some(level)
        }
        None => {
            *rest = None;
            Some(bytes)
        }
    }
}

/// Whether `filter` is a syntactically valid MQTT topic filter.
pub(crate) fn is_valid_filter(filter: &str) -> bool {
    if filter.is_empty() {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    let last = levels.len() - 1;
    levels.iter().enumerate().all(|(i, level)| match *level {
        "#" => i == last,
        "+" => true,
        l => !l.contains('#') && !l.contains('+'),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcards() {
        assert!(topic_matches("t/a", "t/a"));
        assert!(!topic_matches("t/a", "t/b"));
        assert!(topic_matches("t/+", "t/a"));
        assert!(!topic_matches("t/+", "t/a/b"));
        assert!(topic_matches("t/+/data", "t/1/data"));
        assert!(topic_matches("t/#", "t/a/b/c"));
        assert!(topic_matches("#", "a"));
        assert!(!topic_matches("t/a/#", "x/a"));
    }

    #[test]
    fn hash_matches_parent_level() {
        assert!(topic_matches("t/#", "t"));
        assert!(topic_matches("sport/tennis/#", "sport/tennis"));
    }

    #[test]
    fn empty_levels_are_levels() {
        assert!(topic_matches("t/+/x", "t//x"));
        assert!(topic_matches("+/a", "/a"));
        assert!(!topic_matches("t/+", "t"));
    }

    #[test]
    fn dollar_topics_skip_leading_wildcards() {
        assert!(!topic_matches("#", "$SYS/brokers"));
        assert!(!topic_matches("+/brokers", "$SYS/brokers"));
        assert!(topic_matches("$SYS/#", "$SYS/brokers"));
    }

    /// The level-by-level reading of the specification, through `str::split`.
    fn reference(filter: &str, topic: &str) -> bool {
        if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
            return false;
        }
        let mut filter_levels = filter.split('/');
        let mut topic_levels = topic.split('/');
        loop {
            match (filter_levels.next(), topic_levels.next()) {
                (Some("#"), _) => return filter_levels.next().is_none(),
                (Some("+"), Some(_)) => {}
                (Some(f), Some(t)) if f == t => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }

    proptest::proptest! {
        /// Invalid filters too: `=~` takes any string.
        #[test]
        fn matching_agrees_with_the_level_by_level_reading(
            filter in "[ab+#$/]{0,8}",
            topic in "[ab+#$/]{0,8}",
        ) {
            proptest::prop_assert_eq!(topic_matches(&filter, &topic), reference(&filter, &topic));
        }
    }

    #[test]
    fn filter_validity() {
        assert!(is_valid_filter("t/#"));
        assert!(is_valid_filter("+/+/x"));
        assert!(!is_valid_filter("t/#/x"));
        assert!(!is_valid_filter("t/a+"));
        assert!(!is_valid_filter(""));
    }
}
