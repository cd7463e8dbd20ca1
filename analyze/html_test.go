package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
)

// TestHTMLSelfContained checks the report needs nothing from the network
// and escapes what came from files.
func TestHTMLSelfContained(t *testing.T) {
	dir := t.TempDir()
	rep, err := Analyze(context.Background(), goldenFixtures(t, dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep.Sets[0].Name = `<script>alert("x")</script>`
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if i := strings.Index(page, bad); i >= 0 {
			t.Errorf("report contains %q near %q", bad, page[max(0, i-60):min(len(page), i+60)])
		}
	}
	for _, want := range []string{`data-chart="frontier"`, `data-chart="ttft"`, `data-chart="speed"`, "&lt;script&gt;", "users_<wbr>per_<wbr>kw", "VALIDITY", "Validity"} {
		if !strings.Contains(page, want) && !strings.Contains(strings.ToUpper(page), strings.ToUpper(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// browserCheck is what the headless-browser script reports.
type browserCheck struct {
	ConsoleErrors []string `json:"consoleErrors"`
	PageErrors    []string `json:"pageErrors"`
	Requests      []string `json:"requests"`
	Charts        []struct {
		Kind          string  `json:"kind"`
		Width         float64 `json:"width"`
		Height        float64 `json:"height"`
		Series        int     `json:"series"`
		SeriesLength  float64 `json:"seriesLength"`
		Points        int     `json:"points"`
		Boxes         int     `json:"boxes"`
		BoxesWithArea int     `json:"boxesWithArea"`
		ErrorBars     int     `json:"errorBars"`
	} `json:"charts"`
	Tables    int    `json:"tables"`
	Screen    string `json:"screenshot"`
	PNGBytes  int    `json:"pngBytes"`
	Overflows int    `json:"overflows"`
}

const browserScript = `
import { chromium } from 'playwright-core';
import fs from 'node:fs';
const [page_, png] = process.argv.slice(2);
const out = { consoleErrors: [], pageErrors: [], requests: [], charts: [] };
// a fresh profile directory per run
const ctx = await chromium.launchPersistentContext(process.env.AGENTPERF_PROFILE, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await ctx.newPage();
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') out.consoleErrors.push(m.type() + ': ' + m.text()); });
  page.on('pageerror', e => out.pageErrors.push(String(e)));
  await page.route('**/*', r => { const u = r.request().url(); if (!u.startsWith('file:')) { out.requests.push(u); return r.abort(); } return r.continue(); });
  await page.goto('file://' + page_, { waitUntil: 'load' });
  out.charts = await page.$$eval('svg.chart', svgs => svgs.map(s => {
    const r = s.getBoundingClientRect();
    const series = [...s.querySelectorAll('path.series')];
    return {
      kind: s.dataset.chart, width: r.width, height: r.height,
      series: series.length,
      seriesLength: series.reduce((a, p) => a + p.getTotalLength(), 0),
      points: s.querySelectorAll('circle.point').length,
      boxes: s.querySelectorAll('g.box').length,
      boxesWithArea: [...s.querySelectorAll('g.box rect.iqr')].filter(b => { const q = b.getBoundingClientRect(); return q.width > 0 && q.height > 0; }).length,
      errorBars: s.querySelectorAll('g.ci').length,
    };
  }));
  out.tables = await page.$$eval('table', t => t.length);
  out.overflows = await page.$$eval('svg.chart', svgs => svgs.filter(s => s.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length);
  await page.screenshot({ path: png, fullPage: true });
  out.screenshot = png;
  out.pngBytes = fs.statSync(png).size;
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
`

// TestHTMLInBrowser opens the report in headless Chromium and checks that
// every chart renders with size and content, nothing is fetched from the
// network, and no console or page error occurs; it leaves a screenshot in
// the test's temp directory (kept with AGENTPERF_KEEP_SCREENSHOT=DIR).
func TestHTMLInBrowser(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("/usr/bin/chromium missing: run 'make test-setup' (scripts/test-setup.sh installs Debian chromium)")
	}
	nodeDir := testutil.NodeDir(t)
	dir := t.TempDir()
	rep, err := Analyze(context.Background(), goldenFixtures(t, dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, rep); err != nil {
		t.Fatal(err)
	}
	f.Close()
	script := filepath.Join(nodeDir, ".analyze-browser-"+filepath.Base(dir)+".mjs")
	if err := os.WriteFile(script, []byte(browserScript), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(script)
	png := filepath.Join(dir, "report.png")
	if keep := os.Getenv("AGENTPERF_KEEP_SCREENSHOT"); keep != "" {
		png = filepath.Join(keep, "report.png")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, page, png)
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "AGENTPERF_PROFILE="+filepath.Join(dir, "profile"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser script: %v\n%s\n%s", err, out, stderr.String())
	}
	var got browserCheck
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("browser output %q: %v", out, err)
	}
	if len(got.ConsoleErrors) > 0 || len(got.PageErrors) > 0 {
		t.Errorf("console errors %q, page errors %q", got.ConsoleErrors, got.PageErrors)
	}
	if len(got.Requests) > 0 {
		t.Errorf("the report fetched %q; it must be self-contained", got.Requests)
	}
	// one frontier, plus TTFT and speed per set (2 sets)
	kinds := map[string]int{}
	for _, c := range got.Charts {
		kinds[c.Kind]++
		if c.Width < 200 || c.Height < 150 {
			t.Errorf("%s chart rendered %vx%v px", c.Kind, c.Width, c.Height)
		}
		switch c.Kind {
		case "frontier":
			// set 1 has 4 levels, set 2 one: 2 series, 5 points
			if c.Series != 2 || c.Points != 5 || c.SeriesLength <= 0 {
				t.Errorf("frontier: %d series (total length %v px), %d points; want 2 series with length, 5 points", c.Series, c.SeriesLength, c.Points)
			}
		case "ttft", "speed":
			if c.Boxes == 0 || c.BoxesWithArea != c.Boxes {
				t.Errorf("%s chart: %d boxes, %d with area", c.Kind, c.Boxes, c.BoxesWithArea)
			}
			if c.ErrorBars != c.Boxes {
				t.Errorf("%s chart: %d error bars for %d boxes", c.Kind, c.ErrorBars, c.Boxes)
			}
		case "capacity":
			if c.ErrorBars == 0 {
				t.Errorf("capacity chart without an interval")
			}
		}
	}
	if kinds["frontier"] != 1 || kinds["ttft"] != 2 || kinds["speed"] != 2 || kinds["capacity"] != 2 {
		t.Errorf("charts %v, want 1 frontier, 2 ttft, 2 speed, 2 capacity", kinds)
	}
	if got.Tables < 4 {
		t.Errorf("%d tables rendered, want capacity and level tables for both sets", got.Tables)
	}
	if got.Overflows > 0 {
		t.Errorf("%d charts overflow the 1400 px viewport", got.Overflows)
	}
	if got.PNGBytes < 10000 {
		t.Errorf("screenshot is only %d bytes", got.PNGBytes)
	}
	t.Logf("screenshot: %s (%d bytes)", got.Screen, got.PNGBytes)
}
