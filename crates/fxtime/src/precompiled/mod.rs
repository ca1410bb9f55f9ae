//! Precompiled modules: the file `Module::serialize` writes and
//! `Module::deserialize` reads (`fxtime compile` makes one).
//!
//! The file is an ELF object with these sections:
//! - `.fxtime.header`: what the code depends on, one `key value` per
//!   line: fxtime's version and build, the file format, the enabled
//!   WebAssembly features, every setting that changes generated code, and
//!   the CPU features the code may use.
//! - `.text`: the code, linked at offsets from its start
//!   ([`LinkedCode`]), page-aligned.
//! - `.fxtime.tables`: the code's tables ([`tables`]).
//! - `.fxtime.eh_frame`: its unwind information, at offsets from `.text`.
//! - `.fxtime.wasm`: the module's own bytes. Its description (types,
//!   imports, exports, ...) is parsed from them again at load, without the
//!   function bodies, and its data and element segments stay in them, as
//!   for a module compiled in the process.
//!
//! A trailer follows the ELF: a CRC-32 of everything before it, the
//! file's length and a magic word. A file is checked whole before any of
//! it is parsed, so a corrupted or truncated file is refused, never run.

mod tables;

use crate::Engine;
use anyhow::{Context, Result, bail, ensure};
use fxtime_environ::EhFrame;
use fxtime_runtime::code::{LinkedCode, MappedCode};
use fxtime_runtime::mmap::{Mmap, Protection};
use object::read::elf::ElfFile64;
use object::{Object as _, ObjectSection as _};
use std::fs::File;
use std::ops::Range;
use std::path::Path;

/// The last bytes of every precompiled module; the final byte is the
/// format's version.
const MAGIC: &[u8; 8] = b"fxtime\0\x01";
/// CRC-32 (4 bytes), zero (4), the file's length (8), [`MAGIC`] (8).
const TRAILER_LEN: usize = 24;

const HEADER: &str = ".fxtime.header";
const TEXT: &str = ".text";
const TABLES: &str = ".fxtime.tables";
const EH_FRAME: &str = ".fxtime.eh_frame";
const WASM: &str = ".fxtime.wasm";

/// Whether `bytes` look like a precompiled module (an ELF object ending
/// in the trailer), as opposed to WebAssembly.
pub(crate) fn is_precompiled(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF") && bytes.ends_with(MAGIC)
}

/// What a precompiled module holds.
pub(crate) struct Contents {
    pub wasm: Vec<u8>,
    /// The code's tables; its image too, unless `mapped` holds it.
    pub linked: LinkedCode,
    pub mapped: Option<MappedCode>,
    pub eh_frame: EhFrame,
}

/// The precompiled module of `wasm`, whose code is `linked` with
/// `eh_frame`, for `engine`.
pub(crate) fn write(
    engine: &Engine,
    wasm: &[u8],
    linked: &LinkedCode,
    eh_frame: &EhFrame,
) -> Result<Vec<u8>> {
    use object::write::Object;
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    let mut elf = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let sections = [
        (HEADER, SectionKind::Other, header(engine).into_bytes(), 1),
        (TEXT, SectionKind::Text, linked.image.clone(), 4096),
        (
            TABLES,
            SectionKind::Other,
            tables::encode(&linked.tables, eh_frame),
            8,
        ),
        (EH_FRAME, SectionKind::Other, eh_frame.bytes.clone(), 8),
        (WASM, SectionKind::Other, wasm.to_vec(), 1),
    ];
    for (name, kind, data, align) in sections {
        let id = elf.add_section(Vec::new(), name.as_bytes().to_vec(), kind);
        elf.section_mut(id).set_data(data, align);
    }
    let mut bytes = elf.write().context("writing the precompiled module")?;
    let checksum = crc32fast::hash(&bytes);
    let len = (bytes.len() + TRAILER_LEN) as u64;
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(MAGIC);
    Ok(bytes)
}

/// The contents of the precompiled module `bytes`, checked whole and
/// against what `engine` would compile.
pub(crate) fn read(engine: &Engine, bytes: &[u8]) -> Result<Contents> {
    let (mut contents, text) = parse(engine, bytes)?;
    contents.linked.image = bytes[text].to_vec();
    Ok(contents)
}

/// [`read`] of the file at `path`, which is mapped rather than read: its
/// code stays in the page cache, shared, but for the pages that
/// relocations patch.
pub(crate) fn read_file(engine: &Engine, path: &Path) -> Result<Contents> {
    let file = File::open(path)?;
    let len = usize::try_from(file.metadata()?.len())?;
    let whole = Mmap::map_file(&file, 0, len, Protection::ReadOnly)?;
    // SAFETY: the mapping holds the file's `len` bytes, readable, and
    // lives to the end of this function. (The file must not change while
    // it is read: `Module::deserialize_file`'s contract.)
    let bytes = unsafe { std::slice::from_raw_parts(whole.as_ptr(), len) };
    let (mut contents, text) = parse(engine, bytes)?;
    let page = fxtime_runtime::mmap::page_size();
    if text.start.is_multiple_of(page) && !text.is_empty() {
        let mmap = Mmap::map_file(&file, text.start as u64, text.len(), Protection::ReadWrite)?;
        contents.mapped = Some(MappedCode {
            mmap,
            len: text.len(),
        });
    } else {
        contents.linked.image = bytes[text].to_vec();
    }
    Ok(contents)
}

/// Everything of the precompiled module `bytes` but its code, and where
/// the code is in `bytes`.
fn parse(engine: &Engine, bytes: &[u8]) -> Result<(Contents, Range<usize>)> {
    let elf = check_trailer(bytes)?;
    let file = ElfFile64::<object::Endianness>::parse(elf)
        .context("not a valid precompiled module (its ELF structure)")?;
    let section = |name: &str| {
        file.section_by_name(name)
            .with_context(|| format!("not a valid precompiled module: no {name} section"))
    };
    let data = |name: &str| -> Result<&[u8]> {
        section(name)?
            .data()
            .with_context(|| format!("not a valid precompiled module: section {name}"))
    };
    let header = std::str::from_utf8(data(HEADER)?)
        .context("not a valid precompiled module: its header is not text")?;
    check_header(engine, header)?;
    let (offset, size) = section(TEXT)?
        .file_range()
        .context("not a valid precompiled module: no code")?;
    let text = usize::try_from(offset)?..usize::try_from(offset + size)?;
    ensure!(
        text.end <= elf.len(),
        "not a valid precompiled module: code beyond the file"
    );
    let (tables, eh_frame) = tables::decode(data(TABLES)?, text.len(), data(EH_FRAME)?.to_vec())
        .context("not a valid precompiled module")?;
    let contents = Contents {
        wasm: data(WASM)?.to_vec(),
        linked: LinkedCode {
            image: Vec::new(),
            tables,
        },
        mapped: None,
        eh_frame,
    };
    Ok((contents, text))
}

/// The ELF part of `bytes`, once the trailer's length and checksum match.
fn check_trailer(bytes: &[u8]) -> Result<&[u8]> {
    ensure!(
        is_precompiled(bytes) && bytes.len() >= TRAILER_LEN,
        "not a precompiled fxtime module (or a truncated one)"
    );
    let (elf, trailer) = bytes.split_at(bytes.len() - TRAILER_LEN);
    let field = |range: std::ops::Range<usize>| &trailer[range];
    let checksum = u32::from_le_bytes(field(0..4).try_into().expect("4 bytes"));
    let len = u64::from_le_bytes(field(8..16).try_into().expect("8 bytes"));
    ensure!(
        field(4..8) == [0; 4],
        "a damaged precompiled module: its trailer's reserved word is not zero"
    );
    ensure!(
        len == bytes.len() as u64,
        "a truncated or damaged precompiled module: {} bytes where its trailer says {len}",
        bytes.len()
    );
    ensure!(
        crc32fast::hash(elf) == checksum,
        "a damaged precompiled module: its checksum does not match"
    );
    Ok(elf)
}

/// What the code `engine` compiles depends on, as (key, value) pairs.
fn fingerprint(engine: &Engine) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("fxtime".to_string(), crate::VERSION.to_string()),
        ("build".to_string(), env!("FXTIME_BUILD_ID").to_string()),
        (
            "features".to_string(),
            engine.features().enabled_names().join(","),
        ),
    ];
    pairs.extend(engine.compiler().settings());
    pairs.push((
        "cpu".to_string(),
        engine.compiler().cpu_features().join(","),
    ));
    pairs
}

/// The header text of files `engine` writes.
pub(crate) fn header(engine: &Engine) -> String {
    fingerprint(engine)
        .into_iter()
        .map(|(key, value)| format!("{key} {value}\n"))
        .collect()
}

/// Refuses a file whose header says its code was made by another fxtime,
/// with other features or settings, or for CPU features this host lacks.
fn check_header(engine: &Engine, header: &str) -> Result<()> {
    let theirs: Vec<(&str, &str)> = header
        .lines()
        .map(|line| line.split_once(' ').unwrap_or((line, "")))
        .collect();
    let get = |key: &str| theirs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let ours = fingerprint(engine);
    for key in ["fxtime", "build"] {
        let mine = &ours
            .iter()
            .find(|(k, _)| k == key)
            .expect("in every header")
            .1;
        let made_by = get(key).unwrap_or("unknown");
        if made_by != mine {
            bail!(
                "this module was precompiled by another fxtime ({key} {made_by}; this is {key} \
                 {mine}): compile it again"
            );
        }
    }
    for (key, mine) in &ours {
        if key == "cpu" {
            continue;
        }
        let made_with = get(key).unwrap_or("unset");
        if made_with != mine {
            bail!(
                "this module was precompiled with {key} = {made_with}, but this engine has {key} \
                 = {mine}: compile it again with the same settings"
            );
        }
    }
    if let Some((key, _)) = theirs
        .iter()
        .find(|(k, _)| !ours.iter().any(|(o, _)| o == k))
    {
        bail!("this module was precompiled with a setting this fxtime does not know: {key}");
    }
    let host = ours.last().expect("cpu comes last").1.split(',');
    let host: Vec<&str> = host.collect();
    for feature in get("cpu")
        .unwrap_or("")
        .split(',')
        .filter(|f| !f.is_empty())
    {
        if !host.contains(&feature) {
            bail!("this module was precompiled for a CPU with {feature}, which this host lacks");
        }
    }
    Ok(())
}
