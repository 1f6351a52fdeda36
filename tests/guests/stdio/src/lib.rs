//! A test guest that prints, through the SDK's `write` and `writev` (`guest-sdk/src/stdio.rs`):
//! each line must reach the host's log, tagged with the app and the stream. Its contract is in
//! `tests/guests/README.md`.

use std::io::{IoSlice, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

use wasgi::{App, Request};

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
}

wasgi::export!(app);
