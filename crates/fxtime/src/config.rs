//! [`Config`]: how an [`Engine`](crate::Engine) compiles and runs code.

use fxtime_environ::FeatureSet;

/// Engine settings: enabled WebAssembly features and limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Feature switches in the order they were made, applied by
    /// `Engine::new` (which reports unsupported ones).
    pub(crate) feature_switches: Vec<(String, bool)>,
    pub(crate) max_wasm_stack: usize,
    pub(crate) continuation_stack_size: usize,
    pub(crate) max_continuation_depth: u64,
    pub(crate) gc_stress: bool,
    pub(crate) gc_heap_max: usize,
    pub(crate) profiling: crate::ProfilingStrategy,
    pub(crate) debug_info: bool,
    pub(crate) codegen: fxtime_cranelift::CodegenOptions,
    /// The compilation cache's directory, if it is on.
    pub(crate) cache: Option<std::path::PathBuf>,
    pub(crate) async_support: bool,
    pub(crate) async_stack_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            feature_switches: Vec::new(),
            max_wasm_stack: 512 * 1024,
            continuation_stack_size: fxtime_runtime::continuations::DEFAULT_STACK_SIZE,
            max_continuation_depth: fxtime_environ::vm::DEFAULT_MAX_CONTINUATION_DEPTH,
            // For test runs of whole suites: FXTIME_GC_STRESS=1.
            gc_stress: std::env::var_os("FXTIME_GC_STRESS").is_some_and(|v| v != "0"),
            gc_heap_max: fxtime_runtime::gc::DEFAULT_GC_HEAP_MAX,
            profiling: crate::ProfilingStrategy::None,
            debug_info: false,
            codegen: fxtime_cranelift::CodegenOptions::default(),
            cache: None,
            async_support: false,
            async_stack_size: DEFAULT_ASYNC_STACK_SIZE,
        }
    }
}

/// The default size of the stacks async calls run on (see
/// [`Config::async_stack_size`]).
pub const DEFAULT_ASYNC_STACK_SIZE: usize = 1024 * 1024;

macro_rules! feature_switches {
    ($($(#[$doc:meta])* $method:ident => $name:literal,)*) => {
        impl Config {
            $(
                $(#[$doc])*
                pub fn $method(&mut self, enable: bool) -> &mut Self {
                    self.feature_switches.push(($name.to_string(), enable));
                    self
                }
            )*
        }
    };
}

feature_switches! {
    /// Bulk memory operations (on by default).
    wasm_bulk_memory => "bulk-memory",
    /// Reference types and multiple tables (on by default).
    wasm_reference_types => "reference-types",
    /// Multiple results and block parameters (on by default).
    wasm_multi_value => "multi-value",
    /// Multiple memories (on by default).
    wasm_multi_memory => "multi-memory",
    /// Extended constant expressions (on by default).
    wasm_extended_const => "extended-const",
    /// 128-bit SIMD (on by default).
    wasm_simd => "simd",
    /// Relaxed SIMD, which implies SIMD (on by default).
    wasm_relaxed_simd => "relaxed-simd",
    /// Tail calls (on by default).
    wasm_tail_call => "tail-call",
    /// Typed function references (on by default).
    wasm_function_references => "function-references",
    /// Garbage collection (not supported yet).
    wasm_gc => "gc",
    /// Exception handling (on by default).
    wasm_exceptions => "exceptions",
    /// Stack switching: typed continuations (off by default).
    wasm_stack_switching => "stack-switching",
    /// 64-bit memories and tables (on by default).
    wasm_memory64 => "memory64",
    /// Threads (not supported).
    wasm_threads => "threads",
}

impl Config {
    /// The default configuration.
    pub fn new() -> Config {
        Config::default()
    }

    /// Enables async calls: [`Func::call_async`](crate::Func::call_async),
    /// [`Linker::func_wrap_async`](crate::Linker::func_wrap_async) and the
    /// like (off by default). An async call runs its wasm on a stack of its
    /// own, taken from a pool the engine keeps.
    pub fn async_support(&mut self, enable: bool) -> &mut Self {
        self.async_support = enable;
        self
    }

    /// The size of the stacks async calls run on (1 MiB by default): the
    /// wasm stack ([`Config::max_wasm_stack`]), 256 KiB below it for host
    /// code, and the host's frames of the call. Only touched pages cost
    /// memory.
    pub fn async_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.async_stack_size = bytes;
        self
    }

    /// Turns a feature on or off by the name `-W` uses (`simd`,
    /// `multi-memory`, ...). Unknown names are an error now; features
    /// fxtime does not implement are an error when the engine is created.
    pub fn wasm_feature(&mut self, name: &str, enable: bool) -> anyhow::Result<&mut Self> {
        if FeatureSet::lookup(name).is_none() {
            let mut probe = FeatureSet::default();
            probe.set(name, enable)?;
        }
        self.feature_switches.push((name.to_string(), enable));
        Ok(self)
    }

    /// Size of each continuation's stack (default 1 MiB, of which 256 KiB
    /// stay free for host code called from the continuation). Wasm code
    /// that runs past the rest traps with "call stack exhausted". Stacks
    /// cost address space; memory only where touched.
    pub fn continuation_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.continuation_stack_size = bytes;
        self
    }

    /// How deeply continuations may nest (default 100,000): a continuation
    /// that would start running deeper traps with "call stack exhausted".
    /// Each level holds a stack, so runaway recursion through
    /// continuations (or through host functions that call back into wasm
    /// from a continuation) stops there instead of at the end of memory.
    /// A continuation's depth is fixed when it first runs: one more than
    /// the continuation that resumed it.
    pub fn max_continuation_depth(&mut self, depth: u64) -> &mut Self {
        self.max_continuation_depth = depth;
        self
    }

    /// The GC stress mode (default: off, or on when the environment
    /// variable `FXTIME_GC_STRESS` is set to anything but `0`): every
    /// allocation reaches the runtime, which collects before it, so a
    /// reference the collector failed to find shows up as a wrong value
    /// at once. Very slow; for testing.
    pub fn gc_stress(&mut self, enable: bool) -> &mut Self {
        self.gc_stress = enable;
        self
    }

    /// Most bytes each store's GC heap may take (default 4 GiB): an
    /// allocation beyond, after a collection, traps "GC heap out of
    /// memory".
    pub fn gc_heap_max(&mut self, bytes: usize) -> &mut Self {
        self.gc_heap_max = bytes;
        self
    }

    /// Most bytes of native stack that wasm code may use before it traps
    /// with "call stack exhausted" (default 512 KiB).
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Whether generated code is described to gdb through the GDB JIT
    /// interface, so that `bt` names and unwinds wasm frames (default: off;
    /// it costs an in-memory ELF image per module).
    pub fn debug_info(&mut self, enable: bool) -> &mut Self {
        self.debug_info = enable;
        self
    }

    /// Whether wasm consumes fuel (default: off). Each operator costs one
    /// unit (`nop`, `drop`, `block`, `loop`, `end` and `else` none); at
    /// function entries and loop headers, on every stack, code that has
    /// used more than the store's fuel traps "all fuel consumed by
    /// WebAssembly". A store starts with none: give it some with
    /// [`Store::set_fuel`](crate::Store::set_fuel).
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.codegen.consume_fuel = enable;
        self
    }

    /// Whether wasm checks the engine's epoch against its store's deadline
    /// at function entries and loop headers (default: off); see
    /// [`Engine::increment_epoch`](crate::Engine::increment_epoch) and
    /// [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline). A
    /// store has no deadline until one is set.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.codegen.epoch_interruption = enable;
        self
    }

    /// Whether relaxed SIMD operators give their deterministic results,
    /// the same on every host (default: off, each gives the result the
    /// host computes fastest, which may differ between CPUs for NaNs,
    /// out-of-range lanes and rounding of fused multiply-adds).
    pub fn relaxed_simd_deterministic(&mut self, enable: bool) -> &mut Self {
        self.codegen.relaxed_simd_deterministic = enable;
        self
    }

    /// Whether compiled modules are kept on disk and loaded from there
    /// when the same module is compiled again with the same settings by
    /// the same build of fxtime (default: off; on in the CLI). The cache
    /// lives in `$XDG_CACHE_HOME/fxtime` (or `~/.cache/fxtime`); its
    /// entries are precompiled modules keyed by a SHA-256 of the module's
    /// bytes and of everything the code depends on. Processes may share
    /// it: entries are written whole, then renamed into place. A damaged
    /// entry is compiled again and replaced. Past 1 GiB of entries, the
    /// ones written longest ago are removed.
    pub fn cache(&mut self, enable: bool) -> &mut Self {
        self.cache = enable.then(crate::cache::default_directory).flatten();
        self
    }

    /// Turns the compilation cache on with its entries in `dir` (see
    /// [`Config::cache`]).
    pub fn cache_directory(&mut self, dir: impl Into<std::path::PathBuf>) -> &mut Self {
        self.cache = Some(dir.into());
        self
    }

    /// How generated code is made known to profilers (default: not).
    pub fn profiler(&mut self, strategy: crate::ProfilingStrategy) -> &mut Self {
        self.profiling = strategy;
        self
    }

    pub(crate) fn features(&self) -> anyhow::Result<FeatureSet> {
        let mut features = FeatureSet::default();
        for (name, enable) in &self.feature_switches {
            features.set(name, *enable)?;
        }
        Ok(features)
    }
}
