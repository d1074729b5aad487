//! Where the compute rasterizer's batches live on the GPU: pages of fixed-size batch slots.
//!
//! A page is one set of storage buffers (batch table, hot and cold point words) holding
//! [`SLOTS_PER_PAGE`] batches; the projection dispatches one workgroup per used slot of each
//! page, so a frame costs a few dispatches however many nodes are resident. A node takes any
//! free slots (its batches need not be contiguous), so eviction never fragments memory.
//! Node table entries (the per-frame camera-relative offset of each node) are allocated the
//! same way. Pure bookkeeping: `compute.rs` owns the buffers.

/// Batch slots per page: 2 Mi points, 24 MiB of point words.
pub const SLOTS_PER_PAGE: u32 = 1024;

/// A batch slot: page and slot within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    pub page: u32,
    pub slot: u32,
}

/// Free and used batch slots of every page.
#[derive(Debug, Default)]
pub struct SlotAllocator {
    /// Free slots per page, lowest last (so pages fill from their start).
    free: Vec<Vec<u32>>,
}

impl SlotAllocator {
    /// Takes `n` free slots, opening pages as needed (the caller creates the buffers of pages
    /// beyond those it has: see [`Self::pages`]).
    pub fn allocate(&mut self, n: usize) -> Vec<Slot> {
        let mut slots = Vec::with_capacity(n);
        let mut page = 0;
        while slots.len() < n {
            if page == self.free.len() {
                self.free.push((0..SLOTS_PER_PAGE).rev().collect());
            }
            while slots.len() < n {
                let Some(slot) = self.free[page].pop() else {
                    break;
                };
                slots.push(Slot {
                    page: page as u32,
                    slot,
                });
            }
            page += 1;
        }
        slots
    }

    /// Gives slots back.
    pub fn release(&mut self, slots: &[Slot]) {
        let mut touched: Vec<u32> = Vec::new();
        for s in slots {
            if let Some(free) = self.free.get_mut(s.page as usize) {
                free.push(s.slot);
                if !touched.contains(&s.page) {
                    touched.push(s.page);
                }
            }
        }
        // Only the pages that changed are sorted again: thousands of pages at 10⁹ points.
        for page in touched {
            self.free[page as usize].sort_unstable_by(|a, b| b.cmp(a));
        }
    }

    pub fn pages(&self) -> usize {
        self.free.len()
    }

    /// One past the highest slot in use in `page` (the workgroups to dispatch for it).
    pub fn high_water(&self, page: usize) -> u32 {
        let Some(free) = self.free.get(page) else {
            return 0;
        };
        // Free slots are sorted high to low; the used ones are those missing from the list.
        let mut top = SLOTS_PER_PAGE;
        for &slot in free {
            if slot + 1 == top {
                top = slot;
            } else {
                break;
            }
        }
        top
    }

    /// Slots in use over all pages.
    pub fn used(&self) -> usize {
        self.free
            .iter()
            .map(|f| SLOTS_PER_PAGE as usize - f.len())
            .sum()
    }
}

/// Indices handed out and taken back (node table entries).
#[derive(Debug, Default)]
pub struct IndexAllocator {
    free: Vec<u32>,
    next: u32,
}

impl IndexAllocator {
    pub fn allocate(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        })
    }

    pub fn release(&mut self, index: u32) {
        self.free.push(index);
    }

    /// One past the highest index ever handed out (the table's length).
    pub fn len(&self) -> u32 {
        self.next
    }

    pub fn is_empty(&self) -> bool {
        self.next == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_pages_in_order_and_are_reused_after_release() {
        let mut slots = SlotAllocator::default();
        let a = slots.allocate(3);
        assert_eq!(
            a.iter().map(|s| (s.page, s.slot)).collect::<Vec<_>>(),
            [(0, 0), (0, 1), (0, 2)]
        );
        assert_eq!(slots.high_water(0), 3);
        let b = slots.allocate(SLOTS_PER_PAGE as usize);
        assert_eq!(slots.pages(), 2);
        assert_eq!(b.last().unwrap().page, 1);
        assert_eq!(slots.used(), 3 + SLOTS_PER_PAGE as usize);
        slots.release(&a);
        assert_eq!(slots.used(), SLOTS_PER_PAGE as usize);
        // The released low slots of page 0 come back first.
        let c = slots.allocate(2);
        assert_eq!(c[0], Slot { page: 0, slot: 0 });
        assert_eq!(c[1], Slot { page: 0, slot: 1 });
        // Page 1 holds 3 slots; releasing page 0's end lowers its high-water mark.
        slots.release(&b);
        assert_eq!(slots.high_water(1), 0);
        assert_eq!(slots.high_water(0), 2);
    }

    #[test]
    fn indices_are_reused() {
        let mut ids = IndexAllocator::default();
        assert_eq!((ids.allocate(), ids.allocate(), ids.allocate()), (0, 1, 2));
        ids.release(1);
        assert_eq!(ids.allocate(), 1);
        assert_eq!(ids.len(), 3);
    }
}
