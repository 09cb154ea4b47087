//! The native agent's tools (docs/ARCHITECTURE.md §5.1): typed parameters whose JSON schemas are sent to the model,
//! every path resolved by the workspace path guard, bounded output. Read tools work anywhere under the
//! root; write tools exist only with `ToolAccess::ReadWrite` (a session worktree).

pub(crate) mod fs;
mod search;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use boocode_protocol::ToolKind;
use boocode_workspace::WorktreeDir;

use boocode_llm::ToolSpec;
use schemars::JsonSchema;
use serde::Deserialize;

/// Longest tool output handed back to the model, in bytes.
pub const MAX_OUTPUT: usize = 32 * 1024;

/// How long one tool call may run before it gives up with an error the model can read.
pub const TOOL_DEADLINE: Duration = Duration::from_secs(60);

/// When a tool must stop: a deadline, and a flag the turn raises on cancel or shutdown. Tools run on a
/// blocking thread that cannot be aborted from outside, so they check this between files and lines.
#[derive(Debug, Clone)]
pub struct ToolBudget {
    deadline: Instant,
    cancelled: Arc<AtomicBool>,
}

impl Default for ToolBudget {
    fn default() -> Self {
        Self::with_deadline(Instant::now() + TOOL_DEADLINE)
    }
}

impl ToolBudget {
    /// A budget ending at `deadline`.
    pub fn with_deadline(deadline: Instant) -> Self {
        Self {
            deadline,
            cancelled: Arc::default(),
        }
    }

    /// Makes every later `check` fail: the tool returns at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err("cancelled".into());
        }
        if Instant::now() >= self.deadline {
            return Err(format!(
                "stopped at the tool time limit of {} s; narrow the search",
                TOOL_DEADLINE.as_secs()
            ));
        }
        Ok(())
    }
}

/// Which tools a turn may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolAccess {
    /// No tools (plain chat).
    #[default]
    None,
    /// `view_file`, `list_dir`, `grep`, `find_files`.
    ReadOnly,
    /// Read tools plus `write_file` and `edit_file`.
    ReadWrite,
}

/// `view_file`: a text file's lines, numbered.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewFile {
    /// Path relative to the project root.
    pub path: String,
    /// First line to show, 1-based (default 1).
    pub offset: Option<usize>,
    /// How many lines to show (default 500, at most 2000).
    pub limit: Option<usize>,
}

/// `list_dir`: a directory's entries, directories marked with a trailing `/`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDir {
    /// Directory relative to the project root ("." for the root).
    #[serde(default = "dot")]
    pub path: String,
}

/// `grep`: lines matching a regular expression.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grep {
    /// Regular expression (Rust syntax).
    pub pattern: String,
    /// File or directory to search (default: the whole project).
    pub path: Option<String>,
    /// Only files whose path matches this glob, e.g. `*.rs` or `src/**/*.ts`.
    pub glob: Option<String>,
}

/// `find_files`: files whose path matches a glob.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindFiles {
    /// Glob such as `**/*.rs`, `src/*.ts` or `Cargo.toml` (a pattern without `/` matches file names).
    pub pattern: String,
}

/// `write_file`: create or replace a file with the given content.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteFile {
    /// Path relative to the project root; missing directories are created.
    pub path: String,
    /// The whole new content.
    pub content: String,
}

/// `edit_file`: replace one exact occurrence of `old_text` with `new_text`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditFile {
    /// Path relative to the project root.
    pub path: String,
    /// Text to find; it must occur exactly once (include enough context).
    pub old_text: String,
    /// Replacement text.
    pub new_text: String,
}

fn dot() -> String {
    ".".into()
}

fn schema<T: JsonSchema>() -> serde_json::Value {
    let mut value = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
        obj.remove("description");
    }
    value
}

/// The tool definitions sent to the model for `access`.
pub fn specs(access: ToolAccess) -> Vec<ToolSpec> {
    let spec = |name: &str, description: &str, parameters| ToolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
    };
    let mut out = Vec::new();
    if access == ToolAccess::None {
        return out;
    }
    out.push(spec(
        "view_file",
        "Read a text file, with line numbers.",
        schema::<ViewFile>(),
    ));
    out.push(spec("list_dir", "List a directory.", schema::<ListDir>()));
    out.push(spec(
        "grep",
        "Search file contents with a regular expression.",
        schema::<Grep>(),
    ));
    out.push(spec(
        "find_files",
        "Find files by glob pattern.",
        schema::<FindFiles>(),
    ));
    if access == ToolAccess::ReadWrite {
        out.push(spec(
            "write_file",
            "Create or overwrite a file.",
            schema::<WriteFile>(),
        ));
        out.push(spec(
            "edit_file",
            "Replace one exact occurrence of text in a file.",
            schema::<EditFile>(),
        ));
    }
    out
}

/// How a call shows in the UI: a title and a kind.
pub fn describe(name: &str, arguments: &serde_json::Value) -> (String, ToolKind) {
    let arg = |k: &str| {
        arguments
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    match name {
        "view_file" => (format!("Read {}", arg("path")), ToolKind::Read),
        "list_dir" => (format!("List {}", arg("path")), ToolKind::Read),
        "grep" => (format!("Search for {}", arg("pattern")), ToolKind::Search),
        "find_files" => (format!("Find {}", arg("pattern")), ToolKind::Search),
        "write_file" => (format!("Write {}", arg("path")), ToolKind::Edit),
        "edit_file" => (format!("Edit {}", arg("path")), ToolKind::Edit),
        other => (other.to_owned(), ToolKind::Other),
    }
}

fn parse<T: serde::de::DeserializeOwned>(arguments: &str) -> Result<T, String> {
    serde_json::from_str(arguments).map_err(|e| format!("invalid arguments: {e}"))
}

/// Runs one call under `root`; an `Err` is reported back to the model as the tool's output.
pub fn execute(
    name: &str,
    arguments: &str,
    access: ToolAccess,
    root: &Path,
    budget: &ToolBudget,
) -> Result<String, String> {
    let writes = matches!(name, "write_file" | "edit_file");
    if access == ToolAccess::None || (writes && access != ToolAccess::ReadWrite) {
        return Err(format!("tool {name} is not available in this turn"));
    }
    budget.check()?;
    let root = WorktreeDir::open(root).map_err(|e| e.to_string())?;
    let root = &root;
    match name {
        "view_file" => fs::view_file(root, parse(arguments)?),
        "list_dir" => fs::list_dir(root, parse(arguments)?, budget),
        "grep" => search::grep(root, parse(arguments)?, budget),
        "find_files" => search::find_files(root, parse(arguments)?, budget),
        "write_file" => fs::write_file(root, parse(arguments)?),
        "edit_file" => fs::edit_file(root, parse(arguments)?),
        other => Err(format!("unknown tool {other:?}")),
    }
}

/// Cuts `text` to `MAX_OUTPUT` bytes on a character boundary, saying so.
pub(crate) fn bounded(mut text: String) -> String {
    if text.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (output truncated)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_carry_typed_schemas() {
        let all = specs(ToolAccess::ReadWrite);
        let names: Vec<_> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "view_file",
                "list_dir",
                "grep",
                "find_files",
                "write_file",
                "edit_file"
            ]
        );
        let edit = &all[5].parameters;
        assert_eq!(edit["type"], "object");
        let required: Vec<_> = edit["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, ["path", "old_text", "new_text"]);
        assert!(
            edit["properties"]["old_text"]["description"]
                .as_str()
                .unwrap()
                .contains("exactly once")
        );
        assert_eq!(specs(ToolAccess::ReadOnly).len(), 4);
        assert!(specs(ToolAccess::None).is_empty());
    }

    #[test]
    fn write_tools_need_write_access_and_bad_arguments_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let args = r#"{"path":"a.txt","content":"x"}"#;
        assert!(
            execute(
                "write_file",
                args,
                ToolAccess::ReadOnly,
                dir.path(),
                &ToolBudget::default()
            )
            .is_err()
        );
        assert!(!dir.path().join("a.txt").exists());
        assert!(
            execute(
                "view_file",
                r#"{"path": 3}"#,
                ToolAccess::ReadOnly,
                dir.path(),
                &ToolBudget::default()
            )
            .unwrap_err()
            .contains("invalid arguments")
        );
        assert!(
            execute(
                "view_file",
                r#"{"path":"a","nope":1}"#,
                ToolAccess::ReadOnly,
                dir.path(),
                &ToolBudget::default()
            )
            .is_err()
        );
        assert!(
            execute(
                "rm_rf",
                "{}",
                ToolAccess::ReadWrite,
                dir.path(),
                &ToolBudget::default()
            )
            .unwrap_err()
            .contains("unknown tool")
        );
    }
}
