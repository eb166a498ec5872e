//! placeholder until the PostgreSQL harness lands
