//! The host's memory allocator: jemalloc, set to give freed memory back to the kernel promptly.
//!
//! Every allocation of the host goes through jemalloc rather than glibc's malloc: a served
//! request makes about 74 of them, most in wasmtime's per-instance bookkeeping, and side by side
//! jemalloc used about 10% less CPU per request (bench/analysis.md, item 9). glibc also kept
//! the buffers of closed connections (a host that once held 10,000 stayed at their size);
//! jemalloc's background thread purges pages that stayed unused for a second, so the memory
//! goes back within seconds without the host asking.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: a background thread returns freed pages to the kernel once they have
/// been unused for 1 s (jemalloc's default is 10 s), at once rather than through a second,
/// "muzzy" stage. The `_RJEM_MALLOC_CONF` environment variable is read after these and can
/// override any of them.
const OPTIONS: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// Where jemalloc looks for its options before `main`: its `malloc_conf` symbol (a
/// `const char *`, here a reference to the first byte of [`OPTIONS`]), under the prefix
/// tikv-jemalloc-sys gives jemalloc's symbols.
#[allow(
    unsafe_code,
    reason = "jemalloc reads its built-in options from this exported symbol"
)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: Option<&u8> = Some(&OPTIONS[0]);

#[cfg(test)]
mod tests {
    use tikv_jemalloc_ctl::{background_thread, opt};

    /// jemalloc found the options: a mistyped symbol would leave it silently on its defaults.
    #[test]
    fn jemalloc_runs_with_the_hosts_options() {
        assert!(opt::background_thread::read().unwrap());
        assert!(background_thread::read().unwrap());
    }
}
