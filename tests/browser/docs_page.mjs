#!/usr/bin/env node
// Drive a FastAPI-style /docs (Swagger UI) page in headless Chromium and check it.
//
//   node docs_page.mjs --url http://127.0.0.1:PORT/docs --expect-operations N --screenshot out.png \
//       [--try "GET /items/{item_id}" --param item_id=5 [--param query:q=abc] [--body JSON] --expect-status 200]
//
// See README.md for all options. Exit codes: 0 pass, 1 check failed, 2 usage error, 3 overall timeout.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const USAGE = `usage: node docs_page.mjs --url URL --expect-operations N --screenshot OUT.png
         [--try "METHOD /path" [--param [in:]name=value]... [--body JSON] --expect-status CODE]
         [--timeout MS (per step, default 30000)] [--total-timeout MS (default 180000)]
         [--chromium PATH (default $CHROMIUM_PATH or /usr/bin/chromium)] [--allow-external]`;

class UsageError extends Error {}
class CheckFailed extends Error {}

function parseArgs(argv) {
  const o = {
    params: [],
    timeout: 30000,
    totalTimeout: 180000,
    chromium: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    allowExternal: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    const int = (name) => {
      const v = val();
      if (!/^\d+$/.test(v)) throw new UsageError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    switch (a) {
      case '--url': o.url = val(); break;
      case '--expect-operations': o.expectOperations = int(a); break;
      case '--screenshot': o.screenshot = val(); break;
      case '--try': o.try = val(); break;
      case '--param': o.params.push(val()); break;
      case '--body': o.body = val(); break;
      case '--expect-status': o.expectStatus = int(a); break;
      case '--timeout': o.timeout = int(a); break;
      case '--total-timeout': o.totalTimeout = int(a); break;
      case '--chromium': o.chromium = val(); break;
      case '--allow-external': o.allowExternal = true; break;
      case '-h': case '--help': console.log(USAGE); process.exit(0);
      default: throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  if (!o.url) throw new UsageError('--url is required');
  if (o.expectOperations === undefined) throw new UsageError('--expect-operations is required');
  if (!o.screenshot) throw new UsageError('--screenshot is required');
  if (o.try !== undefined) {
    const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(o.try);
    if (!m) throw new UsageError(`--try must look like "GET /items/{item_id}", got ${JSON.stringify(o.try)}`);
    o.tryMethod = m[1].toUpperCase();
    o.tryPath = m[2];
    if (o.expectStatus === undefined) throw new UsageError('--try needs --expect-status');
  } else if (o.params.length || o.body !== undefined || o.expectStatus !== undefined) {
    throw new UsageError('--param/--body/--expect-status only make sense with --try');
  }
  o.params = o.params.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param must be name=value, got ${JSON.stringify(p)}`);
    let name = p.slice(0, eq);
    let where;
    const m = /^(path|query|header|cookie):(.+)$/.exec(name);
    if (m) { where = m[1]; name = m[2]; }
    return { name, in: where, value: p.slice(eq + 1) };
  });
  if (o.body !== undefined) {
    try { JSON.parse(o.body); } catch (e) { throw new UsageError(`--body is not valid JSON: ${e.message}`); }
  }
  return o;
}

function isLoopbackHost(host) {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

let aborted = false; // set by the overall watchdog; silences the abandoned run
const log = (...a) => { if (!aborted) console.log(...a); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- page diagnostics, reported when something fails ---------------------------------------
const diag = { pageErrors: [], consoleErrors: [], failedRequests: [], badResponses: [], blocked: [] };
function diagnostics() {
  const out = [];
  const sect = (title, items) => {
    if (items.length) out.push(`  ${title}:`, ...items.slice(0, 20).map((x) => `    ${x}`));
  };
  sect('blocked non-loopback requests (point the docs page at the local asset server)', diag.blocked);
  sect('failed requests', diag.failedRequests);
  sect('HTTP error responses', diag.badResponses);
  sect('page errors', diag.pageErrors);
  sect('console errors', diag.consoleErrors);
  return out.length ? ['diagnostics:', ...out].join('\n') : '';
}

async function step(name, timeout, fn) {
  let timer;
  const t = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new CheckFailed(`step "${name}" timed out after ${timeout} ms`)), timeout);
  });
  try {
    return await Promise.race([fn(), t]);
  } catch (e) {
    if (e instanceof CheckFailed || e instanceof UsageError) throw e;
    // Playwright errors (incl. its own timeouts) become check failures with step context.
    throw new CheckFailed(`step "${name}" failed: ${String(e && e.message || e).split('\n')[0]}`);
  } finally {
    clearTimeout(timer);
  }
}

async function listOperations(page) {
  return page.$$eval('.swagger-ui .opblock', (els) => els.map((el) => {
    const pathEl = el.querySelector('.opblock-summary-path, .opblock-summary-path__deprecated');
    const p = (pathEl && (pathEl.getAttribute('data-path') || pathEl.textContent) || '').replace(/\u200b/g, '').trim();
    const m = el.querySelector('.opblock-summary-method');
    const d = el.querySelector('.opblock-summary-description');
    return {
      id: el.id,
      method: (m ? m.textContent : '').trim().toUpperCase(),
      path: p,
      summary: d ? d.textContent.trim() : '',
    };
  }));
}

async function takeScreenshot(page, file, timeout) {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  await page.screenshot({ path: file, fullPage: true, timeout });
}

async function run(o, state) {
  if (!fs.existsSync(o.chromium)) {
    throw new CheckFailed(`chromium not found at ${o.chromium} (apt-get install -y chromium, or pass --chromium PATH)`);
  }
  const u = new URL(o.url);
  if (!o.allowExternal && !isLoopbackHost(u.hostname)) {
    throw new UsageError(`--url must be a loopback address, got ${u.hostname}`);
  }

  state.browser = await step('launch chromium', o.timeout, () => chromium.launch({
    executablePath: o.chromium,
    headless: true,
    timeout: o.timeout,
    // Playwright passes --headless, --no-sandbox (chromiumSandbox defaults to false) and a fresh
    // temporary --user-data-dir itself; the rest keeps Chromium off the network.
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  }));
  const context = await state.browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(o.timeout);
  context.setDefaultNavigationTimeout(o.timeout);
  if (!o.allowExternal) {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      let host = null;
      try { const ru = new URL(url); if (/^(https?|wss?):$/.test(ru.protocol)) host = ru.hostname; } catch { /* ignore */ }
      if (host !== null && !isLoopbackHost(host)) {
        diag.blocked.push(url);
        return route.abort('blockedbyclient');
      }
      return route.continue();
    });
  }
  const page = await context.newPage();
  state.page = page;
  page.on('pageerror', (e) => diag.pageErrors.push(String(e && e.message || e)));
  page.on('console', (m) => { if (m.type() === 'error') diag.consoleErrors.push(m.text()); });
  page.on('requestfailed', (r) => {
    const f = r.failure();
    if (!(f && f.errorText.includes('BLOCKED_BY_CLIENT'))) diag.failedRequests.push(`${r.method()} ${r.url()}: ${f ? f.errorText : '?'}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) diag.badResponses.push(`${r.status()} ${r.request().method()} ${r.url()}`); });

  // 1. load the page
  const resp = await step('load page', o.timeout, () => page.goto(o.url, { waitUntil: 'load', timeout: o.timeout }));
  if (!resp) throw new CheckFailed(`no response for ${o.url}`);
  if (!resp.ok()) throw new CheckFailed(`GET ${o.url} returned HTTP ${resp.status()}`);
  log(`page: ${o.url} (HTTP ${resp.status()}, title ${JSON.stringify(await page.title())})`);

  // 2. wait for Swagger UI to finish rendering the spec (or to show its error box)
  await step('wait for Swagger UI to render', o.timeout, async () => {
    try {
      await page.waitForFunction(() => {
        const ui = document.querySelector('.swagger-ui');
        if (!ui || ui.querySelector('.loading-container')) return false;
        return !!ui.querySelector('.information-container .info, .errors-wrapper, .opblock');
      }, null, { timeout: o.timeout, polling: 100 });
    } catch (e) {
      const hasBundle = await page.evaluate(() => typeof window.SwaggerUIBundle).catch(() => '?');
      throw new CheckFailed(`Swagger UI did not render within ${o.timeout} ms (window.SwaggerUIBundle is ${hasBundle}; ` +
        'is swagger-ui-bundle.js reachable and is the OpenAPI URL valid?)');
    }
  });
  const uiError = await page.evaluate(() => {
    const w = document.querySelector('.swagger-ui .errors-wrapper');
    const info = document.querySelector('.swagger-ui .information-container .info');
    if (w) return w.innerText.trim();
    if (!info && document.querySelector('.swagger-ui .loading-container')) return null;
    const t = document.querySelector('.swagger-ui')?.innerText || '';
    return /Failed to load API definition/i.test(t) ? t.trim().slice(0, 500) : null;
  });
  if (uiError) throw new CheckFailed(`Swagger UI reports an error:\n${uiError}`);

  // 3. count operations, once the count has been stable for a moment
  const ops = await step('count operations', o.timeout, async () => {
    let prev = -1; let stable = 0; let cur = [];
    while (stable < 3) {
      cur = await listOperations(page);
      stable = cur.length === prev ? stable + 1 : 0;
      prev = cur.length;
      await sleep(150);
    }
    return cur;
  });
  const title = await page.evaluate(() => document.querySelector('.swagger-ui .info .title')?.innerText.trim() || '');
  if (title) log(`api: ${title.replace(/\s+/g, ' ')}`);
  log(`operations (${ops.length}):`);
  for (const op of ops) log(`  ${op.method.padEnd(7)} ${op.path}${op.summary ? `  — ${op.summary}` : ''}`);

  await step('screenshot', o.timeout, () => takeScreenshot(page, o.screenshot, o.timeout));
  log(`screenshot: ${o.screenshot}`);

  if (ops.length !== o.expectOperations) {
    throw new CheckFailed(`expected ${o.expectOperations} operations (.opblock), found ${ops.length}`);
  }
  log(`ok: ${ops.length} operations`);

  if (o.try === undefined) return;

  // 4. try an operation out
  log(`try: ${o.tryMethod} ${o.tryPath}`);
  const target = ops.find((op) => op.method === o.tryMethod && op.path === o.tryPath);
  if (!target) throw new CheckFailed(`operation "${o.tryMethod} ${o.tryPath}" is not on the page`);
  const op = target.id ? page.locator(`[id="${target.id}"]`) : page.locator('.swagger-ui .opblock').nth(ops.indexOf(target));

  await step('expand operation', o.timeout, async () => {
    if (!(await op.getAttribute('class')).split(/\s+/).includes('is-open')) {
      await op.locator('.opblock-summary').first().click();
    }
    await op.locator('.opblock-body').first().waitFor({ state: 'visible' });
  });

  await step('click "Try it out"', o.timeout, async () => {
    const btn = op.locator('button.try-out__btn').first();
    await btn.waitFor({ state: 'visible' });
    if (/try it out/i.test(await btn.innerText())) await btn.click();
    await op.locator('button.execute').first().waitFor({ state: 'visible' });
  });

  for (const p of o.params) {
    await step(`fill parameter ${p.name}`, o.timeout, async () => {
      const sel = `[data-param-name="${p.name.replace(/"/g, '\\"')}"]${p.in ? `[data-param-in="${p.in}"]` : ''}`;
      const rows = op.locator(`.parameters ${sel}`);
      const n = await rows.count();
      if (n === 0) {
        const names = await op.locator('.parameters [data-param-name]').evaluateAll(
          (els) => els.map((e) => `${e.getAttribute('data-param-in')}:${e.getAttribute('data-param-name')}`));
        throw new CheckFailed(`parameter ${p.in ? `${p.in}:` : ''}${p.name} not found; this operation has: ${names.join(', ') || '(none)'}`);
      }
      if (n > 1) throw new CheckFailed(`parameter ${p.name} is ambiguous (${n} rows); prefix it with path:/query:/header:/cookie:`);
      const control = rows.first().locator('.parameters-col_description').locator('input:not([type=file]), select, textarea').first();
      await control.waitFor({ state: 'visible' });
      const tag = await control.evaluate((el) => el.tagName.toLowerCase());
      if (tag === 'select') await control.selectOption(p.value);
      else await control.fill(p.value);
      log(`  param ${p.in ? `${p.in}:` : ''}${p.name} = ${JSON.stringify(p.value)}`);
    });
  }

  if (o.body !== undefined) {
    await step('fill request body', o.timeout, async () => {
      const ta = op.locator('textarea.body-param__text').first();
      if ((await ta.count()) === 0) throw new CheckFailed('--body given but this operation shows no JSON request-body editor');
      await ta.fill(o.body);
      log(`  body = ${o.body}`);
    });
  }

  const netResp = await step('click "Execute" and wait for the response', o.timeout, async () => {
    const waitResp = page.waitForResponse((r) => ['fetch', 'xhr'].includes(r.request().resourceType()), { timeout: o.timeout })
      .catch(() => null);
    await op.locator('button.execute').first().click();
    // Either a live response shows up, or Swagger UI refuses to send (client-side validation).
    const statusCell = op.locator('.live-responses-table .response .response-col_status');
    const refused = op.locator('.validation-errors, .parameters .invalid, .body-param .invalid');
    await statusCell.or(refused).first().waitFor({ state: 'visible' });
    if ((await statusCell.count()) === 0) {
      const why = await op.evaluate((el) => {
        const out = [];
        for (const li of el.querySelectorAll('.validation-errors li')) out.push(li.innerText.trim());
        for (const inv of el.querySelectorAll('.parameters .invalid')) {
          const row = inv.closest('[data-param-name]');
          if (row) out.push(`invalid ${row.getAttribute('data-param-in')}:${row.getAttribute('data-param-name')}`);
        }
        for (const li of el.querySelectorAll('.parameters .validation-errors li, .parameters ul li')) out.push(li.innerText.trim());
        return [...new Set(out.filter(Boolean))];
      });
      throw new CheckFailed(`Swagger UI did not send the request (client-side validation): ${why.join('; ') || 'see screenshot'}`);
    }
    return waitResp;
  });

  // The shown request URL and the live response as Swagger UI renders it.
  const shown = await op.evaluate((el) => {
    const live = el.querySelector('.live-responses-table');
    const status = live.querySelector('.response .response-col_status');
    const statusText = status ? (status.firstChild && status.firstChild.nodeType === 3 ? status.firstChild.textContent : status.innerText) : '';
    const desc = live.querySelector('.response .response-col_description');
    let body = null;
    for (const h of desc ? desc.querySelectorAll('h5') : []) {
      if (/response body/i.test(h.textContent)) {
        const code = h.parentElement.querySelector('pre, code');
        if (code) body = code.innerText;
      }
    }
    const reqUrl = el.querySelector('.request-url pre');
    return {
      status: statusText.trim(),
      body,
      description: desc ? desc.innerText.trim().slice(0, 1000) : '',
      requestUrl: reqUrl ? reqUrl.innerText.trim() : null,
    };
  });
  if (shown.requestUrl) log(`  request: ${o.tryMethod} ${shown.requestUrl}`);
  log(`  shown status: ${shown.status || '(none)'}`);
  log(`  response body: ${shown.body !== null ? shown.body : '(none shown)'}`);
  if (netResp) log(`  network: HTTP ${netResp.status()} from ${netResp.url()}`);

  await step('screenshot', o.timeout, () => takeScreenshot(page, o.screenshot, o.timeout));
  log(`screenshot (after execute): ${o.screenshot}`);

  if (!/^\d{3}$/.test(shown.status)) {
    throw new CheckFailed(`Swagger UI shows no HTTP status (${JSON.stringify(shown.status)}): ${shown.description}`);
  }
  const got = Number(shown.status);
  if (netResp && netResp.status() !== got) {
    throw new CheckFailed(`Swagger UI shows ${got} but the network response was ${netResp.status()}`);
  }
  if (got !== o.expectStatus) throw new CheckFailed(`expected status ${o.expectStatus}, Swagger UI shows ${got}`);
  log(`ok: status ${got}`);
}

async function closeBrowser(state) {
  if (!state.browser) return;
  const b = state.browser;
  state.browser = null;
  await Promise.race([b.close().catch(() => {}), sleep(10000)]);
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${e.message}\n${USAGE}`);
    return 2;
  }
  const state = { browser: null, page: null };
  let watchdog;
  const overall = new Promise((resolve) => {
    watchdog = setTimeout(() => resolve('watchdog'), o.totalTimeout);
  });
  let code = 0;
  try {
    const r = await Promise.race([run(o, state).then(() => 'done'), overall]);
    if (r === 'watchdog') {
      aborted = true;
      console.error(`FAIL: overall timeout of ${o.totalTimeout} ms exceeded`);
      code = 3;
    } else {
      log('PASS');
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n${USAGE}`);
      code = 2;
    } else {
      console.error(`FAIL: ${e instanceof CheckFailed ? e.message : (e && e.stack) || e}`);
      code = 1;
    }
  } finally {
    clearTimeout(watchdog);
  }
  if (code !== 0) {
    const d = diagnostics();
    if (d) console.error(d);
    if (state.page && code !== 2) {
      // best effort: leave a screenshot of the failing state for debugging
      await Promise.race([takeScreenshot(state.page, o.screenshot, 5000).then(
        () => console.error(`screenshot of failing page: ${o.screenshot}`), () => {}), sleep(6000)]);
    }
  }
  await closeBrowser(state);
  return code;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); });
