//! glibc malloc settings for a process that hosts a sandbox (`--sandbox`, `amili sandbox`): a
//! heap that grows for the whole run (the sandbox keeps every payment) while worker threads
//! allocate and free request and response bodies.
//!
//! Only there: one arena makes every thread take one lock for each allocation, which costs a
//! plain `submit` about a fifth of its CPU (its threads hand rows to each other) and saves it
//! nothing, since its heap stays flat (BENCHMARKS.md).
//!
//! With glibc's defaults, each thread allocates from its own arena, and the threshold above
//! which a block gets its own mapping rises with every large block freed (up to 32 MiB), so
//! growing tables land inside arenas and leave holes that are never returned: about 20–40 MiB
//! of a 1,000,000-row `--sandbox --wait` run's peak (BENCHMARKS.md). A fixed threshold gives
//! every large block its own mapping, returned when freed, and fewer arenas share the holes.

/// Blocks of at least this many bytes get their own mapping (glibc's initial value, fixed).
const MMAP_THRESHOLD: i32 = 128 * 1024;
/// One arena for all threads (glibc's default: up to 8 per core).
const ARENA_MAX: i32 = 1;

/// Applies the settings; call before any thread is started. Elsewhere than glibc: nothing.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tunables; it takes malloc's lock itself, and it is
    // called from `main` before any other thread exists. A refused setting (returns 0) leaves
    // the default, which is only slower to give memory back.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
    }
}
