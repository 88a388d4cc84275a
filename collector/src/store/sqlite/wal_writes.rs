//! The writer's WAL writes, gathered: a VFS over SQLite's own ("unix") that
//! keeps each commit's frames in memory and writes them in a few large
//! calls before the commit's sync, instead of two `pwrite`s per page (a
//! frame header, then the page): about a hundred and fifty system calls
//! per group at 16 clients, which the writer thread spends and every
//! request of the group waits for (README Benchmarks).
//!
//! What reaches the disk, and when it is synced, does not change: SQLite
//! writes a commit's frames, syncs the WAL, and only then makes them
//! visible in the WAL index. The buffer is written out before every sync,
//! read, size, truncation, file control and close of the WAL file, and
//! whenever the next write is not where the last one ended, so the file
//! reads exactly as if each write had gone straight to it; a failed write
//! is reported by the call that wrote it out, and a failed commit is rolled
//! back as before. Only the WAL is gathered; the database file, its
//! shared-memory index and locks are the base VFS's own files.
//!
//! Only the writer's connection opens the database through this VFS
//! ([`NAME`]); readers and the checkpoint thread use the default one.

use rusqlite::ffi;
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// The VFS's name, for `Connection::open_with_flags_and_vfs`.
pub const NAME: &CStr = c"sessionmark-gathered-wal";

/// Gathered bytes past this are written out at once, so a group of very
/// large requests holds a bounded buffer.
const MOST_BUFFERED: usize = 4 << 20;

/// The most one call to the base file writes: the unix VFS takes at most
/// 128 KiB - 1 bytes a call (it masks the length to 17 bits), so the
/// buffer goes out in pieces of 31 pages (three or four calls for a group
/// of 16 clients' batches).
const MOST_PER_WRITE: usize = 31 * 4096;

/// Registers the VFS (once per process); the error says why it could not.
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED.get_or_init(register_now).clone()
}

/// The base VFS, kept for `open` (SQLite never unregisters its own).
static BASE: OnceLock<BaseVfs> = OnceLock::new();

struct BaseVfs(*mut ffi::sqlite3_vfs);
// SAFETY: the pointer is to SQLite's static, never-freed "unix" VFS, whose
// methods are safe to call from any thread.
unsafe impl Send for BaseVfs {}
// SAFETY: as above; it is only read.
unsafe impl Sync for BaseVfs {}

fn register_now() -> Result<(), String> {
    // SAFETY: sqlite3_vfs_find with NULL returns the default VFS (or NULL);
    // SQLite initialises itself on the call.
    let base = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
    if base.is_null() {
        return Err("SQLite has no default VFS".into());
    }
    let base = BASE.get_or_init(|| BaseVfs(base)).0;
    // SAFETY: base is a valid VFS; copying it keeps every method and the
    // base's own settings (pAppData, mxPathname), which those methods read
    // from whichever of the two structs they are called with. Only the
    // file size and `open` change. The copy is leaked: SQLite keeps a
    // pointer to a registered VFS for the rest of the process.
    unsafe {
        let mut vfs: ffi::sqlite3_vfs = *base;
        vfs.szOsFile = c_int::try_from(REAL_FILE_AT)
            .ok()
            .and_then(|at| at.checked_add((*base).szOsFile))
            .ok_or("the base VFS's file is too large")?;
        vfs.zName = NAME.as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(open);
        let vfs = Box::into_raw(Box::new(vfs));
        match ffi::sqlite3_vfs_register(vfs, 0) {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(format!("sqlite3_vfs_register failed ({rc})")),
        }
    }
}

/// A WAL file: SQLite's handle, then the gathered writes, then the base
/// VFS's own file (at [`REAL_FILE_AT`]), which does the writing.
#[repr(C)]
struct WalFile {
    handle: ffi::sqlite3_file,
    buffer: *mut Buffer,
}

/// Where the base VFS's file starts inside ours (aligned for it).
const REAL_FILE_AT: usize = std::mem::size_of::<WalFile>().next_multiple_of(16);

/// Bytes written but not yet written out, and where they go.
#[derive(Default)]
struct Buffer {
    offset: i64,
    bytes: Vec<u8>,
}

/// The base VFS's file inside ours.
///
/// # Safety
/// `file` must be a `WalFile` this VFS opened (szOsFile bytes).
unsafe fn real(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    unsafe { file.cast::<u8>().add(REAL_FILE_AT).cast() }
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(base) = BASE.get().map(|b| b.0) else {
        return ffi::SQLITE_ERROR;
    };
    // SAFETY: SQLite hands us a file of our szOsFile bytes and valid
    // arguments; the base's open is called with the base VFS itself.
    unsafe {
        let Some(base_open) = (*base).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            // Any other file is the base VFS's own, in our (larger) space.
            return base_open(base, name, file, flags, out_flags);
        }
        let real = real(file);
        let rc = base_open(base, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            // SQLite closes only a file whose methods are set: ours are
            // not, so a half-opened base file is closed here.
            if let Some(close) = (*real).pMethods.as_ref().and_then(|m| m.xClose) {
                close(real);
            }
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        let wal = file.cast::<WalFile>();
        (*wal).buffer = Box::into_raw(Box::default());
        (*file).pMethods = &WAL_METHODS;
        ffi::SQLITE_OK
    }
}

/// Writes out what is gathered; the base file's answer.
///
/// # Safety
/// `file` must be an open `WalFile`.
unsafe fn write_out(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let buffer = &mut *(*file.cast::<WalFile>()).buffer;
        let real = real(file);
        let Some(write) = (*(*real).pMethods).xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let mut rc = ffi::SQLITE_OK;
        let mut offset = buffer.offset;
        for chunk in buffer.bytes.chunks(MOST_PER_WRITE) {
            // Both fit: a chunk is at most MOST_PER_WRITE bytes.
            let (len, step) = (chunk.len() as c_int, chunk.len() as i64);
            rc = write(real, chunk.as_ptr().cast(), len, offset);
            if rc != ffi::SQLITE_OK {
                break;
            }
            offset += step;
        }
        // Written or failed, the bytes are done with: a failed commit is
        // rolled back and its frames are never read.
        buffer.bytes.clear();
        rc
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    len: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes its open WalFile and `len` readable bytes.
    unsafe {
        let Ok(count) = usize::try_from(len) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let buffer = &mut *(*file.cast::<WalFile>()).buffer;
        let end = i64::try_from(buffer.bytes.len())
            .ok()
            .and_then(|n| buffer.offset.checked_add(n));
        if !buffer.bytes.is_empty() && end != Some(offset) {
            let rc = write_out(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let buffer = &mut *(*file.cast::<WalFile>()).buffer;
        if buffer.bytes.is_empty() {
            buffer.offset = offset;
        }
        buffer
            .bytes
            .extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), count));
        if buffer.bytes.len() >= MOST_BUFFERED {
            return write_out(file);
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes each open file once; the buffer is freed here.
    unsafe {
        let written = write_out(file);
        let wal = file.cast::<WalFile>();
        drop(Box::from_raw((*wal).buffer));
        (*wal).buffer = std::ptr::null_mut();
        let real = real(file);
        let closed = match (*(*real).pMethods).xClose {
            Some(close) => close(real),
            None => ffi::SQLITE_OK,
        };
        if written != ffi::SQLITE_OK {
            written
        } else {
            closed
        }
    }
}

/// Defines a method that writes out the gathered bytes, then hands the call
/// to the base file.
macro_rules! after_writing_out {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite passes its open WalFile and valid arguments.
            unsafe {
                let rc = write_out(file);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                let real = real(file);
                match (*(*real).pMethods).$method {
                    Some(method) => method(real $(, $arg)*),
                    None => ffi::SQLITE_ERROR,
                }
            }
        }
    };
}

/// Defines a method that only hands the call to the base file.
macro_rules! passed_on {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*), $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite passes its open WalFile and valid arguments.
            unsafe {
                let real = real(file);
                match (*(*real).pMethods).$method {
                    Some(method) => method(real $(, $arg)*),
                    None => $missing,
                }
            }
        }
    };
}

after_writing_out!(read, xRead, (data: *mut c_void, len: c_int, offset: i64));
after_writing_out!(truncate, xTruncate, (size: i64));
after_writing_out!(sync, xSync, (flags: c_int));
after_writing_out!(file_size, xFileSize, (size: *mut i64));
after_writing_out!(file_control, xFileControl, (op: c_int, arg: *mut c_void));
passed_on!(lock, xLock, (level: c_int), ffi::SQLITE_OK);
passed_on!(unlock, xUnlock, (level: c_int), ffi::SQLITE_OK);
passed_on!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int), ffi::SQLITE_OK);
passed_on!(sector_size, xSectorSize, (), 4096);
passed_on!(device_characteristics, xDeviceCharacteristics, (), 0);

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};
    use std::path::PathBuf;

    /// A folder of its own, removed at the end of the test.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "sessionmark-wal-writes-{}-{test}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn open(path: &std::path::Path) -> Connection {
        register().unwrap();
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn
    }

    /// A database in `dir` with a table `t (v, s)`, and its writer.
    fn table(dir: &Scratch) -> (PathBuf, Connection) {
        let path = dir.0.join("t.db");
        let writer = open(&path);
        writer
            .execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY, s TEXT)")
            .unwrap();
        (path, writer)
    }

    fn assert_intact(conn: &Connection) {
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn what_a_commit_wrote_is_read_by_other_connections_and_after_reopening() {
        let dir = Scratch::new("reads");
        let (path, writer) = table(&dir);
        for group in 0..20 {
            let tx = writer.unchecked_transaction().unwrap();
            for i in 0..200 {
                tx.execute(
                    "INSERT INTO t (v, s) VALUES (?1, ?2)",
                    rusqlite::params![group * 200 + i, "x".repeat(300)],
                )
                .unwrap();
            }
            tx.commit().unwrap();
            // A reader on the default VFS sees every committed row.
            let reader = Connection::open(&path).unwrap();
            let n: i64 = reader
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, (group + 1) * 200);
        }
        drop(writer);
        let reopened = open(&path);
        let (n, sum): (i64, i64) = reopened
            .query_row("SELECT count(*), sum(length(s)) FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, sum), (4000, 4000 * 300));
        assert_intact(&reopened);
    }

    #[test]
    fn a_commit_larger_than_the_buffer_is_stored_whole() {
        let dir = Scratch::new("large");
        let (path, writer) = table(&dir);
        // 12 MiB in one transaction: three times the buffer, and pieces of
        // every length around the base VFS's largest write.
        let tx = writer.unchecked_transaction().unwrap();
        for v in 0..1536 {
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                rusqlite::params![v, "z".repeat(8192 - 64 + v as usize % 128)],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let reader = Connection::open(&path).unwrap();
        let n: i64 = reader
            .query_row("SELECT count(*) FROM t WHERE s GLOB 'z*'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1536);
        assert_intact(&reader);
    }

    #[test]
    fn a_rolled_back_transaction_leaves_nothing_behind() {
        let dir = Scratch::new("rollback");
        let (path, writer) = table(&dir);
        writer.execute("INSERT INTO t VALUES (1, '')", []).unwrap();
        // A cache of a few pages: the transaction spills pages into the WAL
        // before it ends.
        writer.pragma_update(None, "cache_size", 5).unwrap();
        let tx = writer.unchecked_transaction().unwrap();
        for v in 2..3000 {
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                rusqlite::params![v, "y".repeat(300)],
            )
            .unwrap();
        }
        tx.rollback().unwrap();
        writer.execute("INSERT INTO t VALUES (2, '')", []).unwrap();
        let reader = Connection::open(&path).unwrap();
        let rows: Vec<i64> = reader
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [1, 2]);
    }
}
