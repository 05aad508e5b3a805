//! PIN policy: long enough, and not one of the PINs people pick first.
//!
//! Short numeric PINs are only safe because the attempt limit and the
//! hardware key stop offline guessing; the policy removes the guesses an
//! attacker would spend those attempts on (all one digit, straight runs,
//! short repeated patterns, and the most common PINs in published studies).

use crate::error::{Error, Result};

/// Longest PIN accepted (characters).
pub(crate) const MAX_PIN_CHARS: usize = 64;

/// Common PINs that no rule below catches (keypad patterns, dates, years).
const BLOCKLIST: &[&str] = &[
    "1379", "2580", "0852", "1397", "1470", "7410", "3690", "0258", "1984", "1987", "1990", "2000", "2001", "2468",
    "8520", "9630", "123321", "147258", "147852", "159357", "159753", "258456", "258852", "369258", "456789", "520520",
    "654123", "741852", "753951", "789456", "852456", "951753", "963852", "102030", "100200", "112233", "110011",
    "123654", "321654", "696969", "142536", "198700", "199000", "200000", "131313", "12345678", "87654321", "11223344",
];

/// Checks `pin` against the policy with a minimum length of `min_len`.
pub(crate) fn check(pin: &str, min_len: u32) -> Result<()> {
    let chars: Vec<char> = pin.chars().collect();
    let min = usize::try_from(min_len).unwrap_or(usize::MAX);
    if chars.len() < min {
        return Err(Error::WeakPin("the PIN is too short"));
    }
    if chars.len() > MAX_PIN_CHARS {
        return Err(Error::WeakPin("the PIN is too long"));
    }
    if chars.iter().any(|c| c.is_control()) {
        return Err(Error::WeakPin("the PIN contains control characters"));
    }
    if is_repeated_pattern(&chars) {
        return Err(Error::WeakPin("the PIN repeats a short pattern"));
    }
    if is_straight_run(&chars) {
        return Err(Error::WeakPin("the PIN is a straight sequence"));
    }
    if BLOCKLIST.contains(&pin) {
        return Err(Error::WeakPin("the PIN is too common"));
    }
    Ok(())
}

/// `aaaa`, `1212`, `123123`: the PIN is some prefix repeated (period ≤ half).
fn is_repeated_pattern(chars: &[char]) -> bool {
    (1..=chars.len() / 2).any(|period| chars.iter().zip(chars.iter().skip(period)).all(|(a, b)| a == b))
}

/// `123456`, `654321`, `890123` (digits wrap), `abcdef`.
fn is_straight_run(chars: &[char]) -> bool {
    let step = |a: char, b: char, up: bool| -> bool {
        match (a.to_digit(10), b.to_digit(10)) {
            (Some(x), Some(y)) => {
                if up {
                    (x + 1) % 10 == y
                } else {
                    (y + 1) % 10 == x
                }
            }
            _ => {
                let (x, y) = (a as u32, b as u32);
                if up {
                    x.checked_add(1) == Some(y)
                } else {
                    y.checked_add(1) == Some(x)
                }
            }
        }
    };
    let pairs = || chars.iter().zip(chars.iter().skip(1));
    chars.len() > 1 && (pairs().all(|(a, b)| step(*a, *b, true)) || pairs().all(|(a, b)| step(*a, *b, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_pins() {
        for pin in ["482915", "730264", "9051738", "correct horse"] {
            assert!(check(pin, 6).is_ok(), "{pin}");
        }
    }

    #[test]
    fn rejects_weak_pins() {
        for pin in ["12345", "000000", "121212", "123123", "123456", "654321", "890123", "147258", "abcdef"] {
            assert!(matches!(check(pin, 6), Err(Error::WeakPin(_))), "{pin}");
        }
        assert!(check(&"7".repeat(65), 6).is_err());
    }
}
