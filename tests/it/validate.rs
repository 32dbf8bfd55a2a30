//! CLI tests of `validate`, `plan`, `schema` and `completions`: exit codes, formats, bad input.
