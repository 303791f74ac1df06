//! Tests of invalid configurations.
