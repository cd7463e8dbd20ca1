package synth

import (
	"fmt"
	"slices"
	"strings"
)

// Languages of synthetic projects.
const (
	langGo     = "go"
	langPython = "python"
)

// project is the repository a synthetic session works on: files whose text
// the agent reads, searches, edits and tests. Edits change the files, so a
// later read shows them.
type project struct {
	lang   string
	name   string
	module string // Go module path or Python package name
	root   string // working directory, e.g. /home/dev/ledger-sync
	files  []*file
	pkgs   []string // Go package dirs or Python module names
	edits  []hunk   // applied edits, oldest first (for git diff)
}

// symbol is a function, method, type or test defined in a file.
type symbol struct {
	name string // as called: Load, (*Store).Load, test_load
	kind string // "func", "type", "test"
	line int    // 1-based line of the definition
	recv string // receiver or class, may be empty
}

type file struct {
	path  string
	lines []string
	syms  []symbol
	test  bool
	pkg   string
}

// hunk is one applied edit.
type hunk struct {
	path     string
	line     int // 1-based first changed line
	old, new []string
	before   []string // up to 3 context lines before
	after    []string // up to 3 context lines after
	fn       string   // enclosing function, for the @@ header
}

func newProject(g *gen) *project {
	p := &project{lang: langGo}
	if g.chance(0.4) {
		p.lang = langPython
	}
	p.name = g.pick(nouns) + "-" + g.pick(nouns)
	if g.chance(0.5) {
		p.name = g.pick(adjectives) + "-" + g.pick(nouns)
	}
	p.name = strings.ReplaceAll(p.name, "non-blocking", "nonblocking")
	p.root = "/home/dev/" + p.name
	npkg := g.between(3, 7)
	for len(p.pkgs) < npkg {
		n := g.pick(nouns)
		if !slices.Contains(p.pkgs, n) {
			p.pkgs = append(p.pkgs, n)
		}
	}
	if p.lang == langGo {
		p.module = "github.com/" + g.pick(orgs) + "/" + p.name
		p.files = append(p.files, &file{path: "go.mod", lines: []string{
			"module " + p.module, "", "go 1.22", "",
			"require (", "\tgithub.com/google/uuid v1.6.0", "\tgolang.org/x/sync v0.7.0", ")"}})
		p.files = append(p.files, g.readme(p))
		main := g.goFile(p, "main", "cmd/"+p.name+"/main.go", false)
		p.files = append(p.files, main)
		for _, pkg := range p.pkgs {
			nf := g.between(1, 4)
			for i := 0; i < nf; i++ {
				base := pkg
				if i > 0 {
					base = g.pick(nouns)
				}
				dir := "internal/" + pkg + "/"
				if p.hasFile(dir + base + ".go") {
					continue
				}
				src := g.goFile(p, pkg, dir+base+".go", false)
				p.files = append(p.files, src)
				if g.chance(0.7) {
					p.files = append(p.files, g.goTestFile(p, src, dir+base+"_test.go"))
				}
			}
		}
	} else {
		p.module = strings.ReplaceAll(p.name, "-", "_")
		p.files = append(p.files, &file{path: "pyproject.toml", lines: []string{
			"[project]", `name = "` + p.name + `"`, `version = "0.` + fmt.Sprint(g.between(1, 9)) + `.0"`,
			`requires-python = ">=3.11"`, `dependencies = ["httpx>=0.27", "pydantic>=2.6"]`, "",
			"[tool.pytest.ini_options]", `testpaths = ["tests"]`, "", "[tool.ruff]", "line-length = 100"}})
		p.files = append(p.files, g.readme(p))
		p.files = append(p.files, &file{path: "src/" + p.module + "/__init__.py", lines: []string{
			`"""` + title(p.name) + ` package."""`, "", `__version__ = "0.1.0"`}})
		for _, mod := range p.pkgs {
			src := g.pyFile(p, mod, "src/"+p.module+"/"+mod+".py")
			p.files = append(p.files, src)
			if g.chance(0.8) {
				p.files = append(p.files, g.pyTestFile(p, src, "tests/test_"+mod+".py"))
			}
		}
	}
	return p
}

func (p *project) hasFile(path string) bool { return p.file(path) != nil }

func (p *project) file(path string) *file {
	for _, f := range p.files {
		if f.path == path {
			return f
		}
	}
	return nil
}

// sources returns the code files (not tests, not config).
func (p *project) sources(tests bool) []*file {
	var out []*file
	for _, f := range p.files {
		if len(f.syms) > 0 && f.test == tests {
			out = append(out, f)
		}
	}
	return out
}

func (g *gen) readme(p *project) *file {
	lines := []string{"# " + p.name, "", title(g.sentence()), ""}
	lines = append(lines, "## Usage", "", "```")
	if p.lang == langGo {
		lines = append(lines, "go run ./cmd/"+p.name+" --"+g.pick(nouns)+" "+g.pick(nouns)+".json")
	} else {
		lines = append(lines, "pip install -e .", "python -m "+p.module+" --"+g.pick(nouns)+" "+g.pick(nouns)+".json")
	}
	lines = append(lines, "```", "", "## Layout", "")
	for _, pkg := range p.pkgs {
		lines = append(lines, "- `"+pkg+"`: "+g.sentence())
	}
	return &file{path: "README.md", lines: append(lines, "", "## Testing", "", "Run `make test` before sending a change.")}
}

// sentence returns a short lower-case prose sentence without a final period.
func (g *gen) sentence() string {
	switch g.intn(6) {
	case 0:
		return fmt.Sprintf("%ss %s %ss from the %s %s", g.pick(verbs), g.pick(adjectives), g.pick(nouns), g.pick(nouns), g.pick(nouns))
	case 1:
		return fmt.Sprintf("keeps the %s %s in sync with the %s", g.pick(nouns), g.pick(nouns), g.pick(nouns))
	case 2:
		return fmt.Sprintf("%s and %s %ss before they reach the %s", g.pick(verbs), g.pick(verbs), g.pick(nouns), g.pick(nouns))
	case 3:
		return fmt.Sprintf("the %s %s used by every %s", g.pick(adjectives), g.pick(nouns), g.pick(nouns))
	case 4:
		return fmt.Sprintf("%ss the %s when the %s is %s", g.pick(verbs), g.pick(nouns), g.pick(nouns), g.pick(adjectives))
	}
	return fmt.Sprintf("helpers to %s %s %ss", g.pick(verbs), g.pick(adjectives), g.pick(nouns))
}

// ---- Go ----

type goFunc struct {
	name, recv, typ string
}

func (g *gen) goFile(p *project, pkg, path string, _ bool) *file {
	f := &file{path: path, pkg: pkg}
	w := &lineWriter{}
	w.add("package " + pkg)
	w.add("")
	imports := []string{"context", "errors", "fmt"}
	for i := g.between(1, 4); i > 0; i-- {
		imp := g.pick(goStdPkgs)
		if !slices.Contains(imports, imp) {
			imports = append(imports, imp)
		}
	}
	slices.Sort(imports)
	w.add("import (")
	for _, imp := range imports {
		w.add("\t\"" + imp + "\"")
	}
	if pkg == "main" && len(p.pkgs) > 0 {
		w.add("")
		w.add("\t\"" + p.module + "/internal/" + p.pkgs[0] + "\"")
	}
	w.add(")")
	w.add("")
	ntypes := g.between(1, 2)
	for t := 0; t < ntypes; t++ {
		typ := camel(true, g.pick(nouns), g.pick(nouns))
		f.syms = append(f.syms, symbol{name: typ, kind: "type", line: w.n() + 2})
		w.add("// " + typ + " " + g.sentence() + ".")
		w.add("type " + typ + " struct {")
		if g.chance(0.5) {
			w.add("\tmu sync.Mutex")
		}
		for i := g.between(2, 6); i > 0; i-- {
			w.add("\t" + camel(false, g.pick(nouns)) + " " + g.pick(goTypes))
		}
		w.add("}")
		w.add("")
		ctor := "New" + typ
		f.syms = append(f.syms, symbol{name: ctor, kind: "func", line: w.n() + 2})
		w.add("// " + ctor + " returns a " + typ + " ready to use.")
		w.add("func " + ctor + "(opts ...Option) *" + typ + " {")
		w.add("\tx := &" + typ + "{}")
		w.add("\tfor _, o := range opts {")
		w.add("\t\to(x)")
		w.add("\t}")
		w.add("\treturn x")
		w.add("}")
		w.add("")
		for m := g.between(2, 6); m > 0; m-- {
			name := camel(true, g.pick(verbs), g.pick(nouns))
			line := g.goMethod(w, pkg, typ, name)
			f.syms = append(f.syms, symbol{name: name, kind: "func", line: line, recv: typ})
		}
	}
	for m := g.between(0, 3); m > 0; m-- {
		name := camel(false, g.pick(verbs), g.pick(adjectives), g.pick(nouns))
		line := g.goMethod(w, pkg, "", name)
		f.syms = append(f.syms, symbol{name: name, kind: "func", line: line})
	}
	f.lines = w.lines
	return f
}

// goMethod writes a function or method and returns the 1-based line of
// its func keyword.
func (g *gen) goMethod(w *lineWriter, pkg, recv, name string) int {
	arg := camel(false, g.pick(nouns))
	argT := g.pick(goTypes)
	ret := camel(true, g.pick(nouns))
	retT := "*" + ret
	zero := "nil"
	switch g.intn(4) {
	case 0:
		retT, zero = "int", "0"
	case 1:
		retT, zero = "[]string", "nil"
	case 2:
		retT, zero = "bool", "false"
	}
	w.add("// " + name + " " + g.sentence() + ".")
	if g.chance(0.3) {
		w.add("// It returns an error when the " + g.pick(nouns) + " is " + g.pick(adjectives) + ".")
	}
	sig := "func "
	self := ""
	if recv != "" {
		self = strings.ToLower(recv[:1])
		sig += "(" + self + " *" + recv + ") "
	}
	line := w.n() + 1
	w.add(sig + name + "(ctx context.Context, " + arg + " " + argT + ") (" + retT + ", error) {")
	s := goStmt{g: g, w: w, pkg: pkg, self: self, arg: arg, zero: zero}
	for i := g.between(2, 7); i > 0; i-- {
		s.stmt(1)
	}
	switch retT {
	case "int":
		w.add("\treturn len(" + s.lastVar() + "), nil")
	case "bool":
		w.add("\treturn " + s.lastVar() + " != nil, nil")
	case "[]string":
		w.add("\treturn " + s.lastVar() + "Names, nil")
	default:
		w.add("\treturn &" + ret + "{" + camel(false, g.pick(nouns)) + ": " + s.lastVar() + "}, nil")
	}
	w.add("}")
	w.add("")
	return line
}

type goStmt struct {
	g                    *gen
	w                    *lineWriter
	pkg, self, arg, zero string
	vars                 []string
}

func (s *goStmt) lastVar() string {
	if len(s.vars) == 0 {
		return s.arg
	}
	return s.vars[len(s.vars)-1]
}

func (s *goStmt) newVar() string {
	v := camel(false, s.g.pick(nouns))
	if s.g.chance(0.3) {
		v = camel(false, s.g.pick(adjectives), s.g.pick(nouns))
	}
	v = strings.ReplaceAll(v, "nonblocking", "nb")
	s.vars = append(s.vars, v)
	return v
}

func (s *goStmt) recv() string {
	if s.self == "" {
		return camel(false, s.g.pick(nouns)) + "Store"
	}
	return s.self + "." + camel(false, s.g.pick(nouns))
}

func (s *goStmt) stmt(depth int) {
	g, w := s.g, s.w
	ind := strings.Repeat("\t", depth)
	k := g.intn(9)
	if depth > 2 && k < 4 {
		k += 4
	}
	switch k {
	case 0:
		v := s.lastVar()
		w.add(ind + "for _, " + s.newVar() + " := range " + v + "." + camel(true, g.pick(nouns)) + "s {")
		for i := g.between(1, 3); i > 0; i-- {
			s.stmt(depth + 1)
		}
		w.add(ind + "}")
	case 1:
		w.add(ind + "if " + s.lastVar() + "." + camel(true, g.pick(adjectives)) + " {")
		s.stmt(depth + 1)
		if g.chance(0.4) {
			w.add(ind + "} else {")
			s.stmt(depth + 1)
		}
		w.add(ind + "}")
	case 2:
		v := s.lastVar()
		w.add(ind + "switch " + v + "." + camel(true, g.pick(nouns)) + " {")
		for i := g.between(2, 3); i > 0; i-- {
			w.add(ind + "case \"" + g.pick(adjectives) + "\":")
			s.stmt(depth + 1)
		}
		w.add(ind + "default:")
		w.add(ind + "\treturn " + s.zero + ", fmt.Errorf(\"" + s.pkg + ": unexpected " + g.pick(nouns) + " %q\", " + v + ")")
		w.add(ind + "}")
	case 3:
		if s.self != "" {
			w.add(ind + s.self + ".mu.Lock()")
			w.add(ind + "defer " + s.self + ".mu.Unlock()")
			return
		}
		fallthrough
	case 4:
		prev := s.lastVar()
		v := s.newVar()
		w.add(ind + v + ", err := " + s.recv() + "." + camel(true, g.pick(verbs), g.pick(nouns)) + "(ctx, " + prev + ")")
		w.add(ind + "if err != nil {")
		w.add(ind + "\treturn " + s.zero + ", fmt.Errorf(\"" + g.pick(verbs) + " " + g.pick(nouns) + ": %w\", err)")
		w.add(ind + "}")
	case 5:
		w.add(ind + "if " + s.lastVar() + " == nil {")
		w.add(ind + "\treturn " + s.zero + ", errors.New(\"" + s.pkg + ": " + g.pick(adjectives) + " " + g.pick(nouns) + "\")")
		w.add(ind + "}")
	case 6:
		prev := s.lastVar()
		v := s.newVar()
		w.add(ind + v + " := make(map[string]" + g.pick(goTypes) + ", len(" + prev + "))")
	case 7:
		w.add(ind + "slog.Debug(\"" + g.pick(verbs) + " " + g.pick(nouns) + "\", \"" + g.pick(nouns) + "\", " + s.lastVar() + ")")
	default:
		prev := s.lastVar()
		v := s.newVar()
		w.add(ind + v + " := " + prev + "." + camel(true, g.pick(nouns)) + "[" + fmt.Sprint(g.between(0, 3)) + "]")
	}
}

func (g *gen) goTestFile(p *project, src *file, path string) *file {
	f := &file{path: path, pkg: src.pkg, test: true}
	w := &lineWriter{}
	w.add("package " + src.pkg)
	w.add("")
	w.add("import (")
	w.add("\t\"context\"")
	w.add("\t\"testing\"")
	w.add(")")
	w.add("")
	for _, sym := range src.syms {
		if sym.kind != "func" || sym.recv == "" || !g.chance(0.6) {
			continue
		}
		name := "Test" + sym.recv + sym.name
		f.syms = append(f.syms, symbol{name: name, kind: "test", line: w.n() + 1, recv: sym.recv})
		w.add("func " + name + "(t *testing.T) {")
		w.add("\ttests := []struct {")
		w.add("\t\tname string")
		w.add("\t\tin   string")
		w.add("\t\twant int")
		w.add("\t}{")
		for i := g.between(2, 5); i > 0; i-- {
			w.add(fmt.Sprintf("\t\t{%q, %q, %d},", g.pick(adjectives)+" "+g.pick(nouns), g.pick(nouns)+"-"+fmt.Sprint(g.intn(100)), g.intn(10)))
		}
		w.add("\t}")
		w.add("\tfor _, tt := range tests {")
		w.add("\t\tt.Run(tt.name, func(t *testing.T) {")
		w.add("\t\t\tx := New" + sym.recv + "()")
		w.add("\t\t\tgot, err := x." + sym.name + "(context.Background(), tt.in)")
		w.add("\t\t\tif err != nil {")
		w.add("\t\t\t\tt.Fatalf(\"" + sym.name + "(%q): %v\", tt.in, err)")
		w.add("\t\t\t}")
		w.add("\t\t\tif got != tt.want {")
		w.add("\t\t\t\tt.Errorf(\"" + sym.name + "(%q) = %v, want %v\", tt.in, got, tt.want)")
		w.add("\t\t\t}")
		w.add("\t\t})")
		w.add("\t}")
		w.add("}")
		w.add("")
	}
	if len(f.syms) == 0 {
		name := "Test" + camel(true, g.pick(verbs), g.pick(nouns))
		f.syms = append(f.syms, symbol{name: name, kind: "test", line: w.n() + 1})
		w.add("func " + name + "(t *testing.T) {")
		w.add("\tif testing.Short() {")
		w.add("\t\tt.Skip(\"slow\")")
		w.add("\t}")
		w.add("}")
	}
	f.lines = w.lines
	return f
}

// ---- Python ----

func (g *gen) pyFile(p *project, mod, path string) *file {
	f := &file{path: path, pkg: mod}
	w := &lineWriter{}
	w.add(`"""` + title(g.sentence()) + `."""`)
	w.add("")
	w.add("from __future__ import annotations")
	w.add("")
	imports := []string{"logging"}
	for i := g.between(1, 4); i > 0; i-- {
		imp := g.pick(pyMods)
		if !slices.Contains(imports, imp) {
			imports = append(imports, imp)
		}
	}
	slices.Sort(imports)
	for _, imp := range imports {
		w.add("import " + imp)
	}
	w.add("from dataclasses import dataclass, field")
	w.add("from typing import Any, Optional")
	w.add("")
	w.add("logger = logging.getLogger(__name__)")
	w.add("")
	for t := g.between(1, 2); t > 0; t-- {
		cls := camel(true, g.pick(nouns), g.pick(nouns))
		w.add("")
		f.syms = append(f.syms, symbol{name: cls, kind: "type", line: w.n() + 2})
		w.add("@dataclass")
		w.add("class " + cls + ":")
		w.add(`    """` + title(g.sentence()) + `."""`)
		w.add("")
		for i := g.between(2, 5); i > 0; i-- {
			w.add("    " + snake(g.pick(nouns)) + ": " + g.pick(pyTypes) + " = None")
		}
		w.add("    _" + snake(g.pick(nouns)) + ": dict[str, Any] = field(default_factory=dict)")
		for m := g.between(2, 6); m > 0; m-- {
			name := snake(g.pick(verbs), g.pick(nouns))
			w.add("")
			f.syms = append(f.syms, symbol{name: name, kind: "func", line: w.n() + 1, recv: cls})
			g.pyMethod(w, "    ", name, true)
		}
	}
	for m := g.between(0, 3); m > 0; m-- {
		name := snake(g.pick(verbs), g.pick(adjectives), g.pick(nouns))
		w.add("")
		w.add("")
		f.syms = append(f.syms, symbol{name: name, kind: "func", line: w.n() + 1})
		g.pyMethod(w, "", name, false)
	}
	f.lines = w.lines
	return f
}

func (g *gen) pyMethod(w *lineWriter, ind, name string, method bool) {
	arg := snake(g.pick(nouns))
	args := arg + ": " + g.pick(pyTypes)
	if method {
		args = "self, " + args
	}
	w.add(ind + "def " + name + "(" + args + ") -> " + g.pick(pyTypes) + ":")
	w.add(ind + `    """` + title(g.sentence()) + `."""`)
	s := pyStmt{g: g, w: w, arg: arg, method: method}
	for i := g.between(2, 7); i > 0; i-- {
		s.stmt(ind + "    ")
	}
	w.add(ind + "    return " + s.lastVar())
}

type pyStmt struct {
	g      *gen
	w      *lineWriter
	arg    string
	method bool
	vars   []string
}

func (s *pyStmt) lastVar() string {
	if len(s.vars) == 0 {
		return s.arg
	}
	return s.vars[len(s.vars)-1]
}

func (s *pyStmt) newVar() string {
	v := snake(s.g.pick(nouns))
	if s.g.chance(0.3) {
		v = snake(s.g.pick(adjectives), s.g.pick(nouns))
	}
	s.vars = append(s.vars, v)
	return v
}

func (s *pyStmt) stmt(ind string) {
	g, w := s.g, s.w
	self := "self."
	if !s.method {
		self = ""
	}
	switch k := g.intn(8); {
	case k == 0 && len(ind) < 12:
		v := s.lastVar()
		w.add(ind + "for " + s.newVar() + " in " + v + "." + snake(g.pick(nouns)) + "s:")
		for i := g.between(1, 2); i > 0; i-- {
			s.stmt(ind + "    ")
		}
	case k == 1 && len(ind) < 12:
		w.add(ind + "if not " + s.lastVar() + ":")
		w.add(ind + "    raise ValueError(f\"" + g.pick(adjectives) + " " + g.pick(nouns) + ": {" + s.lastVar() + "!r}\")")
	case k == 2 && len(ind) < 12:
		w.add(ind + "try:")
		prev := s.lastVar()
		v := s.newVar()
		w.add(ind + "    " + v + " = " + self + "_" + snake(g.pick(nouns)) + "[" + prev + "]")
		w.add(ind + "except KeyError:")
		w.add(ind + "    logger.warning(\"" + g.pick(adjectives) + " " + g.pick(nouns) + " %s\", " + prev + ")")
		w.add(ind + "    " + v + " = None")
	case k == 3:
		w.add(ind + "logger.debug(\"" + g.pick(verbs) + " %s\", " + s.lastVar() + ")")
	case k == 4:
		prev := s.lastVar()
		v := s.newVar()
		w.add(ind + v + " = {k: v for k, v in " + prev + ".items() if v is not None}")
	default:
		prev := s.lastVar()
		v := s.newVar()
		w.add(ind + v + " = " + self + snake(g.pick(verbs), g.pick(nouns)) + "(" + prev + ")")
	}
}

func (g *gen) pyTestFile(p *project, src *file, path string) *file {
	f := &file{path: path, pkg: src.pkg, test: true}
	w := &lineWriter{}
	w.add("import pytest")
	w.add("")
	var classes []string
	for _, s := range src.syms {
		if s.kind == "type" {
			classes = append(classes, s.name)
		}
	}
	w.add("from " + p.module + "." + src.pkg + " import " + strings.Join(classes, ", "))
	for _, sym := range src.syms {
		if sym.kind != "func" || sym.recv == "" || !g.chance(0.6) {
			continue
		}
		name := "test_" + sym.name + "_" + snake(g.pick(adjectives))
		w.add("")
		w.add("")
		if g.chance(0.3) {
			w.add("@pytest.mark.parametrize(\"value\", [" + fmt.Sprintf("%q, %q", g.pick(nouns), g.pick(nouns)) + "])")
			f.syms = append(f.syms, symbol{name: name, kind: "test", line: w.n() + 1, recv: sym.recv})
			w.add("def " + name + "(value):")
		} else {
			f.syms = append(f.syms, symbol{name: name, kind: "test", line: w.n() + 1, recv: sym.recv})
			w.add("def " + name + "():")
			w.add("    value = " + fmt.Sprintf("%q", g.pick(nouns)+"-"+fmt.Sprint(g.intn(50))))
		}
		w.add("    obj = " + sym.recv + "()")
		w.add("    result = obj." + sym.name + "(value)")
		w.add("    assert result == " + fmt.Sprint(g.intn(10)))
	}
	if len(f.syms) == 0 {
		name := "test_" + snake(g.pick(verbs), g.pick(nouns))
		w.add("")
		w.add("")
		f.syms = append(f.syms, symbol{name: name, kind: "test", line: w.n() + 1})
		w.add("def " + name + "():")
		w.add("    assert " + p.module + " is not None")
	}
	f.lines = w.lines
	return f
}

// lineWriter accumulates lines of a file.
type lineWriter struct{ lines []string }

func (w *lineWriter) add(s string) { w.lines = append(w.lines, s) }
func (w *lineWriter) n() int       { return len(w.lines) }
