// Drives one Firefox for the Python tests (tests/firefox.py), over WebDriver BiDi with
// puppeteer-core. It reads one JSON command a line on stdin and writes one JSON line on
// stdout per answer ({id, value} or {id, error}) and per thing a page says
// ({event: 'console' | 'pageerror', page, ...}). Each person is a browser context of their
// own (cookies, storage and permissions apart) with a window of their own: a tab behind
// another would be hidden, and a hidden page gets no video frames.
//
//   node driver.mjs    then   {"id": 1, "op": "launch", "executablePath": "/usr/bin/firefox-esr"}
//
// Page code comes as source text, run as Playwright runs it: a function is called with
// `arg`, anything else is an expression.

import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

let browser = null;
const pages = new Map();  // id -> { page, context }
let nextPageId = 1;

function emit(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function pageOf(id) {
  const entry = pages.get(id);
  if (!entry) throw new Error(`no page ${id}`);
  return entry.page;
}

// Runs in the page: `source` is a function (called with `arg`) or an expression.
function runInPage(source, arg) {
  const indirectEval = eval;
  let value;
  try {
    value = indirectEval(`(${source}\n)`);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    value = indirectEval(source);  // statements, not an expression
  }
  return typeof value === 'function' ? value(arg) : value;
}

// Runs in the page: until `source` (as in runInPage) gives a truthy value, checked every
// `interval` ms, one check at a time; it rejects with a TimeoutError after `timeout` ms.
async function waitInPage(run, source, arg, timeout, interval) {
  const deadline = performance.now() + timeout;
  const evaluate = new Function(`return (${run})`)();
  for (;;) {
    const value = await evaluate(source, arg);
    if (value) return value;
    if (performance.now() > deadline) {
      const error = new Error(`waited ${timeout} ms for ${source}`);
      error.name = 'TimeoutError';
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

// Runs in the page: the button a person would see as `name`, once it is visible and enabled.
function buttonNamed(name) {
  return [...document.querySelectorAll('button')].find((button) =>
    (button.getAttribute('aria-label') ?? button.textContent.trim()) === name
    && !button.disabled && button.checkVisibility());
}

function waitFor(page, source, arg, timeout, interval = 20) {
  return page.evaluateHandle(waitInPage, runInPage.toString(), source, arg, timeout, interval);
}

const ops = {
  async launch({ executablePath, headless = true, prefs = {} }) {
    browser = await puppeteer.launch({
      browser: 'firefox', executablePath, headless,
      extraPrefsFirefox: prefs,
      // The driver's own stdout carries the protocol: Firefox's output goes to stderr.
      dumpio: false,
    });
    return { version: await browser.version() };
  },

  async newPage({ initScripts = [] }) {
    const context = await browser.createBrowserContext();
    const page = await context.newPage({ type: 'window' });
    const id = nextPageId++;
    pages.set(id, { page, context });
    for (const source of initScripts) await page.evaluateOnNewDocument(source);
    page.on('console', (message) => emit({
      event: 'console', page: id, type: message.type(), text: message.text(),
    }));
    page.on('pageerror', (error) => emit({
      event: 'pageerror', page: id, text: `${error.name}: ${error.message}`,
    }));
    return id;
  },

  async addInitScript({ page, source }) {
    await pageOf(page).evaluateOnNewDocument(source);
  },

  async goto({ page, url, timeout }) {
    await pageOf(page).goto(url, { timeout, waitUntil: 'load' });
  },

  async reload({ page, timeout }) {
    await pageOf(page).reload({ timeout, waitUntil: 'load' });
  },

  url({ page }) {
    return pageOf(page).url();
  },

  evaluate({ page, source, arg }) {
    return pageOf(page).evaluate(runInPage, source, arg);
  },

  async waitForFunction({ page, source, arg, timeout, interval }) {
    const handle = await waitFor(pageOf(page), source, arg, timeout, interval);
    await handle.dispose();
  },

  // A real click (pointer events over BiDi) on the button named `name`, as a person clicks
  // it: it waits until the button is there, visible and enabled.
  async clickButton({ page, name, timeout }) {
    const current = pageOf(page);
    const handle = await waitFor(current, buttonNamed.toString(), name, timeout);
    try {
      await handle.asElement().click();
    } finally {
      await handle.dispose();
    }
  },

  async fill({ page, selector, value, timeout }) {
    await pageOf(page).locator(selector).setTimeout(timeout).fill(value);
  },

  async press({ page, selector, key, timeout }) {
    const current = pageOf(page);
    await current.locator(selector).setTimeout(timeout).wait();
    await current.focus(selector);
    await current.keyboard.press(key);
  },

  async closePage({ page }) {
    const entry = pages.get(page);
    pages.delete(page);
    await entry?.context.close();
  },

  async close() {
    await browser?.close();
    browser = null;
  },
};

async function handle(line) {
  let id = null;
  try {
    const command = JSON.parse(line);
    id = command.id;
    const operation = ops[command.op];
    if (!operation) throw new Error(`unknown op ${command.op}`);
    const value = await operation(command);
    emit({ id, value: value ?? null });
  } catch (error) {
    emit({ id, error: { name: error.name, message: error.message } });
  }
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => { handle(line); });
// The Python side went away (stdin closed): take Firefox down with us.
input.on('close', async () => {
  await browser?.close().catch(() => {});
  process.exit(0);
});
