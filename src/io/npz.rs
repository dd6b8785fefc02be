//! NumPy's `.npz` archives (`np.savez`, `np.savez_compressed`, `np.load`): a zip file of
//! `.npy` members, read and written with the `zip` crate (stored or deflated, as NumPy
//! writes them), each member through `cranax::io`'s `.npy` reader and writer.

use super::{io_err, read_npy, write_npy};
use crate::array::Array;
use crate::core::error::{Error, Result};
use std::io::{Cursor, Read, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

fn zip_err(e: impl std::fmt::Display) -> Error {
    Error::value_err(format!("not a valid .npz file: {e}"))
}

/// Read every array of a `.npz` file, in the archive's order, named as `np.load` names them
/// (the member name without `.npy`).
///
/// # Errors
/// If the file cannot be read, is not a zip archive, or a member is not a `.npy` array of a
/// dtype cranax has (see [`read_npy`]).
pub fn load_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Array)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    read_npz(&bytes).map_err(|e| io_err(path, e))
}

/// Read the arrays from the bytes of a `.npz` file (as [`load_npz`]).
///
/// # Errors
/// As [`load_npz`].
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, Array)>> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(zip_err)?;
        let name = member.name().map_err(zip_err)?.to_string();
        let mut npy = Vec::new();
        member.read_to_end(&mut npy).map_err(zip_err)?;
        let array = read_npy(&npy).map_err(|e| Error::value_err(format!("{name}: {e}")))?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        out.push((key, array));
    }
    Ok(out)
}

/// Write arrays to a `.npz` file as `np.savez` does (members `name.npy`, stored); `np.load`
/// reads it back.
///
/// # Errors
/// Two arrays of one name, a tracer, or a file that cannot be written.
pub fn save_npz(path: impl AsRef<Path>, arrays: &[(&str, &Array)]) -> Result<()> {
    let path = path.as_ref();
    let bytes = write_npz(arrays, false)?;
    std::fs::write(path, bytes).map_err(|e| io_err(path, e))
}

/// As [`save_npz`], deflate-compressed (`np.savez_compressed`).
///
/// # Errors
/// As [`save_npz`].
pub fn save_npz_compressed(path: impl AsRef<Path>, arrays: &[(&str, &Array)]) -> Result<()> {
    let path = path.as_ref();
    let bytes = write_npz(arrays, true)?;
    std::fs::write(path, bytes).map_err(|e| io_err(path, e))
}

/// The bytes of a `.npz` file holding `arrays` (deflated if `compressed`).
///
/// # Errors
/// Two arrays of one name, or a tracer.
pub fn write_npz(arrays: &[(&str, &Array)], compressed: bool) -> Result<Vec<u8>> {
    let method = if compressed {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    };
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(true);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let werr = |e: &dyn std::fmt::Display| Error::value_err(format!("writing .npz: {e}"));
    for (i, (name, x)) in arrays.iter().enumerate() {
        if arrays[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::value_err(format!(
                "save_npz: two arrays are named `{name}`"
            )));
        }
        let npy = write_npy(x)?;
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| werr(&e))?;
        zip.write_all(&npy).map_err(|e| werr(&e))?;
    }
    Ok(zip.finish().map_err(|e| werr(&e))?.into_inner())
}
