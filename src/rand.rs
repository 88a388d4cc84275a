//! A small seeded generator for id randomness.
//!
//! The shell seeds it once from `crypto.getRandomValues`; tests seed it with a
//! constant, so ids are reproducible there and unpredictable in the browser.

/// xoshiro128++-style generator over two 64-bit words (splitmix64 seeded).
#[derive(Clone, Debug)]
pub struct Rng {
    s0: u64,
    s1: u64,
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed_a: u64, seed_b: u64) -> Rng {
        let mut x = seed_a ^ seed_b.rotate_left(32);
        let s0 = splitmix(&mut x) ^ seed_b;
        let s1 = splitmix(&mut x) | 1;
        Rng { s0, s1 }
    }

    /// xoroshiro128++ step.
    pub fn next_u64(&mut self) -> u64 {
        let (s0, mut s1) = (self.s0, self.s1);
        let out = s0.wrapping_add(s1).rotate_left(17).wrapping_add(s0);
        s1 ^= s0;
        self.s0 = s0.rotate_left(49) ^ s1 ^ (s1 << 21);
        self.s1 = s1.rotate_left(28);
        out
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
    fn different_seeds_give_different_streams() {
        let mut a = Rng::new(1, 2);
        let mut b = Rng::new(1, 3);
        assert_ne!(a.bytes16(), b.bytes16());
        let mut c = Rng::new(1, 2);
        let mut d = Rng::new(1, 2);
        assert_eq!(c.bytes16(), d.bytes16());
    }

    #[test]
    fn below_or_eq_stays_in_range() {
        let mut r = Rng::new(7, 7);
        for _ in 0..1000 {
            assert!(r.below_or_eq(10) <= 10);
        }
    }
}
