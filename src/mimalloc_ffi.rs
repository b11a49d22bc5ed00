//! What the bridge calls in mimalloc, which CPython 3.13 bundles inside libpython
//! (Objects/mimalloc). `mi_collect` is its public API; `_mi_arena_collect` and
//! `_mi_stats_main` are internal (mimalloc's internal.h), needed because only the main
//! thread's `mi_collect` purges the arenas, and Go calls in from any thread. The pinned
//! CPython (vendor-python/python.lock.toml) fixes their signatures; a CPython without them
//! fails the link, not the run.

/// mimalloc's `mi_stats_t`, only ever passed by pointer.
#[repr(C)]
pub(crate) struct MiStats {
    _private: [u8; 0],
}

extern "C" {
    /// Collects the calling thread's heap; `force` also frees its empty pages.
    pub(crate) fn mi_collect(force: bool);
    /// Purges the free blocks of every arena (returns them to the OS), under its own lock.
    pub(crate) fn _mi_arena_collect(force_purge: bool, stats: *mut MiStats);
    /// The process-wide statistics that `_mi_arena_collect` updates.
    pub(crate) static mut _mi_stats_main: MiStats;
}
