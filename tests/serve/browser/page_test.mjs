// The page of vramcalc serve in a real browser: Debian's chromium, headless, driven over the
// DevTools protocol by puppeteer-core (no browser download). Loads the page, fills the form,
// and checks every number it shows (verdict, memory lines, per-GPU bar) against the CLI's
// --json output for the same flags, formatted here on its own; checks the URL holds the
// query, that "copy as CLI command" is a command printing the same document, that "copy as
// deployment YAML" is a deployment `check` accepts, and that a phone-wide viewport does not
// scroll sideways. Saves a screenshot. Exit 1 on any difference.
//
// usage: node page_test.mjs VRAMCALC_BINARY SCREENSHOT.png   (CHROMIUM: the browser, default /usr/bin/chromium)
import { spawn, spawnSync } from "node:child_process";
import puppeteer from "puppeteer-core";

const [bin, screenshot] = process.argv.slice(2);
if (!bin || !screenshot) {
  console.error("usage: node page_test.mjs VRAMCALC_BINARY SCREENSHOT.png");
  process.exit(2);
}
const failures = [];
const check = (ok, what) => {
  if (!ok) {
    failures.push(what);
    console.log("FAIL: " + what);
  }
};

// The CLI's byte formatting (src/report/text_util.cpp, format_bytes), written again here.
function gib(bytes) {
  if (bytes >= 1073741824) return (bytes / 1073741824).toFixed(2) + " GiB";
  const names = ["B", "KiB", "MiB", "GiB"];
  let v = bytes, u = 0;
  while (v >= 1024 && u < 3) { v /= 1024; u += 1; }
  return u === 0 ? `${bytes} B` : `${v.toFixed(2)} ${names[u]}`;
}

function cliJson(args) {
  const r = spawnSync(bin, [...args, "--json"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`vramcalc ${args.join(" ")} --json: exit ${r.status}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ["serve", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
    let seen = "";
    proc.stderr.on("data", (d) => {
      seen += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(seen);
      if (m && !proc.port) {
        proc.port = Number(m[1]);
        resolve(proc);
      }
    });
    proc.on("exit", (code) => reject(new Error("serve exited " + code + ": " + seen)));
  });
}

const server = await startServer();
const base = `http://127.0.0.1:${server.port}`;
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.setViewport({ width: 1000, height: 1200 });
  await page.goto(base + "/", { waitUntil: "networkidle0" });

  // The form, as a user fills it.
  const set = async (id, value) => {
    await page.$eval("#" + id, (e) => { e.value = ""; });
    await page.type("#" + id, value);
  };
  await set("model", "llama3.1-70b");
  await set("quant", "fp8");
  await page.select("#kv", "fp8");
  await set("ctx", "32k");
  await set("batch", "4");
  await page.select("#gpu", "h100-sxm");
  await set("count", "2");
  await page.select("#engine", "vllm");
  await set("gpu-memory-utilization", "0.9");
  await page.click("button[type=submit]");
  await page.waitForSelector("body[data-done='1']", { timeout: 60000 });

  const args = ["llama3.1-70b", "--quant", "fp8", "--kv", "fp8", "--ctx", "32k", "--batch", "4", "--gpu", "2xh100-sxm",
                "--engine", "vllm", "--gpu-memory-utilization", "0.9"];
  const text = cliJson(args);
  const doc = JSON.parse(text);
  const row = doc.fit.find((f) => f.requested);

  // The numbers on the page against the CLI's document.
  const shown = await page.evaluate(() => ({
    verdict: document.getElementById("verdict").textContent,
    lines: Object.fromEntries([...document.querySelectorAll("#memory tr")].map((tr) => [tr.dataset.line, tr.children[1].textContent])),
    bars: [...document.querySelectorAll("#bars .bar .label")].map((e) => e.textContent),
    plotted: document.querySelectorAll("#plot circle").length,
    url: location.search,
  }));
  const want = {
    Weights: gib(doc.memory.weights_bytes),
    "KV cache": gib(doc.memory.kv_cache_bytes),
    "Runtime overhead": gib(doc.memory.overhead_bytes),
    Total: gib(doc.memory.total_bytes),
  };
  for (const [line, value] of Object.entries(want)) {
    check(shown.lines[line] === value, `memory line ${line}: the page shows ${shown.lines[line]}, the CLI's JSON ${value}`);
  }
  const verdict = `${row.fits ? "FITS" : "DOES NOT FIT"} on ${row.count}× ${row.gpu_name} (tp ${row.tp}, pp ${row.pp}): ` +
    `${gib(row.required_bytes_per_gpu)} per GPU, ` + (row.fits ? `${gib(row.headroom_bytes)} headroom on each.` : `${gib(row.usable_bytes)} usable.`);
  check(shown.verdict.startsWith(verdict), `verdict: the page says "${shown.verdict}", the CLI's JSON "${verdict}"`);
  const bar = `${row.count}× ${row.gpu_name}: ${gib(row.required_bytes_per_gpu)} of ${gib(row.usable_bytes)}`;
  check(shown.bars.length === 1 && shown.bars[0].startsWith(bar), `bar: the page shows ${JSON.stringify(shown.bars)}, the CLI's JSON "${bar}"`);
  check(shown.plotted >= 2, `context plot: ${shown.plotted} points`);

  // The URL holds the query: the API's own query string.
  const params = new URLSearchParams(shown.url);
  check(params.get("ctx") === "32k" && params.get("gpu") === "2xh100-sxm" && params.get("model") === "llama3.1-70b",
        `the URL holds the query: ${shown.url}`);
  const api = await (await fetch(base + "/v1/estimate" + shown.url)).text();
  check(api === text, "the page's URL as an API query gives the CLI's document byte for byte");

  // Copy as CLI command: the command prints the same document.
  await page.click("#copy-cli");
  const command = await page.$eval("#copied", (e) => e.textContent);
  const words = command.split(" ");
  check(words[0] === "vramcalc", `copy as CLI: ${command}`);
  check(cliJson(words.slice(1)) === text, `copy as CLI: "${command}" prints another document`);
  // Copy as deployment YAML: a deployment check accepts, with the same verdict.
  await page.click("#copy-yaml");
  const yaml = await page.$eval("#copied", (e) => e.textContent);
  const checked = await fetch(base + "/v1/check", { method: "POST", body: yaml });
  const verdicts = await checked.json();
  check(checked.status === 200 && verdicts.deployments?.length === 1, `copy as YAML: check answered ${checked.status}: ${JSON.stringify(verdicts).slice(0, 300)}`);

  // A shared link opens with the answer.
  const again = await browser.newPage();
  await again.goto(base + "/" + shown.url, { waitUntil: "networkidle0" });
  await again.waitForSelector("body[data-done='1']", { timeout: 60000 });
  const reopened = await again.$eval("#memory tr[data-line='Total'] td.num", (e) => e.textContent);
  check(reopened === want.Total, `a shared link shows Total ${reopened}, the CLI's JSON ${want.Total}`);

  await page.screenshot({ path: screenshot, fullPage: true });

  // A phone: nothing scrolls sideways.
  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `at 390 px wide the page is ${wide} px wide`);
  check(errors.length === 0, "the page's console errors: " + errors.join("; "));
  console.log(`page: verdict "${shown.verdict}"; Total ${shown.lines.Total}; ${shown.plotted} context points; screenshot ${screenshot}`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
}
if (failures.length) {
  console.log(`${failures.length} checks failed`);
  process.exit(1);
}
console.log("the page's numbers equal the CLI's");
