//! Tributary control plane.

fn main() {}
