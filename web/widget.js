/*
 * widget.js - the msfaq chat widget.  A site owner pastes one tag:
 *
 *   <script src="https://msfaq.example/widget.js" defer></script>
 *
 * and gets a floating "Ask about MS immune therapy" button that opens the
 * chat (GET /?embed=1 of the msfaq-serve this script came from) in an
 * iframe.  The chat runs on msfaq-serve's origin under its own strict CSP
 * and talks to it same-origin; the host page can neither restyle nor read
 * it, and no answer text ever passes through the host page.  The server
 * lets a site frame the chat only when the site's origin is in
 * MSFAQ_WEB_ORIGINS (CSP frame-ancestors): elsewhere the button never
 * appears and the console says why.
 *
 * The widget's own button and panel live in a shadow root, so the host's
 * CSS does not reach them and ours does not leak out; styles are a
 * constructed style sheet (no <style> element, no inline style
 * attributes, so a host page's CSP needs no 'unsafe-inline').  Optional
 * attributes on the script tag: data-label (the button's text),
 * data-position="left".
 *
 * States, in data-state on the #msfaq-widget element: loading, ready (the
 * chat said so: the button shows), refused (the frame loaded without
 * saying so: the browser refused to show it here).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src || document.getElementById("msfaq-widget"))
    return;   /* not loaded by a tag, or pasted twice */
  var chatUrl = new URL("./?embed=1", script.src);
  var serverOrigin = chatUrl.origin;
  var label = script.getAttribute("data-label") ||
    "Ask about MS immune therapy";
  var left = script.getAttribute("data-position") === "left";
  /* after the frame's load event, how long to wait for "ready" before
   * deciding the browser refused it (the message normally comes first) */
  var REFUSED_AFTER_MS = 3000;

  var CSS = [
    ":host { all: initial; }",
    ".launcher, .panel { position: fixed; z-index: 2147483000;",
    "  font: 600 1rem/1.3 system-ui, -apple-system, 'Segoe UI', Roboto,",
    "  'Noto Sans', 'DejaVu Sans', Arial, sans-serif; }",
    ".launcher { bottom: 1rem; " + (left ? "left" : "right") + ": 1rem;",
    "  display: flex; gap: 0.5rem; align-items: center;",
    "  min-height: 3rem; padding: 0.75rem 1.125rem; border: 0;",
    "  border-radius: 1.5rem; background: #1d5aa6; color: #fff;",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.25); cursor: pointer; }",
    ".launcher:hover { background: #174b8c; }",
    ".launcher[hidden], .panel[hidden] { display: none; }",
    ":focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }",
    ".panel { bottom: 5rem; " + (left ? "left" : "right") + ": 1rem;",
    "  display: flex; flex-direction: column;",
    "  width: min(26rem, calc(100vw - 2rem));",
    "  height: min(40rem, calc(100vh - 6rem));",
    "  border: 1px solid #cfd6df; border-radius: 1rem; overflow: hidden;",
    "  background: #fff; box-shadow: 0 8px 30px rgba(0,0,0,.3); }",
    ".bar { display: flex; align-items: center; gap: 0.5rem;",
    "  padding: 0.25rem 0.25rem 0.25rem 1rem; background: #1d5aa6;",
    "  color: #fff; }",
    ".title { flex: 1; margin: 0; font-size: 1rem; }",
    ".close { min-width: 2.75rem; min-height: 2.75rem; border: 0;",
    "  border-radius: 0.5rem; background: transparent; color: #fff;",
    "  font: inherit; font-size: 1.5rem; line-height: 1; cursor: pointer; }",
    ".close:hover { background: rgba(255,255,255,.15); }",
    ".bar :focus-visible { outline-color: #fff; outline-offset: -3px; }",
    "iframe { flex: 1; width: 100%; border: 0; background: transparent; }",
    "@media (max-width: 30rem) {",
    "  .panel { inset: 0; width: 100%; height: 100%; border-radius: 0;",
    "    border: 0; } }",
    "@media (prefers-color-scheme: dark) {",
    "  .panel { background: #12161b; border-color: #36404c; }",
    "  .launcher, .bar { background: #2c5d9c; } }",
  ].join("\n");

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className)
      e.className = className;
    if (text)
      e.textContent = text;
    return e;
  }

  /* a speech bubble, drawn (no emoji font needed) */
  function bubbleIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "20");
    svg.setAttribute("height", "20");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H10l-5 " +
                      "4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  function style(root) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {   /* no constructable style sheets: an older browser */
      root.appendChild(el("style", null, CSS));
    }
  }

  function start() {
    var host = el("div");
    host.id = "msfaq-widget";
    host.setAttribute("data-state", "loading");
    var root = host.attachShadow({mode: "open"});
    style(root);

    var launcher = el("button", "launcher");
    launcher.type = "button";
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "msfaq-panel");
    launcher.appendChild(bubbleIcon());
    launcher.appendChild(el("span", null, label));

    var panel = el("div", "panel");
    panel.id = "msfaq-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "msfaq-title");
    var bar = el("div", "bar");
    var title = el("h2", "title", label);
    title.id = "msfaq-title";
    var close = el("button", "close", "\u00D7");
    close.type = "button";
    close.setAttribute("aria-label", "Close the chat");
    bar.appendChild(title);
    bar.appendChild(close);
    var frame = el("iframe");
    frame.title = "msfaq chat: questions about immune therapy for MS";
    frame.src = chatUrl.href;
    /* the chat needs its scripts, its own origin (to call /v1/ask) and
     * its form (Enter sends; chat.js stops the submission, and its CSP
     * has form-action 'none'); no pop-ups, no navigating the host page */
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("sandbox",
                       "allow-scripts allow-same-origin allow-forms");
    panel.appendChild(bar);
    panel.appendChild(frame);
    root.appendChild(launcher);
    root.appendChild(panel);

    var state = "loading";
    function setState(s) {
      state = s;
      host.setAttribute("data-state", s);
      launcher.hidden = s !== "ready";
      if (s === "refused") {
        panel.hidden = true;
        if (window.console)
          console.warn("msfaq widget: " + serverOrigin + " does not let " +
                       window.location.origin + " show its chat; add " +
                       "this origin to MSFAQ_WEB_ORIGINS there.");
      }
    }

    function open() {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      frame.focus();
      frame.contentWindow.postMessage({msfaq: "focus"}, serverOrigin);
    }

    function shut() {
      if (panel.hidden)
        return;
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
    }

    launcher.addEventListener("click", function () {
      if (panel.hidden)
        open();
      else
        shut();
    });
    close.addEventListener("click", shut);
    panel.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape")
        shut();
    });
    window.addEventListener("message", function (ev) {
      if (ev.source !== frame.contentWindow || ev.origin !== serverOrigin ||
          !ev.data || typeof ev.data !== "object")
        return;
      if (ev.data.msfaq === "ready")
        setState("ready");
      else if (ev.data.msfaq === "close")
        shut();
    });
    frame.addEventListener("load", function () {
      if (state !== "loading")
        return;
      setTimeout(function () {
        if (state === "loading")
          setState("refused");
      }, REFUSED_AFTER_MS);
    });

    document.body.appendChild(host);
  }

  if (document.body)
    start();
  else
    document.addEventListener("DOMContentLoaded", start);
})();
