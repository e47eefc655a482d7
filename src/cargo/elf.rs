//! Reads a bootstrap's ELF header and glibc version needs, so a binary that Lambda would refuse
//! (wrong machine, too new a glibc) is caught before `sam deploy` ships it.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::template::Architecture;

/// What the check needs to know about an executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ElfFacts {
    pub architecture: Option<Architecture>,
    /// Highest `GLIBC_x.y` version the binary needs, if it links glibc.
    pub max_glibc: Option<(u32, u32)>,
}

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;

/// Reads the facts of the ELF file at `path`.
pub(crate) fn read_elf(path: &Path) -> Result<ElfFacts> {
    let bytes =
        std::fs::read(path).with_context(|| format!("Unable to read {}", path.display()))?;
    parse_elf(&bytes)
        .with_context(|| format!("{} is not a 64-bit Linux executable", path.display()))
}

/// Parses a little-endian ELF64 image.
pub(crate) fn parse_elf(bytes: &[u8]) -> Result<ElfFacts> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        bail!("no ELF header");
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        bail!("only 64-bit little-endian ELF files are supported");
    }
    let machine = u16_at(bytes, 18)?;
    let architecture = match machine {
        EM_X86_64 => Some(Architecture::X86_64),
        EM_AARCH64 => Some(Architecture::Arm64),
        _ => None,
    };
    let section_offset = u64_at(bytes, 40)?;
    let section_size = u64::from(u16_at(bytes, 58)?);
    let section_count = u64::from(u16_at(bytes, 60)?);
    let section = |index: u64| -> Result<usize> {
        index
            .checked_mul(section_size)
            .and_then(|o| o.checked_add(section_offset))
            .and_then(|o| usize::try_from(o).ok())
            .context("bad section header offset")
    };
    let mut max_glibc = None;
    for i in 0..section_count {
        let header = section(i)?;
        if u32_at(bytes, add(header, 4)?)? != SHT_GNU_VERNEED {
            continue;
        }
        let offset = to_usize(u64_at(bytes, add(header, 24)?)?)?;
        let link = u64::from(u32_at(bytes, add(header, 40)?)?);
        let count = u32_at(bytes, add(header, 44)?)?.min(MAX_ENTRIES);
        let strings = to_usize(u64_at(bytes, add(section(link)?, 24)?)?)?;
        let mut need = offset;
        for _ in 0..count {
            let aux_count = u16_at(bytes, add(need, 2)?)?;
            let mut aux = add(need, to_usize(u64::from(u32_at(bytes, add(need, 8)?)?))?)?;
            for _ in 0..aux_count {
                let name_offset = u32_at(bytes, add(aux, 8)?)? as usize;
                let name = c_str_at(bytes, add(strings, name_offset)?)?;
                if let Some(version) = parse_glibc_version(name) {
                    max_glibc = max_glibc.max(Some(version));
                }
                let next = u32_at(bytes, add(aux, 12)?)? as usize;
                if next == 0 {
                    break;
                }
                aux = add(aux, next)?;
            }
            let next = u32_at(bytes, add(need, 12)?)? as usize;
            if next == 0 {
                break;
            }
            need = add(need, next)?;
        }
    }
    Ok(ElfFacts {
        architecture,
        max_glibc,
    })
}

/// More version-need entries than any real binary has: a bound for damaged files.
const MAX_ENTRIES: u32 = 4096;

fn add(a: usize, b: usize) -> Result<usize> {
    a.checked_add(b).context("truncated ELF file")
}

fn to_usize(value: u64) -> Result<usize> {
    usize::try_from(value).context("bad ELF offset")
}

fn parse_glibc_version(name: &str) -> Option<(u32, u32)> {
    let version = name.strip_prefix("GLIBC_")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

fn slice(bytes: &[u8], at: usize, len: usize) -> Result<&[u8]> {
    at.checked_add(len)
        .and_then(|end| bytes.get(at..end))
        .context("truncated ELF file")
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16> {
    let b = slice(bytes, at, 2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32> {
    let b = slice(bytes, at, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64> {
    let b = slice(bytes, at, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

fn c_str_at(bytes: &[u8], at: usize) -> Result<&str> {
    let rest = bytes.get(at..).context("truncated ELF string table")?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).context("bad ELF string")
}

/// Checks a built bootstrap against its function's architecture and runtime glibc.
pub(crate) fn check_bootstrap(
    facts: &ElfFacts,
    expected: Architecture,
    max_glibc: (u32, u32),
) -> Result<(), String> {
    match facts.architecture {
        Some(found) if found == expected => {}
        found => {
            return Err(format!(
                "the bootstrap is built for {} but the function's Architectures says {}",
                found.map_or("an unknown machine", |a| a.as_str()),
                expected.as_str()
            ));
        }
    }
    if let Some(needed) = facts.max_glibc
        && needed > max_glibc
    {
        return Err(format!(
            "the bootstrap needs GLIBC_{}.{} but the runtime provides GLIBC {}.{} at most; it would fail on Lambda with \"GLIBC_{}.{} not found\"",
            needed.0, needed.1, max_glibc.0, max_glibc.1, needed.0, needed.1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_names_parse() {
        assert_eq!(parse_glibc_version("GLIBC_2.26"), Some((2, 26)));
        assert_eq!(parse_glibc_version("GLIBC_2.3.4"), Some((2, 3)));
        assert_eq!(parse_glibc_version("GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc_version("GCC_3.0"), None);
    }

    #[test]
    fn garbage_is_not_an_elf() {
        assert!(parse_elf(b"#!/bin/sh\necho hi\n").is_err());
        let mut truncated = b"\x7fELF\x02\x01".to_vec();
        truncated.resize(64, 0xff);
        assert!(parse_elf(&truncated).is_err());
    }

    #[test]
    fn this_test_binary_reads_as_elf_of_the_host() {
        let exe = std::env::current_exe().expect("exe");
        let facts = read_elf(&exe).expect("the test binary is ELF");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(facts.architecture, Some(Architecture::X86_64));
        assert!(facts.max_glibc.is_some_and(|v| v >= (2, 2)));
    }

    #[test]
    fn mismatches_are_reported() {
        let facts = ElfFacts {
            architecture: Some(Architecture::X86_64),
            max_glibc: Some((2, 28)),
        };
        assert!(check_bootstrap(&facts, Architecture::Arm64, (2, 34)).is_err());
        let err = check_bootstrap(&facts, Architecture::X86_64, (2, 26)).expect_err("too new");
        assert!(err.contains("GLIBC_2.28"));
        assert!(check_bootstrap(&facts, Architecture::X86_64, (2, 34)).is_ok());
    }
}
