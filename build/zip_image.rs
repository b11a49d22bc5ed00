//! The embedded zip's format: a plain zip (UTF-8 names, no extra fields, no zip64) whose
//! entries are zstd frames (method 93) compressed with one shared dictionary. A module of a
//! few kB compresses a fifth better against a dictionary trained on all of them; the
//! runtime loads the dictionary once (src/stdlib_image.rs) and the frozen importer reads
//! the central directory (src/frozen/_rpyc_bridge_importer.py).

use std::fs;
use std::path::Path;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const METHOD_ZSTD: u16 = 93;
/// General purpose flag bit 11: names are UTF-8.
const UTF8_NAMES: u16 = 0x0800;
/// 1980-01-01 00:00, the zip epoch: entries carry no real time, so builds are reproducible.
const DOS_DATE: u16 = 0x21;
/// zstd level for the entries and the dictionary's own compression.
pub const LEVEL: i32 = 19;
/// Dictionary size: measured on the stdlib's .pyc, 256 kB saves the most once the dictionary
/// itself (stored compressed) is counted.
const DICTIONARY_SIZE: usize = 256 * 1024;

/// One entry, compressed.
pub struct Entry {
    pub name: String,
    pub crc32: u32,
    pub size: u32,
    pub data: Vec<u8>,
}

/// Trains the shared dictionary on the files' contents.
pub fn train(samples: &[&[u8]]) -> Result<Vec<u8>, String> {
    zstd::dict::from_samples(samples, DICTIONARY_SIZE)
        .map_err(|e| format!("cannot train the stdlib's zstd dictionary: {e}"))
}

/// Compresses files against `dictionary`.
pub struct Packer<'d>(zstd::bulk::Compressor<'d>);

impl Packer<'_> {
    pub fn new(dictionary: &[u8]) -> Result<Packer<'_>, String> {
        zstd::bulk::Compressor::with_dictionary(LEVEL, dictionary)
            .map(Packer)
            .map_err(|e| format!("cannot load the zstd dictionary: {e}"))
    }

    pub fn entry(&mut self, name: String, contents: &[u8]) -> Result<Entry, String> {
        let size = u32::try_from(contents.len()).map_err(|_| format!("{name} is over 4 GB"))?;
        let data = self
            .0
            .compress(contents)
            .map_err(|e| format!("cannot compress {name}: {e}"))?;
        Ok(Entry {
            name,
            crc32: crc32fast::hash(contents),
            size,
            data,
        })
    }
}

pub fn write(path: &Path, entries: &[Entry]) -> Result<(), String> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32::try_from(out.len()).map_err(|_| "the zip is over 4 GB".to_string())?;
        let csize = u32::try_from(e.data.len()).map_err(|_| format!("{} is over 4 GB", e.name))?;
        let name_len =
            u16::try_from(e.name.len()).map_err(|_| format!("name too long: {}", e.name))?;
        let common = |buf: &mut Vec<u8>| {
            put16(buf, 63); // version needed: zstd
            put16(buf, UTF8_NAMES);
            put16(buf, METHOD_ZSTD);
            put16(buf, 0); // time
            put16(buf, DOS_DATE);
            put32(buf, e.crc32);
            put32(buf, csize);
            put32(buf, e.size);
            put16(buf, name_len);
            put16(buf, 0); // extra field length
        };
        put32(&mut out, LOCAL_HEADER);
        common(&mut out);
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&e.data);

        put32(&mut central, CENTRAL_HEADER);
        put16(&mut central, 0x0300 | 63); // made by: Unix, zip 6.3
        common(&mut central);
        put16(&mut central, 0); // comment length
        put16(&mut central, 0); // disk number
        put16(&mut central, 0); // internal attributes
        put32(&mut central, 0o100644 << 16); // external attributes: a regular file, rw-r--r--
        put32(&mut central, offset);
        central.extend_from_slice(e.name.as_bytes());
    }
    let count = u16::try_from(entries.len()).map_err(|_| "over 65535 entries".to_string())?;
    let central_offset =
        u32::try_from(out.len()).map_err(|_| "the zip is over 4 GB".to_string())?;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    put32(&mut out, END_OF_CENTRAL_DIRECTORY);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, count);
    put16(&mut out, count);
    put32(&mut out, central_size);
    put32(&mut out, central_offset);
    put16(&mut out, 0); // comment length
    fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The entries of a zip `write` made, still compressed.
pub fn read(path: &Path) -> Result<Vec<Entry>, String> {
    let zip = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bad = || format!("{} is not a zip this build wrote", path.display());
    let end = zip.len().checked_sub(22).ok_or_else(bad)?;
    if get32(&zip, end) != Some(END_OF_CENTRAL_DIRECTORY) {
        return Err(bad());
    }
    let count = get16(&zip, end + 10).ok_or_else(bad)?;
    let mut at = get32(&zip, end + 16).ok_or_else(bad)? as usize;
    let mut entries = Vec::with_capacity(count.into());
    for _ in 0..count {
        if get32(&zip, at) != Some(CENTRAL_HEADER) {
            return Err(bad());
        }
        let field = |off: usize| get32(&zip, at + off).ok_or_else(bad);
        let (crc32, csize, size) = (field(16)?, field(20)? as usize, field(24)?);
        let name_len = get16(&zip, at + 28).ok_or_else(bad)? as usize;
        let local = field(42)? as usize;
        let name = zip.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
        let start = local + 30 + name_len;
        entries.push(Entry {
            name: String::from_utf8(name.to_vec()).map_err(|_| bad())?,
            crc32,
            size,
            data: zip.get(start..start + csize).ok_or_else(bad)?.to_vec(),
        });
        at += 46 + name_len;
    }
    Ok(entries)
}

fn put16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn get16(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(buf.get(at..at + 2)?.try_into().ok()?))
}

fn get32(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}
