//! A guest's `write` and `writev`: stdout and stderr straight onto WASI's output streams.
//!
//! Rust's `std` prints (`println!`, `eprintln!`, a panic's message) through wasi-libc's `write` and
//! `writev`. wasi-libc's own versions go through its descriptor table, whose set-up and blocking
//! logic import seventeen WASI functions (the three standard streams, the three terminal queries,
//! `poll`, four stream methods and six resource destructors) into every guest, printing or not, and
//! the host gives each of them a trampoline and a function reference in every fresh instance.
//! Without them, `examples/hello`'s in-process request took 0.66 µs less (11.03 to 10.37 µs,
//! `bench/analysis.md`, item 14).
//!
//! A guest of wasgi has no file descriptors but stdout and stderr: the host grants no files or
//! sockets, and an empty stdin. So the SDK defines `write` and `writev` itself, and the linker
//! takes these instead of wasi-libc's (a static archive's member is linked only to define a symbol
//! that is still missing). They write to the same `wasi:cli/stdout` and `wasi:cli/stderr` streams
//! wasi-libc would, through the `wasip2` crate, with five imports (twelve fewer); any other
//! descriptor fails with `EBADF`, as wasi-libc's would with no such descriptor open.
//!
//! Compiled only for `wasm32-wasip2`; `tests/guest_output.rs` checks that what a guest prints
//! reaches the host's log.

use std::cell::OnceCell;
use std::thread::LocalKey;

use wasip2::cli::{stderr, stdout};
use wasip2::io::streams::{OutputStream, StreamError};

/// wasi-libc's `errno` values (its `errno.h`) for the failures `write` reports.
const EBADF: i32 = 8;
const EINVAL: i32 = 28;
const EIO: i32 = 29;
const EPIPE: i32 = 64;

/// `wasi:io/streams` takes at most this many bytes per `blocking-write-and-flush`.
const MAX_WRITE: usize = 4096;

unsafe extern "C" {
    /// wasi-libc's `errno`, where `std::io::Error::last_os_error` reads it.
    fn __errno_location() -> *mut i32;
}

thread_local! {
    /// The instance's stdout and stderr, each taken from the host on its first write and kept
    /// for the instance's life, as wasi-libc keeps them: the host ends a partial line when its
    /// stream is dropped, so a stream per write would cut `eprintln!`'s pieces into lines.
    static STDOUT: OnceCell<OutputStream> = const { OnceCell::new() };
    static STDERR: OnceCell<OutputStream> = const { OnceCell::new() };
}

/// A standard stream: the cell the instance keeps it in, and how to get it from the host.
type StdStream = (
    &'static LocalKey<OnceCell<OutputStream>>,
    fn() -> OutputStream,
);

/// The instance's stream behind descriptor `fd`, if `fd` is one: 1 is stdout, 2 is stderr, and
/// there are no others.
fn std_stream(fd: i32) -> Option<StdStream> {
    match fd {
        1 => Some((&STDOUT, stdout::get_stdout)),
        2 => Some((&STDERR, stderr::get_stderr)),
        _ => None,
    }
}

/// Writes `bytes` to descriptor `fd`: how many of them went out, all of them unless the stream
/// failed part way, or the `errno` of a failure before the first byte.
fn write_some(fd: i32, bytes: &[u8]) -> Result<usize, i32> {
    let (cell, open) = std_stream(fd).ok_or(EBADF)?;
    if bytes.is_empty() {
        return Ok(0);
    }
    cell.with(|cell| {
        let stream = cell.get_or_init(open);
        let mut written = 0;
        for chunk in bytes.chunks(MAX_WRITE) {
            if let Err(error) = stream.blocking_write_and_flush(chunk) {
                // What went out stays out, as POSIX has it: a short count, and the next call
                // meets the error.
                if written > 0 {
                    return Ok(written);
                }
                return Err(match error {
                    StreamError::Closed => EPIPE,
                    StreamError::LastOperationFailed(_) => EIO,
                });
            }
            written += chunk.len();
        }
        Ok(written)
    })
}

/// C's way of saying `outcome`: the byte count, or -1 with `errno` set.
fn c_result(outcome: Result<usize, i32>) -> isize {
    match outcome {
        // At most `isize::MAX`: `write` and `writev` never take on more.
        Ok(written) => written as isize,
        Err(errno) => {
            // SAFETY: wasi-libc's `__errno_location` returns a valid pointer to its `errno`.
            unsafe { *__errno_location() = errno };
            -1
        }
    }
}

/// The `len` bytes at `ptr`, as C passes a buffer (any pointer, null included, when `len` is 0).
///
/// # Safety
///
/// When `len` is not 0, `ptr` points to `len` readable bytes that outlive `'a`.
unsafe fn c_bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    match len {
        0 => &[],
        // SAFETY: the caller's contract.
        _ => unsafe { std::slice::from_raw_parts(ptr, len) },
    }
}

/// POSIX `write`: `buf[..len]` to stdout or stderr; more than `isize::MAX` bytes are a
/// short write.
///
/// # Safety
///
/// `buf` points to `len` readable bytes (C's contract for `write`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: i32, buf: *const u8, len: usize) -> isize {
    // SAFETY: the caller's contract, for a prefix of the buffer.
    let bytes = unsafe { c_bytes(buf, len.min(isize::MAX as usize)) };
    c_result(write_some(fd, bytes))
}

/// One buffer of a `writev`, laid out as C's `struct iovec`.
#[repr(C)]
pub struct IoVec {
    base: *const u8,
    len: usize,
}

/// The most buffers one `writev` takes (wasi-libc's `IOV_MAX`).
const IOV_MAX: usize = 1024;

/// POSIX `writev`: the `count` buffers of `iov`, in order, to stdout or stderr. A count below
/// zero or above `IOV_MAX`, or buffers longer in all than `isize::MAX`, fail with `EINVAL`, as
/// wasi-libc's do.
///
/// # Safety
///
/// `iov` points to `count` `iovec`s, each pointing to its readable bytes (C's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: i32, iov: *const IoVec, count: i32) -> isize {
    if std_stream(fd).is_none() {
        return c_result(Err(EBADF));
    }
    let buffers = match usize::try_from(count) {
        Ok(0) => &[][..],
        // SAFETY: the caller's contract.
        Ok(count) if count <= IOV_MAX => unsafe { std::slice::from_raw_parts(iov, count) },
        _ => return c_result(Err(EINVAL)),
    };
    let total = buffers
        .iter()
        .try_fold(0usize, |total, buffer| total.checked_add(buffer.len));
    if total.is_none_or(|total| total > isize::MAX as usize) {
        return c_result(Err(EINVAL));
    }
    let mut written = 0;
    for buffer in buffers {
        // SAFETY: the caller's contract, for this buffer.
        let bytes = unsafe { c_bytes(buffer.base, buffer.len) };
        match write_some(fd, bytes) {
            Ok(n) if n == bytes.len() => written += n,
            // A short write ends the call, with what went out counted.
            Ok(n) => return c_result(Ok(written + n)),
            Err(_) if written > 0 => break,
            Err(errno) => return c_result(Err(errno)),
        }
    }
    c_result(Ok(written))
}
