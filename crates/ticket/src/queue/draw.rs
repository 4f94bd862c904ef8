//! The pre-queue draw of a scheduled on-sale: fans who arrived before sale start are placed in a
//! random order that anyone holding the seed can reproduce.
//!
//! The generator is SplitMix64 and the shuffle is Fisher-Yates, both written here rather than
//! taken from a crate: an audit years later must reproduce the same order from the logged seed,
//! whatever a dependency's next version does to its streams. Participants are sorted by id
//! before shuffling, so the order depends only on the set of fans and the seed.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified by its constants.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift with rejection, so no modulo bias).
    pub fn below(&mut self, bound: u64) -> u64 {
        loop {
            let m = u128::from(self.next_u64()) * u128::from(bound);
            let low = m as u64;
            if low >= bound.wrapping_neg() % bound {
                return (m >> 64) as u64;
            }
        }
    }
}

/// The draw: `participants` sorted, then shuffled with `seed`. The result is the queue order.
pub fn draw_order(seed: u64, participants: &[String]) -> Vec<String> {
    let mut order = participants.to_vec();
    order.sort();
    let mut rng = SplitMix64::new(seed);
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// A fresh seed from the operating system's randomness (through a v4 UUID).
pub fn fresh_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fans(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("fan-{i:04}")).collect()
    }

    #[test]
    fn the_draw_is_a_permutation_and_the_same_seed_gives_the_same_order() {
        let input = fans(500);
        let a = draw_order(42, &input);
        let b = draw_order(42, &input);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, input);
        assert_ne!(
            a, input,
            "500 fans left in order by a shuffle is (practically) impossible"
        );
        assert_ne!(draw_order(43, &input), a);
    }

    #[test]
    fn the_order_does_not_depend_on_how_participants_were_listed() {
        let input = fans(50);
        let mut reversed = input.clone();
        reversed.reverse();
        assert_eq!(draw_order(7, &input), draw_order(7, &reversed));
    }

    #[test]
    fn splitmix_matches_its_reference_stream() {
        // First outputs for seed 1234567 of the published algorithm (checked independently).
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }
}
