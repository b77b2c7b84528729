//! Model-name globs, as `[models]`, `[routing]` and `upstreams add --models`
//! write them.

/// `*` matches any run of characters, `?` any one; case-insensitive.
pub fn matches(pattern: &str, text: &str) -> bool {
    // Runs for every mapping on every request: model names are ASCII, so
    // compare bytes without allocating; anything else takes the general path.
    if pattern.is_ascii() && text.is_ascii() {
        return glob_match_by(pattern.as_bytes(), text.as_bytes(), [b'*', b'?'], |p, t| {
            p.eq_ignore_ascii_case(&t)
        });
    }
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    glob_match_by(&pattern, &text, ['*', '?'], |p, t| p == t)
}

/// The glob match over any unit (bytes or chars): `star` and `one` are that
/// unit's `*` and `?`, `same` compares two literals.
fn glob_match_by<T: Copy + PartialEq>(
    pattern: &[T],
    text: &[T],
    [star, one]: [T; 2],
    same: impl Fn(T, T) -> bool,
) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == one || same(pattern[p], text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == star {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star_at, matched)) = backtrack {
            p = star_at + 1;
            t = matched + 1;
            backtrack = Some((star_at, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == star)
}
