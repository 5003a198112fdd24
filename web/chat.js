/*
 * chat.js - the msfaq chat page: sends a question to POST v1/ask (the
 * server this page came from) and shows the reply.
 *
 * Every piece of text from the server or the person (answers, sections,
 * follow-ups, error messages, the question itself) goes into the page
 * through textContent and createTextNode only: never innerHTML or any
 * other HTML sink.  The page's CSP also enforces Trusted Types with no
 * policy, so a browser would refuse such a write anyway.
 *
 * The conversation is an ARIA live region (role="log"): a screen reader
 * reads each question and reply as it is added.  It is aria-busy while a
 * reply is awaited, so both are read together.
 *
 * With ?embed=1 the page runs inside the widget's iframe (widget.js): it
 * tells the parent it is ready, asks it to close on Escape, and focuses
 * the question box when the parent opens it.  Nothing else is exchanged.
 */
(function () {
  "use strict";

  var URGENT_PREFIX = "emergency_";
  var DISCLAIMER_PREFIX = "General information";
  var MAX_CHARS = 1000;   /* well inside the server's 4096 bytes */

  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("q");
  var pending = false;
  var embedded = new URLSearchParams(window.location.search)
    .get("embed") === "1" && window.parent !== window;
  var reduceMotion = window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className)
      e.className = className;
    if (text !== undefined && text !== null)
      e.textContent = String(text);
    return e;
  }

  /* Text with line breaks as paragraphs: a blank line separates
   * paragraphs, a single newline becomes <br>.  Text nodes only. */
  function paragraphs(parent, text) {
    String(text).split(/\n\s*\n/).forEach(function (block) {
      block = block.trim();
      if (!block)
        return;
      var p = el("p", block.indexOf(DISCLAIMER_PREFIX) === 0
        ? "disclaimer" : null);
      block.split("\n").forEach(function (line, i) {
        if (i)
          p.appendChild(document.createElement("br"));
        p.appendChild(document.createTextNode(line));
      });
      parent.appendChild(p);
    });
  }

  function scrollTo(node) {
    var top = node.offsetTop - 12;
    log.scrollTo({top: top < 0 ? 0 : top,
                  behavior: reduceMotion ? "auto" : "smooth"});
  }

  function followUps(parent, label, questions) {
    if (!Array.isArray(questions) || !questions.length)
      return;
    var group = el("div", "follow-ups");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", label);
    group.appendChild(el("p", "label", label + ":"));
    questions.forEach(function (q) {
      if (typeof q !== "string" || !q)
        return;
      var b = el("button", "ask-this", q);
      b.type = "button";
      group.appendChild(b);
    });
    parent.appendChild(group);
  }

  /* The bubble for one reply of /v1/ask. */
  function replyBubble(r) {
    var kind = typeof r.kind === "string" ? r.kind : "answer";
    var intent = typeof r.intent === "string" ? r.intent : "";
    var urgent = kind === "safety" && intent.indexOf(URGENT_PREFIX) === 0;
    var msg = el("div", "msg bot kind-" + kind.replace(/[^a-z]/g, ""));
    msg.appendChild(el("span", "who", "msfaq says: "));
    if (urgent) {
      msg.classList.add("urgent");
      var b = el("p", "banner");
      b.appendChild(el("span", "icon", "\u26A0")).setAttribute(
        "aria-hidden", "true");
      b.appendChild(el("span", null, "Urgent: please get help now"));
      msg.appendChild(b);
    } else if (kind === "safety") {
      msg.classList.add("caution");
      var c = el("p", "banner");
      c.appendChild(el("span", "icon", "\u2695")).setAttribute(
        "aria-hidden", "true");
      c.appendChild(el("span", null, "Please talk to your neurologist"));
      msg.appendChild(c);
    }
    paragraphs(msg, r.answer || "");
    if (typeof r.section === "string" && r.section) {
      var s = el("p", "section", "Article section: ");
      s.appendChild(el("cite", null, r.section));
      msg.appendChild(s);
    }
    var label = kind === "fallback" ? "Topics I can answer"
      : kind === "clarify" ? "Did you mean" : "You could also ask";
    followUps(msg, label, r.follow_ups);
    return msg;
  }

  function errorBubble(text) {
    var msg = el("div", "msg bot error");
    msg.appendChild(el("span", "who", "msfaq says: "));
    msg.appendChild(el("p", null, text));
    return msg;
  }

  async function fetchReply(question) {
    var res;
    try {
      res = await fetch("v1/ask", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({question: question}),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (e) {
      return errorBubble("Sorry, the chat server cannot be reached. " +
                         "Please try again in a moment.");
    }
    var body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (res.ok && body && typeof body.answer === "string")
      return replyBubble(body);
    if (body && typeof body.message === "string")
      return errorBubble("Sorry, I could not take that question: " +
                         body.message + ".");
    return errorBubble("Sorry, something went wrong (HTTP " + res.status +
                       "). Please try again.");
  }

  async function ask(question) {
    question = question.trim();
    if (!question || pending)
      return;
    if (question.length > MAX_CHARS)
      question = question.slice(0, MAX_CHARS);
    pending = true;
    log.setAttribute("aria-busy", "true");
    var mine = el("div", "msg user");
    mine.appendChild(el("span", "who", "You asked: "));
    mine.appendChild(el("p", null, question));
    log.appendChild(mine);
    var typing = el("div", "msg bot typing");
    typing.setAttribute("aria-hidden", "true");
    typing.appendChild(el("span"));
    typing.appendChild(el("span"));
    typing.appendChild(el("span"));
    log.appendChild(typing);
    scrollTo(mine);
    var reply = await fetchReply(question);
    typing.remove();
    log.appendChild(reply);
    log.setAttribute("aria-busy", "false");
    pending = false;
    scrollTo(mine);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();   /* form-action 'none': nothing is submitted */
    var q = input.value;
    if (!q.trim() || pending)
      return;
    input.value = "";
    ask(q);
  });

  /* the follow-up and topic buttons, present and future */
  log.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button.ask-this");
    if (!b || pending)
      return;
    ask(b.textContent);
    input.focus({preventScroll: true});
  });

  if (embedded) {
    document.documentElement.classList.add("embed");
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape")
        window.parent.postMessage({msfaq: "close"}, "*");
    });
    window.addEventListener("message", function (ev) {
      if (ev.source === window.parent && ev.data &&
          ev.data.msfaq === "focus")
        input.focus({preventScroll: true});
    });
    /* says nothing but "ready": the parent's origin need not be known */
    window.parent.postMessage({msfaq: "ready"}, "*");
  }
})();
