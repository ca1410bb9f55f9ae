//! The error type of module translation and compilation.

use std::fmt;

/// Why a module could not be translated or compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WasmError {
    /// The module is malformed or fails validation.
    Invalid {
        /// What is wrong, as the validator says it.
        message: String,
        /// Byte offset in the binary.
        offset: u64,
    },
    /// The module is valid but needs a feature fxtime does not implement,
    /// or one the configuration turned off.
    Unsupported(String),
    /// An implementation limit was exceeded.
    Limit(String),
    /// An internal inconsistency: a bug in fxtime, reported instead of a panic.
    Bug(String),
}

/// Result of translation and compilation steps.
pub type WasmResult<T> = Result<T, WasmError>;

impl WasmError {
    /// An [`WasmError::Invalid`] from a wasmparser error.
    pub fn from_parser(e: &wasmparser::BinaryReaderError) -> Self {
        WasmError::Invalid {
            message: e.message().to_string(),
            offset: e.offset(),
        }
    }
}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        WasmError::from_parser(&e)
    }
}

impl fmt::Display for WasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmError::Invalid { message, offset } => {
                write!(f, "{message} (at offset {offset:#x})")
            }
            WasmError::Unsupported(what) => write!(f, "unsupported feature: {what}"),
            WasmError::Limit(what) => write!(f, "implementation limit exceeded: {what}"),
            WasmError::Bug(what) => write!(f, "internal error (a bug in fxtime): {what}"),
        }
    }
}

impl std::error::Error for WasmError {}

/// Returns a [`WasmError::Bug`] from the enclosing function instead of
/// panicking: reachable panics on untrusted input are bugs.
#[macro_export]
macro_rules! bail_bug {
    ($($arg:tt)*) => {
        return Err($crate::WasmError::Bug(format!($($arg)*)))
    };
}
