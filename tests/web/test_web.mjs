// test_web.mjs - the chat page (GET /) and the widget (/widget.js) of
// msfaq-serve, in a real browser: Playwright (playwright-core) driving
// Debian's Chromium, headless, against msfaq-serve on 127.0.0.1.
//
//   MSFAQ_SERVE=build/msfaq-serve MSFAQ_SOURCE=. \
//   MSFAQ_WEB_SCREENSHOTS=build/web-screenshots node --test test_web.mjs
//
// ctest runs it (tests/web/CMakeLists.txt); tests/setup.d/web.sh installs
// Chromium and the npm packages.  Optional: CHROMIUM (default
// /usr/bin/chromium); MSFAQ_WEB_UPDATE_DOCS=1 also copies the phone and
// desktop screenshots to docs/img/ for the README.
//
// Servers: msfaq-serve on 127.0.0.1:0 (its port read from its "listening
// on" line) with MSFAQ_WEB_ORIGINS naming one of two host pages served
// here on two other ports: the widget must work on the first and be
// refused on the second.  Every server is stopped when the tests end,
// pass or fail; msfaq-serve must then exit 0 with no sanitizer report.
// Nothing waits for a fixed time: each wait is for a state of the page,
// with a time-out that only bounds a broken run.
//
// If Chromium cannot start, every test fails, saying so: a browser test
// that cannot run is not a pass.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

const SERVE = process.env.MSFAQ_SERVE;
const SOURCE = process.env.MSFAQ_SOURCE;
const SHOTS = process.env.MSFAQ_WEB_SCREENSHOTS ||
  path.join(os.tmpdir(), "msfaq-web-screenshots");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = 60_000;   // ms: only bounds a broken run (ASan is slow)

const CAR_T = "What is CAR T-cell therapy?";
const URGENT = "I suddenly can't see out of one eye";
const DECISION = "should I stop my interferon?";
const NONSENSE = "zzqx plonk";
const HOSTILE = '<script>window.__pwned = 1</script>' +
  '<img src=x onerror="window.__pwned = 2"> what is CAR T?';

// ------------------------------------------------------------- servers

// `setpriv --pdeathsig TERM` makes a server get SIGTERM should this
// process die first (a ctest time-out), so none outlives its test.
const GUARD = spawnSync("setpriv", ["--pdeathsig", "TERM", "true"])
  .status === 0 ? ["setpriv", "--pdeathsig", "TERM"] : [];

class Serve {
  constructor(args = [], env = {}) {
    this.args = args;
    this.env = env;
    this.log = "";
  }

  async start() {
    const env = { ...process.env };
    for (const k of Object.keys(env))
      if (k.startsWith("MSFAQ_SLACK") || k.startsWith("MSFAQ_MATTERMOST") ||
          k.startsWith("MSFAQ_WEB_ORIGINS"))
        delete env[k];
    Object.assign(env, this.env);
    const cmd = [...GUARD, SERVE, "--listen", "127.0.0.1:0", ...this.args];
    this.proc = spawn(cmd[0], cmd.slice(1), { env,
      stdio: ["ignore", "pipe", "pipe"] });
    this.exited = new Promise((resolve) =>
      this.proc.on("exit", (code, signal) => resolve({ code, signal })));
    this.proc.stderr.setEncoding("utf8");
    this.proc.stderr.on("data", (d) => { this.log += d; });
    this.proc.stdout.setEncoding("utf8");
    const line = await new Promise((resolve) => {
      let out = "";
      const timer = setTimeout(() => resolve(out), WAIT);
      this.proc.stdout.on("data", (d) => {
        out += d;
        if (out.includes("\n")) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      this.proc.on("exit", () => {
        clearTimeout(timer);
        resolve(out);
      });
    });
    const m = /^listening on 127\.0\.0\.1:(\d+)\n/.exec(line);
    if (!m) {
      await this.stop(false);
      throw new Error(`msfaq-serve did not start: ${JSON.stringify(line)}\n` +
                      this.log);
    }
    this.origin = `http://127.0.0.1:${m[1]}`;
    return this;
  }

  async stop(check = true) {
    if (!this.proc || this.stopped)
      return;
    this.stopped = true;
    if (this.proc.exitCode === null && this.proc.signalCode === null)
      this.proc.kill("SIGTERM");
    let timer;
    const res = await Promise.race([this.exited, new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), WAIT);
    })]);
    clearTimeout(timer);
    if (!res) {
      this.proc.kill("SIGKILL");
      await this.exited;
      if (check)
        throw new Error("msfaq-serve ignored SIGTERM:\n" + this.log);
      return;
    }
    if (check && (res.code !== 0 || /Sanitizer|runtime error:/.test(this.log)))
      throw new Error(`msfaq-serve exited ${res.code} (${res.signal}):\n` +
                      this.log);
  }

  // What the server answers: the reference for what the page shows.
  async ask(question) {
    const res = await fetch(this.origin + "/v1/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question }),
    });
    assert.equal(res.status, 200);
    return res.json();
  }
}

// A site that pastes the widget: one page at /, with a strict CSP of its
// own (no inline script or style), so the widget is shown to need none.
function hostSite(name) {
  const site = { name, serveOrigin: null };
  site.server = http.createServer((req, res) => {
    if (req.url !== "/") {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
      return;
    }
    const o = site.serveOrigin;
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": `default-src 'none'; script-src ${o}; ` +
        `frame-src ${o}; connect-src ${o}; style-src 'none'`,
    });
    res.end(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${name} clinic</title></head>
<body>
<main>
<h1>${name} clinic: living with MS</h1>
<p>Our MS nurses run a drop-in session every Tuesday.</p>
<p><a href="#contact">Contact us</a></p>
</main>
<script src="${o}/widget.js" defer></script>
</body>
</html>
`);
  });
  site.listen = () => new Promise((resolve) => {
    site.server.listen(0, "127.0.0.1", () => {
      site.origin = `http://127.0.0.1:${site.server.address().port}`;
      resolve(site);
    });
  });
  site.close = () => new Promise((resolve) => {
    site.server.closeAllConnections?.();
    site.server.close(() => resolve());
  });
  return site;
}

// A copy of the KB whose CAR T answer and follow-ups are HTML, to show
// that answer text is never parsed as HTML by the page.
function hostileKb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msfaq-web-kb-"));
  for (const sub of ["patterns", "responses"])
    fs.cpSync(path.join(SOURCE, sub), path.join(dir, sub),
              { recursive: true });
  const file = path.join(dir, "responses", "answers.json");
  const kb = JSON.parse(fs.readFileSync(file, "utf8"));
  const r = kb.responses.car_t;
  assert.ok(r, "the KB has no car_t response");
  r.text = '<img src=x onerror="window.__pwned = 3">CAR T <b>bold</b>\n' +
    "<script>window.__pwned = 4</script>";
  r.follow_ups = ['<img src=y onerror="window.__pwned = 5">What is a DMT?'];
  fs.writeFileSync(file, JSON.stringify(kb));
  return dir;
}

// --------------------------------------------------------------- browser

let chromium;
let browser;
let serve;
let allowed;
let refused;
let setupError = null;
const cleanups = [];

// A test that first fails, saying why, if the browser or the servers
// could not be set up (so each test reports it, none is just cancelled).
function check(name, fn) {
  test(name, async () => {
    if (setupError)
      throw setupError;
    await fn();
  });
}

async function launch() {
  try {
    ({ chromium } = require("playwright-core"));
  } catch (e) {
    throw new Error("playwright-core is not installed in tests/web/" +
                    "node_modules: run tests/setup.d/web.sh (" + e.message +
                    ")");
  }
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`Chromium is not at ${CHROMIUM}: run ` +
                    "tests/setup.d/web.sh (apt-get install chromium)");
  const args = ["--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check"];
  if (process.getuid && process.getuid() === 0)
    args.push("--no-sandbox");   // Chromium refuses root without it
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true,
                                   args, timeout: WAIT });
  } catch (e) {
    throw new Error(`Chromium (${CHROMIUM}) could not start: ${e.message}`);
  }
}

// A page with its console errors, CSP violations and uncaught errors
// collected, so a test can require there were none.
async function newPage(options = {}) {
  const context = await browser.newContext({ reducedMotion: "reduce",
                                             ...options });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning")
      page.problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  return page;
}

async function openChat(options = {}, origin = serve.origin) {
  const page = await newPage(options);
  await page.goto(origin + "/");
  await page.locator("#q").waitFor();
  return page;
}

// Types question into the box, sends it with Enter and returns the reply
// bubble that appears for it.
async function askOnPage(page, question, scope = page) {
  const bots = scope.locator("#log .msg.bot:not(.typing)");
  const before = await bots.count();
  await scope.locator("#q").fill(question);
  await scope.locator("#q").press("Enter");
  await bots.nth(before).waitFor();
  return bots.nth(before);
}

async function followUpTexts(bubble) {
  return bubble.locator(".follow-ups button").allTextContents();
}

function shotPath(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, name);
}

describe("msfaq chat page and widget in Chromium", () => {
  before(async () => {
    try {
      assert.ok(SERVE && fs.existsSync(SERVE),
                `MSFAQ_SERVE (${SERVE}) is not msfaq-serve`);
      assert.ok(SOURCE && fs.existsSync(path.join(SOURCE, "responses")),
                `MSFAQ_SOURCE (${SOURCE}) is not the source tree`);
      browser = await launch();
      allowed = await hostSite("Allowed").listen();
      refused = await hostSite("Other").listen();
      serve = await new Serve([], {
        MSFAQ_WEB_ORIGINS: `${allowed.origin}, https://clinic.example`,
      }).start();
      allowed.serveOrigin = refused.serveOrigin = serve.origin;
    } catch (e) {
      setupError = e;
    }
  });

  after(async () => {
    const errors = [];
    for (const fn of cleanups.reverse())
      await fn().catch((e) => errors.push(e));
    if (browser)
      await browser.close().catch((e) => errors.push(e));
    for (const s of [allowed, refused])
      if (s)
        await s.close();
    if (serve)
      await serve.stop().catch((e) => errors.push(e));
    if (errors.length)
      throw errors[0];
  });

  check("a question gets its answer, section and disclaimer", async () => {
    const page = await openChat();
    const want = await serve.ask(CAR_T);
    assert.equal(want.kind, "answer");
    const bubble = await askOnPage(page, CAR_T);
    assert.equal(await bubble.locator(".section cite").textContent(),
                 want.section);
    assert.equal(want.section, "Emerging Therapies and Approaches");
    assert.match(await bubble.locator(".disclaimer").textContent(),
                 /^General information from the article, not medical advice/);
    // every paragraph of the answer is there, as text
    for (const para of want.answer.split(/\n\s*\n/))
      assert.ok((await bubble.textContent()).includes(para.trim()),
                `missing paragraph: ${para}`);
    assert.deepEqual(await followUpTexts(bubble), want.follow_ups);
    // the page's own note is always there
    assert.match(await page.locator(".note").textContent(),
                 /not medical\s+advice/);
    // the reply is inside the live region a screen reader follows
    const live = await bubble.evaluate((b) => {
      const region = b.closest("[aria-live]");
      return region && region.getAttribute("aria-live");
    });
    assert.equal(live, "polite");
    assert.equal(await page.locator("#log").getAttribute("aria-busy"),
                 "false");
    assert.deepEqual(page.problems, []);
  });

  check("a follow-up button asks its question", async () => {
    const page = await openChat();
    const first = await askOnPage(page, CAR_T);
    const button = first.locator(".follow-ups button").first();
    const question = await button.textContent();
    const want = await serve.ask(question);
    const bots = page.locator("#log .msg.bot:not(.typing)");
    const n = await bots.count();
    await button.click();
    await bots.nth(n).waitFor();
    const mine = page.locator("#log .msg.user").last();
    assert.equal(await mine.locator("p").textContent(), question);
    const reply = bots.nth(n);
    assert.equal(await reply.locator(".section cite").textContent(),
                 want.section);
    // the starter topics are follow-ups too
    const topic = page.locator(".kind-intro .ask-this").nth(2);
    const topicWant = await serve.ask(await topic.textContent());
    await topic.click();
    await bots.nth(n + 1).waitFor();
    assert.equal(await bots.nth(n + 1).locator(".section cite").textContent(),
                 topicWant.section);
    assert.deepEqual(page.problems, []);
  });

  check("safety replies stand out, urgent ones most", async () => {
    const page = await openChat();
    const urgentWant = await serve.ask(URGENT);
    assert.equal(urgentWant.kind, "safety");
    assert.match(urgentWant.intent, /^emergency_/);
    const urgent = await askOnPage(page, URGENT);
    assert.match(await urgent.getAttribute("class"), /\burgent\b/);
    assert.match(await urgent.locator(".banner").textContent(), /Urgent/);
    assert.ok((await urgent.textContent()).includes(urgentWant.answer));

    const cautionWant = await serve.ask(DECISION);
    assert.equal(cautionWant.intent, "safety_decision");
    const caution = await askOnPage(page, DECISION);
    assert.match(await caution.getAttribute("class"), /\bcaution\b/);
    assert.doesNotMatch(await caution.getAttribute("class"), /\burgent\b/);
    assert.match(await caution.locator(".banner").textContent(),
                 /neurologist/);

    const answer = await askOnPage(page, CAR_T);
    const look = (loc) => loc.evaluate((e) => {
      const s = getComputedStyle(e);
      return { width: parseFloat(s.borderTopWidth),
               color: s.borderTopColor, bg: s.backgroundColor };
    });
    const [u, c, a] = [await look(urgent), await look(caution),
                       await look(answer)];
    assert.ok(u.width > c.width && c.width > a.width,
              `border widths: urgent ${u.width}, caution ${c.width}, ` +
              `answer ${a.width}`);
    assert.notEqual(u.bg, a.bg);
    assert.notEqual(c.bg, a.bg);
    assert.notEqual(u.color, c.color);

    // a fallback says what the bot can answer and offers topics
    const fbWant = await serve.ask(NONSENSE);
    assert.equal(fbWant.kind, "fallback");
    const fb = await askOnPage(page, NONSENSE);
    assert.match(await fb.textContent(), /I can tell you about/);
    assert.equal(await fb.locator(".follow-ups").getAttribute("aria-label"),
                 "Topics I can answer");
    assert.deepEqual(await followUpTexts(fb), fbWant.follow_ups);
    assert.deepEqual(page.problems, []);
  });

  check("HTML in a question is shown as text and never run", async () => {
    // with the page's CSP, and without it (bypassCSP): the text is never
    // parsed as HTML, so nothing runs even where the CSP would not stop it
    for (const bypassCSP of [false, true]) {
      const page = await openChat({ bypassCSP });
      const reply = await askOnPage(page, HOSTILE);
      const mine = page.locator("#log .msg.user").last();
      assert.equal(await mine.locator("p").textContent(), HOSTILE);
      assert.equal(await page.locator("#log img, #log script").count(), 0);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      assert.equal(await reply.locator(".section cite").textContent(),
                   "Emerging Therapies and Approaches");
      if (!bypassCSP)
        assert.deepEqual(page.problems, []);
    }
  });

  check("HTML in an answer or follow-up is shown as text", async () => {
    const kb = hostileKb();
    cleanups.push(async () => fs.rmSync(kb, { recursive: true, force: true }));
    const other = await new Serve(["--kb", kb]).start();
    cleanups.push(() => other.stop());
    for (const bypassCSP of [false, true]) {
      const page = await openChat({ bypassCSP }, other.origin);
      const reply = await askOnPage(page, CAR_T);
      const text = await reply.textContent();
      assert.ok(text.includes('<img src=x onerror="window.__pwned = 3">' +
                              "CAR T <b>bold</b>"), text);
      assert.ok(text.includes("<script>window.__pwned = 4</script>"), text);
      const fu = await followUpTexts(reply);
      assert.deepEqual(fu, ['<img src=y onerror="window.__pwned = 5">' +
                            "What is a DMT?"]);
      assert.equal(await page.locator("#log img, #log script, #log b")
        .count(), 0);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
    }
  });

  check("works from the keyboard alone", async () => {
    const page = await openChat();
    const focused = () => page.evaluate(() => {
      const e = document.activeElement;
      return e ? (e.id || e.className || e.tagName) : "";
    });
    // Tab from the top of the page to the question box
    let steps = 0;
    while ((await focused()) !== "q") {
      assert.ok(++steps < 15, "Tab never reached the question box");
      await page.keyboard.press("Tab");
    }
    await page.keyboard.type(CAR_T);
    await page.keyboard.press("Enter");
    const bots = page.locator("#log .msg.bot:not(.typing)");
    await bots.nth(1).waitFor();
    assert.equal(await focused(), "q", "focus left the question box");
    // Shift+Tab back into the reply's follow-ups; Enter asks one
    steps = 0;
    while ((await focused()) !== "ask-this" ||
           !(await page.evaluate(() => document.activeElement
             .closest(".msg").classList.contains("kind-answer")))) {
      assert.ok(++steps < 10, "Shift+Tab never reached a follow-up");
      await page.keyboard.press("Shift+Tab");
    }
    const question = await page.evaluate(() =>
      document.activeElement.textContent);
    await page.keyboard.press("Enter");
    await bots.nth(2).waitFor();
    assert.equal(await page.locator("#log .msg.user p").last().textContent(),
                 question);
    // Space works as well as Enter on a button
    steps = 0;
    while ((await focused()) !== "ask-this") {
      assert.ok(++steps < 10, "Shift+Tab never reached a follow-up");
      await page.keyboard.press("Shift+Tab");
    }
    await page.keyboard.press("Space");
    await bots.nth(3).waitFor();
    // the focus ring is visible
    const outline = await page.evaluate(() =>
      getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none");
    assert.deepEqual(page.problems, []);
  });

  check("the widget works on an allowed site", async () => {
    const page = await newPage();
    await page.goto(allowed.origin + "/");
    const widget = page.locator("#msfaq-widget");
    await page.locator('#msfaq-widget[data-state="ready"]').waitFor({
      state: "attached" });
    const launcher = widget.locator(".launcher");
    await launcher.waitFor();
    assert.equal(await launcher.evaluate((e) =>
      getComputedStyle(e).position), "fixed",
                 "the widget's styles did not apply under the host's CSP");
    assert.equal(await launcher.getAttribute("aria-expanded"), "false");
    // keyboard: Tab reaches the button, Enter opens the chat with the
    // question box focused
    let steps = 0;
    while (!(await launcher.evaluate((e) =>
      e.getRootNode().activeElement === e))) {
      assert.ok(++steps < 10, "Tab never reached the widget's button");
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Enter");
    await widget.locator(".panel").waitFor();
    assert.equal(await launcher.getAttribute("aria-expanded"), "true");
    const frame = page.frameLocator("#msfaq-widget iframe");
    await frame.locator("#q").waitFor();
    // the chat is on msfaq-serve's origin, not the host's
    const chat = page.frames().find((f) => f.url().includes("embed=1"));
    assert.ok(chat, "no chat frame");
    assert.equal(new URL(chat.url()).origin, serve.origin);
    await chat.waitForFunction(() => document.hasFocus() &&
      document.activeElement && document.activeElement.id === "q");
    const want = await serve.ask(CAR_T);
    await page.keyboard.type(CAR_T);
    await page.keyboard.press("Enter");
    const reply = frame.locator("#log .msg.bot.kind-answer");
    await reply.waitFor();
    assert.equal(await reply.locator(".section cite").textContent(),
                 want.section);
    await page.screenshot({ path: shotPath("widget-open-1280.png") });
    // Escape in the chat closes it and gives focus back to the button
    await page.keyboard.press("Escape");
    await widget.locator(".panel").waitFor({ state: "hidden" });
    assert.equal(await launcher.getAttribute("aria-expanded"), "false");
    await page.waitForFunction(() => {
      const w = document.querySelector("#msfaq-widget");
      return w.shadowRoot.activeElement &&
        w.shadowRoot.activeElement.classList.contains("launcher");
    });
    // CORS: the site's own script may call /v1/ask
    const viaCors = await page.evaluate(async (url) => {
      const r = await fetch(url, { method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question: "what is CAR T?" }) });
      return (await r.json()).section;
    }, serve.origin + "/v1/ask");
    assert.equal(viaCors, want.section);
    assert.deepEqual(page.problems, []);
  });

  check("the widget is refused on a site not allowed", async () => {
    const page = await newPage();
    await page.goto(refused.origin + "/");
    await page.locator('#msfaq-widget[data-state="refused"]').waitFor({
      state: "attached" });
    assert.equal(await page.locator("#msfaq-widget .launcher").isVisible(),
                 false);
    assert.equal(await page.locator("#msfaq-widget .panel").isVisible(),
                 false);
    // the browser refused the frame for its frame-ancestors
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const chatShown = frame ? await frame.locator("#q").count()
      .catch(() => 0) : 0;
    assert.equal(chatShown, 0, "the chat was shown in a refused site");
    assert.ok(page.problems.some((p) => /msfaq widget: .*MSFAQ_WEB_ORIGINS/
      .test(p)), page.problems.join("\n"));
    // CORS: the site's script cannot read /v1/ask
    const viaCors = await page.evaluate(async (url) => {
      try {
        await fetch(url, { method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question: "what is CAR T?" }) });
        return "read";
      } catch (e) {
        return e.name;
      }
    }, serve.origin + "/v1/ask");
    assert.equal(viaCors, "TypeError");
  });

  check("axe-core finds no serious or critical violations", async () => {
    const axe = fs.readFileSync(require.resolve("axe-core/axe.min.js"),
                                "utf8");
    const scan = async (page, what) => {
      // page.evaluate is not subject to the page's CSP, a script tag is
      await page.evaluate(axe);
      const result = await page.evaluate(() => window.axe.run(document, {
        resultTypes: ["violations"] }));
      const bad = result.violations.filter((v) =>
        v.impact === "serious" || v.impact === "critical");
      assert.deepEqual(bad.map((v) => `${what}: ${v.id} (${v.impact}): ` +
        v.nodes.map((n) => n.target.join(" ")).join(", ")), []);
    };
    for (const colorScheme of ["light", "dark"]) {
      for (const width of [320, 1280]) {
        const page = await openChat({ colorScheme,
          viewport: { width, height: 800 } });
        await askOnPage(page, CAR_T);
        await askOnPage(page, URGENT);
        await askOnPage(page, DECISION);
        await askOnPage(page, NONSENSE);
        await scan(page, `chat page, ${colorScheme}, ${width} px`);
      }
    }
    const host = await newPage();
    await host.goto(allowed.origin + "/");
    await host.locator('#msfaq-widget[data-state="ready"]').waitFor({
      state: "attached" });
    await host.locator("#msfaq-widget .launcher").click();
    await host.locator("#msfaq-widget .panel").waitFor();
    await scan(host, "host page with the widget open");
  });

  check("screenshots at phone and desktop widths", async () => {
    const phone = { width: 375, height: 740 };
    const desktop = { width: 1280, height: 860 };
    // name, viewport, colour scheme, questions, scrolled to the end
    const shots = [
      ["chat-phone-320.png", { width: 320, height: 640 }, "light", [CAR_T]],
      ["chat-phone-375-end.png", phone, "light", [CAR_T], true],
      ["chat-phone-375.png", phone, "light", [CAR_T]],
      ["chat-phone-375-dark.png", phone, "dark", [CAR_T]],
      ["chat-desktop-1280.png", desktop, "light", [CAR_T]],
      ["chat-desktop-1280-dark.png", desktop, "dark", [CAR_T]],
      ["chat-desktop-1280-safety.png", desktop, "light",
       [DECISION, URGENT]],
      ["chat-phone-375-fallback.png", phone, "light", [NONSENSE]],
    ];
    for (const [name, viewport, colorScheme, questions, end] of shots) {
      const page = await openChat({ viewport, colorScheme,
                                    deviceScaleFactor: 1 });
      for (const q of questions)
        await askOnPage(page, q);
      if (end)
        await page.locator("#log").evaluate((l) => {
          l.scrollTop = l.scrollHeight;
        });
      // nothing may stick out sideways at any width
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: ${overflow} px too wide`);
      const file = shotPath(name);
      await page.screenshot({ path: file });
      assert.ok(fs.statSync(file).size > 1000, `${file} is empty`);
    }
    // the widget, open, on a phone: the chat fills the screen
    const host = await newPage({ viewport: phone, deviceScaleFactor: 1 });
    await host.goto(allowed.origin + "/");
    await host.locator('#msfaq-widget[data-state="ready"]').waitFor({
      state: "attached" });
    await host.screenshot({ path: shotPath("widget-closed-375.png") });
    await host.locator("#msfaq-widget .launcher").click();
    const frame = host.frameLocator("#msfaq-widget iframe");
    await askOnPage(host, CAR_T, frame);
    const box = await host.locator("#msfaq-widget .panel").boundingBox();
    assert.deepEqual([box.x, box.y, box.width, box.height],
                     [0, 0, phone.width, phone.height]);
    await host.screenshot({ path: shotPath("widget-open-375.png") });
    if (process.env.MSFAQ_WEB_UPDATE_DOCS === "1") {
      const img = path.join(SOURCE, "docs", "img");
      fs.mkdirSync(img, { recursive: true });
      fs.copyFileSync(shotPath("chat-desktop-1280.png"),
                      path.join(img, "chat-desktop.png"));
      fs.copyFileSync(shotPath("chat-phone-375-end.png"),
                      path.join(img, "chat-phone.png"));
    }
  });
});
