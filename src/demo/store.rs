//! The state file: one JSON document, replaced atomically (temp file in the same directory, then
//! rename) so a reader in another process never sees half a tenant.

use std::io::Write;
use std::path::Path;

use super::model::State;

/// Load a state file as is; a missing field (an older run's file) takes its default.
pub fn load(path: &Path) -> std::io::Result<State> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

pub fn save(path: &Path, state: &State) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    save_bytes(path, &bytes)
}

/// Write already-serialised state, so callers can serialise under their lock and write outside it.
pub fn save_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "state.json".into());
    // The pid keeps two processes sharing a state file from clobbering each other's temp file.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // No fsync: the rename already makes the swap atomic for readers and for a crash of this
    // process, which is what tests simulate; surviving a power cut is not the simulator's job,
    // and an fsync per write would dominate the benchmarks.
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
    }
    std::fs::rename(&tmp, path)
}
