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
//! A guest of wasgi has no file descriptors but stdout and stderr: the host grants no files,
//! sockets or stdin. So the SDK defines `write` and `writev` itself, and the linker takes
//! these instead of wasi-libc's (a static archive's member is linked only to define a symbol
//! that is still missing). They write to the same `wasi:cli/stdout` and `wasi:cli/stderr`
//! streams wasi-libc would, through the `wasip2` crate, with five imports (twelve fewer); any
//! other descriptor fails with `EBADF`, as wasi-libc's would with no such descriptor open.
//!
//! Compiled only for `wasm32-wasip2`; `tests/guest_output.rs` checks that what a guest prints
//! reaches the host's log.

use std::cell::OnceCell;

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

/// Writes all of `bytes` to descriptor `fd` (1 is stdout, 2 is stderr, and there are no
/// others), or says which `errno` it failed with.
fn write_all(fd: i32, bytes: &[u8]) -> Result<(), i32> {
    let (cell, open): (_, fn() -> OutputStream) = match fd {
        1 => (&STDOUT, stdout::get_stdout),
        2 => (&STDERR, stderr::get_stderr),
        _ => return Err(EBADF),
    };
    cell.with(|cell| {
        let stream = cell.get_or_init(open);
        for chunk in bytes.chunks(MAX_WRITE) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|error| match error {
                    StreamError::Closed => EPIPE,
                    StreamError::LastOperationFailed(_) => EIO,
                })?;
        }
        Ok(())
    })
}

/// Turns [`write_all`]'s outcome into C's: the byte count, or -1 with `errno` set.
fn c_result(outcome: Result<(), i32>, len: usize) -> isize {
    match outcome {
        Ok(()) => len as isize,
        Err(errno) => {
            // SAFETY: wasi-libc's `__errno_location` returns a valid pointer to its `errno`.
            unsafe { *__errno_location() = errno };
            -1
        }
    }
}

/// POSIX `write`: all of `buf[..len]` to stdout or stderr.
///
/// # Safety
///
/// `buf` points to `len` readable bytes (C's contract for `write`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: i32, buf: *const u8, len: usize) -> isize {
    let bytes = match len {
        0 => &[][..],
        // SAFETY: the caller's contract.
        _ => unsafe { std::slice::from_raw_parts(buf, len) },
    };
    c_result(write_all(fd, bytes), len)
}

/// One buffer of a `writev`, laid out as C's `struct iovec`.
#[repr(C)]
pub struct IoVec {
    base: *const u8,
    len: usize,
}

/// POSIX `writev`: the `count` buffers of `iov`, in order, to stdout or stderr.
///
/// # Safety
///
/// `iov` points to `count` `iovec`s, each pointing to its readable bytes (C's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: i32, iov: *const IoVec, count: i32) -> isize {
    let buffers = match usize::try_from(count) {
        Ok(0) => &[][..],
        // SAFETY: the caller's contract.
        Ok(count) => unsafe { std::slice::from_raw_parts(iov, count) },
        Err(_) => return c_result(Err(EINVAL), 0),
    };
    let mut total = 0usize;
    for buffer in buffers {
        // SAFETY: the caller's contract, for this buffer.
        let written = unsafe { write(fd, buffer.base, buffer.len) };
        if written < 0 {
            // What was written stays written, as POSIX has it; the next call meets the error.
            return if total > 0 { total as isize } else { written };
        }
        total += buffer.len;
    }
    total as isize
}
