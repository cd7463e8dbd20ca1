package synth

import (
	"fmt"
	"math"
	"strings"
)

// target is what a session's task is about: a function with a defect, the
// test that shows it, and whether the failure is a panic.
type target struct {
	file     *file
	sym      symbol
	testFile *file
	test     symbol
	panics   bool
}

// session is the agent's state while one synthetic trajectory is generated.
type session struct {
	g      *gen
	p      *project
	target *target
	branch string
	read   map[string]bool
	edited []string

	turns    int // planned number of model calls
	explore  int // turns spent exploring before the first edit
	fixTurn  int // first turn whose test run passes
	wrapTurn int // first turn of the wrap-up (full suite, diff, status)
	plan     int // plan steps completed
	broken   bool
	// verbosity scales how much of a file the agent reads at once; it
	// varies between sessions so that context growth does.
	verbosity float64
}

func newSession(g *gen, turns int) *session {
	s := &session{g: g, p: newProject(g), read: map[string]bool{}, turns: turns}
	// Long sessions are investigations that read more per step.
	s.verbosity = min(max(g.lognormal(0.75*math.Pow(float64(turns)/80, 0.5), 0.35), 0.4), 2.5)
	s.branch = "fix/" + g.pick(nouns) + "-" + g.pick(verbs)
	s.target = s.pickTarget()
	s.explore = max(2, turns/10+g.between(-1, 2))
	s.wrapTurn = max(s.explore+1, turns-1-g.between(2, 4))
	s.fixTurn = s.explore + 1 + g.intn(max(1, s.wrapTurn-s.explore-1))
	return s
}

// pickTarget chooses a method in a source file that has tests; it writes a
// test file when the chosen source has none.
func (s *session) pickTarget() *target {
	g := s.g
	srcs := s.p.sources(false)
	var cands []*file
	for _, f := range srcs {
		for _, sym := range f.syms {
			if sym.recv != "" && sym.kind == "func" {
				cands = append(cands, f)
				break
			}
		}
	}
	f := cands[g.intn(len(cands))]
	var methods []symbol
	for _, sym := range f.syms {
		if sym.recv != "" && sym.kind == "func" {
			methods = append(methods, sym)
		}
	}
	t := &target{file: f, sym: methods[g.intn(len(methods))], panics: g.chance(0.5)}
	testPath := strings.TrimSuffix(f.path, ".go") + "_test.go"
	if s.p.lang == langPython {
		testPath = "tests/test_" + f.pkg + ".py"
	}
	t.testFile = s.p.file(testPath)
	if t.testFile == nil {
		if s.p.lang == langGo {
			t.testFile = g.goTestFile(s.p, f, testPath)
		} else {
			t.testFile = g.pyTestFile(s.p, f, testPath)
		}
		s.p.files = append(s.p.files, t.testFile)
	}
	t.test = t.testFile.syms[g.intn(len(t.testFile.syms))]
	return t
}

func (s *session) symRef() string {
	if s.target.sym.recv == "" {
		return s.target.sym.name
	}
	return s.target.sym.recv + "." + s.target.sym.name
}

// task returns the user's opening message.
func (s *session) task() string {
	g, t := s.g, s.target
	cmd := "go test ./..."
	if s.p.lang == langPython {
		cmd = "pytest"
	}
	var msg string
	switch g.intn(5) {
	case 0:
		msg = fmt.Sprintf("`%s` fails with a %s since the last change to `%s`. Find the cause, fix it, and make sure the whole suite passes.",
			t.test.name, map[bool]string{true: "crash", false: "wrong result"}[t.panics], t.file.path)
	case 1:
		msg = fmt.Sprintf("%s returns the wrong result when the %s is %s. See the failing `%s`. Please fix it and add a regression test.",
			s.symRef(), g.pick(nouns), g.pick(adjectives), t.test.name)
	case 2:
		msg = fmt.Sprintf("CI is red: `%s` fails in the %s package. Can you look into it? I suspect something in %s.", cmd, t.file.pkg, t.file.path)
	case 3:
		msg = fmt.Sprintf("Add support for %s %ss in `%s`: when the %s is %s, skip it instead of failing. `%s` covers the case and fails today. Update the tests.",
			g.pick(adjectives), g.pick(nouns), s.symRef(), g.pick(nouns), g.pick(adjectives), t.test.name)
	default:
		msg = fmt.Sprintf("Users report that %s. I think it is in `%s` (%s). Please investigate, fix it with a test, and keep the change small.",
			g.sentence()+" stops working after a restart", s.symRef(), t.file.path)
	}
	if g.chance(0.3) {
		// Users often paste the failing output.
		run := s.runTests(false, false)
		msg += "\n\nHere is what I see:\n\n```\n$ " + run.args.(bashArgs).Command + "\n" + run.result + "\n```"
	}
	return msg
}

// step chooses the tool calls of turn k (0-based, k < turns-1).
func (s *session) step(k int) []*toolCall {
	g, t := s.g, s.target
	switch {
	case k == 0:
		switch g.intn(3) {
		case 0:
			return []*toolCall{s.listDir(".")}
		case 1:
			return []*toolCall{s.grep(t.sym.name)}
		}
		return []*toolCall{s.updatePlan(0)}
	case k < s.explore:
		switch g.intn(7) {
		case 0:
			return []*toolCall{s.listDir(dirOf(t.file.path))}
		case 1:
			return []*toolCall{s.grep(t.sym.name)}
		case 2:
			return []*toolCall{s.readFile(t.testFile, t.test.line)}
		case 3:
			return []*toolCall{s.runTests(false, false)}
		case 4:
			if s.p.lang == langGo {
				return []*toolCall{s.glob("**/*_test.go")}
			}
			return []*toolCall{s.glob("**/test_*.py")}
		}
		return []*toolCall{s.readFile(t.file, t.sym.line)}
	case k >= s.wrapTurn:
		switch (k - s.wrapTurn) % 4 {
		case 0:
			return []*toolCall{s.runTests(true, true)}
		case 1:
			return []*toolCall{s.gitDiff()}
		case 2:
			return []*toolCall{s.gitStatus()}
		}
		return []*toolCall{s.build(false)}
	}
	pass := k >= s.fixTurn
	if s.broken {
		s.broken = false
		if g.chance(0.7) {
			return []*toolCall{s.editFile(s.lastEdited())}
		}
	}
	x := g.intn(100)
	switch {
	case x < 18:
		f := s.p.files[g.intn(len(s.p.files))]
		if g.chance(0.5) {
			f = t.file
		}
		return []*toolCall{s.readFile(f, s.symLine(f))}
	case x < 22:
		var calls []*toolCall
		for i := g.between(2, 3); i > 0; i-- {
			f := s.p.files[g.intn(len(s.p.files))]
			calls = append(calls, s.readFile(f, s.symLine(f)))
		}
		return calls
	case x < 34:
		pat := t.sym.name
		if g.chance(0.6) {
			f := s.p.files[g.intn(len(s.p.files))]
			if len(f.syms) > 0 {
				pat = f.syms[g.intn(len(f.syms))].name
			} else {
				pat = g.pick(nouns)
			}
		}
		return []*toolCall{s.grep(pat)}
	case x < 56:
		f := t.file
		switch {
		case g.chance(0.25):
			f = t.testFile
		case g.chance(0.2):
			srcs := s.p.sources(false)
			f = srcs[g.intn(len(srcs))]
		}
		if !s.read[f.path] {
			return []*toolCall{s.readFile(f, s.symLine(f))}
		}
		c := s.editFile(f)
		s.broken = !pass && g.chance(0.3)
		return []*toolCall{c}
	case x < 74:
		return []*toolCall{s.runTests(pass, false)}
	case x < 82:
		b := s.broken
		s.broken = false
		return []*toolCall{s.build(b)}
	case x < 85:
		return []*toolCall{s.gitDiff()}
	case x < 88:
		if g.chance(0.5) {
			return []*toolCall{s.wc()}
		}
		return []*toolCall{s.gitLog()}
	case x < 91:
		return []*toolCall{s.writeTestFile()}
	case x < 95:
		s.plan = min(4, s.plan+1)
		return []*toolCall{s.updatePlan(s.plan)}
	}
	return []*toolCall{s.listDir(dirOf(s.p.files[g.intn(len(s.p.files))].path))}
}

func (s *session) lastEdited() *file {
	if len(s.p.edits) == 0 {
		return s.target.file
	}
	return s.p.file(s.p.edits[len(s.p.edits)-1].path)
}

func (s *session) symLine(f *file) int {
	if f == s.target.file {
		return s.target.sym.line
	}
	if len(f.syms) == 0 {
		return 0
	}
	return f.syms[s.g.intn(len(f.syms))].line
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// preamble returns the short visible text before a turn's tool calls, or ""
// (about half the turns have none).
func (s *session) preamble(calls []*toolCall) string {
	g := s.g
	if g.chance(0.5) {
		return ""
	}
	c := calls[0]
	switch c.name {
	case "read_file":
		if len(calls) > 1 {
			return "Let me read these files together."
		}
		return fmt.Sprintf("Let me read `%s`.", c.args.(readArgs).Path)
	case "grep":
		return fmt.Sprintf("Searching for `%s`.", c.args.(grepArgs).Pattern)
	case "edit_file":
		return fmt.Sprintf("Now I'll update `%s`.", c.args.(editArgs).Path)
	case "write_file":
		return "Adding a regression test."
	case "list_dir", "glob":
		return "Let me look at the layout first."
	case "update_plan":
		return "Here is the plan."
	}
	cmd := c.args.(bashArgs).Command
	switch {
	case strings.Contains(cmd, "test"):
		return "Running the tests."
	case strings.HasPrefix(cmd, "git"):
		return "Checking the working tree."
	}
	return "Checking that everything builds."
}

// thought returns one sentence of the agent's reasoning.
func (s *session) thought() string {
	g, t := s.g, s.target
	n1, n2 := g.pick(nouns), g.pick(nouns)
	a1 := g.pick(adjectives)
	v1, v2 := g.pick(verbs), g.pick(verbs)
	switch g.intn(24) {
	case 0:
		return fmt.Sprintf("The failure comes from %s: it uses the %s before checking whether it is set.", s.symRef(), n1)
	case 1:
		return fmt.Sprintf("%s builds the %s with no options, so the %s field is empty when %s runs.", t.test.name, t.sym.recv, n1, t.sym.name)
	case 2:
		return fmt.Sprintf("Let me check how %s is called from the other %s.", t.sym.name, map[bool]string{true: "packages", false: "modules"}[s.p.lang == langGo])
	case 3:
		return fmt.Sprintf("The trace points at %s:%d, inside %s.", t.file.path, t.sym.line+g.between(2, 9), t.sym.name)
	case 4:
		return fmt.Sprintf("That search shows %d call sites; only the one in %s passes a %s %s.", g.between(2, 9), g.pick(s.p.pkgs), a1, n1)
	case 5:
		return fmt.Sprintf("If I move the guard above the loop, the %s %s case returns early and the test should pass.", a1, n1)
	case 6:
		return fmt.Sprintf("I need to keep the error message naming the %s, because the caller in %s matches on it.", n1, g.pick(s.p.pkgs))
	case 7:
		return fmt.Sprintf("The %s map is written under the lock but read without it in %s, which would explain a flaky result.", n1, t.sym.name)
	case 8:
		return fmt.Sprintf("The tests in %s use table cases; I can add one for the %s %s.", t.testFile.path, a1, n1)
	case 9:
		return fmt.Sprintf("The task asks for %s %ss to be skipped, not rejected, so returning an error here is wrong.", a1, n1)
	case 10:
		return fmt.Sprintf("Wait, %s is also used by %s; changing what it returns would break that caller.", t.sym.name, camel(s.p.lang == langGo, v1, n2))
	case 11:
		return fmt.Sprintf("Maybe the simplest fix is to initialise the %s when the %s is created instead of on first use.", n1, t.sym.recv)
	case 12:
		a, b := g.between(0, 9), g.between(0, 9)
		return fmt.Sprintf("The test expects %d but gets %d, so the count is off by %d.", a, b, max(a-b, b-a))
	case 13:
		return "I'll read the rest of the function before editing, since the early return may skip the cleanup."
	case 14:
		return fmt.Sprintf("The %s is only %s when the %s has not been through %s yet, which happens on the first call.", n1, a1, n2, v1)
	case 15:
		return fmt.Sprintf("So the order matters: %s first, then %s.", v1, v2)
	case 16:
		return "Before changing anything else I should run the narrower test to confirm this."
	case 17:
		return fmt.Sprintf("Hmm, %s returns %s when the %s is %s, and nobody checks for that.", camel(s.p.lang == langGo, v1, n1), map[bool]string{true: "nil", false: "None"}[s.p.lang == langGo], n2, a1)
	case 18:
		return fmt.Sprintf("The %s path looks fine; the problem is earlier, where the %s gets its %s.", a1, n1, n2)
	case 19:
		return fmt.Sprintf("OK, %s passes now; what remains is the full suite and a look at the diff.", t.test.name)
	case 20:
		return fmt.Sprintf("Looking at the diff, the change stays inside %s and its tests, which is what was asked.", t.file.path)
	case 21:
		return fmt.Sprintf("Another option is to %s the %s in the caller, but that spreads the fix over %d places.", v1, n1, g.between(2, 6))
	case 22:
		return fmt.Sprintf("It should be safe: every %s that reaches %s has already been through %s.", n1, t.sym.name, v2)
	}
	return fmt.Sprintf("Let me think about what happens when two %ss %s the same %s at once.", n1, v1, n2)
}

// reasoning returns roughly want tokens of the agent's thinking.
func (s *session) reasoning(want int) string {
	var b strings.Builder
	sentences := 0
	for b.Len()*10 < want*43 { // ≈ 4.3 bytes per token of English prose
		if sentences > 0 {
			if sentences%4 == 0 {
				b.WriteString("\n\n")
				if s.g.chance(0.2) {
					b.WriteString(s.sketch())
				}
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(s.thought())
		sentences++
	}
	return b.String()
}

// sketch returns a few code lines the agent considers, fenced.
func (s *session) sketch() string {
	f := s.target.file
	from := max(0, s.target.sym.line-1)
	to := min(len(f.lines), from+s.g.between(3, 10))
	lang := "go"
	if s.p.lang == langPython {
		lang = "python"
	}
	return "Something like:\n```" + lang + "\n" + strings.Join(f.lines[from:to], "\n") + "\n```\n\n"
}

// summary returns the agent's final report.
func (s *session) summary() string {
	g, t := s.g, s.target
	var b strings.Builder
	kind := "wrong result"
	if t.panics {
		kind = "crash"
	}
	fmt.Fprintf(&b, "Fixed the %s in `%s`.\n\n**Cause:** %s\n\n**Changes:**\n", kind, s.symRef(), s.thought())
	files := s.edited
	if len(files) == 0 {
		files = []string{t.file.path}
	}
	for _, p := range files {
		fmt.Fprintf(&b, "- `%s`: %s.\n", p, g.sentence())
	}
	cmd := "go test ./..."
	if s.p.lang == langPython {
		cmd = "python -m pytest"
	}
	fmt.Fprintf(&b, "\n**Verification:** `%s` passes", cmd)
	if g.chance(0.5) {
		fmt.Fprintf(&b, ", including the new case for the %s %s", g.pick(adjectives), g.pick(nouns))
	}
	b.WriteString(".")
	if g.chance(0.3) {
		fmt.Fprintf(&b, "\n\nOne thing left for you: %s.", s.thought())
	}
	return b.String()
}

// compaction returns the user message that replaces the history when the
// context is full: a summary of the work so far.
func (s *session) compaction() string {
	var b strings.Builder
	b.WriteString("This session continues an earlier conversation that ran out of context. Summary of the earlier conversation:\n\n")
	fmt.Fprintf(&b, "Task: fix %s in %s (failing test %s in %s).\n\n", s.symRef(), s.target.file.path, s.target.test.name, s.target.testFile.path)
	b.WriteString("Files read:\n")
	for _, f := range s.p.files {
		if s.read[f.path] {
			fmt.Fprintf(&b, "- %s\n", f.path)
		}
	}
	b.WriteString("\nFindings so far:\n")
	for i := s.g.between(4, 10); i > 0; i-- {
		b.WriteString("- " + s.thought() + "\n")
	}
	if len(s.p.edits) > 0 {
		b.WriteString("\nChanges made so far:\n\n```diff\n")
		edits := s.p.edits
		if len(edits) > 4 {
			edits = edits[len(edits)-4:]
		}
		for i := range edits {
			b.WriteString(edits[i].diff(false))
		}
		b.WriteString("```\n")
	}
	b.WriteString("\nContinue from where the conversation left off without asking the user further questions.")
	return b.String()
}
