//! The plan language: model, loading with a span index, rules and diagnostics.
//! Never imports `api`, `engine`, HTTP or async code.
