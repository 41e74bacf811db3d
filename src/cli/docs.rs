//! `offboard-host docs [--out DIR]`: write the script reference and the editor definitions.

use super::args::DocsArgs;
use super::out::outln;
use crate::error::{Error, Result};

pub(super) fn cmd_docs(a: DocsArgs) -> Result<u8> {
    let written =
        crate::authoring::docs::write(&a.out).map_err(|e| Error::io(format!("writing the reference to {}", a.out.display()), e))?;
    outln!("wrote {} files to {} (definitions in {})", written.len(), a.out.display(), a.out.join("definitions").display());
    Ok(0)
}
