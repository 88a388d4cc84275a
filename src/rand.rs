//! Id randomness: a keyed pseudo-random function of a counter (SipHash's
//! state and rounds) whose key takes in fresh random bytes from the
//! browser (`crypto.getRandomValues`) with every input (README "Sessions").
//!
//! Each input's bytes are mixed into the key before the input is handled,
//! so every id minted by an input depends on bytes the browser drew for
//! that input: ids minted after `clear()` cannot be foretold from ids seen
//! before it. Within one input the outputs come from a secret key through
//! eight SipHash rounds and a fold of the 256-bit state to 64 bits, so one
//! id tells nothing of the next. Native tests feed fixed bytes and get the
//! same ids every run.

/// A counter hashed under a 128-bit key.
#[derive(Clone, Debug)]
pub struct Rng {
    k0: u64,
    k1: u64,
    counter: u64,
}

/// `n` SipHash rounds on the state (a loop: 10 B less of the script tag
/// than the rounds written out).
fn rounds(v: &mut [u64; 4], n: u32) {
    for _ in 0..n {
        let [mut v0, mut v1, mut v2, mut v3] = *v;
        v0 = v0.wrapping_add(v1);
        v1 = v1.rotate_left(13) ^ v0;
        v0 = v0.rotate_left(32);
        v2 = v2.wrapping_add(v3);
        v3 = v3.rotate_left(16) ^ v2;
        v0 = v0.wrapping_add(v3);
        v3 = v3.rotate_left(21) ^ v0;
        v2 = v2.wrapping_add(v1);
        v1 = v1.rotate_left(17) ^ v2;
        v2 = v2.rotate_left(32);
        *v = [v0, v1, v2, v3];
    }
}

/// The counter `m` under the key `(k0, k1)`: SipHash's initial state with
/// `m` in it, eight rounds (as many as SipHash-2-4 runs on one block), then
/// the state folded to 64 bits. Without the rest of SipHash-2-4 (the
/// message xored in again after two rounds, the length block, the final
/// marker: what chains blocks of a message of any length), which cost
/// 91 B of the script tag (README "Size"). The state is 256 bits of which
/// 128 are secret; an output shows 64 bits of a fold of it, so the key, and
/// so the next output, cannot be worked back from outputs.
fn mix(k0: u64, k1: u64, m: u64) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573 ^ m,
    ];
    rounds(&mut v, 8);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

impl Rng {
    pub const fn new(seed_a: u64, seed_b: u64) -> Rng {
        Rng {
            k0: seed_a,
            k1: seed_b,
            counter: 0,
        }
    }

    /// Mixes 128 fresh random bits (two halves) into the key: what comes
    /// out from now on depends on them.
    pub fn reseed(&mut self, lo: u64, hi: u64) {
        self.k0 ^= lo;
        self.k1 ^= hi;
    }

    pub fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        mix(self.k0, self.k1, self.counter)
    }

    pub fn bytes16(&mut self) -> [u8; 16] {
        let a = self.next_u64();
        let b = self.next_u64();
        ((u128::from(b) << 64) | u128::from(a)).to_le_bytes()
    }

    /// A value in `0..=max` (slightly biased, fine for jitter).
    pub fn below_or_eq(&mut self, max: u64) -> u64 {
        // `max + 1` wraps to 0 for u64::MAX: then any value will do (and
        // `checked_rem` leaves no division-by-zero panic path).
        let r = self.next_u64();
        r.checked_rem(max.wrapping_add(1)).unwrap_or(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_bit_and_counter_bit_changes_about_half_of_the_output() {
        // The avalanche a keyed function needs: flipping any one bit of the
        // key or the counter flips each output bit with probability 1/2,
        // so nearby keys or counters give unrelated outputs. Over 64
        // samples per bit, the mean of 32 flipped bits stays well inside
        // 28..36 (a weak mix, e.g. a multiply-xor, misses it for low bits).
        let mut r = Rng::new(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        for bit in 0..192u32 {
            let mut flipped = 0u32;
            for _ in 0..64 {
                let (k0, k1, m) = (r.next_u64(), r.next_u64(), r.next_u64());
                let base = mix(k0, k1, m);
                let one = 1u64 << (bit % 64);
                let other = match bit / 64 {
                    0 => mix(k0 ^ one, k1, m),
                    1 => mix(k0, k1 ^ one, m),
                    _ => mix(k0, k1, m ^ one),
                };
                flipped += (base ^ other).count_ones();
            }
            let mean = f64::from(flipped) / 64.0;
            assert!((28.0..=36.0).contains(&mean), "bit {bit}: {mean}");
        }
    }

    #[test]
    fn no_output_repeats_across_counters_and_keys() {
        let mut seen = std::collections::HashSet::new();
        for key in 0..64u64 {
            let mut r = Rng::new(key, 0);
            for _ in 0..1000 {
                assert!(seen.insert(r.next_u64()));
            }
        }
    }

    #[test]
    fn different_seeds_give_different_streams() {
        let mut a = Rng::new(1, 2);
        let mut b = Rng::new(1, 3);
        assert_ne!(a.bytes16(), b.bytes16());
        let mut c = Rng::new(1, 2);
        let mut d = Rng::new(1, 2);
        assert_eq!(c.bytes16(), d.bytes16());
    }

    #[test]
    fn fresh_bytes_change_everything_after_them_and_none_keeps_the_stream() {
        let mut a = Rng::new(1, 2);
        let mut b = Rng::new(1, 2);
        assert_eq!(a.next_u64(), b.next_u64());
        a.reseed(7, 7);
        b.reseed(8, 8);
        assert_ne!(a.bytes16(), b.bytes16());
        // Zero bytes (a test's fake source) leave the key as it was: the
        // stream goes on, never repeats.
        let mut c = Rng::new(1, 2);
        let first = c.next_u64();
        c.reseed(0, 0);
        assert_ne!(c.next_u64(), first);
    }

    #[test]
    fn below_or_eq_stays_in_range() {
        let mut r = Rng::new(7, 7);
        for _ in 0..1000 {
            assert!(r.below_or_eq(10) <= 10);
        }
    }
}
