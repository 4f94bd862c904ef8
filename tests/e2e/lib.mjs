// Shared by the browser scenarios: launches Debian's Chromium through playwright-core with a
// fresh profile, names each step on stdout (the Rust test checks them), saves screenshots, and
// turns page errors into failures.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const baseUrl = process.argv[2].replace(/\/$/, '');
export const args = JSON.parse(process.argv[3] || '{}');
const shots = process.env.SCREENSHOT_DIR;

export function step(name) { console.log(`STEP ${name}`); }

/** A browser with a throwaway profile; `close()` removes the profile. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'tiketi-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timezoneId: 'Asia/Seoul',
  });
  context.setDefaultTimeout(15000);
  return { context, close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); } };
}

/** Fails the scenario on an uncaught page error or a console error; logs both. */
export function watch(page, label) {
  page.on('pageerror', (e) => { console.error(`[${label}] page error: ${e.message}`); process.exitCode = 1; });
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) console.error(`[${label}] console: ${m.text()}`); });
  page.on('dialog', (d) => d.accept());
}

/** Saves `<name>.png` in the screenshot folder (viewport only: small files). */
export async function shot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`) });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (from npm) on the page as it is now and fails the scenario on any serious or
 * critical violation, printing each with the elements it found. The script goes in through the
 * debugging protocol (`evaluate`), so the server's content security policy does not block it.
 * `label` names the screen (and viewport) in the output.
 */
export async function axeCheck(page, label) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), why: n.failureSummary })) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const size = page.viewportSize();
  const where = `${label} @${size ? `${size.width}x${size.height}` : '?'}`;
  for (const v of violations) {
    if (!bad.includes(v)) console.log(`axe ${where}: minor ${v.impact} ${v.id} (${v.nodes.length})`);
  }
  if (bad.length) {
    const text = bad.map((v) => `  ${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 8).map((n) => `    ${n.target}\n      ${String(n.why).replace(/\n/g, ' ')}`).join('\n')}`).join('\n');
    throw new Error(`axe found ${bad.length} serious or critical violation(s) on ${where}:\n${text}`);
  }
  console.log(`AXE ${where}: 0 serious or critical`);
}

/** A JSON call to the server outside the browser (what another fan or an operator does). */
export async function call(method, path, token, body) {
  const res = await fetch(`${baseUrl}${path}`, {
    method, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Runs the scenario; any failure prints its reason and exits non-zero at once (browsers left
 * open by a failed step would otherwise keep node alive until the Rust side's timeout, which
 * then reports a hang instead of the reason).
 */
export async function main(fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAILED: ${e.stack || e}`);
    process.exitCode = 1;
  } finally {
    process.exit(process.exitCode ?? 0);
  }
}
