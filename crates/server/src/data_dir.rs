//! The data directory holds the wallet's secrets: its signing key, the cashier secret, the key
//! that seals store secrets and (with SQLite) the database. It is made private explicitly — the
//! directory 0700, every file 0600, whatever the umask — and a directory or file found more open
//! at start is tightened, with a log line that says so.

use anyhow::Context as _;
use std::path::Path;

/// The mode of the data directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in it.
pub const FILE_MODE: u32 = 0o600;
/// The most directory entries looked at when tightening (the directory holds a handful).
const MAX_ENTRIES: usize = 10_000;

/// Creates `dir` (mode 0700) if it is missing, and tightens it and its files.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(DIR_MODE);
        }
        builder
            .create(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
    }
    tighten(dir)?;
    Ok(())
}

/// Sets the directory to 0700 and each file in it to 0600 where they are more open; returns
/// how many were changed.
pub fn tighten(dir: &Path) -> anyhow::Result<usize> {
    let mut changed = usize::from(restrict(dir, DIR_MODE)?);
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries.take(MAX_ENTRIES) {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            changed += usize::from(restrict(&entry.path(), FILE_MODE)?);
        }
    }
    Ok(changed)
}

/// Sets `path` to `mode` if it grants anything to group or others. True if it was changed.
pub fn restrict(path: &Path, mode: u32) -> anyhow::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let was = meta.permissions().mode() & 0o777;
        if was & 0o077 == 0 {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("restricting {}", path.display()))?;
        tracing::warn!(
            path = %path.display(),
            was = %format!("{was:o}"),
            now = %format!("{mode:o}"),
            "data directory entry was open to other users; restricted it"
        );
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(false)
    }
}

/// Creates `path` empty with mode 0600 if it does not exist (so that SQLite, which gives its
/// `-wal` and `-shm` files the database file's mode, never makes them readable by others).
pub fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(FILE_MODE);
    }
    opts.open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(())
}
