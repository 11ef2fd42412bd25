//! The file a command reads, settled once before it is read: standard input (`-`) copied
//! aside (a file is read more than once), its format, its encoding (a file that is not UTF-8
//! is read as Windows-1252, and a note says so), and the flags that fill fields checked.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::Context as _;

use crate::args::InputArgs;
use crate::exit::usage;
use crate::input::{self, Encoding, Format};
use crate::kind::FileKind;

/// Settles `args` for reading a file of `K`; every error is a usage error.
pub fn prepare<K: FileKind>(args: &mut InputArgs) -> anyhow::Result<()> {
    check_defaults::<K>(args).map_err(usage)?;
    if args.file == Path::new("-") {
        let copy = copy_stdin().map_err(usage)?;
        if args.format.is_none() {
            let mut start = Vec::new();
            std::fs::File::open(&copy)?
                .take(4096)
                .read_to_end(&mut start)?;
            args.format = Some(input::sniff_format(&start));
        }
        args.stdin_copy = Some(copy);
    }
    let format = args.format.or_else(|| Format::from_path(&args.file));
    if !args.columns.is_empty() && format.is_some_and(|f| f != Format::Csv) {
        return Err(usage(anyhow::anyhow!(
            "--column renames CSV columns; a JSON row's keys are the API's field names"
        )));
    }
    // A file that cannot be read is reported when it is opened, as every other.
    if args.encoding.is_none()
        && let Ok(utf8) = input::is_utf8(args.path_to_read())
    {
        if !utf8 && is_utf16(args.path_to_read()) {
            return Err(usage(anyhow::anyhow!(
                "{} is UTF-16 (Excel's \"Unicode text\"); save it as \"CSV UTF-8\" or \"CSV \
                 (semikolonseparert)\"",
                args.file.display()
            )));
        }
        args.encoding = Some(if utf8 {
            Encoding::Utf8
        } else {
            eprintln!(
                "note: {} is not UTF-8; reading it as {} (as Excel saves \"CSV \
                 (semikolonseparert)\"); pass --encoding to say otherwise",
                args.file.display(),
                Encoding::Windows1252
            );
            Encoding::Windows1252
        });
    }
    Ok(())
}

/// `--type` is for payments; `--currency` must be a currency.
fn check_defaults<K: FileKind>(args: &InputArgs) -> anyhow::Result<()> {
    if args.payment_type.is_some() && !K::FIELDS.contains(&"type") {
        anyhow::bail!("--type: {} have no type", K::PLURAL);
    }
    if let Some(code) = &args.currency {
        amili_payments::Currency::iso(&code.trim().to_ascii_uppercase())
            .map_err(|e| anyhow::anyhow!("--currency: {e}"))?;
    }
    Ok(())
}

/// Standard input, copied to a temporary file.
fn copy_stdin() -> anyhow::Result<tempfile::TempPath> {
    let mut file = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .context("cannot copy standard input to a temporary file")?;
    file.flush()?;
    Ok(file.into_temp_path())
}

/// Whether the file starts with a UTF-16 byte-order mark.
fn is_utf16(path: &Path) -> bool {
    let mut start = [0; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut start))
        .is_ok_and(|()| start == [0xFF, 0xFE] || start == [0xFE, 0xFF])
}
