//! The tables of a precompiled module's code (function ranges, traps,
//! address map, exception call sites, stack maps, relocations and the
//! `.eh_frame`'s address fields) as bytes, and back. Decoding trusts no
//! length or offset: each is checked against the bytes left and against
//! the code's size before it is used.

use anyhow::{Context, Result, bail, ensure};
use fxtime_environ::{
    CallSite, EhFrame, ExceptionHandler, LibCall, RelocKind, StackMap, TagIndex, TrapKind,
};
use fxtime_runtime::code::{BaseRelocation, BaseTarget, CodeTables};
use std::ops::Range;

/// `tables` and `eh_frame`'s address fields, encoded.
pub(super) fn encode(tables: &CodeTables, eh_frame: &EhFrame) -> Vec<u8> {
    let mut e = Encoder(Vec::new());
    e.seq(&tables.functions, |e, r| {
        e.offset(r.start);
        e.offset(r.end);
    });
    e.seq(&tables.traps, |e, (offset, kind)| {
        e.offset(*offset);
        e.u8(*kind as u8);
    });
    e.seq(&tables.address_map, |e, (offset, wasm)| {
        e.offset(*offset);
        e.u32(*wasm);
    });
    e.seq(&tables.call_sites, |e, site| {
        e.u32(site.return_offset);
        e.u32(site.frame_offset);
        e.u32(site.vmctx_sp_offset);
        e.seq(&site.handlers, |e, h| {
            // u32::MAX: no tag (catch_all).
            e.u32(h.tag.map_or(u32::MAX, |t| t.0));
            e.u32(h.offset);
        });
    });
    for maps in [&tables.stack_maps, &tables.switch_maps] {
        e.seq(maps, |e, map| {
            e.u32(map.offset);
            e.seq(&map.slots, |e, slot| e.u32(*slot));
            e.seq(&map.cont_slots, |e, slot| e.u32(*slot));
        });
    }
    e.seq(&tables.relocations, |e, reloc| {
        e.offset(reloc.offset);
        e.u8(match reloc.kind {
            RelocKind::PcRel4 => 0,
            RelocKind::Abs8 => 1,
        });
        match reloc.target {
            BaseTarget::Code(offset) => {
                e.u8(0);
                e.offset(offset);
            }
            BaseTarget::LibCall(libcall) => {
                e.u8(1);
                let index = LibCall::ALL.iter().position(|l| *l == libcall);
                e.u32(index.expect("every routine is in ALL") as u32);
            }
        }
        e.0.extend_from_slice(&reloc.addend.to_le_bytes());
    });
    e.seq(&eh_frame.addresses, |e, at| e.u32(*at));
    e.0
}

/// The code's tables and `.eh_frame` from their encoding, for code of
/// `size` bytes and the section `eh_frame`, each checked against them.
pub(super) fn decode(
    bytes: &[u8],
    size: usize,
    eh_frame: Vec<u8>,
) -> Result<(CodeTables, EhFrame)> {
    let mut d = Decoder { bytes, size };
    let functions = d.seq(8, |d| Ok(d.offset()?..d.offset()?))?;
    let traps = d.seq(5, |d| Ok((d.offset()?, trap_kind(d.u8()?)?)))?;
    let address_map = d.seq(8, |d| Ok((d.offset()?, d.u32()?)))?;
    let call_sites = d.seq(16, |d| {
        Ok(CallSite {
            return_offset: d.code_u32()?,
            frame_offset: d.u32()?,
            vmctx_sp_offset: d.u32()?,
            handlers: d.seq(8, |d| {
                let tag = d.u32()?;
                Ok(ExceptionHandler {
                    tag: (tag != u32::MAX).then_some(TagIndex(tag)),
                    offset: d.code_u32()?,
                })
            })?,
        })
    })?;
    let stack_maps = decode_stack_maps(&mut d)?;
    let switch_maps = decode_stack_maps(&mut d)?;
    let relocations = d.seq(22, |d| {
        let offset = d.offset()?;
        let kind = match d.u8()? {
            0 => RelocKind::PcRel4,
            1 => RelocKind::Abs8,
            other => bail!("unknown relocation kind {other}"),
        };
        let target = match d.u8()? {
            0 => BaseTarget::Code(d.offset()?),
            1 => {
                let index = d.u32()? as usize;
                BaseTarget::LibCall(*LibCall::ALL.get(index).context("unknown routine")?)
            }
            other => bail!("unknown relocation target {other}"),
        };
        let addend = i64::from_le_bytes(d.take(8)?.try_into().expect("8 bytes"));
        let reloc = BaseRelocation {
            offset,
            kind,
            target,
            addend,
        };
        ensure!(offset + reloc.size() <= size, "relocation beyond the code");
        Ok(reloc)
    })?;
    let addresses = d.seq(4, Decoder::u32)?;
    ensure!(d.bytes.is_empty(), "bytes after the tables");

    check_functions(&functions, size)?;
    check_sorted(traps.iter().map(|t| t.0), "traps")?;
    check_sorted(address_map.iter().map(|a| a.0), "address map")?;
    check_sorted(call_sites.iter().map(|s| s.return_offset), "call sites")?;
    check_sorted(stack_maps.iter().map(|m| m.offset), "stack maps")?;
    check_sorted(switch_maps.iter().map(|m| m.offset), "switch maps")?;
    for &at in &addresses {
        let field = eh_frame
            .get(at as usize..at as usize + 8)
            .context(".eh_frame address beyond the section")?;
        let offset = u64::from_le_bytes(field.try_into().expect("8 bytes"));
        ensure!(offset <= size as u64, ".eh_frame address beyond the code");
    }
    let tables = CodeTables {
        functions,
        traps,
        address_map,
        call_sites,
        stack_maps,
        switch_maps,
        relocations,
    };
    let eh_frame = EhFrame {
        bytes: eh_frame,
        addresses,
    };
    Ok((tables, eh_frame))
}

fn decode_stack_maps(d: &mut Decoder) -> Result<Vec<StackMap>> {
    d.seq(12, |d| {
        Ok(StackMap {
            offset: d.code_u32()?,
            slots: d.seq(4, Decoder::u32)?.into(),
            cont_slots: d.seq(4, Decoder::u32)?.into(),
        })
    })
}

fn trap_kind(code: u8) -> Result<TrapKind> {
    TrapKind::ALL
        .into_iter()
        .find(|k| *k as u8 == code)
        .with_context(|| format!("unknown trap kind {code}"))
}

/// Function ranges must lie in the code, in order, without overlapping.
fn check_functions(functions: &[Range<usize>], size: usize) -> Result<()> {
    let mut end = 0;
    for range in functions {
        ensure!(
            end <= range.start && range.start <= range.end && range.end <= size,
            "function ranges out of order or beyond the code"
        );
        end = range.end;
    }
    Ok(())
}

/// Lookups search tables by offset: they must be sorted.
fn check_sorted<T: PartialOrd>(mut offsets: impl Iterator<Item = T>, what: &str) -> Result<()> {
    let Some(mut last) = offsets.next() else {
        return Ok(());
    };
    for offset in offsets {
        ensure!(last <= offset, "{what} out of order");
        last = offset;
    }
    Ok(())
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    /// An offset in the code (which is under 4 GiB: `link` checks).
    fn offset(&mut self, value: usize) {
        self.u32(u32::try_from(value).expect("code under 4 GiB"));
    }

    fn seq<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.u32(items.len() as u32);
        for item in items {
            each(self, item);
        }
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    /// The code's size: offsets into it must not pass it.
    size: usize,
}

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        ensure!(n <= self.bytes.len(), "the tables are truncated");
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// An offset in the code, or its end.
    fn offset(&mut self) -> Result<usize> {
        let offset = self.u32()? as usize;
        ensure!(offset <= self.size, "an offset beyond the code");
        Ok(offset)
    }

    fn code_u32(&mut self) -> Result<u32> {
        Ok(self.offset()? as u32)
    }

    /// A count, then that many items of at least `min_size` bytes each:
    /// a count the bytes left cannot hold is refused before anything is
    /// allocated for it.
    fn seq<T>(
        &mut self,
        min_size: usize,
        mut each: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let count = self.u32()? as usize;
        ensure!(
            count.saturating_mul(min_size) <= self.bytes.len(),
            "the tables are truncated"
        );
        (0..count).map(|_| each(self)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table survives encoding, and decoding refuses offsets beyond
    /// the code.
    #[test]
    fn tables_round_trip_and_offsets_are_checked() {
        // For 256 bytes of code.
        let size = 256;
        let tables = CodeTables {
            functions: vec![0..100, 128..256],
            traps: vec![(10, TrapKind::Unreachable), (130, TrapKind::UnhandledTag)],
            address_map: vec![(0, 40), (128, 77)],
            call_sites: vec![CallSite {
                return_offset: 140,
                frame_offset: 32,
                vmctx_sp_offset: 8,
                handlers: vec![
                    ExceptionHandler {
                        tag: Some(TagIndex(2)),
                        offset: 150,
                    },
                    ExceptionHandler {
                        tag: None,
                        offset: 160,
                    },
                ],
            }],
            stack_maps: vec![StackMap {
                offset: 140,
                slots: vec![0, 8].into(),
                cont_slots: vec![16].into(),
            }],
            switch_maps: vec![],
            relocations: vec![
                BaseRelocation {
                    offset: 20,
                    kind: RelocKind::Abs8,
                    target: BaseTarget::Code(128),
                    addend: -4,
                },
                BaseRelocation {
                    offset: 200,
                    kind: RelocKind::Abs8,
                    target: BaseTarget::LibCall(LibCall::FmaF64),
                    addend: 0,
                },
            ],
        };
        let mut eh = vec![0u8; 32];
        eh[8..16].copy_from_slice(&128u64.to_le_bytes());
        let eh_frame = EhFrame {
            bytes: eh.clone(),
            addresses: vec![8],
        };
        let bytes = encode(&tables, &eh_frame);
        let (back, back_eh) = decode(&bytes, size, eh.clone()).unwrap();
        assert_eq!(back, tables);
        assert_eq!(back_eh, eh_frame);
        // The same tables for smaller code: the second function's range,
        // and everything in it, is beyond it.
        let err = decode(&bytes, 150, eh.clone()).unwrap_err();
        assert!(err.to_string().contains("beyond the code"), "{err}");
        // Every truncation is refused.
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], size, eh.clone()).is_err());
        }
    }
}
