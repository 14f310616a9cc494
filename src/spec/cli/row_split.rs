//! The flattened layout prints a response row as `managed_typescp or useruser`: name,
//! description and example glued together. The name is a snake_case identifier, so the split
//! is clear when the description starts with a capital (`resultTrue, False CheckTrue`);
//! otherwise it is recovered from the words the document uses elsewhere.

use std::collections::BTreeSet;

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// The leading identifier run of a row and whether it ended at a capital letter, which
/// makes it unambiguous. At the row's end it is not: `pagepage0` is name, description, example.
fn leading_token(row: &str) -> (&str, bool) {
    let mut end = row.find(|c: char| !is_name_char(c)).unwrap_or(row.len());
    // camelCase names (`isDuplicateNameTrue`): a capitalised hump belongs to the name while
    // another hump follows it directly; the last one starts the description or example.
    // snake_case names never continue in camelCase (`delete_target_ynDeleteTargetYn of Key`).
    let snake = row[..end].contains('_');
    while let Some(hump) = hump_len(&row[end..]).filter(|_| !snake) {
        if hump_len(&row[end + hump..]).is_none() {
            break;
        }
        end += hump;
    }
    let clear = row[end..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase());
    (&row[..end], clear)
}

/// Length of a leading `Xyz` (one capital, then lowercase letters), if any.
fn hump_len(s: &str) -> Option<usize> {
    let mut cs = s.char_indices();
    cs.next().filter(|(_, c)| c.is_ascii_uppercase())?;
    let end = cs
        .find(|(_, c)| !c.is_ascii_lowercase())
        .map_or(s.len(), |(i, _)| i);
    (end > 1).then_some(end)
}

/// Names that split without guessing; their words make the vocabulary for the rest.
pub fn clear_name(row: &str) -> Option<&str> {
    match leading_token(row) {
        ("", _) => None,
        (t, true) => Some(t),
        _ => None,
    }
}

/// Split `row` into (name, description-and-example). `vocabulary` holds words (snake_case
/// segments) known to occur in names: flag names and clearly split response names.
pub fn split_row<'a>(row: &'a str, vocabulary: &BTreeSet<String>) -> (&'a str, &'a str) {
    let (token, clear) = leading_token(row);
    if clear {
        return (token, &row[token.len()..]);
    }
    let name_len = ambiguous_name_len(token, vocabulary);
    (&row[..name_len], &row[name_len..])
}

/// Where the name ends inside `token` (= name + first description word).
fn ambiguous_name_len(token: &str, vocabulary: &BTreeSet<String>) -> usize {
    let last_start = token.rfind('_').map_or(0, |i| i + 1);
    let last = &token[last_start..];
    let earlier: Vec<&str> = token[..last_start]
        .split('_')
        .filter(|s| !s.is_empty())
        .collect();
    // The description usually restarts with a word of the name: `user_iduser Id`,
    // `count_checkcheck count`, `pagepage0`. Take the shortest such head.
    for cut in 1..last.len() {
        let (head, rest) = last.split_at(cut);
        let restarts = earlier
            .iter()
            .chain(std::iter::once(&head))
            .any(|w| rest.starts_with(w));
        if restarts {
            return last_start + cut;
        }
    }
    // Otherwise the longest known word that starts the last segment: `managed_typescp` → type.
    (1..last.len())
        .rev()
        .find(|&cut| vocabulary.contains(&last[..cut]))
        .map_or(token.len(), |cut| last_start + cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> BTreeSet<String> {
        ["key", "type", "result", "size"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn splits_the_vendor_rows() {
        let v = vocab();
        for (row, name) in [
            ("resultTrue, False CheckTrue", "result"),
            ("managed_typescp or useruser", "managed_type"),
            ("key_typebasic or advancedadvanced", "key_type"),
            ("user_iduser Id4f5d", "user_id"),
            ("count_checkcheck count10", "count_check"),
            ("pagepage0", "page"),
            ("sizesize20", "size"),
            (
                "auth_key_created_atcreated date of authkey2022",
                "auth_key_created_at",
            ),
            ("key_bit_sizekey bits size2048", "key_bit_size"),
            ("diagnosis_resultverify result state03", "diagnosis_result"),
            ("validate_check", "validate_check"),
            ("countcount20", "count"),
            ("isDuplicateNameTrue", "isDuplicateName"),
            ("idID0fdd", "id"),
            ("typeTypeSTANDARD", "type"),
            ("delete_target_ynDeleteTargetYn of KeyY", "delete_target_yn"),
            ("version_list", "version_list"),
        ] {
            assert_eq!(split_row(row, &v).0, name, "{row}");
        }
    }
}
