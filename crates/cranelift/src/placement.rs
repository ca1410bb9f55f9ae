//! Where in a 64-byte line a function's code should start.
//!
//! Cranelift aligns functions but not loops, so where a hot loop's header
//! falls within a line of instruction fetch is luck. A header in the last
//! few bytes of a line makes every iteration start with an instruction
//! split across two lines, which was measured to cost a SIMD kernel 6 to
//! 9% against the same instructions placed 8 to 48 bytes further on.
//! Cranelift reports the offsets of its blocks and the edges between them;
//! a jump back to an earlier block closes a loop. The function is shifted
//! by a multiple of 16 bytes so that as few innermost loop headers as
//! possible fall in the last `TAIL` bytes of a line. Only that case is
//! moved: a header merely late in a line, moved to the next line's start,
//! made a call-heavy loop 5% slower, so the rule stays as narrow as the
//! evidence.

/// The fetch line whose layout is considered.
pub(crate) const LINE: u32 = 64;
/// A header this close to a line's end counts as badly placed: its first
/// instruction (x64 instructions in loops are mostly up to 8 bytes) is
/// likely to cross into the next line.
const TAIL: u32 = 8;
/// Candidate shifts are multiples of this (and so keep Cranelift's own
/// alignment of the function, at most 16 bytes on x64).
const STEP: u32 = 16;

/// The offset within a line (a multiple of `STEP`) at which to place a
/// function with control-flow edges `edges` (from a block's start to its
/// successor's).
pub(crate) fn line_offset(edges: &[(u32, u32)]) -> u32 {
    let loops: Vec<(u32, u32)> = edges
        .iter()
        .filter(|(from, to)| to <= from)
        .map(|&(from, to)| (to, from))
        .collect();
    // A loop is innermost when no other loop's header lies inside it.
    let mut headers: Vec<u32> = loops
        .iter()
        .filter(|&&(header, last)| {
            !loops
                .iter()
                .any(|&(other, _)| other > header && other <= last)
        })
        .map(|&(header, _)| header)
        .collect();
    headers.sort_unstable();
    headers.dedup();
    let badly_placed = |shift: u32| {
        headers
            .iter()
            .filter(|&&h| (h + shift) % LINE >= LINE - TAIL)
            .count()
    };
    (0..LINE / STEP)
        .map(|i| i * STEP)
        .min_by_key(|&shift| (badly_placed(shift), shift))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::line_offset;

    #[test]
    fn straight_code_stays_at_the_line_start() {
        assert_eq!(line_offset(&[(0, 10), (10, 40)]), 0);
    }

    #[test]
    fn a_loop_header_near_a_line_end_moves_into_the_next_line() {
        // The loop at 0x37e..0x3e8 (as a SIMD kernel's was): at 0x37e its
        // header sits two bytes before a line's end; 16 bytes on it does
        // not.
        let edges = [(0, 0x37e), (0x37e, 0x3e8), (0x3e8, 0x37e), (0x3e8, 0x3f0)];
        assert_eq!(line_offset(&edges), 16);
    }

    #[test]
    fn a_header_merely_late_in_a_line_stays() {
        // A call loop's header at 0x33, 13 bytes before the line's end.
        assert_eq!(line_offset(&[(0x33, 0x33), (0x33, 0x58)]), 0);
    }

    #[test]
    fn only_innermost_loops_count() {
        // Outer loop 0x3a..0x200 (its header badly placed unless shifted),
        // inner loop 0x80..0x100 with its header at a line start: the
        // inner one decides, shift 0.
        let edges = [(0x100, 0x80), (0x200, 0x3a), (0x80, 0x100)];
        assert_eq!(line_offset(&edges), 0);
    }
}
