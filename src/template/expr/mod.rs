//! The ARM template expression language: parsing, scopes and evaluation.

mod cidr;
mod datetime;
pub mod eval;
pub mod functions;
pub mod parse;
pub mod scope;
pub mod value;

pub use scope::{Env, Scope};
pub use value::{Kind, Origin, Value};
#[cfg(test)]
mod tests;
