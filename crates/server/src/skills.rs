//! Skills (docs/ARCHITECTURE.md §10): `<group>/<name>/SKILL.md` files with `name` / `description` front matter under
//! `<data dir>/skills` and `BOOCODE_SKILLS_DIR`. Read on every use, so edits apply without a restart.
//! `/name rest` at the start of chat or task input becomes the skill's body followed by the request; an
//! unknown `/name` is sent as typed.

use std::path::{Path, PathBuf};

use boocode_protocol::SkillInfo;

/// The skill boocode installs into an empty skills folder.
const SYSTEMATIC_DEBUGGING: &str = include_str!("../skills/systematic-debugging.md");

/// A parsed skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    pub name: String,
    pub group: String,
    pub description: String,
    pub body: String,
}

/// Where skills are looked up.
#[derive(Debug, Clone)]
pub struct Skills {
    dirs: Vec<PathBuf>,
}

fn parse(text: &str, fallback_name: &str, group: &str) -> Result<Skill, String> {
    let rest = text
        .strip_prefix("---")
        .ok_or("no front matter (the file must start with ---)")?;
    let end = rest
        .find("\n---")
        .ok_or("front matter is not closed with ---")?;
    let (front, body) = (&rest[..end], &rest[end + 4..]);
    let mut name = None;
    let mut description = None;
    for line in front.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().trim_matches('"').trim_matches('\'').to_owned();
            match k.trim() {
                "name" => name = Some(v),
                "description" => description = Some(v),
                _ => {}
            }
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| fallback_name.to_owned());
    if name.chars().any(char::is_whitespace) {
        return Err(format!("name {name:?} must be one word"));
    }
    Ok(Skill {
        name,
        group: group.to_owned(),
        description: description.ok_or("front matter has no description")?,
        body: body.trim().to_owned(),
    })
}

impl Skills {
    /// Skills from `<data dir>/skills` and `extra` directories.
    pub fn new(data_dir: &Path, extra: Vec<PathBuf>) -> Self {
        let mut dirs = vec![data_dir.join("skills")];
        dirs.extend(extra);
        Self { dirs }
    }

    /// Installs the shipped skill when the data dir's skills folder is empty (first start).
    pub fn install_defaults(&self) {
        let Some(own) = self.dirs.first() else { return };
        let empty = std::fs::read_dir(own)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true);
        if empty {
            let target = own.join("boocode").join("systematic-debugging");
            if let Err(e) = std::fs::create_dir_all(&target)
                .and_then(|()| std::fs::write(target.join("SKILL.md"), SYSTEMATIC_DEBUGGING))
            {
                tracing::warn!(error = %e, "default skill not installed");
            }
        }
    }

    /// Every skill file, parsed or with the reason it could not be.
    pub fn scan(&self) -> Vec<(SkillInfo, Option<Skill>)> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(groups) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut groups: Vec<_> = groups
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .collect();
            groups.sort_by_key(|e| e.file_name());
            for group in groups {
                let group_name = group.file_name().to_string_lossy().into_owned();
                let Ok(skills) = std::fs::read_dir(group.path()) else {
                    continue;
                };
                let mut skills: Vec<_> = skills
                    .filter_map(Result::ok)
                    .filter(|e| e.path().join("SKILL.md").is_file())
                    .collect();
                skills.sort_by_key(|e| e.file_name());
                for entry in skills {
                    let dir_name = entry.file_name().to_string_lossy().into_owned();
                    let parsed = std::fs::read_to_string(entry.path().join("SKILL.md"))
                        .map_err(|e| e.to_string())
                        .and_then(|text| parse(&text, &dir_name, &group_name));
                    match parsed {
                        Ok(skill) => out.push((
                            SkillInfo {
                                name: skill.name.clone(),
                                group: skill.group.clone(),
                                description: skill.description.clone(),
                                error: None,
                            },
                            Some(skill),
                        )),
                        Err(e) => out.push((
                            SkillInfo {
                                name: dir_name,
                                group: group_name.clone(),
                                description: String::new(),
                                error: Some(e),
                            },
                            None,
                        )),
                    }
                }
            }
        }
        out
    }

    /// `/name rest` → the skill's body and the request; anything else (or an unknown name) unchanged.
    pub fn expand(&self, input: &str) -> String {
        let Some(command) = input.strip_prefix('/') else {
            return input.to_owned();
        };
        let (name, rest) = command
            .split_once(char::is_whitespace)
            .unwrap_or((command, ""));
        let found = self
            .scan()
            .into_iter()
            .filter_map(|(_, s)| s)
            .find(|s| s.name == name);
        match found {
            Some(skill) => format!("{}\n\n---\n\n{}", skill.body, rest.trim()),
            None => input.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, group: &str, name: &str, text: &str) {
        let dir = root.join("skills").join(group).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("SKILL.md"), text).unwrap();
    }

    #[test]
    fn lists_expands_and_reports_broken_files() {
        let dir = tempfile::tempdir().unwrap();
        let extra = tempfile::tempdir().unwrap();
        let skills = Skills::new(dir.path(), vec![extra.path().join("skills")]);
        skills.install_defaults();
        write(
            dir.path(),
            "team",
            "review",
            "---\nname: review\ndescription: \"Review a diff\"\n---\nCheck every hunk.\n",
        );
        write(dir.path(), "team", "broken", "no front matter here");
        write(
            extra.path(),
            "more",
            "explain",
            "---\ndescription: Explain code\n---\nExplain simply.",
        );
        let listed: Vec<_> = skills.scan().into_iter().map(|(i, _)| i).collect();
        let names: Vec<&str> = listed.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            ["systematic-debugging", "broken", "review", "explain"]
        );
        assert!(listed[1].error.as_deref().unwrap().contains("front matter"));
        assert_eq!(listed[2].description, "Review a diff");
        assert_eq!(
            skills.expand("/review the parser change"),
            "Check every hunk.\n\n---\n\nthe parser change"
        );
        assert_eq!(skills.expand("/explain"), "Explain simply.\n\n---\n\n");
        assert_eq!(skills.expand("/nope keep me"), "/nope keep me");
        assert_eq!(skills.expand("plain text"), "plain text");
        assert!(
            skills
                .expand("/systematic-debugging it crashes")
                .contains("it crashes")
        );
        // Installed only into an empty folder.
        std::fs::remove_dir_all(dir.path().join("skills/boocode")).unwrap();
        skills.install_defaults();
        assert!(!dir.path().join("skills/boocode").exists());
    }
}
