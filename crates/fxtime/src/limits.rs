//! Resource limits: what a store lets its wasm take. A
//! [`ResourceLimiter`] is consulted when memories and tables grow, when
//! instances, memories and tables are created, and sets the most
//! continuations (and bytes of their stacks) the store may hold at once.
//! [`StoreLimits`] is the ready-made one.

use anyhow::{Result, bail};

/// Default limit on instances, memories and tables of a store.
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// Default limit on the tables of a store.
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;
/// Default limit on the memories of a store.
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;

/// Decides what the wasm of a store may take. Installed with
/// [`Store::limiter`](crate::Store::limiter).
pub trait ResourceLimiter {
    /// A memory wants to grow from `current` to `desired` bytes (its type's
    /// maximum is `maximum`; also asked for a new memory's initial size,
    /// with `current` 0). `Ok(false)` refuses: `memory.grow` returns -1 and
    /// instantiation fails. An error traps (or fails instantiation) with it.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// A growth the limiter allowed failed anyway (past the maximum, or no
    /// memory): an error traps with it instead of returning -1.
    fn memory_grow_failed(&mut self) -> Result<()> {
        Ok(())
    }

    /// As [`memory_growing`](Self::memory_growing), for tables, in
    /// elements.
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// As [`memory_grow_failed`](Self::memory_grow_failed), for tables.
    fn table_grow_failed(&mut self) -> Result<()> {
        Ok(())
    }

    /// Most instances the store may hold.
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// Most tables the store may hold.
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }

    /// Most memories the store may hold.
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }

    /// Most continuations alive at once (created and not yet returned,
    /// thrown out of or abandoned by a trap); `cont.new` past it traps.
    /// Read when the limiter is installed.
    fn continuations(&self) -> usize {
        usize::MAX
    }

    /// Most bytes the stacks of the store's continuations may take (each
    /// counts its size in the pool: `Config::continuation_stack_size`,
    /// raised to at least 272 KiB, the host's headroom and four pages);
    /// `cont.new` that would need another stack past it traps. Read when
    /// the limiter is installed.
    fn continuation_stack_bytes(&self) -> usize {
        usize::MAX
    }
}

/// Limits on a store's memories, tables, instances and continuations, made
/// with [`StoreLimitsBuilder`]. Unset limits are the defaults.
#[derive(Debug, Clone)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    tables: usize,
    memories: usize,
    continuations: usize,
    continuation_stack_bytes: usize,
    trap_on_grow_failure: bool,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
            continuations: usize::MAX,
            continuation_stack_bytes: usize::MAX,
            trap_on_grow_failure: false,
        }
    }
}

/// Builds [`StoreLimits`].
#[derive(Debug, Clone, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No limits beyond the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most bytes any one linear memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// Most elements any one table may have.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// Most instances.
    pub fn instances(mut self, limit: usize) -> Self {
        self.0.instances = limit;
        self
    }

    /// Most tables.
    pub fn tables(mut self, limit: usize) -> Self {
        self.0.tables = limit;
        self
    }

    /// Most memories.
    pub fn memories(mut self, limit: usize) -> Self {
        self.0.memories = limit;
        self
    }

    /// Most continuations alive at once.
    pub fn continuations(mut self, limit: usize) -> Self {
        self.0.continuations = limit;
        self
    }

    /// Most bytes of continuation stacks.
    pub fn continuation_stack_bytes(mut self, bytes: usize) -> Self {
        self.0.continuation_stack_bytes = bytes;
        self
    }

    /// Whether a refused or failed `memory.grow` or `table.grow` traps
    /// instead of returning -1.
    pub fn trap_on_grow_failure(mut self, trap: bool) -> Self {
        self.0.trap_on_grow_failure = trap;
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

impl StoreLimits {
    fn decide(&self, what: &str, desired: usize, limit: Option<usize>) -> Result<bool> {
        match limit {
            Some(limit) if desired > limit => {
                if self.trap_on_grow_failure {
                    bail!("{what} of {desired} exceeds the store's limit of {limit}");
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    fn failed(&self, what: &str) -> Result<()> {
        if self.trap_on_grow_failure {
            bail!("failed to grow {what}");
        }
        Ok(())
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(&mut self, _: usize, desired: usize, _: Option<usize>) -> Result<bool> {
        self.decide("memory size in bytes", desired, self.memory_size)
    }

    fn memory_grow_failed(&mut self) -> Result<()> {
        self.failed("memory")
    }

    fn table_growing(&mut self, _: usize, desired: usize, _: Option<usize>) -> Result<bool> {
        self.decide("table size in elements", desired, self.table_elements)
    }

    fn table_grow_failed(&mut self) -> Result<()> {
        self.failed("table")
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }

    fn continuations(&self) -> usize {
        self.continuations
    }

    fn continuation_stack_bytes(&self) -> usize {
        self.continuation_stack_bytes
    }
}
