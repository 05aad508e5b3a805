//! PIN policy: long enough, and not one of the PINs people pick first.
//!
//! Short numeric PINs are only safe because the attempt limit and the
//! hardware key stop offline guessing; the policy removes the guesses an
//! attacker would spend those attempts on (all one digit, straight runs,
//! short repeated patterns, and the most common PINs in published studies).
//!
//! The policy has two parts. The *shape* ([`PinShape`]: length and allowed
//! characters) is stored at enrolment and at every PIN change; input outside
//! the stored shape cannot be the vault's PIN, so `unlock`,
//! `unlock_with_grant` and `change_pin` refuse it (`MalformedPin`) before an
//! attempt is counted or a key is touched. The *strength* rules (patterns,
//! blocklist) apply only when a PIN is set: a PIN they accepted then stays
//! valid when they grow. A vault enrolled before shapes were stored gets
//! [`PinShape::LEGACY`], the widest shape any release enrolled, so its PIN
//! still unlocks.

use crate::config::MIN_PIN_LENGTH_FLOOR;
use crate::error::{Error, Result};

/// Longest PIN accepted (characters).
pub(crate) const MAX_PIN_CHARS: usize = 64;

/// The most UTF-8 bytes a PIN of [`MAX_PIN_CHARS`] characters can take:
/// longer input is refused by its length alone, before it is read.
const MAX_PIN_BYTES: usize = MAX_PIN_CHARS * 4;

/// Common PINs that no rule below catches (keypad patterns, dates, years).
const BLOCKLIST: &[&str] = &[
    "1379", "2580", "0852", "1397", "1470", "7410", "3690", "0258", "1984", "1987", "1990", "2000", "2001", "2468",
    "8520", "9630", "123321", "147258", "147852", "159357", "159753", "258456", "258852", "369258", "456789", "520520",
    "654123", "741852", "753951", "789456", "852456", "951753", "963852", "102030", "100200", "112233", "110011",
    "123654", "321654", "696969", "142536", "198700", "199000", "200000", "131313", "12345678", "87654321", "11223344",
];

/// Which characters a vault's PIN may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Charset {
    /// Any character but control characters: what enrolment allowed before
    /// shapes were stored (emoji included).
    AnyButControl,
    /// Letters and digits of any script, the space and ASCII punctuation:
    /// what a PIN pad or a keyboard types. No emoji, no invisible characters.
    Typed,
}

/// The length and characters every PIN of one vault has: what the policy
/// allowed when its PIN was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PinShape {
    /// Fewest characters (the `min_pin_length` in force when the PIN was set).
    pub(crate) min_chars: u32,
    /// Allowed characters.
    pub(crate) charset: Charset,
}

impl PinShape {
    /// The shape of a vault enrolled before shapes were stored: every release
    /// refused control characters and more than [`MAX_PIN_CHARS`], and no
    /// configuration allowed fewer than [`MIN_PIN_LENGTH_FLOOR`] characters.
    pub(crate) const LEGACY: Self = Self { min_chars: MIN_PIN_LENGTH_FLOOR, charset: Charset::AnyButControl };

    /// The shape of a PIN set now, with a minimum of `min_len` characters.
    pub(crate) fn current(min_len: u32) -> Self {
        Self { min_chars: min_len, charset: Charset::Typed }
    }

    /// A shape that admits every PIN either admits (kept while a PIN change
    /// is under way, so a crash leaves both the old and the new PIN usable).
    pub(crate) fn union(self, other: Self) -> Self {
        let charset = if self.charset == Charset::Typed && other.charset == Charset::Typed {
            Charset::Typed
        } else {
            Charset::AnyButControl
        };
        Self { min_chars: self.min_chars.min(other.min_chars), charset }
    }

    /// Why `pin` cannot have this shape, if it cannot. Reads at most
    /// [`MAX_PIN_BYTES`] of it, and allocates nothing.
    pub(crate) fn violation(&self, pin: &str) -> Option<&'static str> {
        if pin.len() > MAX_PIN_BYTES {
            return Some("the PIN is too long");
        }
        let chars = pin.chars().count();
        if chars < usize::try_from(self.min_chars).unwrap_or(usize::MAX) {
            return Some("the PIN is too short");
        }
        if chars > MAX_PIN_CHARS {
            return Some("the PIN is too long");
        }
        // NUL is a control character: "PIN\0" never reaches HMAC, whose
        // zero-padding of short keys would make it equal to "PIN".
        if pin.chars().any(char::is_control) {
            return Some("the PIN contains control characters");
        }
        let typed = |c: char| c.is_alphanumeric() || c == ' ' || c.is_ascii_punctuation();
        if self.charset == Charset::Typed && !pin.chars().all(typed) {
            return Some("the PIN contains characters other than letters, digits, spaces and punctuation");
        }
        None
    }

    /// Refuses input that cannot be this vault's PIN, before anything is
    /// counted: `MalformedPin`.
    pub(crate) fn admit(&self, pin: &str) -> Result<()> {
        self.violation(pin).map_or(Ok(()), |reason| Err(Error::MalformedPin(reason)))
    }

    /// The stored form: `(min_chars, charset code)`.
    pub(crate) fn to_stored(self) -> (i64, i64) {
        let code = match self.charset {
            Charset::AnyButControl => 0,
            Charset::Typed => 1,
        };
        (i64::from(self.min_chars), code)
    }

    /// Reads the stored form; anything this build never writes is `Tampered`.
    pub(crate) fn from_stored((min_chars, code): (i64, i64)) -> Result<Self> {
        let charset = match code {
            0 => Charset::AnyButControl,
            1 => Charset::Typed,
            _ => return Err(Error::Tampered),
        };
        let min_chars = u32::try_from(min_chars).map_err(|_| Error::Tampered)?;
        if !(MIN_PIN_LENGTH_FLOOR..=64).contains(&min_chars) {
            return Err(Error::Tampered);
        }
        Ok(Self { min_chars, charset })
    }
}

/// Checks a PIN being set (enrolment, new PIN of a change) against the policy
/// with a minimum length of `min_len`: the shape it will be stored with, then
/// the strength rules.
pub(crate) fn check(pin: &str, min_len: u32) -> Result<()> {
    if let Some(reason) = PinShape::current(min_len).violation(pin) {
        return Err(Error::WeakPin(reason));
    }
    let chars: Vec<char> = pin.chars().collect();
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
        assert!(check("4829\u{1F512}15", 6).is_err(), "emoji");
        assert!(check("482915\0", 6).is_err(), "NUL");
    }

    #[test]
    fn a_legacy_shape_admits_what_enrolment_used_to_accept() {
        let emoji = "\u{1F512}\u{1F511}\u{1F510}\u{1F513}";
        assert_eq!(PinShape::LEGACY.violation(emoji), None);
        assert!(PinShape::current(4).violation(emoji).is_some());
        assert!(PinShape::LEGACY.violation("123").is_some());
        assert!(PinShape::LEGACY.violation("4829\0").is_some());
        assert_eq!(PinShape::current(6).union(PinShape::current(8)), PinShape::current(6));
        assert_eq!(PinShape::current(6).union(PinShape::LEGACY), PinShape::LEGACY);
    }

    #[test]
    fn a_stored_shape_round_trips_and_an_edited_one_is_tampered() {
        for shape in [PinShape::LEGACY, PinShape::current(6), PinShape::current(64)] {
            assert_eq!(PinShape::from_stored(shape.to_stored()).unwrap(), shape);
        }
        for stored in [(6, 2), (6, -1), (3, 1), (65, 1), (-6, 1)] {
            assert!(matches!(PinShape::from_stored(stored), Err(Error::Tampered)), "{stored:?}");
        }
    }
}
