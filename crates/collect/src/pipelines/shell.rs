//! How a CI step's exit status is really decided by its script.
//!
//! A scanner that exits non-zero on findings only blocks when that status
//! reaches the end of the step: the shell's `-e` and `pipefail`, `|| true`,
//! the `set -e` exemption for commands before `&&`, `if` conditions, `set +e`
//! with or without a later `exit $?`, and the last command of the script all
//! decide it. This module reads a script into commands, pipelines and and-or
//! lists (a small POSIX-shell reader: quotes, `$(...)`, here-documents, line
//! continuations, `if`/`for`/`while`/`case`) and follows each scanner's status.

use super::tools::{self, Env, Recognised};

/// The shell a step's script runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shell {
    /// A POSIX shell (bash, sh); `errexit` is `-e`, `pipefail` is `-o pipefail`.
    Posix {
        /// How the platform starts it, e.g. `bash -e {0}`.
        name: String,
        /// Whether `-e` is in effect at the start.
        errexit: bool,
        /// Whether `-o pipefail` is in effect at the start.
        pipefail: bool,
    },
    /// cmd (and shells like it): a failing command does not stop the script;
    /// the step's status is the last command's.
    LastStatus {
        /// `cmd`, or how the platform starts it.
        name: String,
    },
    /// PowerShell (`pwsh`, Windows `powershell`) as GitHub and Azure run it:
    /// `$ErrorActionPreference = 'stop'` first and, unless turned off,
    /// `if ((Test-Path -LiteralPath variable:\LASTEXITCODE)) { exit $LASTEXITCODE }`
    /// last, so the step fails with the last *native* command's exit code;
    /// cmdlets (`Write-Host`, `echo`, assignments) leave `$LASTEXITCODE` alone.
    PowerShell {
        /// How the platform starts it.
        name: String,
        /// Whether the platform appends the `exit $LASTEXITCODE` line (Azure's
        /// `ignoreLASTEXITCODE: true` turns it off).
        checks_last_exit_code: bool,
        /// Whether `$ErrorActionPreference` is `stop` (the default on GitHub and Azure).
        error_action_stop: bool,
    },
    /// A shell dsomm-audit does not model (python, a custom command).
    Other {
        /// As written.
        name: String,
    },
}

/// Whether a scanner's non-zero exit reaches the end of the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Findings fail the step.
    Fails,
    /// The step goes on, or ends with another command's status.
    Lost,
    /// Cannot tell from the file.
    Unknown,
}

impl Propagation {
    /// The effect of a reason about this invocation: `blocks`, `advisory`
    /// or `unknown`.
    pub fn effect(self) -> &'static str {
        match self {
            Propagation::Fails => "blocks",
            Propagation::Lost => "advisory",
            Propagation::Unknown => "unknown",
        }
    }

    /// The step's verdict in prose: `blocking`, `advisory` or `unknown`.
    pub fn verdict(self) -> &'static str {
        match self {
            Propagation::Fails => "blocking",
            Propagation::Lost => "advisory",
            Propagation::Unknown => "unknown",
        }
    }
}

/// One reason, at a 0-based line of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptReason {
    /// 0-based line in the script.
    pub line: usize,
    /// The exact text that decided it.
    pub text: String,
    /// Why.
    pub why: String,
}

/// A scanner invocation found in a script.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// What it is, and whether it exits non-zero on findings.
    pub scanner: Recognised,
    /// 0-based line in the script where the command starts.
    pub line: usize,
    /// The command as written.
    pub text: String,
    /// Whether a non-zero exit of the scanner fails the step.
    pub propagation: Propagation,
    /// The facts that decided `propagation`.
    pub reasons: Vec<ScriptReason>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word { value: String, raw: String },
    Op(&'static str),
    Redirect,
    Newline,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Split a script into shell tokens with their 0-based lines.
fn tokenize(script: &str) -> Vec<Token> {
    let chars: Vec<char> = script.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    let mut line = 0usize;
    let mut heredocs: Vec<String> = Vec::new();
    let mut pending_heredoc = false;
    // Open subshells `(`: a `)` ends a word inside one (`(echo x; exit 0)`).
    let mut open_parens = 0usize;
    while index < chars.len() {
        let character = chars[index];
        match character {
            '\\' if chars.get(index + 1) == Some(&'\n') => {
                index += 2;
                line += 1;
            }
            '\n' => {
                tokens.push(Token {
                    tok: Tok::Newline,
                    line,
                });
                index += 1;
                line += 1;
                for delimiter in std::mem::take(&mut heredocs) {
                    while index < chars.len() {
                        let end = chars[index..]
                            .iter()
                            .position(|&c| c == '\n')
                            .map_or(chars.len(), |offset| index + offset);
                        let text: String = chars[index..end].iter().collect();
                        index = (end + 1).min(chars.len().max(end));
                        line += 1;
                        if text.trim() == delimiter {
                            break;
                        }
                    }
                }
            }
            ' ' | '\t' | '\r' => index += 1,
            '#' => {
                while index < chars.len() && chars[index] != '\n' {
                    index += 1;
                }
            }
            '&' | '|' | ';' | '(' | ')' => {
                let next = chars.get(index + 1).copied();
                let (op, width): (&'static str, usize) = match (character, next) {
                    ('&', Some('&')) => ("&&", 2),
                    ('|', Some('|')) => ("||", 2),
                    (';', Some(';')) => (";;", 2),
                    ('&', Some('>')) => {
                        index += 2;
                        if chars.get(index) == Some(&'>') {
                            index += 1;
                        }
                        tokens.push(Token {
                            tok: Tok::Redirect,
                            line,
                        });
                        continue;
                    }
                    ('&', _) => ("&", 1),
                    ('|', _) => ("|", 1),
                    (';', _) => (";", 1),
                    ('(', _) => ("(", 1),
                    _ => (")", 1),
                };
                match op {
                    "(" => open_parens += 1,
                    ")" => open_parens = open_parens.saturating_sub(1),
                    _ => {}
                }
                tokens.push(Token { tok: Tok::Op(op), line });
                index += width;
            }
            '>' | '<' => {
                let start = index;
                index += 1;
                while index < chars.len() && matches!(chars[index], '>' | '<' | '&' | '-' | '|') {
                    index += 1;
                }
                let operator: String = chars[start..index].iter().collect();
                if operator.starts_with("<<") && !operator.starts_with("<<<") {
                    pending_heredoc = true;
                }
                tokens.push(Token {
                    tok: Tok::Redirect,
                    line,
                });
            }
            _ => {
                let mut value = String::new();
                let mut raw = String::new();
                while index < chars.len() {
                    let character = chars[index];
                    match character {
                        ' ' | '\t' | '\r' | '\n' | '&' | '|' | ';' | '<' | '>' => break,
                        '(' | ')' if raw.is_empty() => break,
                        ')' if open_parens > 0 && !raw.contains('(') => break,
                        '\\' => {
                            if chars.get(index + 1) == Some(&'\n') {
                                index += 2;
                                line += 1;
                                continue;
                            }
                            raw.push(character);
                            if let Some(&next) = chars.get(index + 1) {
                                raw.push(next);
                                value.push(next);
                            }
                            index += 2;
                        }
                        '\'' => {
                            raw.push(character);
                            index += 1;
                            while index < chars.len() && chars[index] != '\'' {
                                if chars[index] == '\n' {
                                    line += 1;
                                }
                                raw.push(chars[index]);
                                value.push(chars[index]);
                                index += 1;
                            }
                            raw.push('\'');
                            index += 1;
                        }
                        '"' => {
                            raw.push(character);
                            index += 1;
                            while index < chars.len() && chars[index] != '"' {
                                if chars[index] == '\\' && index + 1 < chars.len() {
                                    raw.push(chars[index]);
                                    index += 1;
                                }
                                if chars[index] == '\n' {
                                    line += 1;
                                }
                                raw.push(chars[index]);
                                value.push(chars[index]);
                                index += 1;
                            }
                            raw.push('"');
                            index += 1;
                        }
                        '$' if matches!(chars.get(index + 1), Some('(') | Some('{')) => {
                            let (open, close) = if chars[index + 1] == '(' {
                                ('(', ')')
                            } else {
                                ('{', '}')
                            };
                            let start = index;
                            index += 2;
                            let mut depth = 1;
                            while index < chars.len() && depth > 0 {
                                if chars[index] == open {
                                    depth += 1;
                                } else if chars[index] == close {
                                    depth -= 1;
                                } else if chars[index] == '\n' {
                                    line += 1;
                                }
                                index += 1;
                            }
                            let text: String = chars[start..index].iter().collect();
                            raw.push_str(&text);
                            value.push_str(&text);
                        }
                        '`' => {
                            let start = index;
                            index += 1;
                            while index < chars.len() && chars[index] != '`' {
                                index += 1;
                            }
                            index += 1;
                            let text: String = chars[start..index.min(chars.len())].iter().collect();
                            raw.push_str(&text);
                            value.push_str(&text);
                        }
                        _ => {
                            raw.push(character);
                            value.push(character);
                            index += 1;
                        }
                    }
                }
                if pending_heredoc {
                    pending_heredoc = false;
                    heredocs.push(value.trim_start_matches('-').to_string());
                    tokens.push(Token {
                        tok: Tok::Redirect,
                        line,
                    });
                    continue;
                }
                if !raw.is_empty() {
                    tokens.push(Token {
                        tok: Tok::Word { value, raw },
                        line,
                    });
                }
            }
        }
    }
    tokens
}

/// A simple command.
#[derive(Debug, Clone, Default)]
struct Simple {
    words: Vec<String>,
    raws: Vec<String>,
    line: usize,
}

impl Simple {
    fn text(&self) -> String {
        self.raws.join(" ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connector {
    And,
    Or,
}

#[derive(Debug, Clone, Default)]
struct Pipeline {
    commands: Vec<Simple>,
    negated: bool,
    /// The connector that follows this pipeline in its list.
    next: Option<Connector>,
}

#[derive(Debug, Clone)]
struct List {
    pipelines: Vec<Pipeline>,
    /// Ended by `&`: the list runs in the background.
    background: bool,
    /// Inside an `if`/`while`/`until` condition.
    in_condition: bool,
    /// Nesting depth (0: top level of the script).
    depth: usize,
    /// Inside a subshell `( ... )`: `exit` leaves only the subshell.
    subshell: bool,
    /// The enclosing `if` construct, for conditions: its index in `ifs`.
    construct: Option<usize>,
    errexit: bool,
    pipefail: bool,
    /// The `set` command that last changed errexit, if any (line, text).
    errexit_set_by: Option<(usize, String)>,
    /// A `trap '...; exit N' ERR` (N non-zero) in force: a failing command
    /// exits the script as with `-e` (line, text).
    err_trap: Option<(usize, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Condition,
    Body,
    Group,
    Subshell,
    Skip,
}

struct Reader {
    lists: Vec<List>,
    /// `if`/`while`/`until` constructs: first line, last line, keyword.
    constructs: Vec<(usize, usize, &'static str)>,
    list: Vec<Pipeline>,
    pipeline: Pipeline,
    simple: Simple,
    frames: Vec<(Frame, Option<usize>)>,
    errexit: bool,
    pipefail: bool,
    errexit_set_by: Option<(usize, String)>,
    err_trap: Option<(usize, String)>,
    skip_redirect_target: bool,
    /// The list being ended was ended by `&`.
    background: bool,
}

impl Reader {
    fn end_simple(&mut self) {
        if !self.simple.words.is_empty() {
            let simple = std::mem::take(&mut self.simple);
            if simple.words[0] == "set" {
                self.apply_set(&simple);
            }
            if simple.words[0] == "trap" && simple.words.iter().skip(2).any(|signal| signal == "ERR") {
                let action = simple.words.get(1).map(String::as_str).unwrap_or_default();
                let exits = action.split([';', '\n', '&', '|']).any(|command| {
                    let mut words = command.split_whitespace();
                    words.next() == Some("exit")
                        && words
                            .next()
                            .is_some_and(|code| code.parse::<u8>().is_ok_and(|code| code != 0))
                });
                self.err_trap = exits.then(|| (simple.line, simple.text()));
            }
            self.pipeline.commands.push(simple);
        }
    }

    fn apply_set(&mut self, simple: &Simple) {
        let mut words = simple.words[1..].iter();
        while let Some(word) = words.next() {
            let (on, flags) = match word.chars().next() {
                Some('-') => (true, &word[1..]),
                Some('+') => (false, &word[1..]),
                _ => continue,
            };
            if flags == "o" {
                match words.next().map(String::as_str) {
                    Some("pipefail") => self.pipefail = on,
                    Some("errexit") => {
                        self.errexit = on;
                        self.errexit_set_by = Some((simple.line, simple.text()));
                    }
                    _ => {}
                }
                continue;
            }
            if flags.contains('e') {
                self.errexit = on;
                self.errexit_set_by = Some((simple.line, simple.text()));
            }
            if flags.ends_with('o') && words.clone().next().is_some_and(|next| next == "pipefail") {
                self.pipefail = on;
                words.next();
            }
        }
    }

    fn end_pipeline(&mut self, next: Option<Connector>) {
        self.end_simple();
        if !self.pipeline.commands.is_empty() || self.pipeline.negated {
            let mut pipeline = std::mem::take(&mut self.pipeline);
            pipeline.next = next;
            self.list.push(pipeline);
        }
    }

    fn end_list(&mut self) {
        self.end_pipeline(None);
        if self.list.is_empty() {
            return;
        }
        let (in_condition, construct) = match self.frames.last() {
            Some((Frame::Condition, construct)) => (true, *construct),
            _ => (false, None),
        };
        let depth = self.frames.iter().filter(|(frame, _)| *frame != Frame::Skip).count();
        self.lists.push(List {
            background: std::mem::take(&mut self.background),
            pipelines: std::mem::take(&mut self.list),
            in_condition,
            depth,
            subshell: self.frames.iter().any(|(frame, _)| *frame == Frame::Subshell),
            construct,
            errexit: self.errexit,
            pipefail: self.pipefail,
            errexit_set_by: self.errexit_set_by.clone(),
            err_trap: self.err_trap.clone(),
        });
    }

    fn at_command_start(&self) -> bool {
        self.simple.words.is_empty() && self.pipeline.commands.is_empty() && !self.pipeline.negated
    }
}

type Constructs = Vec<(usize, usize, &'static str)>;

fn read(script: &str, errexit: bool, pipefail: bool) -> (Vec<List>, Constructs) {
    let tokens = tokenize(script);
    let mut reader = Reader {
        lists: Vec::new(),
        constructs: Vec::new(),
        list: Vec::new(),
        pipeline: Pipeline::default(),
        simple: Simple::default(),
        frames: Vec::new(),
        errexit,
        pipefail,
        errexit_set_by: None,
        err_trap: None,
        skip_redirect_target: false,
        background: false,
    };
    for token in tokens {
        if matches!(reader.frames.last(), Some((Frame::Skip, _))) {
            match &token.tok {
                Tok::Word { value, .. } if value == "do" || value == "in" => {
                    reader.frames.pop();
                    // A `for` body ends with `done`, which must not end an enclosing construct.
                    reader.frames.push((Frame::Body, None));
                }
                _ => {}
            }
            continue;
        }
        match token.tok {
            Tok::Redirect => reader.skip_redirect_target = true,
            Tok::Word { value, raw } => {
                if reader.skip_redirect_target {
                    reader.skip_redirect_target = false;
                    continue;
                }
                if reader.at_command_start() {
                    match value.as_str() {
                        "if" | "while" | "until" => {
                            reader.end_list();
                            let keyword = match value.as_str() {
                                "if" => "if",
                                "while" => "while",
                                _ => "until",
                            };
                            reader.constructs.push((token.line, usize::MAX, keyword));
                            let construct = Some(reader.constructs.len() - 1);
                            reader.frames.push((Frame::Condition, construct));
                            continue;
                        }
                        "elif" => {
                            reader.end_list();
                            let construct = reader.frames.pop().and_then(|(_, construct)| construct);
                            reader.frames.push((Frame::Condition, construct));
                            continue;
                        }
                        "then" | "do" | "else" => {
                            reader.end_list();
                            let construct = reader.frames.pop().and_then(|(_, construct)| construct);
                            reader.frames.push((Frame::Body, construct));
                            continue;
                        }
                        "fi" | "done" | "esac" | "}" => {
                            reader.end_list();
                            if let Some((_, Some(construct))) = reader.frames.pop()
                                && (value == "fi" || value == "done")
                                && let Some(entry) = reader.constructs.get_mut(construct)
                            {
                                entry.1 = token.line;
                            }
                            continue;
                        }
                        "for" | "select" | "case" => {
                            reader.end_list();
                            reader.frames.push((Frame::Skip, None));
                            continue;
                        }
                        "{" => {
                            reader.end_list();
                            reader.frames.push((Frame::Group, None));
                            continue;
                        }
                        "!" => {
                            reader.pipeline.negated = true;
                            continue;
                        }
                        _ => {}
                    }
                    if value.ends_with(')') && !value.contains('(') && !value.starts_with('$') {
                        continue; // a `case` pattern
                    }
                }
                if reader.simple.words.is_empty() {
                    reader.simple.line = token.line;
                }
                reader.simple.words.push(value);
                reader.simple.raws.push(raw);
            }
            Tok::Op("|") => reader.end_simple(),
            Tok::Op("&&") => reader.end_pipeline(Some(Connector::And)),
            Tok::Op("||") => reader.end_pipeline(Some(Connector::Or)),
            Tok::Op("(") => {
                reader.end_list();
                reader.frames.push((Frame::Subshell, None));
            }
            Tok::Op(")") => {
                reader.end_list();
                reader.frames.pop();
            }
            // PowerShell's call operator (`& trivy fs .`), not a background job.
            Tok::Op("&") if reader.at_command_start() => {}
            Tok::Op("&") => {
                reader.skip_redirect_target = false;
                reader.background = true;
                reader.end_list();
            }
            Tok::Op(_) | Tok::Newline => {
                reader.skip_redirect_target = false;
                reader.end_list();
            }
        }
    }
    reader.end_list();
    (reader.lists, reader.constructs)
}

/// Remove wrappers (`sudo`, `npx`, `docker run IMAGE`, `python -m`, `go run`,
/// assignments) and return the command word and its arguments.
fn effective(words: &[String]) -> Option<(String, Vec<String>)> {
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        let is_assignment = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        });
        if is_assignment {
            index += 1;
            continue;
        }
        match word.as_str() {
            "sudo" | "doas" | "time" | "exec" | "nohup" | "command" | "nice" | "env" | "stdbuf" | "xargs"
            | "timeout" => {
                // Their options (some take a value: `timeout -k 10`, `nice -n 10`,
                // `xargs -n 1`), then the command. `env`'s `NAME=value` are skipped
                // as assignments by the loop. `xargs` exits 123 when an invocation
                // exits 1-125, so a scanner's failure still fails it.
                let wrapper = word.as_str();
                index += 1;
                while index < words.len() {
                    let option = words[index].as_str();
                    if option == "--" {
                        index += 1;
                        break;
                    }
                    if !option.starts_with('-') || option == "-" {
                        break;
                    }
                    index += if wrapper_option_takes_value(wrapper, option) {
                        2
                    } else {
                        1
                    };
                }
                if wrapper == "timeout" {
                    index += 1; // the duration
                }
            }
            "npx" | "uvx" | "pnpx" | "bunx" => {
                index += 1;
                while index < words.len() && words[index].starts_with('-') {
                    index += 1;
                }
            }
            "pipx" | "uv" | "poetry" | "pdm" | "hatch" if words.get(index + 1).is_some_and(|next| next == "run") => {
                index += 2
            }
            "bundle" if words.get(index + 1).is_some_and(|next| next == "exec") => index += 2,
            "pnpm" | "yarn" if words.get(index + 1).is_some_and(|next| next == "dlx") => index += 2,
            "python" | "python3" | "py" if words.get(index + 1).is_some_and(|next| next == "-m") => {
                let module = words.get(index + 2)?;
                return Some((module.clone(), words[index + 3..].to_vec()));
            }
            "go" if words.get(index + 1).is_some_and(|next| next == "run") => {
                let package = words.get(index + 2)?;
                return Some((tools::basename(package), words[index + 3..].to_vec()));
            }
            "docker" | "podman" | "nerdctl" if words.get(index + 1).is_some_and(|next| next == "run") => {
                index += 2;
                while index < words.len() && words[index].starts_with('-') {
                    let option = words[index].as_str();
                    let takes_value = !option.contains('=')
                        && matches!(
                            option,
                            "-v" | "--volume"
                                | "-e"
                                | "--env"
                                | "-w"
                                | "--workdir"
                                | "--entrypoint"
                                | "-u"
                                | "--user"
                                | "--network"
                                | "--name"
                                | "--platform"
                                | "--env-file"
                                | "--mount"
                                | "-p"
                                | "--publish"
                                | "--pull"
                                | "-t"
                                | "--tty"
                                | "--label"
                                | "-l"
                        )
                        && !matches!(option, "-t" | "--tty");
                    index += if takes_value { 2 } else { 1 };
                }
                let image = words.get(index)?;
                let rest = &words[index + 1..];
                if let Some(first) = rest.first()
                    && tools::recognise_command(first, &rest[1..]).is_some()
                {
                    return Some((first.clone(), rest[1..].to_vec()));
                }
                return Some((tools::basename(image), rest.to_vec()));
            }
            _ => return Some((word.clone(), words[index + 1..].to_vec())),
        }
    }
    None
}

/// Whether a wrapper's option is followed by a separate value word.
fn wrapper_option_takes_value(wrapper: &str, option: &str) -> bool {
    let options: &[&str] = match wrapper {
        "sudo" | "doas" => &[
            "-u", "-g", "-C", "-h", "-p", "-U", "-r", "-t", "-D", "--user", "--group",
        ],
        "nice" => &["-n", "--adjustment"],
        "timeout" => &["-k", "-s", "--kill-after", "--signal"],
        "env" => &["-u", "-C", "-S", "--unset", "--chdir", "--split-string"],
        "stdbuf" => &["-i", "-o", "-e", "--input", "--output", "--error"],
        "xargs" => &[
            "-a",
            "-d",
            "-E",
            "-I",
            "-L",
            "-n",
            "-P",
            "-s",
            "--arg-file",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--max-lines",
            "--max-chars",
            "--process-slot-var",
        ],
        "exec" => &["-a"],
        "time" => &["-f", "-o", "--format", "--output"],
        _ => &[],
    };
    options.contains(&option)
}

/// Recognise a scanner in one simple command.
fn recognise(simple: &Simple) -> Option<Recognised> {
    recognise_in(simple, &Env::new())
}

/// The variable a word expands to as a whole (`$NAME`, `${NAME}`), if any.
fn whole_variable(word: &str) -> Option<&str> {
    let name = word
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .or_else(|| word.strip_prefix('$'))?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// Recognise a scanner in one simple command, with the variables the file
/// sets substituted and the deciding text given back exactly as written.
fn recognise_in(simple: &Simple, env: &Env) -> Option<Recognised> {
    let mut substituted: Vec<Option<&tools::EnvVar>> = Vec::new();
    let words: Vec<String> = simple
        .words
        .iter()
        .map(|word| {
            let variable = whole_variable(word)
                .and_then(|name| env.get(name))
                .filter(|variable| !tools::is_dynamic(&variable.value));
            substituted.push(variable);
            variable.map_or_else(|| word.clone(), |variable| variable.value.clone())
        })
        .collect();
    let (command, args) = effective(&words)?;
    let mut found = tools::recognise_command_in(&command, &args, env)?;
    let exit = &mut found.exit;
    if !exit.text.is_empty() && exit.located.is_none() {
        // The text as written: the words the tool's rule quoted, with their quotes.
        'search: for start in 0..words.len() {
            for end in start + 1..=(start + 2).min(words.len()) {
                if words[start..end].join(" ") == exit.text {
                    exit.text = simple.raws[start..end].join(" ");
                    for variable in substituted[start..end].iter().flatten() {
                        exit.why.push_str(&format!(
                            " (the file sets `{}` at line {})",
                            variable.text, variable.line
                        ));
                    }
                    break 'search;
                }
            }
        }
    }
    if exit.text.is_empty() && exit.located.is_none() && exit.fails_on_findings.is_some() {
        // An unquoted expansion of something named like a list of flags may carry the deciding one.
        let carrier = simple.raws.iter().skip(1).find(|raw| {
            let upper = raw.to_ascii_uppercase();
            let expands = raw.starts_with('$') && !raw.starts_with("$(");
            let unset = whole_variable(raw).is_none_or(|name| !env.contains_key(name));
            expands
                && unset
                && ["ARGS", "FLAGS", "OPTS", "OPTIONS", "PARAMS", "EXTRA"]
                    .iter()
                    .any(|part| upper.contains(part))
        });
        if let Some(raw) = carrier {
            found.exit = tools::ExitRule {
                fails_on_findings: None,
                why: format!("`{raw}` is expanded at run time and may carry the flag that decides the exit code"),
                text: raw.clone(),
                located: None,
            };
        }
    }
    Some(found)
}

/// What a command run after `||` does to the status.
fn after_or(pipeline: &Pipeline) -> Propagation {
    let Some(first) = pipeline.commands.first() else {
        return Propagation::Unknown;
    };
    let word = first.words.first().map(String::as_str).unwrap_or("");
    match word {
        "true" | ":" | "echo" | "printf" | "cat" | "touch" | "tee" | "mkdir" => Propagation::Lost,
        "false" => Propagation::Fails,
        "exit" => match first.words.get(1).map(String::as_str) {
            None | Some("0") => {
                if first.words.len() == 1 {
                    Propagation::Fails
                } else {
                    Propagation::Lost
                }
            }
            Some(_) => Propagation::Fails,
        },
        _ if first
            .words
            .iter()
            .all(|word| word.contains('=') && !word.starts_with('-')) =>
        {
            Propagation::Lost
        }
        _ => Propagation::Unknown,
    }
}

/// What a group run after `||` (`{ ...; }` or `( ... )`) does to the status:
/// its first unconditional `exit` decides, else its last command. Returns the
/// outcome, the deciding line and text, and whether an `exit` decided it.
fn group_outcome(group: &[&List], fallback_line: usize) -> (Propagation, usize, String, bool) {
    let Some(base) = group.iter().map(|list| list.depth).min() else {
        return (Propagation::Unknown, fallback_line, String::new(), false);
    };
    let top: Vec<&Pipeline> = group
        .iter()
        .filter(|list| list.depth == base)
        .flat_map(|list| &list.pipelines)
        .collect();
    for (index, pipeline) in top.iter().enumerate() {
        let Some(first) = pipeline.commands.first() else {
            continue;
        };
        if first.words.first().is_none_or(|word| word != "exit") {
            continue;
        }
        let (line, text) = (first.line, first.text());
        let outcome = match first.words.get(1).map(String::as_str) {
            Some("0") => Propagation::Lost,
            Some(code) if code.parse::<u8>().is_ok() => Propagation::Fails,
            // `exit` and `exit $?` pass on the status of the command before.
            None | Some("$?" | "\"$?\"") => match index.checked_sub(1).and_then(|previous| top.get(previous)) {
                None => Propagation::Fails,
                Some(previous) => after_or(previous),
            },
            Some(_) => Propagation::Unknown,
        };
        return (outcome, line, text, true);
    }
    let nested: Vec<List> = group
        .iter()
        .filter(|list| list.depth > base)
        .map(|list| (*list).clone())
        .collect();
    if let Some((line, text)) = has_nonzero_exit(&nested) {
        return (Propagation::Unknown, line, text, false);
    }
    match top.last() {
        Some(last) => {
            let line = last.commands.first().map_or(fallback_line, |command| command.line);
            let text = last.commands.iter().map(Simple::text).collect::<Vec<_>>().join(" | ");
            (after_or(last), line, text, false)
        }
        None => (Propagation::Unknown, fallback_line, String::new(), false),
    }
}

fn has_nonzero_exit(lists: &[List]) -> Option<(usize, String)> {
    lists
        .iter()
        .flat_map(|list| &list.pipelines)
        .flat_map(|pipeline| &pipeline.commands)
        .find_map(|simple| {
            let first = simple.words.first()?;
            let nonzero = match first.as_str() {
                "exit" | "return" => simple.words.get(1).is_some_and(|code| code != "0"),
                "false" => true,
                _ => false,
            };
            nonzero.then(|| (simple.line, simple.text()))
        })
}

/// Find every scanner in `script` and follow its exit status to the end of the step.
pub fn analyse(script: &str, shell: &Shell) -> Vec<Invocation> {
    analyse_in(script, shell, &Env::new())
}

/// [`analyse`] for a step whose environment the file sets: `$NAME` in a
/// scanner's flags is replaced by the value the file gives it, and tools that
/// read flags from the environment see it.
pub fn analyse_in(script: &str, shell: &Shell, env: &Env) -> Vec<Invocation> {
    let (errexit, pipefail, last_status_only) = match shell {
        Shell::Posix { errexit, pipefail, .. } => (*errexit, *pipefail, false),
        Shell::LastStatus { .. } | Shell::PowerShell { .. } => (false, false, true),
        Shell::Other { .. } => (false, false, false),
    };
    let (lists, constructs) = read(script, errexit, pipefail);
    let last_top = lists.iter().rposition(|list| list.depth == 0);
    let mut found = Vec::new();
    for (list_index, list) in lists.iter().enumerate() {
        for (pipe_index, pipeline) in list.pipelines.iter().enumerate() {
            for (position, simple) in pipeline.commands.iter().enumerate() {
                let Some(scanner) = recognise_in(simple, env) else {
                    if simple
                        .words
                        .iter()
                        .any(|word| word.contains("$(") || word.contains('`'))
                        && let Some(inner) = substitution_scanner(simple)
                    {
                        found.push(Invocation {
                                scanner: inner,
                                line: simple.line,
                                text: simple.text(),
                                propagation: Propagation::Unknown,
                                reasons: vec![ScriptReason {
                                    line: simple.line,
                                    text: simple.text(),
                                    why: "the scanner runs inside a command substitution; dsomm-audit does not follow its status".into(),
                                }],
                            });
                    }
                    continue;
                };
                let mut reasons = Vec::new();
                let propagation = if let Shell::Other { name } = shell {
                    reasons.push(ScriptReason {
                        line: simple.line,
                        text: name.clone(),
                        why: format!("the step runs in `{name}`, whose exit status dsomm-audit does not model"),
                    });
                    Propagation::Unknown
                } else {
                    follow(
                        &lists,
                        &constructs,
                        list_index,
                        pipe_index,
                        position,
                        last_top,
                        last_status_only,
                        shell,
                        &mut reasons,
                    )
                };
                found.push(Invocation {
                    scanner,
                    line: simple.line,
                    text: pipeline
                        .commands
                        .iter()
                        .map(Simple::text)
                        .collect::<Vec<_>>()
                        .join(" | "),
                    propagation,
                    reasons,
                });
            }
        }
    }
    found
}

fn substitution_scanner(simple: &Simple) -> Option<Recognised> {
    for word in &simple.words {
        let dollar = word
            .split("$(")
            .skip(1)
            .map(|part| part.split(')').next().unwrap_or(part));
        // Backticks: the text between each pair.
        let backtick = word.split('`').skip(1).step_by(2);
        for inner in dollar.chain(backtick) {
            let (lists, _) = read(inner, false, false);
            for list in &lists {
                for pipeline in &list.pipelines {
                    for command in &pipeline.commands {
                        if let Some(found) = recognise(command) {
                            return Some(found);
                        }
                    }
                }
            }
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn follow(
    lists: &[List],
    constructs: &[(usize, usize, &'static str)],
    list_index: usize,
    pipe_index: usize,
    position: usize,
    last_top: Option<usize>,
    last_status_only: bool,
    shell: &Shell,
    reasons: &mut Vec<ScriptReason>,
) -> Propagation {
    let list = &lists[list_index];
    let pipeline = &list.pipelines[pipe_index];
    let simple = &pipeline.commands[position];
    let reason = |line: usize, text: String, why: String| ScriptReason { line, text, why };
    // 0. A background job.
    if list.background {
        let waited = lists[list_index + 1..]
            .iter()
            .flat_map(|later| &later.pipelines)
            .flat_map(|later| &later.commands)
            .find(|command| command.words.first().is_some_and(|word| word == "wait") && command.words.len() > 1);
        if let Some(wait) = waited {
            reasons.push(reason(
                wait.line,
                wait.text(),
                "the scanner runs in the background (`&`) and `wait` with its job passes its status on".into(),
            ));
        } else {
            reasons.push(reason(
                simple.line,
                "&".into(),
                "`&` runs the scanner in the background: the step does not wait for its exit status (a bare `wait` returns 0)".into(),
            ));
            return Propagation::Lost;
        }
    }
    if let Shell::PowerShell { .. } = shell {
        return follow_powershell(lists, list_index, pipe_index, position, shell, reasons);
    }
    // 1. The pipeline.
    if position + 1 < pipeline.commands.len() {
        let last = &pipeline.commands[pipeline.commands.len() - 1];
        if list.pipefail && !last_status_only {
            reasons.push(reason(
                simple.line,
                "pipefail".into(),
                "with `pipefail` a failure anywhere in the pipeline fails it".into(),
            ));
        } else {
            reasons.push(reason(
                simple.line,
                format!("| {}", last.text()),
                format!(
                    "the pipeline's status is that of `{}`; without `pipefail` the scanner's exit status is lost",
                    last.words[0]
                ),
            ));
            return Propagation::Lost;
        }
    }
    if pipeline.negated && !list.in_condition {
        reasons.push(reason(
            simple.line,
            "!".into(),
            "`!` inverts the scanner's status".into(),
        ));
        return Propagation::Unknown;
    }
    // 2. The and-or list.
    let mut errexit_applies = true;
    if pipeline.next.is_some() {
        let mut index = pipe_index;
        while index < list.pipelines.len() && list.pipelines[index].next == Some(Connector::And) {
            index += 1;
        }
        if index > pipe_index && index < list.pipelines.len() {
            errexit_applies = false;
        }
        if index < list.pipelines.len()
            && list.pipelines[index].next == Some(Connector::Or)
            && index + 1 < list.pipelines.len()
        {
            let handler = &list.pipelines[index + 1];
            let text = format!(
                "|| {}",
                handler
                    .commands
                    .iter()
                    .map(Simple::text)
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            let line = handler.commands.first().map_or(simple.line, |command| command.line);
            match after_or(handler) {
                Propagation::Lost => {
                    reasons.push(reason(
                        line,
                        text,
                        "the command after `||` succeeds, so the scanner's failure never fails the step".into(),
                    ));
                    return Propagation::Lost;
                }
                Propagation::Unknown => {
                    reasons.push(reason(
                        line,
                        text,
                        "the status is replaced by the command after `||`, which dsomm-audit cannot judge".into(),
                    ));
                    return Propagation::Unknown;
                }
                Propagation::Fails => {
                    if handler
                        .commands
                        .first()
                        .is_some_and(|command| command.words[0] == "exit")
                    {
                        reasons.push(reason(
                            line,
                            text,
                            "the command after `||` exits non-zero, failing the step".into(),
                        ));
                        return Propagation::Fails;
                    }
                }
            }
        } else if index < list.pipelines.len()
            && list.pipelines[index].next == Some(Connector::Or)
            && index + 1 == list.pipelines.len()
            && lists.get(list_index + 1).is_some_and(|next| next.depth > list.depth)
        {
            // `cmd || { ...; }` or `cmd || ( ... )`: the group decides.
            let group: Vec<&List> = lists[list_index + 1..]
                .iter()
                .take_while(|later| later.depth > list.depth)
                .collect();
            let subshell = group.first().is_some_and(|first| first.subshell) && !list.subshell;
            let (outcome, line, text, by_exit) = group_outcome(&group, simple.line);
            let kind = if subshell {
                "subshell `( ... )`"
            } else {
                "group `{ ...; }`"
            };
            match outcome {
                Propagation::Lost => {
                    reasons.push(reason(
                        line,
                        text,
                        format!(
                            "the {kind} after `||` ends successfully, so the scanner's failure never fails the step"
                        ),
                    ));
                    return Propagation::Lost;
                }
                Propagation::Unknown => {
                    reasons.push(reason(
                        line,
                        text,
                        format!("the status is replaced by the {kind} after `||`, which dsomm-audit cannot judge"),
                    ));
                    return Propagation::Unknown;
                }
                Propagation::Fails if by_exit && !subshell => {
                    reasons.push(reason(
                        line,
                        text,
                        format!("the {kind} after `||` exits non-zero, failing the step"),
                    ));
                    return Propagation::Fails;
                }
                // A failing subshell or last command: the list fails, as with `|| false`.
                Propagation::Fails => {}
            }
        } else if index > pipe_index {
            errexit_applies = false;
            reasons.push(reason(
                simple.line,
                "&&".into(),
                "a failing command before `&&` does not stop a `-e` shell: the list fails but the script goes on"
                    .into(),
            ));
        }
    }
    // 3. Conditions.
    if list.in_condition {
        if let Some(&(start, end, keyword)) = list.construct.and_then(|construct| constructs.get(construct)) {
            let inside: Vec<List> = lists
                .iter()
                .filter(|other| {
                    let line = other
                        .pipelines
                        .first()
                        .and_then(|pipeline| pipeline.commands.first())
                        .map_or(0, |command| command.line);
                    line >= start && line <= end && !other.in_condition
                })
                .cloned()
                .collect();
            if let Some((line, text)) = has_nonzero_exit(&inside) {
                reasons.push(reason(
                    line,
                    text,
                    if keyword == "if" {
                        "the scanner is an `if` condition and a branch exits non-zero".to_string()
                    } else {
                        format!("the scanner is a `{keyword}` condition and the loop's body exits non-zero")
                    },
                ));
                return Propagation::Fails;
            }
        }
        reasons.push(reason(
            simple.line,
            simple.text(),
            "used as a condition: its status chooses a branch and does not fail the step".into(),
        ));
        return Propagation::Lost;
    }
    // 4. errexit (or an ERR trap that exits non-zero), or the last command.
    if let Some((line, text)) = &list.err_trap
        && !list.errexit
        && errexit_applies
        && !last_status_only
    {
        reasons.push(reason(
            *line,
            text.clone(),
            "the ERR trap exits non-zero when the scanner fails, failing the step".into(),
        ));
        return Propagation::Fails;
    }
    if list.errexit && errexit_applies && !last_status_only {
        let (line, text, why) = match &list.errexit_set_by {
            Some((line, text)) => (
                *line,
                text.clone(),
                "`set -e`: the shell stops and the step fails with the scanner's status".to_string(),
            ),
            None => (
                simple.line,
                match shell {
                    Shell::Posix { name, .. } => name.clone(),
                    _ => String::new(),
                },
                "the shell runs with `-e`: it stops and the step fails with the scanner's status".to_string(),
            ),
        };
        reasons.push(reason(line, text, why));
        return Propagation::Fails;
    }
    if Some(list_index) == last_top && list.depth == 0 {
        reasons.push(reason(
            simple.line,
            simple.text(),
            "the last command of the script: its status is the step's".into(),
        ));
        return Propagation::Fails;
    }
    let later = &lists[list_index + 1..];
    let captured = later.first().is_some_and(|next| {
        next.pipelines
            .iter()
            .flat_map(|pipeline| &pipeline.commands)
            .any(|command| {
                command
                    .raws
                    .iter()
                    .any(|raw| raw.contains("$?") || raw.contains("$LASTEXITCODE") || raw.contains("PIPESTATUS"))
            })
    });
    if captured {
        if let Some((line, text)) = has_nonzero_exit(later).filter(|(_, text)| text.contains('$')) {
            reasons.push(reason(
                line,
                text,
                "the scanner's status is captured and passed on by `exit`".into(),
            ));
            return Propagation::Fails;
        }
        reasons.push(reason(
            simple.line,
            simple.text(),
            "the scanner's status is captured but dsomm-audit cannot follow what is done with it".into(),
        ));
        return Propagation::Unknown;
    }
    let last_text = lists
        .get(last_top.unwrap_or(list_index))
        .and_then(|list| list.pipelines.last())
        .and_then(|pipeline| pipeline.commands.last())
        .map(Simple::text)
        .unwrap_or_default();
    match (&list.errexit_set_by, last_status_only) {
        (Some((line, text)), false) if !list.errexit => reasons.push(reason(
            *line,
            text.clone(),
            format!("`set +e`: the script goes on after the scanner fails and ends with the status of `{last_text}`"),
        )),
        _ => reasons.push(reason(
            simple.line,
            simple.text(),
            if last_status_only {
                format!("a failing native command does not stop {}: the step's status is the last command's (`{last_text}`)", shell_name(shell))
            } else if !errexit_applies {
                format!("the script goes on and ends with the status of `{last_text}`")
            } else {
                format!("the shell runs without `-e`: the script goes on and ends with the status of `{last_text}`")
            },
        )),
    }
    Propagation::Lost
}

/// Cmdlets, aliases, keywords and expressions: PowerShell commands that do
/// not set `$LASTEXITCODE`. Anything else is taken for a native program.
fn is_powershell_builtin(word: &str) -> bool {
    const VERBS: &[&str] = &[
        "add",
        "assert",
        "clear",
        "compare",
        "compress",
        "confirm",
        "convert",
        "convertfrom",
        "convertto",
        "copy",
        "debug",
        "disable",
        "enable",
        "enter",
        "exit",
        "expand",
        "export",
        "find",
        "foreach",
        "format",
        "get",
        "group",
        "import",
        "install",
        "invoke",
        "join",
        "measure",
        "move",
        "new",
        "out",
        "pop",
        "publish",
        "push",
        "read",
        "receive",
        "register",
        "remove",
        "rename",
        "resolve",
        "restart",
        "resume",
        "save",
        "select",
        "send",
        "set",
        "show",
        "sort",
        "split",
        "start",
        "stop",
        "suspend",
        "tee",
        "test",
        "trace",
        "uninstall",
        "unregister",
        "update",
        "use",
        "wait",
        "where",
        "write",
    ];
    const ALIASES: &[&str] = &[
        "echo", "cd", "ls", "dir", "cat", "type", "cp", "copy", "mv", "move", "rm", "del", "erase", "rmdir", "rd",
        "mkdir", "md", "pwd", "set", "sleep", "write", "where", "foreach", "%", "?", "select", "sort", "tee", "gc",
        "gci", "sl", "iex", "iwr", "irm", "cls", "clear", "ni", "ri", "popd", "pushd", "if", "else", "elseif", "for",
        "while", "do", "until", "switch", "try", "catch", "finally", "function", "filter", "param", "return", "break",
        "continue", "trap", "exit", "throw", "{", "}", "(", ")", ".", "begin", "process", "end",
    ];
    let lower = word.to_ascii_lowercase();
    if word.starts_with(['$', '(', '[', '{', '}', '@', '\'', '"', '#', '!']) || ALIASES.contains(&lower.as_str()) {
        return true;
    }
    match lower.split_once('-') {
        Some((verb, noun)) => {
            VERBS.contains(&verb) && !noun.is_empty() && noun.chars().all(|c| c.is_ascii_alphanumeric())
        }
        None => lower.ends_with(".ps1"),
    }
}

/// PowerShell as GitHub and Azure run it: the step ends with
/// `exit $LASTEXITCODE`, the exit code of the last native command.
fn follow_powershell(
    lists: &[List],
    list_index: usize,
    pipe_index: usize,
    position: usize,
    shell: &Shell,
    reasons: &mut Vec<ScriptReason>,
) -> Propagation {
    let Shell::PowerShell {
        checks_last_exit_code,
        error_action_stop,
        ..
    } = shell
    else {
        return Propagation::Unknown;
    };
    let reason = |line: usize, text: String, why: String| ScriptReason { line, text, why };
    let list = &lists[list_index];
    let pipeline = &list.pipelines[pipe_index];
    let simple = &pipeline.commands[position];
    let earlier = lists[..list_index]
        .iter()
        .chain(std::iter::once(list))
        .flat_map(|earlier| &earlier.pipelines)
        .flat_map(|earlier| &earlier.commands)
        .take_while(|command| !std::ptr::eq(*command, simple));
    let mut native_throws: Option<&Simple> = None;
    let mut stop = *error_action_stop;
    for command in earlier {
        let first = command
            .words
            .first()
            .map(|word| word.to_ascii_lowercase())
            .unwrap_or_default();
        let value = command
            .words
            .get(2)
            .map(|word| word.to_ascii_lowercase())
            .unwrap_or_default();
        if first == "$psnativecommanduseerroractionpreference" && command.words.get(1).is_some_and(|eq| eq == "=") {
            native_throws = (value == "$true").then_some(command);
        }
        if first == "$erroractionpreference" && command.words.get(1).is_some_and(|eq| eq == "=") {
            stop = value.trim_matches(['\'', '"']) == "stop";
        }
    }
    if let Some(setting) = native_throws
        && stop
    {
        reasons.push(reason(
            setting.line,
            setting.text(),
            "with `$PSNativeCommandUseErrorActionPreference = $true` and `$ErrorActionPreference = 'stop'` a failing native command throws and fails the step".into(),
        ));
        return Propagation::Fails;
    }
    // What runs after the scanner: the rest of its pipeline, and-or list, and the script.
    let rest_of_pipeline = pipeline.commands[position + 1..].iter();
    let rest_of_list = list.pipelines[pipe_index + 1..]
        .iter()
        .flat_map(|later| &later.commands);
    let later_lists = lists[list_index + 1..]
        .iter()
        .flat_map(|later| &later.pipelines)
        .flat_map(|later| &later.commands);
    let mut any_later = false;
    for command in rest_of_pipeline.chain(rest_of_list).chain(later_lists) {
        any_later = true;
        let Some(first) = command.words.first() else {
            continue;
        };
        if first.eq_ignore_ascii_case("exit") {
            return match command.words.get(1).map(String::as_str) {
                Some("0") => {
                    reasons.push(reason(
                        command.line,
                        command.text(),
                        "the script exits 0 after the scanner".into(),
                    ));
                    Propagation::Lost
                }
                Some(_) => {
                    reasons.push(reason(
                        command.line,
                        command.text(),
                        "the script exits with this code after the scanner".into(),
                    ));
                    Propagation::Fails
                }
                None => {
                    reasons.push(reason(
                        command.line,
                        command.text(),
                        "a bare `exit` after the scanner: dsomm-audit cannot tell the step's status".into(),
                    ));
                    Propagation::Unknown
                }
            };
        }
        if first.eq_ignore_ascii_case("throw") {
            reasons.push(reason(
                command.line,
                command.text(),
                "the script throws after the scanner, failing the step".into(),
            ));
            return Propagation::Fails;
        }
        if !is_powershell_builtin(first) {
            reasons.push(reason(
                command.line,
                command.text(),
                format!(
                    "`{first}` is a native command that runs after the scanner: it sets `$LASTEXITCODE` again, and the step ends with the last native command's exit code"
                ),
            ));
            return Propagation::Lost;
        }
    }
    if *checks_last_exit_code {
        reasons.push(reason(
            simple.line,
            simple.text(),
            format!(
                "no native command runs after the scanner, so {} ends the step with its exit code (`exit $LASTEXITCODE`); cmdlets such as `Write-Host` do not change it",
                shell_name(shell)
            ),
        ));
        Propagation::Fails
    } else if any_later {
        reasons.push(reason(
            simple.line,
            simple.text(),
            "`ignoreLASTEXITCODE: true`: the task does not end with `exit $LASTEXITCODE`, so a failing native command does not fail the step".into(),
        ));
        Propagation::Lost
    } else {
        reasons.push(reason(
            simple.line,
            simple.text(),
            "`ignoreLASTEXITCODE: true`: the step's status is PowerShell's own, which dsomm-audit cannot tell for a native command that ends the script".into(),
        ));
        Propagation::Unknown
    }
}

fn shell_name(shell: &Shell) -> &str {
    match shell {
        Shell::Posix { name, .. }
        | Shell::LastStatus { name }
        | Shell::PowerShell { name, .. }
        | Shell::Other { name } => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bash_e() -> Shell {
        Shell::Posix {
            name: "bash -e {0}".into(),
            errexit: true,
            pipefail: false,
        }
    }

    fn verdict(script: &str, shell: &Shell) -> Vec<(&'static str, Propagation)> {
        analyse(script, shell)
            .into_iter()
            .map(|found| (found.scanner.tool, found.propagation))
            .collect()
    }

    #[test]
    fn errexit_and_or_true() {
        assert_eq!(
            verdict("semgrep scan --error .\necho done\n", &bash_e()),
            vec![("semgrep", Propagation::Fails)]
        );
        assert_eq!(
            verdict("gitleaks dir . \\\n  --report-format json \\\n  || true\n", &bash_e()),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict("gitleaks detect || exit 1\n", &bash_e()),
            vec![("gitleaks", Propagation::Fails)]
        );
        assert_eq!(
            verdict("gitleaks detect || ./notify.sh\n", &bash_e()),
            vec![("gitleaks", Propagation::Unknown)]
        );
    }

    #[test]
    fn pipes_need_pipefail() {
        assert_eq!(
            verdict("trivy fs --exit-code 1 . | tee out.txt\n", &bash_e()),
            vec![("trivy", Propagation::Lost)]
        );
        let pipefail = Shell::Posix {
            name: "bash -eo pipefail".into(),
            errexit: true,
            pipefail: true,
        };
        assert_eq!(
            verdict("trivy fs --exit-code 1 . | tee out.txt\n", &pipefail),
            vec![("trivy", Propagation::Fails)]
        );
        assert_eq!(
            verdict("set -o pipefail\ntrivy fs --exit-code 1 . | tee out.txt\n", &bash_e()),
            vec![("trivy", Propagation::Fails)]
        );
    }

    #[test]
    fn set_plus_e_and_exit_status() {
        assert_eq!(
            verdict("set +e\ngitleaks detect\necho scanned\n", &bash_e()),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict(
                "set +e\ngitleaks detect\nstatus=$?\necho scanned\nexit $status\n",
                &bash_e()
            ),
            vec![("gitleaks", Propagation::Fails)]
        );
        assert_eq!(
            verdict("set +e\necho start\ngitleaks detect\n", &bash_e()),
            vec![("gitleaks", Propagation::Fails)]
        );
    }

    #[test]
    fn and_lists_and_conditions() {
        assert_eq!(
            verdict("checkov -d . && echo ok\necho next\n", &bash_e()),
            vec![("checkov", Propagation::Lost)]
        );
        assert_eq!(
            verdict("cat a > b && checkov -d .\necho next\n", &bash_e()),
            vec![("checkov", Propagation::Fails)]
        );
        assert_eq!(
            verdict("if ! gitleaks detect; then\n  echo leaks\n  exit 1\nfi\n", &bash_e()),
            vec![("gitleaks", Propagation::Fails)]
        );
        assert_eq!(
            verdict("if gitleaks detect; then echo clean; fi\necho next\n", &bash_e()),
            vec![("gitleaks", Propagation::Lost)]
        );
    }

    #[test]
    fn wrappers_and_heredocs() {
        assert_eq!(
            verdict(
                "docker run --rm -v $PWD:/src aquasec/trivy fs --exit-code 1 /src\n",
                &bash_e()
            ),
            vec![("trivy", Propagation::Fails)]
        );
        assert_eq!(
            verdict("pip install checkov\ncat <<EOF > x\ncheckov -d .\nEOF\n", &bash_e()),
            Vec::new()
        );
        assert_eq!(
            verdict("python -m bandit -r src\n", &bash_e()),
            vec![("bandit", Propagation::Fails)]
        );
        let pwsh = Shell::PowerShell {
            name: "pwsh".into(),
            checks_last_exit_code: true,
            error_action_stop: true,
        };
        // Cmdlets do not reset $LASTEXITCODE; a later native command does.
        assert_eq!(
            verdict("gitleaks detect\nWrite-Host done\n$x = 1\n", &pwsh),
            vec![("gitleaks", Propagation::Fails)]
        );
        assert_eq!(
            verdict("gitleaks detect\ngit status\n", &pwsh),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict("& gitleaks detect\nif ($LASTEXITCODE -ne 0) { exit 1 }\n", &pwsh),
            vec![("gitleaks", Propagation::Fails)]
        );
        let ignoring = Shell::PowerShell {
            name: "pwsh".into(),
            checks_last_exit_code: false,
            error_action_stop: true,
        };
        assert_eq!(
            verdict("gitleaks detect\nWrite-Host done\n", &ignoring),
            vec![("gitleaks", Propagation::Lost)]
        );
        let cmd = Shell::LastStatus { name: "cmd".into() };
        assert_eq!(
            verdict("gitleaks detect\necho done\n", &cmd),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict("Write-Host start\ngitleaks detect\n", &pwsh),
            vec![("gitleaks", Propagation::Fails)]
        );
    }

    #[test]
    fn background_jobs() {
        assert_eq!(
            verdict("gitleaks detect &\necho started\n", &bash_e()),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict("gitleaks detect &\nwait\n", &bash_e()),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict("gitleaks detect &\nwait $!\n", &bash_e()),
            vec![("gitleaks", Propagation::Fails)]
        );
    }

    fn plain_sh() -> Shell {
        Shell::Posix {
            name: "sh".into(),
            errexit: false,
            pipefail: false,
        }
    }

    #[test]
    fn groups_and_subshells_after_or() {
        let lost = vec![("gitleaks", Propagation::Lost)];
        let fails = vec![("gitleaks", Propagation::Fails)];
        assert_eq!(
            verdict("gitleaks detect || { echo \"leaks\"; exit 0; }\necho more\n", &bash_e()),
            lost
        );
        assert_eq!(verdict("gitleaks detect || { echo leaks; }\nexit 0\n", &bash_e()), lost);
        assert_eq!(verdict("gitleaks detect || (echo leaks; exit 0)\n", &bash_e()), lost);
        assert_eq!(
            verdict(
                "gitleaks detect || { echo \"leaks\"; exit 1; }\necho done\n",
                &plain_sh()
            ),
            fails
        );
        let found = analyse("gitleaks detect || { echo leaks; exit 1; }\necho done\n", &plain_sh());
        assert!(found[0].reasons[0].text == "exit 1", "{:?}", found[0].reasons);
        // `exit 1` leaves only a subshell: the list fails, and `-e` (or the end) decides.
        assert_eq!(
            verdict("gitleaks detect || (echo leaks; exit 1)\necho done\n", &bash_e()),
            fails
        );
        assert_eq!(
            verdict("gitleaks detect || (echo leaks; exit 1)\necho done\n", &plain_sh()),
            lost
        );
        assert_eq!(
            verdict("gitleaks detect || { ./notify.sh; }\n", &bash_e()),
            vec![("gitleaks", Propagation::Unknown)]
        );
        assert_eq!(verdict("gitleaks detect || { echo leaks; exit; }\n", &bash_e()), lost);
    }

    #[test]
    fn while_and_until_conditions_with_an_exiting_body() {
        let fails = vec![("gitleaks", Propagation::Fails)];
        let lost = vec![("gitleaks", Propagation::Lost)];
        assert_eq!(
            verdict("while ! gitleaks detect; do\n  exit 1\ndone\necho ok\n", &bash_e()),
            fails
        );
        assert_eq!(
            verdict("until gitleaks detect; do exit 1; done\necho ok\n", &bash_e()),
            fails
        );
        assert_eq!(
            verdict("until gitleaks detect; do break; done\necho ok\n", &bash_e()),
            lost
        );
        // A `for` loop inside an `if` body does not end the `if`.
        assert_eq!(
            verdict(
                "if ! gitleaks detect; then\n  for f in a; do echo $f; done\n  exit 1\nfi\n",
                &bash_e()
            ),
            fails
        );
    }

    #[test]
    fn wrappers_with_option_values_and_backticks() {
        let tool = |script: &str| {
            analyse(script, &bash_e())
                .into_iter()
                .map(|found| found.scanner.tool)
                .collect::<Vec<_>>()
        };
        assert_eq!(tool("timeout -k 10 15m semgrep ci\n"), vec!["semgrep"]);
        assert_eq!(tool("timeout --signal KILL 15m semgrep ci\n"), vec!["semgrep"]);
        assert_eq!(tool("timeout --kill-after=10 15m semgrep ci\n"), vec!["semgrep"]);
        assert_eq!(tool("nice -n 10 gitleaks detect\n"), vec!["gitleaks"]);
        assert_eq!(tool("env GITLEAKS_CONFIG=x.toml gitleaks detect\n"), vec!["gitleaks"]);
        assert_eq!(tool("env -u HOME gitleaks detect\n"), vec!["gitleaks"]);
        assert_eq!(tool("stdbuf -oL gitleaks detect\n"), vec!["gitleaks"]);
        assert_eq!(tool("stdbuf -o L gitleaks detect\n"), vec!["gitleaks"]);
        assert_eq!(tool("nohup gitleaks detect\n"), vec!["gitleaks"]);
        assert_eq!(tool("sudo -u scanner gitleaks detect\n"), vec!["gitleaks"]);
        assert_eq!(
            verdict(
                "find . -name '*.tf' | xargs -n 1 -P 4 checkov -f\n",
                &Shell::Posix {
                    name: "bash".into(),
                    errexit: true,
                    pipefail: true
                }
            ),
            vec![("checkov", Propagation::Fails)]
        );
        assert_eq!(
            verdict("xargs -a files.txt checkov -f\n", &bash_e()),
            vec![("checkov", Propagation::Fails)]
        );
        // A backtick substitution is reported like `$(...)`, never dropped.
        assert_eq!(
            verdict("echo `gitleaks detect`\n", &bash_e()),
            vec![("gitleaks", Propagation::Unknown)]
        );
        assert_eq!(
            verdict("`gitleaks detect`\n", &bash_e()),
            vec![("gitleaks", Propagation::Unknown)]
        );
        assert_eq!(
            verdict("out=$(gitleaks detect)\n", &bash_e()),
            vec![("gitleaks", Propagation::Unknown)]
        );
    }

    #[test]
    fn err_trap_that_exits_non_zero() {
        assert_eq!(
            verdict(
                "set +e\ntrap 'echo \"scan failed\"; exit 1' ERR\ngitleaks detect\necho done\n",
                &bash_e()
            ),
            vec![("gitleaks", Propagation::Fails)]
        );
        assert_eq!(
            verdict(
                "set +e\ntrap 'echo failed' ERR\ngitleaks detect\necho done\n",
                &bash_e()
            ),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict(
                "set +e\ntrap 'exit 1' ERR\ntrap - ERR\ngitleaks detect\necho done\n",
                &bash_e()
            ),
            vec![("gitleaks", Propagation::Lost)]
        );
        assert_eq!(
            verdict("trap 'exit 1' ERR\ngitleaks detect || true\necho done\n", &plain_sh()),
            vec![("gitleaks", Propagation::Lost)]
        );
    }
}
