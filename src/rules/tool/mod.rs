//! Rules about the input itself rather than about resources.

pub mod expression_parse_error;
pub mod invalid_json;
pub mod invalid_suppression;
