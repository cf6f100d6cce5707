//! Library side of the `dsomm-audit` binary: configuration and the ingest path,
//! shared with the benchmark. Glue only: parsing lives in `collect`, storage in `ledger`.

pub mod assessment;
pub mod attest;
pub mod config;
pub mod demo;
pub mod files;
pub mod gate;
pub mod ingest;
pub mod overrides;
pub mod pipelines;
