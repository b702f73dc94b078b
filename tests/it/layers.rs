//! The map in `src/lib.rs` promises layers: each module of the crate uses
//! only those below it. This reads the `crate::` paths of every source file
//! (test code aside) and fails on a circle between the crate's top-level
//! modules, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_of_the_crate_depends_on_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "module circle: {} (see the map in src/lib.rs: a layer uses only those below it)",
            circle.join(" → ")
        );
    }
}

#[test]
fn the_check_finds_a_circle_and_reads_grouped_paths() {
    let edges = |text: &str| top_modules_used(text).into_iter().collect::<Vec<_>>();
    assert_eq!(
        edges("use crate::a::B;\nuse crate::{b::C, c};\nfn f() { crate::d::e() }"),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        edges("// crate::a\n#[cfg(test)]\nmod tests {\n use crate::b;\n}\nuse crate::c;"),
        ["c"]
    );
    let mut graph = Graph::new();
    for (from, to) in [
        ("cli", "quota"),
        ("quota", "settings"),
        ("settings", "cli"),
        ("x", "cli"),
    ] {
        graph.entry(from.into()).or_default().insert(to.into());
    }
    let circle = find_circle(&graph).unwrap();
    assert_eq!(circle.first(), circle.last());
    assert_eq!(circle.len(), 4, "{circle:?}");
    graph.get_mut("settings").unwrap().clear();
    assert_eq!(find_circle(&graph), None);
}

/// Top-level module → the top-level modules its files name.
fn graph_of(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        // The crate root wires everything together; test modules may use
        // anything.
        if module == "lib" || module == "main" || file.file_name().unwrap() == "tests.rs" {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let used = graph.entry(module.clone()).or_default();
        used.extend(top_modules_used(&text).into_iter().filter(|m| *m != module));
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level modules named by `crate::` paths in `text`, comments and
/// `#[cfg(test)] mod` blocks left out.
fn top_modules_used(text: &str) -> BTreeSet<String> {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    // Inside a test module: the depth of its braces.
    let mut test_depth: Option<i64> = None;
    while let Some(line) = lines.next() {
        let line = line.trim();
        if let Some(depth) = &mut test_depth {
            *depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            if *depth <= 0 {
                test_depth = None;
            }
            continue;
        }
        if line == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim().starts_with("mod "))
        {
            let header = lines.next().unwrap();
            let depth = header.matches('{').count() as i64 - header.matches('}').count() as i64;
            test_depth = (depth > 0).then_some(depth);
            continue;
        }
        if !line.starts_with("//") {
            code.push_str(line);
            code.push('\n');
        }
    }
    let mut used = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::B, c}`: the first name of each item at depth 0.
            let mut depth = 0;
            let mut start = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    _ if start && is_ident(ch) => {
                        used.insert(ident_at(&group[i..]));
                        start = false;
                    }
                    _ if !ch.is_whitespace() => start = false,
                    _ => {}
                }
            }
        } else {
            let name = ident_at(rest);
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

fn is_ident(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_'
}

fn ident_at(text: &str) -> String {
    text.chars().take_while(|c| is_ident(*c)).collect()
}

/// A circle as the modules along it, the first repeated at the end.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}
