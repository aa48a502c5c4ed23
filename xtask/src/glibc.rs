//! Which glibc the binaries pushed to Cloud Foundry need: the highest `GLIBC_2.xx` among their ELF
//! version needs (`.gnu.version_r`), against cflinuxfs4's glibc 2.35. A binary linked on a newer
//! system fails there at start with "GLIBC_2.36 not found"; this finds out before the push.

use crate::error::Error;
use crate::manifests::STACK;
use object::Endianness;
use object::elf::EM_X86_64;
use object::read::elf::{ElfFile64, FileHeader};
use std::path::Path;

/// cflinuxfs4 is Ubuntu 22.04.
pub const STACK_GLIBC: GlibcVersion = GlibcVersion(2, 35);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32);

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// What a file pushed as an app's `command` needs from the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs {
    /// An x86_64 ELF with glibc version needs; the highest one.
    Glibc(GlibcVersion),
    /// An x86_64 ELF without glibc version needs (static, e.g. musl).
    NoGlibc,
    /// `#!` script: runs with the stack's interpreter, nothing to check.
    Script,
}

/// Reads the file's glibc needs; anything but an x86_64 ELF or a script is an error.
pub fn needs(path: &Path) -> Result<Needs, Error> {
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    needs_of(&data).map_err(|reason| Error::Missing {
        what: format!("{}: {reason}", path.display()),
        next_step: format!(
            "build it for Cloud Foundry's {STACK} (x86_64 Linux, glibc {STACK_GLIBC}): leave out \
             --prebuilt, or point it at such a build"
        ),
    })
}

pub fn needs_of(data: &[u8]) -> Result<Needs, String> {
    if data.starts_with(b"#!") {
        return Ok(Needs::Script);
    }
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| format!("not a 64-bit ELF executable ({e})"))?;
    let endian = file.endian();
    let machine = file.elf_header().e_machine(endian);
    if machine != EM_X86_64 {
        return Err(format!(
            "built for ELF machine {machine}, not x86_64 (EM_X86_64 = {EM_X86_64})"
        ));
    }
    let mut highest: Option<GlibcVersion> = None;
    let sections = file.elf_section_table();
    if let Some((mut verneeds, link)) = sections
        .gnu_verneed(endian, data)
        .map_err(|e| format!("unreadable version needs: {e}"))?
    {
        let strings = sections
            .strings(endian, data, link)
            .map_err(|e| format!("unreadable version strings: {e}"))?;
        while let Some((_, mut auxs)) = verneeds
            .next()
            .map_err(|e| format!("unreadable version need: {e}"))?
        {
            while let Some(aux) = auxs
                .next()
                .map_err(|e| format!("unreadable version need: {e}"))?
            {
                let name = aux
                    .name(endian, strings)
                    .map_err(|e| format!("unreadable version name: {e}"))?;
                if let Some(version) = parse_glibc(name) {
                    highest = highest.max(Some(version));
                }
            }
        }
    }
    Ok(highest.map_or(Needs::NoGlibc, Needs::Glibc))
}

/// `GLIBC_2.34` -> 2.34; `GLIBC_PRIVATE` and other libraries' versions -> None.
fn parse_glibc(name: &[u8]) -> Option<GlibcVersion> {
    let rest = std::str::from_utf8(name).ok()?.strip_prefix("GLIBC_")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some(GlibcVersion(major, minor))
}

/// Checks `dir/<app>` for each app and prints what each needs; refuses a binary that needs a newer
/// glibc than the stack's. In a dry run a binary that is not built yet is only announced.
pub fn check_for_cf(dir: &Path, apps: &[&str], dry_run: bool) -> Result<(), Error> {
    for app in apps {
        let path = dir.join(app);
        if dry_run && !path.is_file() {
            println!(
                "(would check that {} needs at most glibc {STACK_GLIBC}, {STACK}'s, once built)",
                path.display()
            );
            continue;
        }
        match needs(&path)? {
            Needs::Glibc(version) if version > STACK_GLIBC => {
                return Err(Error::Missing {
                    what: format!(
                        "{} needs GLIBC_{version}, but Cloud Foundry's {STACK} has glibc \
                         {STACK_GLIBC}: it would fail to start there with \"GLIBC_{version} not found\"",
                        path.display()
                    ),
                    next_step: format!(
                        "build with cargo-zigbuild for glibc {STACK_GLIBC} (leave out \
                         --allow-host-glibc and --prebuilt), or on Ubuntu 22.04"
                    ),
                });
            }
            Needs::Glibc(version) => println!(
                "{app}: needs glibc {version} (GLIBC_{version}); {STACK} has {STACK_GLIBC}: ok"
            ),
            Needs::NoGlibc => println!("{app}: static, needs no glibc: ok"),
            Needs::Script => println!("{app}: a script, no glibc needs to check"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_names_parse_and_order() {
        assert_eq!(parse_glibc(b"GLIBC_2.34"), Some(GlibcVersion(2, 34)));
        assert_eq!(parse_glibc(b"GLIBC_2.2.5"), Some(GlibcVersion(2, 2)));
        assert_eq!(parse_glibc(b"GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc(b"GCC_3.0"), None);
        assert!(GlibcVersion(2, 36) > STACK_GLIBC);
        assert!(GlibcVersion(2, 4) < STACK_GLIBC);
    }

    #[test]
    fn what_is_not_an_elf_or_a_script_is_refused() {
        assert!(needs_of(b"hello").unwrap_err().contains("not a 64-bit ELF"));
        assert_eq!(needs_of(b"#!/bin/sh\necho").unwrap(), Needs::Script);
    }
}
