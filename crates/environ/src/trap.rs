//! Trap kinds, shared by the compiler (which tags trapping instructions)
//! and the runtime (which reports them).

use std::fmt;

/// Why WebAssembly execution trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrapKind {
    /// The stack-limit check in a function prologue failed.
    StackOverflow = 1,
    /// A load or store outside a linear memory, or a bulk memory operation
    /// out of bounds.
    MemoryOutOfBounds,
    /// An access outside a table by `table.get`, `table.set` or a bulk
    /// table operation.
    TableOutOfBounds,
    /// `call_indirect` with an index outside the table.
    UndefinedElement,
    /// `call_indirect` through a null entry.
    UninitializedElement,
    /// `call_indirect` through an entry of another type.
    IndirectCallTypeMismatch,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Signed division overflow or an out-of-range float-to-int conversion.
    IntegerOverflow,
    /// Float-to-int conversion of a NaN.
    BadConversionToInteger,
    /// The `unreachable` instruction.
    Unreachable,
    /// `ref.as_non_null` of a null reference.
    NullReference,
    /// `call_ref` or `return_call_ref` of a null function reference.
    NullFunctionReference,
    /// `throw_ref` of a null exception reference.
    NullExceptionReference,
    /// `ref.cast` of a reference not of the target type.
    CastFailure,
    /// An error returned by a host function.
    HostError,
    /// `resume`, `resume_throw`, `switch` or `cont.bind` of a null
    /// continuation reference.
    NullContinuationReference,
    /// A continuation reference used after its continuation was resumed,
    /// bound or switched to.
    ContinuationAlreadyConsumed,
    /// `suspend` or `switch` with no handler for its tag between it and the
    /// host.
    UnhandledTag,
    /// No memory for a continuation's stack.
    ContinuationAllocation,
    /// Fuel ran out (`Config::consume_fuel`).
    OutOfFuel,
    /// The epoch deadline was reached (`Config::epoch_interruption`).
    Interrupt,
    /// `cont.new` past the store's limit on live continuations.
    TooManyContinuations,
    /// `cont.new` needed a new stack past the store's limit on the bytes of
    /// continuation stacks.
    ContinuationStackBytes,
    /// A struct access through a null reference.
    NullStructReference,
    /// An array access through a null reference.
    NullArrayReference,
    /// An array index or range beyond the array's length.
    ArrayOutOfBounds,
    /// A GC allocation the heap cannot hold.
    GcHeapOutOfMemory,
}

impl TrapKind {
    /// Every kind, for table-driven conversions.
    pub const ALL: [TrapKind; 27] = [
        TrapKind::StackOverflow,
        TrapKind::MemoryOutOfBounds,
        TrapKind::TableOutOfBounds,
        TrapKind::UndefinedElement,
        TrapKind::UninitializedElement,
        TrapKind::IndirectCallTypeMismatch,
        TrapKind::IntegerDivisionByZero,
        TrapKind::IntegerOverflow,
        TrapKind::BadConversionToInteger,
        TrapKind::Unreachable,
        TrapKind::NullReference,
        TrapKind::NullFunctionReference,
        TrapKind::NullExceptionReference,
        TrapKind::CastFailure,
        TrapKind::HostError,
        TrapKind::NullContinuationReference,
        TrapKind::ContinuationAlreadyConsumed,
        TrapKind::UnhandledTag,
        TrapKind::ContinuationAllocation,
        TrapKind::OutOfFuel,
        TrapKind::Interrupt,
        TrapKind::TooManyContinuations,
        TrapKind::ContinuationStackBytes,
        TrapKind::NullStructReference,
        TrapKind::NullArrayReference,
        TrapKind::ArrayOutOfBounds,
        TrapKind::GcHeapOutOfMemory,
    ];

    /// The message the WebAssembly reference interpreter uses.
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::Unreachable => "unreachable",
            TrapKind::NullReference => "null reference",
            TrapKind::NullFunctionReference => "null function reference",
            TrapKind::NullExceptionReference => "null exception reference",
            TrapKind::CastFailure => "cast failure",
            TrapKind::HostError => "host function error",
            TrapKind::NullContinuationReference => "null continuation reference",
            TrapKind::ContinuationAlreadyConsumed => "continuation already consumed",
            TrapKind::UnhandledTag => "unhandled tag",
            TrapKind::ContinuationAllocation => "cannot allocate a continuation stack",
            TrapKind::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapKind::Interrupt => "interrupt",
            TrapKind::TooManyContinuations => {
                "continuation limit reached: the store's limit on live continuations \
                 (max-continuations)"
            }
            TrapKind::ContinuationStackBytes => {
                "continuation limit reached: the store's limit on the bytes of continuation \
                 stacks (max-continuation-stack-bytes)"
            }
            TrapKind::NullStructReference => "null structure reference",
            TrapKind::NullArrayReference => "null array reference",
            TrapKind::ArrayOutOfBounds => "out of bounds array access",
            TrapKind::GcHeapOutOfMemory => "GC heap out of memory",
        }
    }

    /// The kind for a raw code, as stored in a trap table.
    pub fn from_u8(code: u8) -> Option<TrapKind> {
        TrapKind::ALL.into_iter().find(|k| *k as u8 == code)
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in TrapKind::ALL {
            assert_eq!(TrapKind::from_u8(kind as u8), Some(kind));
        }
        assert_eq!(TrapKind::from_u8(0), None);
    }
}
