//! `tributary-worker`: a stateless worker running the flows the control plane assigns it.

fn main() {}
