package synth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// toolCall is what the agent asked for in one tool call, and what the tool
// returned.
type toolCall struct {
	name   string
	args   any // marshalled as the call's arguments
	result string
	slow   float64 // tool run time factor applied to the think time
}

type pathArgs struct {
	Path string `json:"path"`
}

type readArgs struct {
	Path   string `json:"path"`
	Offset int    `json:"offset,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

type editArgs struct {
	Path      string `json:"path"`
	OldString string `json:"old_string"`
	NewString string `json:"new_string"`
}

type writeArgs struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

type grepArgs struct {
	Pattern string `json:"pattern"`
	Path    string `json:"path,omitempty"`
	Glob    string `json:"glob,omitempty"`
}

type globArgs struct {
	Pattern string `json:"pattern"`
}

type bashArgs struct {
	Command string `json:"command"`
}

type planStep struct {
	Step   string `json:"step"`
	Status string `json:"status"`
}

type planArgs struct {
	Steps []planStep `json:"steps"`
}

func (c *toolCall) arguments() string {
	b, err := json.Marshal(c.args)
	if err != nil {
		panic(err) // plain structs
	}
	return string(b)
}

// ---- file tools ----

func (s *session) listDir(dir string) *toolCall {
	g := s.g
	var b strings.Builder
	seen := map[string]bool{}
	type entry struct {
		name  string
		isDir bool
		size  int
	}
	var entries []entry
	prefix := dir
	if prefix == "." {
		prefix = ""
	} else {
		prefix += "/"
	}
	for _, f := range s.p.files {
		if !strings.HasPrefix(f.path, prefix) {
			continue
		}
		rest := f.path[len(prefix):]
		name, _, isDir := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		size := 4096
		if !isDir {
			size = 0
			for _, l := range f.lines {
				size += len(l) + 1
			}
		}
		entries = append(entries, entry{name, isDir, size})
	}
	if dir == "." {
		entries = append(entries, entry{".git", true, 4096})
		if s.p.lang == langGo {
			entries = append(entries, entry{"Makefile", false, g.between(300, 1500)}, entry{".gitignore", false, g.between(20, 200)})
		} else {
			entries = append(entries, entry{".venv", true, 4096}, entry{".gitignore", false, g.between(20, 200)})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	fmt.Fprintf(&b, "total %d\n", 8*len(entries)+8)
	month := g.pick(months)
	day := g.between(1, 28)
	for _, e := range append([]entry{{".", true, 4096}, {"..", true, 4096}}, entries...) {
		mode := "-rw-r--r--"
		links := 1
		if e.isDir {
			mode, links = "drwxr-xr-x", g.between(2, 8)
		}
		fmt.Fprintf(&b, "%s %2d dev dev %6d %s %2d %02d:%02d %s\n", mode, links, e.size, month, day, g.between(8, 19), g.intn(60), e.name)
	}
	return &toolCall{name: "list_dir", args: pathArgs{Path: dir}, result: strings.TrimSuffix(b.String(), "\n"), slow: 0.7}
}

func (s *session) glob(pattern string) *toolCall {
	suffix := strings.TrimPrefix(pattern, "**/*")
	var out []string
	for _, f := range s.p.files {
		if strings.HasSuffix(f.path, suffix) {
			out = append(out, f.path)
		}
	}
	res := strings.Join(out, "\n")
	if res == "" {
		res = "No files found"
	}
	return &toolCall{name: "glob", args: globArgs{Pattern: pattern}, result: res, slow: 0.7}
}

func (s *session) grep(pattern string) *toolCall {
	var b strings.Builder
	n := 0
	for _, f := range s.p.files {
		for i, l := range f.lines {
			if strings.Contains(l, pattern) {
				if n < 120 {
					fmt.Fprintf(&b, "%s:%d:%s\n", f.path, i+1, l)
				}
				n++
			}
		}
	}
	res := strings.TrimSuffix(b.String(), "\n")
	if n == 0 {
		res = "No matches found"
	} else if n > 120 {
		res += fmt.Sprintf("\n[%d more matches not shown]", n-120)
	}
	args := grepArgs{Pattern: pattern}
	if s.g.chance(0.3) {
		if s.p.lang == langGo {
			args.Glob = "*.go"
		} else {
			args.Glob = "*.py"
		}
	}
	return &toolCall{name: "grep", args: args, result: res, slow: 0.8}
}

// readFile reads f whole (up to 400 lines) or a window around line.
func (s *session) readFile(f *file, around int) *toolCall {
	args := readArgs{Path: f.path}
	from, to := 1, len(f.lines)
	if around > 0 && len(f.lines) > 80 && s.g.chance(min(0.9, 0.7/s.verbosity)) {
		from = max(1, around-int(float64(s.g.between(10, 40))*s.verbosity))
		to = min(len(f.lines), around+int(float64(s.g.between(30, 80))*s.verbosity))
		args.Offset, args.Limit = from, to-from+1
	}
	if to-from+1 > 400 {
		to = from + 399
	}
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%6d\t%s\n", i, f.lines[i-1])
	}
	if to < len(f.lines) && args.Limit == 0 {
		fmt.Fprintf(&b, "[file has %d lines; showing 1-%d]\n", len(f.lines), to)
	}
	s.read[f.path] = true
	return &toolCall{name: "read_file", args: args, result: strings.TrimSuffix(b.String(), "\n"), slow: 0.8}
}

// editFile changes a few lines inside a function of f and returns the call
// with the unified diff the tool reports.
func (s *session) editFile(f *file) *toolCall {
	g := s.g
	var funcs []symbol
	for _, sym := range f.syms {
		if sym.kind == "func" || sym.kind == "test" {
			funcs = append(funcs, sym)
		}
	}
	if len(funcs) == 0 {
		return s.readFile(f, 0)
	}
	sym := funcs[g.intn(len(funcs))]
	if s.target != nil && s.target.file == f && g.chance(0.6) {
		sym = s.target.sym
	}
	start := sym.line + 1 // first body line (after func / def)
	if s.p.lang == langPython && start < len(f.lines) && strings.Contains(f.lines[start-1], `"""`) {
		start++ // skip the docstring
	}
	end := start
	for end < len(f.lines) && end-start < g.between(1, 6) && !isBlockEnd(f.lines[end-1]) {
		end++
	}
	if start > len(f.lines) {
		return s.readFile(f, 0)
	}
	end = min(end, len(f.lines))
	old := slices.Clone(f.lines[start-1 : end])
	indent := leadingSpace(old[0])
	w := &lineWriter{}
	if s.p.lang == langGo {
		st := goStmt{g: g, w: w, pkg: f.pkg, self: "", arg: camel(false, g.pick(nouns)), zero: "nil"}
		for i := g.between(1, 3); i > 0; i-- {
			st.stmt(strings.Count(indent, "\t"))
		}
	} else {
		st := pyStmt{g: g, w: w, arg: snake(g.pick(nouns)), method: sym.recv != ""}
		for i := g.between(1, 3); i > 0; i-- {
			st.stmt(indent)
		}
	}
	repl := slices.Clone(old)
	if g.chance(0.5) || len(repl) == 1 {
		repl = append(w.lines, repl...) // insert before
	} else {
		k := g.between(1, len(repl)-1)
		repl = append(append(slices.Clone(repl[:k]), w.lines...), repl[k+1:]...) // replace one line
	}
	h := hunk{path: f.path, line: start, old: old, new: repl, fn: f.lines[sym.line-1]}
	h.before = slices.Clone(f.lines[max(0, start-4) : start-1])
	h.after = slices.Clone(f.lines[end:min(len(f.lines), end+3)])
	// Apply the edit and move the symbols below it.
	delta := len(repl) - len(old)
	f.lines = slices.Concat(f.lines[:start-1], repl, f.lines[end:])
	for i := range f.syms {
		if f.syms[i].line > start {
			f.syms[i].line += delta
		}
	}
	s.p.edits = append(s.p.edits, h)
	if !slices.Contains(s.edited, f.path) {
		s.edited = append(s.edited, f.path)
	}
	res := fmt.Sprintf("Applied 1 edit to %s:\n%s", f.path, h.diff(false))
	return &toolCall{name: "edit_file", args: editArgs{Path: f.path, OldString: strings.Join(old, "\n"), NewString: strings.Join(repl, "\n")},
		result: strings.TrimSuffix(res, "\n"), slow: 0.9}
}

func isBlockEnd(l string) bool {
	t := strings.TrimSpace(l)
	return t == "}" || t == "" || strings.HasPrefix(t, "return")
}

func leadingSpace(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

// diff renders the hunk as unified diff text; header adds the git headers.
func (h *hunk) diff(header bool) string {
	var b strings.Builder
	if header {
		fmt.Fprintf(&b, "diff --git a/%s b/%s\n", h.path, h.path)
		fmt.Fprintf(&b, "index %07x..%07x 100644\n", hashString(h.path)&0xfffffff, hashString(strings.Join(h.new, "\n"))&0xfffffff)
	}
	fmt.Fprintf(&b, "--- a/%s\n+++ b/%s\n", h.path, h.path)
	first := h.line - len(h.before)
	fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@ %s\n", first, len(h.before)+len(h.old)+len(h.after), first, len(h.before)+len(h.new)+len(h.after), strings.TrimSpace(h.fn))
	for _, l := range h.before {
		b.WriteString(" " + l + "\n")
	}
	for _, l := range h.old {
		b.WriteString("-" + l + "\n")
	}
	for _, l := range h.new {
		b.WriteString("+" + l + "\n")
	}
	for _, l := range h.after {
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}

// hashString is FNV-1a, for stable fake git object ids.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// writeTestFile adds a regression test file for the target and returns the
// write_file call.
func (s *session) writeTestFile() *toolCall {
	src := s.target.file
	var f *file
	if s.p.lang == langGo {
		f = s.g.goTestFile(s.p, src, strings.TrimSuffix(src.path, ".go")+"_regression_test.go")
	} else {
		f = s.g.pyTestFile(s.p, src, "tests/test_"+src.pkg+"_regression.py")
	}
	if s.p.hasFile(f.path) {
		return s.readFile(s.p.file(f.path), 0)
	}
	s.p.files = append(s.p.files, f)
	s.edited = append(s.edited, f.path)
	content := strings.Join(f.lines, "\n") + "\n"
	return &toolCall{name: "write_file", args: writeArgs{Path: f.path, Content: content},
		result: fmt.Sprintf("Wrote %d lines (%d bytes) to %s", len(f.lines), len(content), f.path), slow: 0.8}
}

func (s *session) updatePlan(done int) *toolCall {
	steps := []string{
		"Reproduce the failure",
		"Find where " + s.target.sym.name + " goes wrong",
		"Fix " + s.target.sym.name,
		"Add a regression test",
		"Run the full test suite",
	}
	var plan planArgs
	for i, st := range steps {
		status := "pending"
		switch {
		case i < done:
			status = "completed"
		case i == done:
			status = "in_progress"
		}
		plan.Steps = append(plan.Steps, planStep{Step: st, Status: status})
	}
	return &toolCall{name: "update_plan", args: plan, result: "Plan updated.", slow: 0.6}
}

// ---- bash ----

func (s *session) bash(cmd, out string, exit int, slow float64) *toolCall {
	res := out
	if exit != 0 {
		res += fmt.Sprintf("\n[exit status %d]", exit)
	}
	return &toolCall{name: "bash", args: bashArgs{Command: cmd}, result: res, slow: slow}
}

func (s *session) gitStatus() *toolCall {
	var b strings.Builder
	fmt.Fprintf(&b, "On branch %s\n", s.branch)
	if len(s.edited) == 0 {
		b.WriteString("nothing to commit, working tree clean")
		return s.bash("git status", b.String(), 0, 0.7)
	}
	b.WriteString("Changes not staged for commit:\n  (use \"git add <file>...\" to update what will be committed)\n  (use \"git restore <file>...\" to discard changes in working directory)\n")
	var untracked []string
	for _, p := range s.edited {
		if strings.Contains(p, "regression") {
			untracked = append(untracked, p)
			continue
		}
		fmt.Fprintf(&b, "\tmodified:   %s\n", p)
	}
	if len(untracked) > 0 {
		b.WriteString("\nUntracked files:\n  (use \"git add <file>...\" to include in what will be committed)\n")
		for _, p := range untracked {
			fmt.Fprintf(&b, "\t%s\n", p)
		}
	}
	b.WriteString("\nno changes added to commit (use \"git add\" and/or \"git commit -a\")")
	return s.bash("git status", b.String(), 0, 0.7)
}

func (s *session) gitDiff() *toolCall {
	edits := s.p.edits
	if len(edits) > 5 {
		edits = edits[len(edits)-5:]
	}
	var b strings.Builder
	for i := range edits {
		b.WriteString(edits[i].diff(true))
	}
	return s.bash("git diff", strings.TrimSuffix(b.String(), "\n"), 0, 0.7)
}

func (s *session) gitLog() *toolCall {
	var b strings.Builder
	for i := s.g.between(5, 12); i > 0; i-- {
		fmt.Fprintf(&b, "%s %s: %s\n", s.g.hex(7), s.g.pick(s.p.pkgs), s.g.sentence())
	}
	return s.bash("git log --oneline -12", strings.TrimSuffix(b.String(), "\n"), 0, 0.7)
}

// runTests returns the output of a test run. pass says whether the target
// test passes now; all means the whole suite rather than the target package.
func (s *session) runTests(pass, all bool) *toolCall {
	if s.p.lang == langGo {
		return s.goTest(pass, all)
	}
	return s.pytest(pass, all)
}

func (s *session) goTest(pass, all bool) *toolCall {
	g := s.g
	t := s.target
	pkgPath := s.p.module + "/internal/" + t.file.pkg
	cmd := "go test ./internal/" + t.file.pkg + "/"
	if all {
		cmd = "go test ./..."
	}
	verbose := !all && g.chance(0.4)
	if verbose {
		cmd = "go test -v -run " + t.test.name + " ./internal/" + t.file.pkg + "/"
	}
	var b strings.Builder
	if verbose {
		fmt.Fprintf(&b, "=== RUN   %s\n", t.test.name)
		for i := g.between(2, 4); i > 0; i-- {
			fmt.Fprintf(&b, "=== RUN   %s/%s_%s\n", t.test.name, g.pick(adjectives), g.pick(nouns))
		}
	}
	if !pass {
		fmt.Fprintf(&b, "--- FAIL: %s (0.%02ds)\n", t.test.name, g.intn(5))
		if t.panics {
			b.WriteString("panic: runtime error: invalid memory address or nil pointer dereference [recovered]\n")
			b.WriteString("\tpanic: runtime error: invalid memory address or nil pointer dereference\n")
			fmt.Fprintf(&b, "[signal SIGSEGV: segmentation violation code=0x1 addr=0x%x pc=0x%s]\n\n", g.between(8, 96), g.hex(6))
			fmt.Fprintf(&b, "goroutine %d [running]:\n", g.between(6, 60))
			fmt.Fprintf(&b, "testing.tRunner.func1.2({0x%s, 0x%s})\n\t/usr/local/go/src/testing/testing.go:1632 +0x230\n", g.hex(6), g.hex(6))
			b.WriteString("testing.tRunner.func1()\n\t/usr/local/go/src/testing/testing.go:1635 +0x35b\n")
			fmt.Fprintf(&b, "panic({0x%s?, 0x%s?})\n\t/usr/local/go/src/runtime/panic.go:785 +0x132\n", g.hex(6), g.hex(6))
			fmt.Fprintf(&b, "%s.(*%s).%s(0x0, {0x%s, 0xc000%s}, {0x%s, 0x%x})\n\t%s/%s:%d +0x%x\n",
				pkgPath, t.sym.recv, t.sym.name, g.hex(6), g.hex(6), g.hex(6), g.between(3, 20), s.p.root, t.file.path, t.sym.line+g.between(2, 8), g.between(16, 400))
			fmt.Fprintf(&b, "%s.%s.func1(0xc000%s)\n\t%s/%s:%d +0x%x\n", pkgPath, t.test.name, g.hex(6), s.p.root, t.testFile.path, t.test.line+g.between(8, 14), g.between(16, 400))
			fmt.Fprintf(&b, "testing.tRunner(0xc000%s, 0xc000%s)\n\t/usr/local/go/src/testing/testing.go:1690 +0xf4\n", g.hex(6), g.hex(6))
			fmt.Fprintf(&b, "created by testing.(*T).Run in goroutine %d\n\t/usr/local/go/src/testing/testing.go:1743 +0x390\nexit status 2\n", g.between(5, 40))
		} else {
			for i := g.between(1, 3); i > 0; i-- {
				sub := g.pick(adjectives) + "_" + g.pick(nouns)
				fmt.Fprintf(&b, "    --- FAIL: %s/%s (0.00s)\n", t.test.name, sub)
				fmt.Fprintf(&b, "        %s:%d: %s(%q) = %d, want %d\n", baseName(t.testFile.path), t.test.line+g.between(12, 16), t.sym.name, g.pick(nouns)+"-"+fmt.Sprint(g.intn(100)), g.intn(10), g.intn(10))
			}
		}
		b.WriteString("FAIL\n")
		fmt.Fprintf(&b, "FAIL\t%s\t0.%03ds\n", pkgPath, g.between(5, 400))
	} else if verbose {
		fmt.Fprintf(&b, "--- PASS: %s (0.%02ds)\nPASS\n", t.test.name, g.intn(5))
	}
	if all {
		for _, pkg := range s.p.pkgs {
			if pkg == t.file.pkg {
				if pass {
					fmt.Fprintf(&b, "ok  \t%s\t0.%03ds\n", pkgPath, g.between(5, 900))
				}
				continue
			}
			fmt.Fprintf(&b, "ok  \t%s/internal/%s\t0.%03ds\n", s.p.module, pkg, g.between(5, 900))
		}
		fmt.Fprintf(&b, "?   \t%s/cmd/%s\t[no test files]\n", s.p.module, s.p.name)
	} else if pass {
		fmt.Fprintf(&b, "ok  \t%s\t0.%03ds\n", pkgPath, g.between(5, 900))
	}
	exit := 0
	if !pass {
		b.WriteString("FAIL\n")
		exit = 1
	}
	return s.bash(cmd, strings.TrimSuffix(b.String(), "\n"), exit, 2.2)
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

func (s *session) pytest(pass, all bool) *toolCall {
	g := s.g
	t := s.target
	cmd := "python -m pytest -x -q " + t.testFile.path
	if all {
		cmd = "python -m pytest"
	}
	var b strings.Builder
	files := s.p.sources(true)
	total := 0
	if all {
		b.WriteString("============================= test session starts ==============================\n")
		fmt.Fprintf(&b, "platform linux -- Python 3.12.%d, pytest-8.3.%d, pluggy-1.5.0\nrootdir: %s\nconfigfile: pyproject.toml\n", g.between(1, 7), g.between(1, 4), s.p.root)
		for _, f := range files {
			total += len(f.syms)
		}
		fmt.Fprintf(&b, "collected %d items\n\n", total)
		done := 0
		for _, f := range files {
			marks := strings.Repeat(".", len(f.syms))
			if f == t.testFile && !pass {
				marks = marks[:len(marks)-1] + "F"
			}
			done += len(f.syms)
			fmt.Fprintf(&b, "%-76s [%3d%%]\n", f.path+" "+marks, done*100/max(total, 1))
		}
	}
	if !pass {
		b.WriteString("\n=================================== FAILURES ===================================\n")
		fmt.Fprintf(&b, "%s %s %s\n\n", strings.Repeat("_", 20), t.test.name, strings.Repeat("_", 20))
		for _, l := range t.testFile.lines[t.test.line-1 : min(len(t.testFile.lines), t.test.line+3)] {
			b.WriteString("    " + l + "\n")
		}
		fmt.Fprintf(&b, "\n%s:%d: \n", t.testFile.path, t.test.line+2)
		b.WriteString(strings.Repeat("_ ", 40) + "\n\n")
		from := t.sym.line - 1
		to := min(len(t.file.lines), from+g.between(3, 7))
		for i, l := range t.file.lines[from:to] {
			if i == to-from-1 {
				b.WriteString(">   " + l + "\n")
				continue
			}
			b.WriteString("    " + l + "\n")
		}
		errLine := fmt.Sprintf("KeyError: '%s-%d'", g.pick(nouns), g.intn(100))
		if !t.panics {
			errLine = fmt.Sprintf("AssertionError: assert %d == %d", g.intn(10), g.intn(10))
		}
		b.WriteString("E   " + errLine + "\n\n")
		fmt.Fprintf(&b, "%s:%d: %s\n", t.file.path, to, strings.SplitN(errLine, ":", 2)[0])
		b.WriteString("=========================== short test summary info ============================\n")
		fmt.Fprintf(&b, "FAILED %s::%s - %s\n", t.testFile.path, t.test.name, errLine)
		if all {
			fmt.Fprintf(&b, "========================= 1 failed, %d passed in %d.%02ds =========================", total-1, g.intn(3), g.intn(100))
		} else {
			fmt.Fprintf(&b, "!!!!!!!!!!!!!!!!!!!!!!!!!! stopping after 1 failures !!!!!!!!!!!!!!!!!!!!!!!!!!!\n1 failed, %d passed in 0.%02ds", g.intn(8), g.intn(100))
		}
		return s.bash(cmd, b.String(), 1, 2.2)
	}
	if all {
		fmt.Fprintf(&b, "\n============================== %d passed in %d.%02ds ==============================", total, g.intn(3), g.intn(100))
	} else {
		fmt.Fprintf(&b, "%s\n%d passed in 0.%02ds", strings.Repeat(".", len(t.testFile.syms)), len(t.testFile.syms), g.intn(100))
	}
	return s.bash(cmd, b.String(), 0, 2.2)
}

// build returns a build or lint run, failing with errors that point at the
// last edit when broken is set.
func (s *session) build(broken bool) *toolCall {
	g := s.g
	var b strings.Builder
	var last *hunk
	if len(s.p.edits) > 0 {
		last = &s.p.edits[len(s.p.edits)-1]
	}
	if s.p.lang == langGo {
		cmd := "go build ./... && go vet ./..."
		if !broken || last == nil {
			return s.bash(cmd, "", 0, 1.6)
		}
		fmt.Fprintf(&b, "# %s/internal/%s\n", s.p.module, pkgOf(last.path))
		for i := g.between(1, 3); i > 0; i-- {
			msg := []string{"undefined: " + camel(false, g.pick(nouns)), "declared and not used: " + camel(false, g.pick(nouns)),
				"cannot use " + camel(false, g.pick(nouns)) + " (variable of type string) as int value in argument to " + camel(false, g.pick(verbs)),
				"too many return values\n\thave (nil, error)\n\twant (error)"}[g.intn(4)]
			fmt.Fprintf(&b, "%s:%d:%d: %s\n", last.path, last.line+g.intn(len(last.new)+1), g.between(2, 30), msg)
		}
		return s.bash(cmd, strings.TrimSuffix(b.String(), "\n"), 1, 1.6)
	}
	cmd := "ruff check . && mypy src"
	if !broken || last == nil {
		return s.bash(cmd, fmt.Sprintf("All checks passed!\nSuccess: no issues found in %d source files", len(s.p.sources(false))), 0, 1.6)
	}
	n := g.between(1, 3)
	for i := 0; i < n; i++ {
		switch g.intn(3) {
		case 0:
			fmt.Fprintf(&b, "%s:%d:%d: F841 Local variable `%s` is assigned to but never used\n", last.path, last.line+g.intn(len(last.new)+1), g.between(5, 20), snake(g.pick(nouns)))
		case 1:
			fmt.Fprintf(&b, "%s:%d:%d: F821 Undefined name `%s`\n", last.path, last.line+g.intn(len(last.new)+1), g.between(5, 20), snake(g.pick(nouns)))
		default:
			fmt.Fprintf(&b, "%s:%d: error: Incompatible return value type (got \"%s | None\", expected \"%s\")  [return-value]\n", last.path, last.line+g.intn(len(last.new)+1), g.pick(pyTypes), g.pick(pyTypes))
		}
	}
	fmt.Fprintf(&b, "Found %d errors.", n)
	return s.bash(cmd, b.String(), 1, 1.6)
}

func pkgOf(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2]
	}
	return "."
}

func (s *session) wc() *toolCall {
	var b strings.Builder
	total := 0
	for _, f := range s.p.sources(false) {
		fmt.Fprintf(&b, "%5d %s\n", len(f.lines), f.path)
		total += len(f.lines)
	}
	fmt.Fprintf(&b, "%5d total", total)
	ext := "*.go"
	if s.p.lang == langPython {
		ext = "*.py"
	}
	return s.bash("find . -name '"+ext+"' -not -path './.git/*' | xargs wc -l", b.String(), 0, 0.7)
}
