#!/usr/bin/env node
/*
 * nlpjs_bench.js - the same questions through nlp.js (node-nlp 4), trained
 * on the example questions of msfaq's intents, for the side-by-side.
 *
 *   node nlpjs_bench.js bench INTENTS.json MAP.json QUESTIONS.txt [SECONDS]
 *       trains, then times every question (one JSON line of figures out)
 *   node nlpjs_bench.js answer INTENTS.json MAP.json
 *       trains, then answers each line of stdin with one JSON line in
 *       msfaq's --json shape, for /work/shared/eval/score.py
 *
 * MAP.json maps an intent id to msfaq's reply for it, {"kind", "section",
 * "answer"}, made by run.sh from `msfaq ask --json` on the intent's first
 * example.  Below nlp.js's threshold (its intent is "None") the reply is
 * kind "fallback".  One "call" below is the whole pipeline on the nlp.js
 * side: manager.process() (normalise, tokenise, stem, classify) and the
 * reply rendered as a JSON line, as msfaq's call builds its JSON.
 *
 * node-nlp is found through NODE_PATH (run.sh installs it into
 * .cache/bench-node).  Settings: language "en" given (no language
 * guessing), no model file saved or loaded, no sentiment, no NER (the
 * defaults when no entities are added), threshold 0.5 (the default).
 */
'use strict';
const fs = require('fs');
const { NlpManager } = require('node-nlp');

function readLines(path) {
  return fs.readFileSync(path, 'utf8').split('\n');
}

function loadQuestions(path) {
  const qs = [];
  let cat = null;
  for (const line of readLines(path)) {
    if (line.startsWith('# cat: ')) {
      cat = line.slice(7);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    qs.push({ q: line, cat });
  }
  return qs;
}

async function train(intentsPath) {
  const kb = JSON.parse(fs.readFileSync(intentsPath, 'utf8'));
  const manager = new NlpManager({
    languages: ['en'],
    autoSave: false,
    autoLoad: false,
    nlu: { log: false },
  });
  let docs = 0;
  for (const intent of kb.intents) {
    for (const ex of intent.examples || []) {
      manager.addDocument('en', ex, intent.id);
      docs++;
    }
  }
  const t0 = process.hrtime.bigint();
  await manager.train();
  const trainNs = Number(process.hrtime.bigint() - t0);
  return { manager, docs, intents: kb.intents.length, trainNs };
}

function makeRender(map) {
  const fallback = map[''] || { kind: 'fallback', section: null, answer: '' };
  return (res) => {
    const m = res.intent !== 'None' && map[res.intent];
    const r = m || fallback;
    return JSON.stringify({
      kind: m ? r.kind : 'fallback',
      intent: m ? res.intent : '',
      confidence: res.score,
      section: m ? r.section : null,
      answer: r.answer,
    });
  };
}

function pct(sorted, p) {
  if (!sorted.length) return 0;
  let k = Math.ceil((p / 100) * sorted.length);
  if (k < 1) k = 1;
  return sorted[Math.min(k, sorted.length) - 1];
}

async function bench(intentsPath, mapPath, questionsPath, seconds) {
  const { manager, docs, intents, trainNs } = await train(intentsPath);
  const render = makeRender(JSON.parse(fs.readFileSync(mapPath, 'utf8')));
  const qs = loadQuestions(questionsPath);
  // the first pass over the questions, timed whole (a batch as a user
  // runs it once), then a second, so V8 has compiled the hot paths
  const f0 = process.hrtime.bigint();
  for (const { q } of qs) render(await manager.process('en', q));
  const firstPassNs = Number(process.hrtime.bigint() - f0);
  for (const { q } of qs) render(await manager.process('en', q));
  // rounds, as bench_ask --rounds: the round with the highest throughput
  // is reported, so a burst of other work spoils one round, not the figure
  const rounds = 3;
  const budget = BigInt(Math.round((seconds / rounds) * 1e9));
  let best = null;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const cur = { all: [], perCat: new Map(), wall: 0 };
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() - start < budget ||
           cur.all.length < qs.length) {
      for (const { q, cat } of qs) {
        const t0 = process.hrtime.bigint();
        const line = render(await manager.process('en', q));
        const dt = Number(process.hrtime.bigint() - t0);
        sink += line.length;
        cur.all.push(dt);
        if (!cur.perCat.has(cat)) cur.perCat.set(cat, []);
        cur.perCat.get(cat).push(dt);
      }
    }
    cur.wall = Number(process.hrtime.bigint() - start) / 1e9;
    if (!best || cur.all.length / cur.wall > best.all.length / best.wall)
      best = cur;
  }
  const { all, perCat, wall } = best;
  all.sort((a, b) => a - b);
  const out = {
    bench: 'nlpjs',
    version: require('node-nlp/package.json').version,
    node: process.version,
    docs,
    intents,
    train_ms: trainNs / 1e6,
    questions: qs.length,
    rounds,
    calls: all.length,
    wall_s: wall,
    qps: all.length / wall,
    median_ns: pct(all, 50),
    p90_ns: pct(all, 90),
    p99_ns: pct(all, 99),
    mean_ns: all.reduce((a, b) => a + b, 0) / all.length,
    first_pass_mean_ns: firstPassNs / qs.length,
    rss_bytes: process.memoryUsage().rss,
    sink,
  };
  console.log(JSON.stringify(out));
  for (const [cat, v] of perCat) {
    v.sort((a, b) => a - b);
    console.log(JSON.stringify({ bench: 'nlpjs_category', category: cat,
      calls: v.length, median_ns: pct(v, 50), p99_ns: pct(v, 99) }));
  }
}

async function answer(intentsPath, mapPath) {
  const { manager } = await train(intentsPath);
  const render = makeRender(JSON.parse(fs.readFileSync(mapPath, 'utf8')));
  const input = fs.readFileSync(0, 'utf8').split('\n');
  if (input.length && input[input.length - 1] === '') input.pop();
  const out = [];
  for (const q of input) {
    const line = q.replace(/\r$/, '');
    out.push(line.trim() ? render(await manager.process('en', line))
                         : render({ intent: 'None', score: 1 }));
  }
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'bench' && args.length >= 3) {
    await bench(args[0], args[1], args[2], Number(args[3] || 3));
  } else if (mode === 'answer' && args.length === 2) {
    await answer(args[0], args[1]);
  } else {
    console.error('usage: nlpjs_bench.js bench INTENTS MAP QUESTIONS [S]\n' +
                  '       nlpjs_bench.js answer INTENTS MAP < questions');
    process.exit(2);
  }
}

main().catch((e) => {
  console.error(`nlpjs_bench.js: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
