//! StarkEx engine integration tests.
mod flows;
