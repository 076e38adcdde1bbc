//! The simulated vendor cloud.
