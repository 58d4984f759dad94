//! EMQX-compatible rule SQL, built-in functions and `${...}` templates. No I/O.
