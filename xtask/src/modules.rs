//! `cargo xtask modules`: the module graph of every crate target's `src/` and its cycles.
//!
//! A module depends on another when its non-test code names it: `use crate::a::b`, a path `crate::a::X`,
//! `super::X`, `self::child::X` or `child::X`, including inside macro calls (`format!`, `json!`). Naming an
//! item re-exported by a `use` counts as naming where it comes from. Declaring `mod child;` is not a
//! dependency. Items under `#[cfg(test)]` and modules called `tests` are left out: a test may reach up.
//! The check fails on any strongly connected component of more than one module, except the modules of
//! [`KNOWN_CYCLES`], so the layering, once made, stays. Parsed with `syn`, which sees paths as the
//! compiler does (comments, strings and doc links are not paths).

use crate::error::Error;
use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// Modules that may still be part of a cycle, per crate target: none since every crate was layered.
/// Keep it empty; a module that joins a cycle fails the check (a known exception, if ever needed,
/// would be listed here as `("crate", &["module", ...])` with its reason).
pub const KNOWN_CYCLES: &[(&str, &[&str])] = &[];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit with an error when a crate has a cycle between modules not listed as known.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> Result<(), Error> {
    let root = crate::workspace::workspace_root();
    let mut report = String::new();
    let mut unexpected = Vec::new();
    for target in crate_targets(&root)? {
        let graph = Graph::of_target(&target.root_file)?;
        let cycles = graph.cycles();
        let known: BTreeSet<&str> = KNOWN_CYCLES
            .iter()
            .filter(|(name, _)| *name == target.name)
            .flat_map(|(_, modules)| modules.iter().copied())
            .collect();
        let _ = writeln!(
            report,
            "{}: {} modules, {} dependencies, {}",
            target.name,
            graph.modules.len(),
            graph.edges.values().map(BTreeSet::len).sum::<usize>(),
            if cycles.is_empty() {
                "no cycle".to_string()
            } else {
                format!("{} cycle(s)", cycles.len())
            }
        );
        for cycle in &cycles {
            let shown: Vec<String> = cycle.iter().map(|m| display(m)).collect();
            let allowed = shown.iter().all(|m| known.contains(m.as_str()));
            let _ = writeln!(
                report,
                "  cycle{}: {}",
                if allowed { " (known)" } else { "" },
                shown.join(", ")
            );
            for module in cycle {
                let inside: Vec<String> = graph.edges[module]
                    .iter()
                    .filter(|d| cycle.contains(d))
                    .map(|d| display(d))
                    .collect();
                let _ = writeln!(report, "    {} -> {}", display(module), inside.join(", "));
            }
            if !allowed {
                unexpected.push(format!("{}: {}", target.name, shown.join(", ")));
            }
        }
    }
    print!("{report}");
    if args.check && !unexpected.is_empty() {
        return Err(Error::ModuleCycles { cycles: unexpected });
    }
    Ok(())
}

struct Target {
    /// `crate` for a library, `crate (bin name)` for a binary.
    name: String,
    root_file: PathBuf,
}

/// The library and binary roots of every workspace member (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`).
fn crate_targets(workspace: &Path) -> Result<Vec<Target>, Error> {
    let members = crate::workspace::workspace_members(workspace)?;
    let mut targets = Vec::new();
    for member in members {
        let src = workspace.join(&member).join("src");
        if src.join("lib.rs").is_file() {
            targets.push(Target {
                name: member.clone(),
                root_file: src.join("lib.rs"),
            });
        }
        if src.join("main.rs").is_file() {
            targets.push(Target {
                name: format!("{member} (bin)"),
                root_file: src.join("main.rs"),
            });
        }
        let bins = src.join("bin");
        if let Ok(entries) = std::fs::read_dir(&bins) {
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect();
            files.sort();
            for file in files {
                let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
                targets.push(Target {
                    name: format!("{member} (bin {})", stem.unwrap_or_default()),
                    root_file: file,
                });
            }
        }
    }
    Ok(targets)
}

/// Modules by path (`""` is the crate root, `xsuaa::store` a nested one) and what each depends on.
#[derive(Debug, Default)]
pub struct Graph {
    modules: BTreeMap<String, Module>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Default)]
struct Module {
    children: BTreeSet<String>,
    /// Names brought in by `use` (last segment or alias) -> the absolute path they stand for.
    imports: BTreeMap<String, Vec<String>>,
    /// Absolute paths named in the module's own code.
    references: Vec<Vec<String>>,
}

impl Graph {
    pub fn of_target(root_file: &Path) -> Result<Graph, Error> {
        let mut graph = Graph::default();
        graph.load(
            root_file,
            Vec::new(),
            root_file.parent().unwrap_or(Path::new(".")),
        )?;
        graph.resolve();
        Ok(graph)
    }

    /// Parses `file` as module `path`; `dir` is where its `mod child;` files live.
    fn load(&mut self, file: &Path, path: Vec<String>, dir: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io("read", file, e))?;
        let parsed = syn::parse_file(&text).map_err(|source| Error::Parse {
            path: file.to_path_buf(),
            source,
        })?;
        self.add_items(&parsed.items, path, dir)
    }

    fn add_items(
        &mut self,
        items: &[syn::Item],
        path: Vec<String>,
        dir: &Path,
    ) -> Result<(), Error> {
        // Children first: a `use child::X` may come before `mod child;`.
        let nested: Vec<&syn::ItemMod> = items
            .iter()
            .filter(|item| !is_test_only(item))
            .filter_map(|item| match item {
                syn::Item::Mod(m) if m.ident != "tests" => Some(m),
                _ => None,
            })
            .collect();
        let mut collector = Collector {
            module: &path,
            references: Vec::new(),
            imports: BTreeMap::new(),
            children: nested.iter().map(|m| m.ident.to_string()).collect(),
        };
        for item in items {
            if !is_test_only(item) && !matches!(item, syn::Item::Mod(_)) {
                collector.visit_item(item);
            }
        }
        let key = path.join("::");
        let module = Module {
            children: collector.children,
            imports: collector.imports,
            references: collector.references,
        };
        self.modules.insert(key, module);
        for m in nested {
            let name = m.ident.to_string();
            let mut child = path.clone();
            child.push(name.clone());
            match &m.content {
                Some((_, items)) => self.add_items(items, child, &dir.join(&name))?,
                None => {
                    let flat = dir.join(format!("{name}.rs"));
                    let (file, child_dir) = if flat.is_file() {
                        (flat, dir.join(&name))
                    } else {
                        (dir.join(&name).join("mod.rs"), dir.join(&name))
                    };
                    self.load(&file, child, &child_dir)?;
                }
            }
        }
        Ok(())
    }

    /// Turns every module's references into edges to the modules that define what they name.
    fn resolve(&mut self) {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (name, module) in &self.modules {
            let mut targets = BTreeSet::new();
            let uses = module.imports.values();
            for reference in module.references.iter().chain(uses) {
                if let Some(target) = self.defining_module(reference, 0)
                    && target != *name
                {
                    targets.insert(target);
                }
            }
            edges.insert(name.clone(), targets);
        }
        self.edges = edges;
    }

    /// The module an absolute path's item is defined in, following `use` re-exports.
    fn defining_module(&self, path: &[String], depth: usize) -> Option<String> {
        let mut module = Vec::new();
        let mut rest = path;
        while let Some((first, tail)) = rest.split_first() {
            let key = module.join("::");
            let here = self.modules.get(&key)?;
            if here.children.contains(first) {
                module.push(first.clone());
                rest = tail;
            } else if let Some(target) = here.imports.get(first).filter(|_| depth < 8) {
                // Named through a `use` in `module`: where that import points.
                let mut full = target.clone();
                full.extend(tail.iter().cloned());
                if full.starts_with(&module) && full.len() <= module.len() + 1 {
                    break; // `use self::X` or a glob: the item is here
                }
                return self.defining_module(&full, depth + 1);
            } else {
                break;
            }
        }
        Some(module.join("::"))
    }

    /// Strongly connected components of more than one module (Tarjan), each sorted, in module order;
    /// the crate root is `""`.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let names: Vec<&String> = self.modules.keys().collect();
        let index_of: BTreeMap<&String, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let adjacency: Vec<Vec<usize>> = names
            .iter()
            .map(|n| {
                self.edges
                    .get(*n)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| index_of.get(t).copied())
                    .collect()
            })
            .collect();
        let mut tarjan = Tarjan {
            adjacency: &adjacency,
            index: vec![None; names.len()],
            low: vec![0; names.len()],
            on_stack: vec![false; names.len()],
            stack: Vec::new(),
            next: 0,
            components: Vec::new(),
        };
        for v in 0..names.len() {
            if tarjan.index[v].is_none() {
                tarjan.connect(v);
            }
        }
        let mut cycles: Vec<Vec<String>> = tarjan
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut c: Vec<String> = c.into_iter().map(|i| names[i].clone()).collect();
                c.sort();
                c
            })
            .collect();
        cycles.sort();
        cycles
    }
}

/// The crate root shows as `crate`.
fn display(module: &str) -> String {
    if module.is_empty() {
        "crate".to_string()
    } else {
        module.to_string()
    }
}

struct Tarjan<'a> {
    adjacency: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    // Recursive: module graphs are a few dozen nodes deep at most.
    fn connect(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.adjacency[v] {
            match self.index[w] {
                None => {
                    self.connect(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

fn is_test_only(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => return false,
    };
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// Collects the crate-relative paths one module's items name.
struct Collector<'a> {
    module: &'a [String],
    references: Vec<Vec<String>>,
    imports: BTreeMap<String, Vec<String>>,
    children: BTreeSet<String>,
}

impl Collector<'_> {
    /// `segments` as an absolute path from the crate root, when it starts at `crate`, `self`, `super`
    /// or (tentatively) any other name, which may be a child module or an import; `None` for `::x`.
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let (first, rest) = segments.split_first()?;
        let mut base: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.module.to_vec(),
            "super" => {
                let mut base = self.module.to_vec();
                base.pop();
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                return Some(base);
            }
            _ => {
                let mut base = self.module.to_vec();
                base.extend(segments.iter().cloned());
                return Some(base);
            }
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn reference(&mut self, segments: Vec<String>) {
        if segments.len() < 2 {
            return; // a local name, not a path into another module
        }
        if let Some(path) = self.absolute(&segments) {
            self.references.push(path);
        }
    }

    fn import(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.import(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                self.add_import(prefix, &name, &name);
            }
            syn::UseTree::Rename(r) => {
                self.add_import(prefix, &r.ident.to_string(), &r.rename.to_string());
            }
            syn::UseTree::Glob(_) => {
                if let Some(p) = self.absolute(prefix) {
                    self.references.push(p);
                }
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.import(prefix, t);
                }
            }
        }
    }

    fn add_import(&mut self, prefix: &[String], name: &str, alias: &str) {
        let mut segments = prefix.to_vec();
        if name != "self" {
            segments.push(name.to_string());
        }
        let local = matches!(
            segments.first().map(String::as_str),
            Some("crate" | "self" | "super")
        ) || segments
            .first()
            .is_some_and(|first| self.children.contains(first));
        if !local {
            return; // another crate
        }
        if let Some(path) = self.absolute(&segments) {
            let alias = if name == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                alias.to_string()
            };
            self.imports.insert(alias, path);
        }
    }

    /// `a :: b :: c` sequences in a macro's tokens (`json!`, `format!`, `tracing::info!` arguments).
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let mut current: Vec<String> = Vec::new();
        let mut colons = 0;
        for token in tokens {
            match token {
                TokenTree::Ident(ident) => {
                    if colons != 2 && !current.is_empty() {
                        self.reference(std::mem::take(&mut current));
                    } else if colons != 2 {
                        current.clear();
                    }
                    current.push(ident.to_string());
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && !current.is_empty() => colons += 1,
                TokenTree::Group(group) => {
                    self.reference(std::mem::take(&mut current));
                    colons = 0;
                    self.scan_tokens(group.stream());
                }
                _ => {
                    self.reference(std::mem::take(&mut current));
                    colons = 0;
                }
            }
        }
        self.reference(current);
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // Nested modules are modules of their own (Graph::add_items).
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.import(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            self.reference(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        syn::visit::visit_macro(self, mac);
        self.scan_tokens(mac.tokens.clone());
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {
        // Doc comments and derives name no module of this crate.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(files: &[(&str, &str)]) -> Graph {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        Graph::of_target(&dir.path().join("lib.rs")).expect("parses")
    }

    #[test]
    fn a_helper_reached_through_a_sibling_makes_a_cycle_and_moving_it_down_breaks_it() {
        let cyclic = graph(&[
            ("lib.rs", "mod state; mod xsuaa;"),
            (
                "state.rs",
                "use crate::xsuaa::store::Store; pub fn now() -> u64 { 0 }",
            ),
            ("xsuaa/mod.rs", "pub mod store;"),
            (
                "xsuaa/store.rs",
                "pub struct Store(u64); fn f() -> u64 { crate::state::now() }",
            ),
        ]);
        assert_eq!(cyclic.cycles(), vec![vec!["state", "xsuaa::store"]]);

        let layered = graph(&[
            ("lib.rs", "mod clock; mod state; mod xsuaa;"),
            ("clock.rs", "pub fn now() -> u64 { 0 }"),
            ("state.rs", "use crate::xsuaa::store::Store;"),
            ("xsuaa/mod.rs", "pub mod store;"),
            (
                "xsuaa/store.rs",
                "pub struct Store(u64); fn f() -> u64 { crate::clock::now() }",
            ),
        ]);
        assert!(layered.cycles().is_empty(), "{:?}", layered.edges);
    }

    #[test]
    fn paths_in_macros_re_exports_and_super_count_but_tests_and_comments_do_not() {
        let g = graph(&[
            (
                "lib.rs",
                "mod a; mod b; mod c; pub use b::Thing; \
                 #[cfg(test)] mod t { use crate::a::X; }",
            ),
            (
                "a.rs",
                "/// See crate::c::Y\npub struct X; fn f() { let _ = format!(\"{}\", crate::b::g()); }",
            ),
            (
                "b.rs",
                "pub struct Thing; pub fn g() {} fn h() -> crate::Thing { Thing }",
            ),
            (
                "c.rs",
                "mod inner; pub struct Y; #[cfg(test)] mod tests { use crate::a::X; }",
            ),
            ("c/inner.rs", "fn f() -> super::Y { super::Y }"),
        ]);
        let edges = |m: &str| g.edges[m].iter().cloned().collect::<Vec<_>>();
        assert_eq!(edges("a"), ["b"]);
        assert!(
            edges("b").is_empty(),
            "crate::Thing is b's own: {:?}",
            edges("b")
        );
        assert!(edges("c").is_empty(), "{:?}", edges("c"));
        assert_eq!(edges("c::inner"), ["c"]);
        assert_eq!(edges(""), ["b"]);
        assert!(g.cycles().is_empty());
    }
}
