//! Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
//! SC 2011), as JAX's `threefry2x32` computes it: the key schedule's parity constant, the
//! rotation amounts, and the scalar cipher that eager evaluation and the tests use (the
//! compiled one in `backend::ops` is built from the same constants).

/// The key schedule's third word is `k0 ^ k1 ^ PARITY`.
pub const PARITY: u32 = 0x1BD1_1BDA;

/// The rotation amounts, alternating per group of four rounds.
pub const ROTATIONS: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];

/// Threefry-2x32 with 20 rounds: `key` and one two-word block in, two words out.
pub fn threefry2x32(key: [u32; 2], block: [u32; 2]) -> (u32, u32) {
    let ks = [key[0], key[1], key[0] ^ key[1] ^ PARITY];
    let (mut x0, mut x1) = (block[0].wrapping_add(ks[0]), block[1].wrapping_add(ks[1]));
    for group in 0..5 {
        for &r in &ROTATIONS[group % 2] {
            x0 = x0.wrapping_add(x1);
            x1 = x1.rotate_left(r);
            x1 ^= x0;
        }
        x0 = x0.wrapping_add(ks[(group + 1) % 3]);
        x1 = x1
            .wrapping_add(ks[(group + 2) % 3])
            .wrapping_add(group as u32 + 1);
    }
    (x0, x1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn threefry_known_answers() {
        assert_eq!(
            super::threefry2x32([0, 0], [0, 0]),
            (0x6b20_0159, 0x99ba_4efe)
        );
        assert_eq!(
            super::threefry2x32([0x1319_8a2e, 0x0370_7344], [0x243f_6a88, 0x85a3_08d3]),
            (0xc492_3a9c, 0x483d_f7a0)
        );
    }
}
