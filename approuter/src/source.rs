//! A route's `source` (and a CORS rule's `uriPattern`, `hostPattern`): an ECMAScript regular
//! expression compiled once at start-up, and JavaScript's `replace` with it for the `target`.
//! Below the routes and `xs-app.json`'s compiler, which both use it.

/// A route's `source`: an ECMAScript regular expression, built as `@sap/approuter` builds it
/// (`new RegExp(path, matchCase === false ? "i" : "")`), so that real files' JavaScript
/// expressions (look-aheads such as `^/(?!api/).*$`, back-references) behave as in SAP's router.
#[derive(Debug)]
pub struct Source {
    /// As written in `xs-app.json`, for messages and for writing the file back.
    pattern: Box<str>,
    regex: regress::Regex,
    /// Capturing groups, and the names of the named ones, for `$n` / `$<name>` in `target`.
    groups: usize,
    names: Vec<String>,
}

impl Source {
    pub fn new(pattern: &str, match_case: bool) -> Result<Self, String> {
        let flags = if match_case { "" } else { "i" };
        let regex = regress::Regex::with_flags(pattern, flags).map_err(|e| e.to_string())?;
        let (groups, names) = count_groups(pattern);
        Ok(Self {
            pattern: pattern.into(),
            regex,
            groups,
            names,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn group_count(&self) -> usize {
        self.groups
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.regex.find(path).is_some()
    }

    /// JavaScript's `path.replace(source, target)`: the first match replaced by `target` with its
    /// `$` patterns expanded, the unmatched rest kept. `None` when the source does not match.
    pub fn replace(&self, path: &str, target: &str) -> Option<String> {
        let m = self.regex.find(path)?;
        let range = m.range();
        let mut out = String::with_capacity(path.len() + target.len());
        out.push_str(&path[..range.start]);
        self.expand(path, &m, target, &mut out);
        out.push_str(&path[range.end..]);
        Some(out)
    }

    /// `$$`, `$&`, `` $` ``, `$'`, `$n`/`$nn` and `$<name>` as `String.prototype.replace` reads
    /// them (ECMAScript GetSubstitution); anything else after `$` stays as written.
    fn expand(&self, path: &str, m: &regress::Match, target: &str, out: &mut String) {
        let range = m.range();
        let bytes = target.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'$' || i + 1 == bytes.len() {
                let ch = target[i..].chars().next().unwrap_or('$');
                out.push(ch);
                i += ch.len_utf8();
                continue;
            }
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                }
                b'&' => {
                    out.push_str(&path[range.clone()]);
                    i += 2;
                }
                b'`' => {
                    out.push_str(&path[..range.start]);
                    i += 2;
                }
                b'\'' => {
                    out.push_str(&path[range.end..]);
                    i += 2;
                }
                d if d.is_ascii_digit() => {
                    let one = usize::from(d - b'0');
                    let two = bytes
                        .get(i + 2)
                        .filter(|b| b.is_ascii_digit())
                        .map(|b| one * 10 + usize::from(b - b'0'));
                    let (n, len) = match two {
                        Some(n) if (1..=self.groups).contains(&n) => (n, 3),
                        _ if (1..=self.groups).contains(&one) => (one, 2),
                        _ => (0, 0),
                    };
                    if len == 0 {
                        out.push('$');
                        i += 1;
                    } else {
                        if let Some(g) = m.group(n) {
                            out.push_str(&path[g]);
                        }
                        i += len;
                    }
                }
                b'<' if !self.names.is_empty() => match target[i + 2..].find('>') {
                    Some(end) => {
                        let name = &target[i + 2..i + 2 + end];
                        if let Some(g) = m.named_group(name) {
                            out.push_str(&path[g]);
                        }
                        i += 3 + end;
                    }
                    None => {
                        out.push('$');
                        i += 1;
                    }
                },
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
    }
}

/// Capturing groups of an ECMAScript pattern and the names of the named ones: every `(` outside
/// a character class that is not escaped and not `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`.
fn count_groups(pattern: &str) -> (usize, Vec<String>) {
    let bytes = pattern.as_bytes();
    let (mut count, mut names) = (0, Vec::new());
    let mut in_class = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'(' if !in_class => {
                if bytes.get(i + 1) != Some(&b'?') {
                    count += 1;
                } else if bytes.get(i + 2) == Some(&b'<')
                    && !matches!(bytes.get(i + 3), Some(b'=') | Some(b'!'))
                {
                    count += 1;
                    if let Some(end) = pattern[i + 3..].find('>') {
                        names.push(pattern[i + 3..i + 3 + end].to_string());
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    (count, names)
}

/// The group numbers a target refers to (`$n`, `$nn`; not `$$`), for the start-up warning about
/// references to groups the source does not have (SAP keeps such a `$3` as text).
pub fn group_references(target: &str) -> Vec<usize> {
    let bytes = target.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            if bytes.get(i + 1) == Some(&b'$') {
                i += 2;
                continue;
            }
            let digits = bytes[i + 1..]
                .iter()
                .take(2)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                out.push(target[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX));
                i += 1 + digits;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_ecmascript_get_substitution() {
        let source = Source::new("^/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)$", true).unwrap();
        let path = "/abcdefghijk";
        let expand = |t: &str| source.replace(path, t).unwrap();
        assert_eq!(expand("$1-$11-$1x-$$-$"), "a-k-ax-$-$");
        // $12 is group 1 followed by "2" (there are 11 groups); $0 is text.
        assert_eq!(expand("$12|$0"), "a2|$0");
        assert_eq!(expand("[$&]"), "[/abcdefghijk]");
        let source = Source::new("b", true).unwrap();
        assert_eq!(
            source.replace("abc", "[$`|$'|$<x>]").as_deref(),
            Some("a[a|c|$<x>]c")
        );
        assert_eq!(group_references("x/$1/$23$/$$4"), vec![1, 23]);
    }
}
