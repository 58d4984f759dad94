//! Tributary worker.

fn main() {}
