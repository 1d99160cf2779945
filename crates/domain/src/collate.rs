//! Vietnamese alphabetical order, for sorting names as Vietnamese readers expect.
//!
//! The alphabet is `a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y`; letters with
//! a breve, circumflex or horn are letters of their own, while tone marks only break ties
//! in the order ngang, huyền, hỏi, ngã, sắc, nặng. So "Đà Nẵng" sorts after every "D…",
//! and "Ân" after every "An…". Byte order (what SQLite and `str::cmp` do) gets both wrong.
//!
//! [`sort_key`] gives a key whose byte-wise order is that collation: the primary weights of
//! the letters, then the tones, then the letter case.

use std::cmp::Ordering;

use unicode_normalization::UnicodeNormalization;

const ALPHABET: &[&str] = &[
    "a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
    "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z",
];

/// Primary weights start above the space, digits and punctuation, which keep their code
/// point order below letters.
const LETTER_BASE: u32 = 0x1_0000;

fn tone_rank(mark: char) -> Option<u32> {
    match mark {
        '\u{0300}' => Some(1), // huyền
        '\u{0309}' => Some(2), // hỏi
        '\u{0303}' => Some(3), // ngã
        '\u{0301}' => Some(4), // sắc
        '\u{0323}' => Some(5), // nặng
        _ => None,
    }
}

fn letter_modifier(mark: char) -> Option<char> {
    match mark {
        '\u{0306}' | '\u{0302}' | '\u{031B}' => Some(mark),
        _ => None,
    }
}

/// The collation key of `text`; compare keys to compare texts in Vietnamese order.
pub fn sort_key(text: &str) -> Vec<u32> {
    let mut primary = Vec::new();
    let mut tones = Vec::new();
    let mut cases = Vec::new();
    let decomposed: Vec<char> = text.nfd().collect();
    let mut i = 0;
    while i < decomposed.len() {
        let base = decomposed[i];
        let mut letter: String = base.to_lowercase().collect();
        let upper = base.is_uppercase();
        let mut tone = 0;
        i += 1;
        while i < decomposed.len() {
            let mark = decomposed[i];
            if let Some(modifier) = letter_modifier(mark) {
                letter.push(modifier);
            } else if let Some(rank) = tone_rank(mark) {
                tone = rank;
            } else {
                break;
            }
            i += 1;
        }
        let composed: String = letter.nfc().collect();
        let weight = match ALPHABET.iter().position(|l| *l == composed) {
            Some(index) => LETTER_BASE + index as u32,
            // Anything else (digits, punctuation, other scripts) by code point; letters of
            // other scripts go after the Vietnamese alphabet.
            None => {
                let c = composed.chars().next().unwrap_or(base) as u32;
                if c < 0x80 {
                    c
                } else {
                    LETTER_BASE + 0x100 + c
                }
            }
        };
        primary.push(weight);
        tones.push(tone);
        cases.push(u32::from(upper));
    }
    let mut key = primary;
    key.push(0);
    key.extend(tones);
    key.push(0);
    key.extend(cases);
    key
}

/// `text` without marks, lower case, `đ` as `d`: what a search matches against, so that
/// "ninh kieu" finds "Ninh Kiều".
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !('\u{0300}'..='\u{036F}').contains(c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

/// Compares two texts in Vietnamese order.
pub fn compare(a: &str, b: &str) -> Ordering {
    // Equal text needs no key (SQLite's `COLLATE vi` compares many equal unit names).
    if a == b {
        return Ordering::Equal;
    }
    sort_key(a).cmp(&sort_key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        names.sort_by(|a, b| compare(a, b));
        names
    }

    #[test]
    fn letters_with_marks_are_letters_of_their_own() {
        assert_eq!(
            sorted(&["Đông", "Dương", "Ân", "An", "Bình", "Ăn"]),
            ["An", "Ăn", "Ân", "Bình", "Dương", "Đông"]
        );
        assert_eq!(
            sorted(&["Ô Môn", "Ơn", "Ong", "Phong Điền"]),
            ["Ong", "Ô Môn", "Ơn", "Phong Điền"]
        );
    }

    #[test]
    fn tones_only_break_ties_in_dictionary_order() {
        assert_eq!(
            sorted(&["mạ", "má", "mã", "mả", "mà", "ma"]),
            ["ma", "mà", "mả", "mã", "má", "mạ"]
        );
        // The tone of an earlier syllable does not beat a later letter.
        assert_eq!(sorted(&["Cái Răng", "Cai Lậy"]), ["Cai Lậy", "Cái Răng"]);
    }

    #[test]
    fn folding_drops_marks_for_search() {
        assert_eq!(
            fold("Ủy ban nhân dân quận Ninh Kiều"),
            "uy ban nhan dan quan ninh kieu"
        );
        assert_eq!(fold("ĐIỆN LỰC"), "dien luc");
    }

    #[test]
    fn precomposed_and_decomposed_input_sort_alike() {
        assert_eq!(sort_key("Thới Lai"), sort_key("Tho\u{031B}\u{0301}i Lai"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn folding_is_idempotent_and_marks_never_matter_for_search(text in "[a-zA-ZàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđĐ ]{0,30}") {
            let once = fold(&text);
            prop_assert_eq!(fold(&once), once.clone());
            // Every Vietnamese letter folds to plain ASCII.
            prop_assert!(once.is_ascii(), "{} folded to {}", text, once);
        }

        #[test]
        fn the_order_is_total_and_consistent(a in "[a-zăâđêôơư ]{0,12}", b in "[a-zăâđêôơư ]{0,12}") {
            prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
            prop_assert_eq!(compare(&a, &b) == std::cmp::Ordering::Equal, a == b);
        }
    }
}
