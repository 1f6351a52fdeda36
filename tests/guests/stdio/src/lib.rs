//! A test guest that prints, through the SDK's `write` and `writev` (`guest-sdk/src/stdio.rs`):
//! each line must reach the host's log, tagged with the app and the stream. Its contract is in
//! `tests/guests/README.md`.

use std::io::{IoSlice, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

use wasgi::{App, Request};

/// `write` and `writev` as C code calls them: the SDK's.
#[allow(unsafe_code, reason = "C's functions, for the test")]
mod c {
    /// C's `struct iovec`.
    #[repr(C)]
    pub struct IoVec {
        pub base: *const u8,
        pub len: usize,
    }

    unsafe extern "C" {
        pub fn write(fd: i32, buf: *const u8, len: usize) -> isize;
        pub fn writev(fd: i32, iov: *const IoVec, count: i32) -> isize;
    }

    /// What a call returned, with `errno` when it failed.
    fn outcome(result: isize) -> String {
        match result {
            -1 => format!("-1 ({})", std::io::Error::last_os_error()),
            n => n.to_string(),
        }
    }

    /// The calls C code may make that Rust's `std` never does, and what each returned.
    pub fn edge_cases() -> String {
        let one = IoVec {
            base: b"x".as_ptr(),
            len: 1,
        };
        let too_many: Vec<IoVec> = (0..1025)
            .map(|_| IoVec {
                base: b"".as_ptr(),
                len: 0,
            })
            .collect();
        // SAFETY: every pointer is valid for the length given with it. Each outcome is read
        // right after its call, before the next one sets `errno`.
        let lines = unsafe {
            [
                ("write(1, 0 bytes)", outcome(write(1, std::ptr::null(), 0))),
                (
                    "writev(7, 0 buffers)",
                    outcome(writev(7, std::ptr::null(), 0)),
                ),
                ("writev(2, -1 buffers)", outcome(writev(2, &one, -1))),
                (
                    "writev(2, 1025 buffers)",
                    outcome(writev(2, too_many.as_ptr(), 1025)),
                ),
            ]
        }
        .map(|(call, outcome)| format!("{call} = {outcome}"));
        lines.join("; ")
    }
}

/// The app: one route per way of printing.
pub fn app() -> App {
    App::new()
        .get("/print", |_: Request| {
            println!("stdio-guest: to stdout");
            eprintln!("stdio-guest: to stderr");
            // One `writev` of two buffers, ending the line in the second.
            let parts = [IoSlice::new(b"stdio-guest: "), IoSlice::new(b"vectored\n")];
            let written = std::io::stderr().write_vectored(&parts).unwrap_or(0);
            format!("printed; writev wrote {written} bytes")
        })
        .get("/long", |_: Request| {
            // Ten thousand bytes in one `write`: more than one WASI write can carry.
            eprintln!("stdio-guest: long {} end", "x".repeat(10_000));
            "printed"
        })
        .get("/panic", |_: Request| -> &'static str {
            panic!("stdio-guest: panicked on purpose")
        })
        .get("/bad-fd", |_: Request| {
            // A descriptor the host never opened: the write fails as POSIX says it does.
            // `ManuallyDrop`: closing it is not what this route is about.
            #[allow(unsafe_code, reason = "a raw descriptor, for the test")]
            // SAFETY: nothing else owns descriptor 7; the file is never closed.
            let mut file = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(7) });
            match file.write(b"lost") {
                Ok(n) => format!("wrote {n} bytes"),
                Err(error) => format!("failed: {error}"),
            }
        })
        .get("/edge-cases", |_: Request| c::edge_cases())
}

wasgi::export!(app);
