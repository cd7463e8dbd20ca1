package synth

import (
	"encoding/json"
	"strings"
)

// systemPrompt is the instructions every synthetic session starts with. It is
// the same in every session, so a trace set stores it once.
var systemPrompt = strings.TrimSpace(`
You are a coding agent working inside a software repository on the user's machine. You read code, run commands, edit files and report back, using the tools listed in this request. Work until the task is done or you are blocked on something only the user can decide.

# How to work
- Start by understanding the repository: list the relevant directories, search for the symbols named in the task, and read the files you will change before changing them. Never edit a file you have not read in this session.
- Prefer small, reviewable changes that follow the style already present in the file: naming, error handling, logging, comment style and test layout.
- After each change, run the narrowest command that proves it works (a single test, a package build), then the full test suite before you finish.
- When a command fails, read its output carefully. Quote the relevant lines to yourself, form a hypothesis, and check it by reading code or running a smaller command. Do not retry the same command without changing something.
- Keep going without asking for confirmation on routine steps. Ask the user only when the task is ambiguous in a way that changes the result, or when a change would delete data, rewrite history or touch files outside the repository.

# Tools
- Use read_file to read files; use grep and glob to find code; use list_dir to see a directory. Do not use bash for cat, grep, find or ls when a dedicated tool exists.
- Use edit_file for targeted changes: old_string must match the file exactly, including indentation, and must be unique unless replace_all is set. Use write_file only for new files or complete rewrites.
- bash runs in the repository root with a 120 second default timeout. Long-running servers must not be started in the foreground.
- You may call several tools in one turn when the calls are independent, for example reading three files at once.
- Keep the plan current with update_plan when a task has more than three steps.

# Code quality
- Handle errors explicitly; wrap them with context that names the operation and the input.
- Do not add dependencies unless the task needs them. Do not change public interfaces without a reason you can state.
- Add or update tests for every behaviour you change. A test must fail without your change.
- Do not leave debugging output, commented-out code or TODO markers behind.

# Git
- Do not commit, push, rebase or amend unless the user asks. Inspect changes with git status and git diff before you report.

# Reporting
- When you finish, reply with a short summary: what was wrong, what you changed (file by file), how you verified it, and anything left for the user. Use plain sentences and short bullet lists; refer to code as path:line.
- If you could not finish, say exactly what blocks you and what you tried.
`)

// toolSchema is one OpenAI Chat tool definition.
type toolSchema struct {
	Function struct {
		Description string         `json:"description"`
		Name        string         `json:"name"`
		Parameters  map[string]any `json:"parameters"`
	} `json:"function"`
	Type string `json:"type"`
}

func prop(typ, desc string) map[string]any { return map[string]any{"type": typ, "description": desc} }

func tool(name, desc string, props map[string]any, required ...string) toolSchema {
	var t toolSchema
	t.Type = "function"
	t.Function.Name = name
	t.Function.Description = desc
	t.Function.Parameters = map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
	return t
}

// toolsJSON returns the tool list every synthetic session sends.
func toolsJSON() []byte {
	tools := []toolSchema{
		tool("bash", "Run a shell command in the repository root and return its combined stdout and stderr with the exit code. Use it for builds, tests, git and other programs; not for reading or searching files, which have their own tools. Output longer than 30000 characters is truncated in the middle.",
			map[string]any{
				"command":    prop("string", "The command line to run, interpreted by bash."),
				"timeout_ms": prop("integer", "Kill the command after this many milliseconds. Default 120000, maximum 600000."),
			}, "command"),
		tool("read_file", "Read a text file and return its lines numbered from 1, in the format of cat -n. Reads up to 400 lines by default; use offset and limit for longer files. Lines longer than 2000 characters are cut.",
			map[string]any{
				"path":   prop("string", "Path relative to the repository root, or absolute."),
				"offset": prop("integer", "1-based line to start reading from."),
				"limit":  prop("integer", "Maximum number of lines to return."),
			}, "path"),
		tool("edit_file", "Replace text in a file. old_string must appear in the file exactly once (or set replace_all). Returns a unified diff of the change. Read the file first; preserve indentation exactly.",
			map[string]any{
				"path":        prop("string", "The file to change."),
				"old_string":  prop("string", "The exact text to replace."),
				"new_string":  prop("string", "The text to put in its place; must differ from old_string."),
				"replace_all": prop("boolean", "Replace every occurrence instead of exactly one."),
			}, "path", "old_string", "new_string"),
		tool("write_file", "Create a file or overwrite it completely with the given content. Prefer edit_file for changes to existing files.",
			map[string]any{
				"path":    prop("string", "The file to write."),
				"content": prop("string", "The complete new content of the file."),
			}, "path", "content"),
		tool("grep", "Search file contents with a regular expression (ripgrep syntax) and return matching lines as path:line:text. Respects .gitignore. Returns at most 200 matches.",
			map[string]any{
				"pattern":          prop("string", "The regular expression to search for."),
				"path":             prop("string", "Directory or file to search; defaults to the repository root."),
				"glob":             prop("string", "Only search files whose path matches this glob, e.g. *.go."),
				"case_insensitive": prop("boolean", "Match without regard to case."),
			}, "pattern"),
		tool("glob", "List files whose path matches a glob pattern such as **/*_test.go, sorted by modification time, newest first.",
			map[string]any{
				"pattern": prop("string", "The glob pattern, relative to the repository root."),
			}, "pattern"),
		tool("list_dir", "List a directory with file sizes and modification times, like ls -la.",
			map[string]any{
				"path": prop("string", "The directory to list; defaults to the repository root."),
			}),
		tool("update_plan", "Replace the task plan shown to the user. Each step has a short description and a status: pending, in_progress or completed. Exactly one step may be in_progress.",
			map[string]any{
				"steps": map[string]any{"type": "array", "description": "The full list of steps, in order.", "items": map[string]any{
					"type": "object", "properties": map[string]any{
						"step":   prop("string", "What the step does, in a few words."),
						"status": map[string]any{"type": "string", "enum": []string{"pending", "in_progress", "completed"}},
					}, "required": []string{"step", "status"}}},
			}, "steps"),
	}
	b, err := json.Marshal(tools)
	if err != nil {
		panic(err) // static data
	}
	return b
}
