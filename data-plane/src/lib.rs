//! The Tributary worker: pulls its assignment from the control plane and runs the flows in it.

pub mod telemetry;
