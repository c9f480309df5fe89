//! The map inside each shard: open addressing with linear probing over one array of
//! `(SessionId, V)` slots.
//!
//! A general-purpose map keeps its control bytes apart from its entries, so a lookup in a table
//! far larger than the caches misses twice: once for the control bytes, once for the entry.
//! Here the key sits in the slot, so a lookup reads the slot it lands on and, at the load this
//! table keeps, usually nothing past it: one miss. Session ids are random and minted by the
//! server, so their own bytes place them uniformly and no input can crowd a neighbourhood.

use crate::SessionId;

/// Grow when more than 3/4 of the slots would be taken: linear probing stays short (2.5 slots
/// on average for a hit, 8.5 for a miss) up to there.
const MAX_LOAD: (usize, usize) = (3, 4);

/// Where `id` would sit in a table of `mask + 1` slots. Bytes 8.. pick the slot; the shard was
/// picked from byte 0.
fn home(id: &SessionId, mask: usize) -> usize {
    let bytes = id.as_bytes();
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[8..16]);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "only the low bits pick the slot"
    )]
    let slot = u64::from_le_bytes(word) as usize;
    slot & mask
}

/// A map from session id to `V`; see the module docs.
#[derive(Debug)]
pub(super) struct IdTable<V> {
    /// Empty, or a power of two with at least one free slot, so every probe ends.
    slots: Vec<Option<(SessionId, V)>>,
    len: usize,
}

impl<V> Default for IdTable<V> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<V> IdTable<V> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `id` or, if it is absent, the free slot that ends its probe: where it
    /// would go (with no tombstones, the first free slot ends every probe).
    fn probe(&self, id: &SessionId) -> usize {
        let mask = self.mask();
        let mut slot = home(id, mask);
        while matches!(&self.slots[slot], Some((key, _)) if key != id) {
            slot = (slot + 1) & mask;
        }
        slot
    }

    /// The slot holding `id`, if any.
    fn find(&self, id: &SessionId) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = self.probe(id);
        self.slots[slot].is_some().then_some(slot)
    }

    pub(super) fn get(&self, id: &SessionId) -> Option<&V> {
        let slot = self.find(id)?;
        self.slots[slot].as_ref().map(|(_, value)| value)
    }

    pub(super) fn get_mut(&mut self, id: &SessionId) -> Option<&mut V> {
        let slot = self.find(id)?;
        self.slots[slot].as_mut().map(|(_, value)| value)
    }

    /// Inserts `value` under `id` if `id` is absent, in one probe; otherwise leaves the table
    /// as it is and returns the value already there.
    pub(super) fn insert_new(&mut self, id: SessionId, value: V) -> Result<(), &V> {
        if (self.len + 1) * MAX_LOAD.1 > self.slots.len() * MAX_LOAD.0 {
            self.grow();
        }
        let slot = self.probe(&id);
        match &mut self.slots[slot] {
            Some((_, existing)) => Err(existing),
            free @ None => {
                *free = Some((id, value));
                self.len += 1;
                Ok(())
            }
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(16);
        let old = std::mem::take(&mut self.slots);
        self.slots.resize_with(capacity, || None);
        for (id, value) in old.into_iter().flatten() {
            let slot = self.probe(&id);
            self.slots[slot] = Some((id, value));
        }
    }

    /// Empties `slot` and closes the gap (backward-shift deletion): each later entry of the
    /// run moves up if the gap lies on its probe path, so every probe still ends at the first
    /// free slot.
    fn remove_at(&mut self, mut gap: usize) {
        let mask = self.mask();
        self.slots[gap] = None;
        self.len -= 1;
        let mut next = (gap + 1) & mask;
        while let Some((id, _)) = &self.slots[next] {
            // How far `next` is from its home, and from the gap, going forward.
            let displaced = next.wrapping_sub(home(id, mask)) & mask;
            let to_gap = next.wrapping_sub(gap) & mask;
            if displaced >= to_gap {
                self.slots[gap] = self.slots[next].take();
                gap = next;
            }
            next = (next + 1) & mask;
        }
    }

    /// Keeps the entries for which `keep` holds.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let mut slot = 0;
        while slot < self.slots.len() {
            let kept = match &mut self.slots[slot] {
                Some((_, value)) => keep(value),
                None => true,
            };
            if kept {
                slot += 1;
            } else {
                // The gap may be refilled from further on: look at this slot again. (An entry
                // shifted in from the wrapped-around start was kept already and is simply asked
                // again.)
                self.remove_at(slot);
            }
        }
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots.iter_mut().flatten().map(|(_, value)| value)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&SessionId, &V)> {
        self.slots.iter().flatten().map(|(id, value)| (id, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Ids whose slot-picking bytes are chosen, so that runs collide and wrap on purpose.
    fn id(slot_bits: u64, tag: u8) -> SessionId {
        let mut bytes = [0u8; 16];
        bytes[0] = tag;
        bytes[8..16].copy_from_slice(&slot_bits.to_le_bytes());
        SessionId::from_bytes(bytes)
    }

    /// A small deterministic generator (xorshift), so failures replay.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Random inserts (refused for ids present), lookups and retains, on crowded slots (ids that share
    /// homes, runs that wrap past the end) and as the table grows, always equal to a HashMap.
    #[test]
    fn behaves_as_a_map_under_collisions_wraps_and_removals() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut table = IdTable::default();
        let mut model = HashMap::new();
        for step in 0..20_000u32 {
            // Few distinct homes near the end of a 16..64-slot table, many tags: long runs.
            let key = id(
                rng.next() % 8 + 12,
                u8::try_from(rng.next() % 40).expect("small"),
            );
            match rng.next() % 10 {
                0..=5 => {
                    let inserted = table.insert_new(key, step).is_ok();
                    assert_eq!(inserted, !model.contains_key(&key));
                    model.entry(key).or_insert(step);
                }
                6 | 7 => {
                    assert_eq!(table.get(&key), model.get(&key));
                }
                8 => {
                    let cut = rng.next() % 20_000;
                    table.retain(|v| u64::from(*v) >= cut);
                    model.retain(|_, v| u64::from(*v) >= cut);
                }
                _ => {
                    if let Some(v) = table.get_mut(&key) {
                        *v += 1;
                    }
                    if let Some(v) = model.get_mut(&key) {
                        *v += 1;
                    }
                }
            }
            assert_eq!(table.len(), model.len());
            for (key, value) in &model {
                assert_eq!(table.get(key), Some(value), "step {step}");
            }
            assert!(table.slots.is_empty() || table.slots.iter().any(Option::is_none));
        }
        let mut values: Vec<u32> = table.values_mut().map(|v| *v).collect();
        let mut expected: Vec<u32> = model.values().copied().collect();
        values.sort_unstable();
        expected.sort_unstable();
        assert_eq!(values, expected);
    }

    #[test]
    fn random_ids_grow_and_stay_findable() {
        let mut table = IdTable::default();
        let ids: Vec<SessionId> = (0..10_000)
            .map(|_| SessionId::random().expect("rng"))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert!(table.insert_new(*id, i).is_ok());
        }
        assert_eq!(table.len(), ids.len());
        assert!(table.len() * MAX_LOAD.1 <= table.slots.len() * MAX_LOAD.0);
        table.retain(|v| *v % 2 == 0);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(table.get(id), (i % 2 == 0).then_some(&i));
        }
        assert!(table.get(&id(1, 1)).is_none());
    }
}
