//! A trial open that never writes the file: every database is checked this
//! way before harmy opens it for real, so a damaged file is refused and left
//! exactly as it was found.
//!
//! redb's own open writes (a clean file's header on every open; a repair
//! after a crash), and a plain open of a damaged file may panic or "repair"
//! it further. The trial runs redb's full integrity check (every page's
//! checksum, the allocator state rebuilt, a repair when the last session
//! crashed) over [`Overlay`]: reads come from the file, writes stay in
//! memory. If the trial succeeds, the real open does what the trial did (a
//! crash's repair included); if it fails or panics, the file is damaged.
//!
//! The overlay takes the file's locks through redb's own file backend, so a
//! trial of a database another process has open fails as the real open
//! would (locked), instead of reading a file being written.
//!
//! The same overlay serves reads when the storage fails under a running
//! server and the file cannot be opened for writing again (a file system
//! gone read-only): [`read_only`] opens the last durable state that way.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use redb::backends::FileBackend;
use redb::{BackendError, Database, DatabaseError, StorageBackend};

/// The unit the overlay keeps written bytes in (redb's page size).
const PAGE: u64 = 4096;

/// The file below, with the writes made to it kept in memory.
#[derive(Debug)]
pub(crate) struct Overlay {
    file: FileBackend,
    written: Mutex<Written>,
    /// Whether the file's locks are taken (not when only reads are served from it).
    locks: bool,
}

#[derive(Debug)]
struct Written {
    /// Page index → its bytes as written.
    pages: HashMap<u64, Box<[u8]>>,
    /// The length set by the database, once it set one.
    len: Option<u64>,
    /// The shortest length ever set: the file's bytes from there on read as
    /// zeros (a shrink cut them off, and growth does not bring them back).
    cut: u64,
}

impl Overlay {
    /// The file, opened by the caller (read and write, so that its locks can be taken).
    pub(crate) fn new(file: File) -> Result<Overlay, DatabaseError> {
        let written = Written { pages: HashMap::new(), len: None, cut: u64::MAX };
        Ok(Overlay { file: FileBackend::new(file)?, written: Mutex::new(written), locks: true })
    }

    /// The file (opened read-only is enough), without taking its locks.
    fn unlocked(file: File) -> Result<Overlay, DatabaseError> {
        Ok(Overlay { locks: false, ..Overlay::new(file)? })
    }

    /// The file's locks, or redb's word for "this backend has none".
    fn locked<T>(&self, lock: impl FnOnce(&FileBackend) -> Result<T, BackendError>) -> Result<T, BackendError> {
        if self.locks { lock(&self.file) } else { Err(BackendError::Unsupported) }
    }

    fn written(&self) -> std::sync::MutexGuard<'_, Written> {
        self.written.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One page as the database would read it now: written, else the file's, zeros past its end.
    fn page(&self, written: &Written, index: u64, file_len: u64) -> std::io::Result<Box<[u8]>> {
        if let Some(page) = written.pages.get(&index) {
            return Ok(page.clone());
        }
        let mut page = vec![0u8; PAGE as usize].into_boxed_slice();
        let (start, visible) = (index * PAGE, file_len.min(written.cut));
        if start < visible {
            let end = (start + PAGE).min(visible);
            self.file.read(start, &mut page[..(end - start) as usize])?;
        }
        Ok(page)
    }
}

impl StorageBackend for Overlay {
    fn len(&self) -> std::io::Result<u64> {
        match self.written().len {
            Some(len) => Ok(len),
            None => self.file.len(),
        }
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        let written = self.written();
        let file_len = self.file.len()?;
        let len = written.len.unwrap_or(file_len);
        let end = offset.checked_add(out.len() as u64).filter(|end| *end <= len);
        let Some(end) = end else {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "read past the end of the file"));
        };
        if written.pages.is_empty() && end <= file_len.min(written.cut) {
            return self.file.read(offset, out);
        }
        let mut done = 0usize;
        while done < out.len() {
            let at = offset + done as u64;
            let (index, within) = (at / PAGE, (at % PAGE) as usize);
            let n = (PAGE as usize - within).min(out.len() - done);
            let page = self.page(&written, index, file_len)?;
            out[done..done + n].copy_from_slice(&page[within..within + n]);
            done += n;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut written = self.written();
        written.pages.retain(|index, _| index * PAGE < len);
        if let Some(last) = written.pages.get_mut(&(len / PAGE)) {
            last[(len % PAGE) as usize..].fill(0);
        }
        written.cut = written.cut.min(len);
        written.len = Some(len);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut written = self.written();
        let file_len = self.file.len()?;
        let mut done = 0usize;
        while done < data.len() {
            let at = offset + done as u64;
            let (index, within) = (at / PAGE, (at % PAGE) as usize);
            let n = (PAGE as usize - within).min(data.len() - done);
            let mut page = self.page(&written, index, file_len)?;
            page[within..within + n].copy_from_slice(&data[done..done + n]);
            written.pages.insert(index, page);
            done += n;
        }
        let end = offset + data.len() as u64;
        let len = written.len.unwrap_or(file_len);
        if end > len {
            written.len = Some(end);
        }
        Ok(())
    }

    fn close(&self) -> std::io::Result<()> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.locked(|file| file.try_lock_range(start, end))
    }

    fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.locked(|file| file.try_lock_shared_range(start, end))
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.locked(|file| file.lock_range(start, end))
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.locked(|file| file.lock_shared_range(start, end))
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.locked(|file| file.unlock_range(start, end))
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.locked(|file| file.query_lock_range(start, end))
    }
}

/// What the trial found wrong.
#[derive(Debug)]
pub(crate) enum Trial {
    /// redb refused the file: another process has it, or it could not be read.
    Refused(DatabaseError),
    /// The file is damaged: what redb said (or that it panicked).
    Damaged(String),
}

/// Opens `file` (the database at `path`, opened read and write by the caller)
/// with redb's integrity check, writing nothing to it. Blocking: it reads the
/// whole file.
pub(crate) fn check(path: &Path, file: File) -> Result<(), Trial> {
    let overlay = Overlay::new(file).map_err(Trial::Refused)?;
    let opened = quietly(|| {
        let mut builder = Database::builder();
        builder.set_cache_size(super::CACHE_BYTES).set_check_integrity_on_open(true);
        builder.create_with_backend(overlay).map(drop)
    });
    match opened {
        Ok(Ok(())) => Ok(()),
        Ok(Err(DatabaseError::Storage(redb::StorageError::Corrupted(detail)))) => Err(Trial::Damaged(detail)),
        Ok(Err(DatabaseError::Storage(redb::StorageError::Io(e))))
            if matches!(e.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof) =>
        {
            Err(Trial::Damaged(e.to_string()))
        }
        Ok(Err(DatabaseError::UpgradeRequired(version))) => {
            Err(Trial::Damaged(format!("not a file format this harmy reads (redb format {version})")))
        }
        Ok(Err(other)) => Err(Trial::Refused(other)),
        Err(()) => Err(Trial::Damaged(format!("reading {} made the database library fail", path.display()))),
    }
}

/// The database at `path` as its last durable commit left it, for reads only:
/// its writes (a crash's repair) stay in memory. The caller must never commit
/// to it: what it writes is lost. Blocking.
pub(crate) fn read_only(path: &Path) -> Result<Database, DatabaseError> {
    let overlay = Overlay::unlocked(File::open(path)?)?;
    let mut builder = Database::builder();
    builder.set_cache_size(super::CACHE_BYTES);
    quietly(|| builder.create_with_backend(overlay))
        .unwrap_or_else(|()| Err(DatabaseError::Storage(redb::StorageError::Corrupted("redb panicked".into()))))
}

/// Runs `f`, turning a panic into `Err(())` without the panic message a user
/// would take for a crash: redb may panic on a file altered behind its back.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, ()> {
    static HOOK: Mutex<()> = Mutex::new(());
    let _one_at_a_time = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    result.map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlay_over(bytes: &[u8]) -> (tempfile::NamedTempFile, Overlay) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        let handle = std::fs::OpenOptions::new().read(true).write(true).open(file.path()).unwrap();
        (file, Overlay::new(handle).unwrap())
    }

    fn read(overlay: &Overlay, offset: u64, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        overlay.read(offset, &mut out).unwrap();
        out
    }

    #[test]
    fn writes_stay_in_memory_and_reads_see_them() {
        let original: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let (file, overlay) = overlay_over(&original);
        overlay.write(4090, &[0xAA; 20]).unwrap();
        assert_eq!(read(&overlay, 4088, 24)[2..22], [0xAA; 20]);
        assert_eq!(read(&overlay, 4088, 2), original[4088..4090]);
        assert_eq!(read(&overlay, 0, 100), original[..100]);
        overlay.write(9_990, &[1; 30]).unwrap();
        assert_eq!(overlay.len().unwrap(), 10_020, "a write past the end grows it");
        assert!(overlay.read(10_010, &mut [0u8; 20]).is_err(), "reads stop at the end");
        assert_eq!(std::fs::read(file.path()).unwrap(), original, "the file is as it was");
    }

    #[test]
    fn a_shrink_then_growth_reads_zeros_not_the_files_old_bytes() {
        let original = vec![7u8; 3 * PAGE as usize];
        let (file, overlay) = overlay_over(&original);
        overlay.set_len(PAGE + 10).unwrap();
        assert!(overlay.read(PAGE + 5, &mut [0u8; 10]).is_err());
        overlay.set_len(3 * PAGE).unwrap();
        assert_eq!(read(&overlay, PAGE, 10), vec![7u8; 10]);
        assert_eq!(read(&overlay, PAGE + 10, 10), vec![0u8; 10]);
        assert_eq!(read(&overlay, 2 * PAGE, 10), vec![0u8; 10]);
        assert_eq!(std::fs::read(file.path()).unwrap(), original);
    }

    #[test]
    fn a_database_passes_the_trial_without_its_file_changing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        drop(Database::create(&path).unwrap());
        let before = std::fs::read(&path).unwrap();
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        check(&path, file).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
