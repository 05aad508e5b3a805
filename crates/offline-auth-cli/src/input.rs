//! Reading every input (files or stdin) with its size limit applied while
//! reading, and private files only when their owner alone can read them.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroizing;

use crate::Failure;

/// The path that means "read standard input".
pub(crate) const STDIN: &str = "-";

/// Set once standard input has been read: it can feed one input only.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// One input to read.
pub(crate) struct Input<'a> {
    /// The file, or `-` for standard input.
    pub(crate) path: &'a Path,
    /// What it is, for messages ("batch", "JWKS", "private key file").
    pub(crate) what: &'static str,
    /// Most bytes accepted; one more and the input is refused.
    pub(crate) limit: usize,
    /// Exit code for an input over the limit (a batch is rejected; a
    /// malformed file is an input error).
    pub(crate) oversize_code: u8,
    /// A secret: on Unix the file must not be accessible by group or others,
    /// and the bytes are wiped when dropped.
    pub(crate) private: bool,
}

impl Input<'_> {
    /// The name to show in messages: the path, or `stdin`.
    pub(crate) fn name(&self) -> String {
        if self.is_stdin() {
            "stdin".to_owned()
        } else {
            self.path.display().to_string()
        }
    }

    fn is_stdin(&self) -> bool {
        self.path.as_os_str() == STDIN
    }

    /// Reads the input, never more than `limit + 1` bytes.
    pub(crate) fn read(&self) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let name = self.name();
        let io = |e: std::io::Error| Failure::io(format!("{name}: {e}"));
        let cap = self.limit.checked_add(1).ok_or_else(|| Failure::io(format!("{name}: size limit out of range")))?;
        // A private input gets its whole buffer up front, so it is never
        // reallocated (which would leave a copy of the secret behind).
        let mut bytes = Zeroizing::new(if self.private { Vec::with_capacity(cap) } else { Vec::new() });
        let cap = u64::try_from(cap).map_err(|_| Failure::io(format!("{name}: size limit out of range")))?;
        if self.is_stdin() {
            if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
                return Err(Failure::usage("only one input can be read from stdin (-)"));
            }
            std::io::stdin().lock().take(cap).read_to_end(&mut bytes).map_err(io)?;
        } else {
            let file = std::fs::File::open(self.path).map_err(io)?;
            if self.private {
                check_owner_only(&file, &name, self.what)?;
            }
            file.take(cap).read_to_end(&mut bytes).map_err(io)?;
        }
        if bytes.len() > self.limit {
            return Err(Failure::new(
                self.oversize_code,
                format!("{name}: the {} is larger than {} bytes", self.what, self.limit),
            ));
        }
        Ok(bytes)
    }
}

/// Refuses a secret file that group or others could read or replace.
#[cfg(unix)]
fn check_owner_only(file: &std::fs::File, name: &str, what: &str) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = file.metadata().map_err(|e| Failure::io(format!("{name}: {e}")))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Failure::io(format!(
            "{name}: the {what} is accessible by group or others (mode {:04o}); run `chmod 600 {name}`",
            mode & 0o7777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_file: &std::fs::File, _name: &str, _what: &str) -> Result<(), Failure> {
    Ok(())
}
