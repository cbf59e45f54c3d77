//! Rules about the input itself rather than about resources.

pub mod invalid_json;
