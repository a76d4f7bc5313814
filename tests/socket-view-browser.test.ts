// scripts/socket-view.ts in a real browser: playwright-core drives Debian's
// headless Chromium to the page filtered to a `listen-only --backlog 2`
// port; two clients connect and the listener's card shows its accept queue
// holding 2 within 3 s; SIGUSR2 makes listen-only accept and the card shows
// them accepted, with both timeline events. A screenshot is saved in the
// test's temp folder (SOCKET_VIEW_SCREENSHOT=path copies it there too).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, needs, startScript, withDeadline, type ScriptProcess } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const withChromium = needs(test, 'chromium', fs.existsSync(CHROMIUM) ? undefined : 'no Chromium');

withChromium('the page shows an accept queue fill to 2 and drain into accepted, live', async () => {
  const { chromium } = await import('playwright-core');
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'socket-view-browser-'));
  const procs: ScriptProcess[] = [];
  const clients: net.Socket[] = [];
  let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    const listenOnly = startScript('listen-only', ['--port', '0', '--backlog', '2']);
    procs.push(listenOnly);
    const target = (await listenOnly.listening()).port;
    const view = startScript('socket-view', ['--port', '0', '--interval', '200']);
    procs.push(view);
    const viewPort = (await view.listening()).port;

    browser = await withDeadline(
      // A fresh --user-data-dir (playwright takes it as this argument).
      chromium.launchPersistentContext(path.join(temp, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          '--disable-sync',
        ],
        viewport: { width: 1100, height: 800 },
      }),
      30_000,
      'chromium start',
    );
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.goto(`http://127.0.0.1:${viewPort}/?port=${target}`, { timeout: 10_000 });
    const card = page.locator(`.card[data-port="${target}"]`);
    await card.waitFor({ timeout: 5000 }).catch(async (error) => {
      await page.screenshot({ path: path.join(temp, 'failed.png') }).catch(() => {});
      throw new Error(`${error.message}\npage errors: ${errors.join('\n')}\nstatus: ${await page.locator('#status').textContent()}`);
    });

    for (let i = 0; i < 2; i++) {
      const client = await connect(target);
      client.on('error', () => {});
      client.write(`hello ${i}\n`);
      clients.push(client);
    }
    const started = Date.now();
    // Runs in the page (a function: the page's CSP forbids evaluating strings; no DOM types here).
    const counts = ([port, accepted, queued]: [number, string, string]) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
      // No named inner function: tsx's keepNames would wrap it in __name, which the page lacks.
      const card = `.card[data-port="${port}"]`;
      const done = doc.querySelector(`${card} .accepted .count`)?.textContent;
      return (accepted === '*' || done === accepted) && doc.querySelector(`${card} .accept-queue .count`)?.textContent === queued;
    };
    await page.waitForFunction(counts, [target, '*', '2'] as [number, string, string], { timeout: 3000 });
    assert.ok(Date.now() - started <= 3000);
    assert.is(await card.locator('.accept-queue li').count(), 2);
    await page.screenshot({ path: path.join(temp, 'queued.png') });

    process.kill(listenOnly.pid, 'SIGUSR2');
    await page.waitForFunction(counts, [target, '2', '0'] as [number, string, string], { timeout: 3000 });
    const timeline = await page.locator('#timeline li').allTextContents();
    assert.is(timeline.filter((line) => line.includes(`-> :${target} entered the accept queue`)).length, 2, timeline.join('\n'));
    assert.is(timeline.filter((line) => line.includes(`-> :${target} accepted by ${listenOnly.pid}/`)).length, 2, timeline.join('\n'));
    const shot = path.join(temp, 'socket-view.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 1000);
    if (process.env.SOCKET_VIEW_SCREENSHOT) fs.copyFileSync(shot, process.env.SOCKET_VIEW_SCREENSHOT);
  } finally {
    for (const client of clients) client.destroy();
    await browser?.close().catch(() => {});
    for (const proc of procs) await proc.stop('SIGINT').catch(() => proc.child.kill('SIGKILL'));
    fs.rmSync(path.join(temp, 'profile'), { recursive: true, force: true });
  }
});

test.run();
