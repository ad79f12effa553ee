//! Per-call resource limits, and the typed errors a guest failure becomes.

use wasmtime::ResourceLimiter;

/// Default memory a call may use (api: settable per stack).
pub const DEFAULT_MEMORY_BYTES: usize = 64 * 1024 * 1024;
/// The most memory any stack may allow a call (also the pooling allocator's slot size).
pub const MAX_MEMORY_BYTES: usize = 512 * 1024 * 1024;
/// Default per-call deadline.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// No call may run longer than this (one-time tokens never outlive it either).
pub const MAX_TIMEOUT_MS: u64 = 15 * 60 * 1000;
/// Default largest result a call may return.
pub const DEFAULT_OUTPUT_BYTES: usize = 16 * 1024 * 1024;
/// Largest component accepted on upload.
pub const MAX_COMPONENT_BYTES: usize = 32 * 1024 * 1024;
/// Most table elements a call may grow tables to.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// A guest asked for more memory than its call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("memory limit: the guest asked for {requested} bytes, the call may use {max}")]
pub struct MemoryLimit {
    /// Bytes the guest's memory would have grown to.
    pub requested: usize,
    /// Bytes the call may use.
    pub max: usize,
}

/// A guest's table grew past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("table limit: the guest asked for {requested} elements, the call may use {max}")]
pub struct TableLimit {
    /// Elements the table would have grown to.
    pub requested: usize,
    /// Elements the call may use.
    pub max: usize,
}

/// The limits of one call, enforced by wasmtime through [`ResourceLimiter`].
#[derive(Debug, Clone)]
pub struct CallLimits {
    /// Bytes of linear memory the call may use (all memories of the component together).
    pub memory_bytes: usize,
    used: usize,
    /// The last growth refused for the limit, until a later one succeeds: a call that then
    /// fails failed for want of memory.
    pub refused: Option<MemoryLimit>,
}

impl CallLimits {
    /// Limits allowing `memory_bytes` of linear memory.
    pub fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes: memory_bytes.min(MAX_MEMORY_BYTES),
            used: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for CallLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let requested = self.used - current.min(self.used) + desired;
        if requested > self.memory_bytes {
            let limit = MemoryLimit {
                requested,
                max: self.memory_bytes,
            };
            if current == 0 {
                // A memory that starts over the limit: the instance cannot be made at all.
                return Err(limit.into());
            }
            // `memory.grow` answers -1, as the core spec has it, so a guest can fall back to
            // asking for less (the SDK's allocator does); should the call fail, it is reported
            // as a memory limit rather than as whatever the guest's allocator does next.
            self.refused = Some(limit);
            return Ok(false);
        }
        self.used = requested;
        self.refused = None;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(TableLimit {
                requested: desired,
                max: MAX_TABLE_ELEMENTS,
            }
            .into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_counted_across_memories_and_growth_past_the_limit_is_refused() {
        let mut limits = CallLimits::new(100);
        assert!(limits.memory_growing(0, 60, None).expect("allowed"));
        assert!(limits.memory_growing(0, 30, None).expect("a second memory"));
        assert!(
            !limits
                .memory_growing(60, 80, None)
                .expect("refused, not trapped")
        );
        let refused = Some(MemoryLimit {
            requested: 110,
            max: 100,
        });
        assert_eq!(limits.refused, refused);
        // Asking for less is still allowed, and clears the refusal.
        assert!(
            limits
                .memory_growing(60, 70, None)
                .expect("within the limit")
        );
        assert_eq!(limits.refused, None);
        let err = CallLimits::new(100)
            .memory_growing(0, 200, None)
            .expect_err("a memory that starts over the limit");
        assert_eq!(
            err.downcast_ref::<MemoryLimit>(),
            Some(&MemoryLimit {
                requested: 200,
                max: 100
            })
        );
    }
}
