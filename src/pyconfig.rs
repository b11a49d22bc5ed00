//! Starting the embedded interpreter: the only code that touches PyConfig. Every raw call
//! into CPython's initialisation API is here, and into its allocator (mimalloc).

use crate::mimalloc_ffi;
use pyo3::ffi;
use std::ffi::{c_char, CStr, CString};
use std::mem::MaybeUninit;

/// `PyMemAllocatorName::PYMEM_ALLOCATOR_MIMALLOC` in CPython 3.13's cpython/pymem.h.
const PYMEM_ALLOCATOR_MIMALLOC: std::ffi::c_int = 7;

/// Returns the memory the interpreter has freed to the OS now. mimalloc keeps freed memory
/// for reuse (its purge delay, 10 ms per page, 100 ms per arena block, and only when a later
/// allocation looks): after a large result, the frame it came in would otherwise stay
/// resident while Go makes its own copy.
pub fn return_freed_memory() {
    // SAFETY: mimalloc is the interpreter's allocator for every domain (set below) and is
    // initialised before any Python runs. `mi_collect` frees this thread's empty pages;
    // `_mi_arena_collect` purges free arena blocks under its own lock, from any thread, as
    // allocation does; the stats pointer is only handed back to mimalloc.
    unsafe {
        mimalloc_ffi::mi_collect(true);
        mimalloc_ffi::_mi_arena_collect(true, &raw mut mimalloc_ffi::_mi_stats_main);
    }
}

/// How the interpreter starts.
pub struct Startup<'a> {
    /// The single sys.path entry: the embedded stdlib zip.
    pub search_path: &'a CStr,
    /// `Some(argv)` parses a command line like `python` does (entry point); `None` for the library.
    pub argv: Option<&'a [CString]>,
}

/// Initialises CPython, isolated: environment variables are ignored (PYTHONPATH, PYTHONHOME,
/// PYTHONSTARTUP), no site, no signal handlers (the host program keeps its own), UTF-8 mode,
/// no bytecode writes, and sys.path is the embedded zip alone. Never aborts: a failure is
/// returned as text.
pub fn initialize(startup: &Startup) -> Result<(), String> {
    // SAFETY: called once per process, before any other CPython API (runtime.rs guarantees
    // it). `pre` is fully initialised by PyPreConfig_InitIsolatedConfig before use.
    unsafe {
        let mut pre = MaybeUninit::<ffi::PyPreConfig>::zeroed();
        ffi::PyPreConfig_InitIsolatedConfig(pre.as_mut_ptr());
        let mut pre = pre.assume_init();
        pre.utf8_mode = 1;
        // mimalloc (bundled with CPython 3.13) for every domain: the libc allocators differ
        // a lot between targets, and musl's makes start-up ~20% slower.
        pre.allocator = PYMEM_ALLOCATOR_MIMALLOC;
        check(ffi::Py_PreInitialize(&pre))?;
    }
    // SAFETY: `config` is initialised by PyConfig_InitIsolatedConfig, only filled through
    // CPython's setters, and cleared exactly once below, on every path.
    unsafe {
        let mut config = MaybeUninit::<ffi::PyConfig>::zeroed();
        ffi::PyConfig_InitIsolatedConfig(config.as_mut_ptr());
        let mut config = config.assume_init();
        let result = fill_and_start(&mut config, startup);
        ffi::PyConfig_Clear(&mut config);
        result
    }
}

/// # Safety
/// `config` must come from PyConfig_InitIsolatedConfig, after pre-initialisation.
unsafe fn fill_and_start(config: &mut ffi::PyConfig, startup: &Startup) -> Result<(), String> {
    config.site_import = 0;
    config.write_bytecode = 0;
    config.install_signal_handlers = 0;
    config.user_site_directory = 0;
    config.pathconfig_warnings = 0;
    config.safe_path = 1;
    config.module_search_paths_set = 1;
    // sys.executable is this very binary. Left to itself, CPython takes argv[0], or
    // "python" in library mode, and looks it up on PATH: a system Python there would be
    // what multiprocessing and subprocess helpers run.
    if let Some(exe) = own_executable() {
        // SAFETY: `exe` is a valid C string; CPython copies it into `config`.
        check(unsafe {
            ffi::PyConfig_SetBytesString(config, &mut config.executable, exe.as_ptr())
        })?;
    }
    // SAFETY: pre-initialisation is done, so Py_DecodeLocale may be called; its result is
    // copied by PyWideStringList_Append and freed here with the allocator it came from.
    unsafe {
        let wide = ffi::Py_DecodeLocale(startup.search_path.as_ptr(), std::ptr::null_mut());
        if wide.is_null() {
            return Err("cannot decode the stdlib path".into());
        }
        let status = ffi::PyWideStringList_Append(&mut config.module_search_paths, wide);
        ffi::PyMem_RawFree(wide.cast());
        check(status)?;
    }
    if let Some(argv) = startup.argv {
        config.parse_argv = 1;
        let mut ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: `ptrs` holds argv.len() valid C strings that outlive the call; CPython
        // copies them.
        check(unsafe {
            ffi::PyConfig_SetBytesArgv(config, ptrs.len() as ffi::Py_ssize_t, ptrs.as_mut_ptr())
        })?;
    } else {
        config.parse_argv = 0;
    }
    // SAFETY: `config` is complete; CPython copies what it needs.
    check(unsafe { ffi::Py_InitializeFromConfig(config) })
}

/// The absolute path of the running executable: /proc/self/exe where there is a /proc,
/// else the name the kernel exec'd (AT_EXECFN), made absolute against the current
/// directory (a chroot with nothing in it has no /proc). `None` only if both fail.
pub fn own_executable() -> Option<CString> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::env::current_exe().ok().or_else(exec_fn)?;
    CString::new(path.as_os_str().as_bytes()).ok()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn exec_fn() -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: getauxval only reads the auxiliary vector; AT_EXECFN, when present, points
    // to a NUL-terminated string that lives as long as the process.
    let name = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const c_char;
    if name.is_null() {
        return None;
    }
    // SAFETY: see above.
    let name = std::path::Path::new(std::ffi::OsStr::from_bytes(
        unsafe { CStr::from_ptr(name) }.to_bytes(),
    ));
    if name.is_absolute() {
        Some(name.to_path_buf())
    } else {
        std::env::current_dir().ok().map(|dir| dir.join(name))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exec_fn() -> Option<std::path::PathBuf> {
    None
}

/// Turns a PyStatus error into text instead of letting CPython exit the process.
fn check(status: ffi::PyStatus) -> Result<(), String> {
    // SAFETY: PyStatus_Exception only reads the struct.
    if unsafe { ffi::PyStatus_Exception(status) } == 0 {
        return Ok(());
    }
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: CPython sets func and err_msg to static NUL-terminated strings.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    // SAFETY: reads the struct only.
    if unsafe { ffi::PyStatus_IsExit(status) } != 0 {
        return Err(format!(
            "the interpreter asked to exit with status {}",
            status.exitcode
        ));
    }
    Err(format!("{}: {}", text(status.func), text(status.err_msg)))
}

/// Releases the GIL that initialisation left with this thread, so any thread can attach.
pub fn release_gil() {
    // SAFETY: called once, right after a successful initialize() on this thread, which
    // holds the GIL. The returned main thread state stays alive for the process.
    unsafe {
        ffi::PyEval_SaveThread();
    }
}

/// Runs the command line given to `initialize` (`-c`, `-m`, a script, or the REPL) and
/// finalises the interpreter. Returns the exit status.
pub fn run_main() -> i32 {
    // SAFETY: only called right after initialize() with argv, on the same thread.
    unsafe { ffi::Py_RunMain() }
}
