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

// `source` is a function (called with `arg`), an expression or statements, as text. It is
// evaluated by WebDriver BiDi itself (script.evaluate, script.callFunction), never by an
// eval in the page: the app's Content-Security-Policy forbids that, and rightly.
async function runIn(page, source, arg) {
  let handle;
  try {
    handle = await page.evaluateHandle(`(${source}\n)`);
  } catch (error) {
    if (!/SyntaxError/.test(String(error))) throw error;
    return page.evaluate(source);  // statements, not an expression
  }
  try {
    return await handle.evaluate((value, given) => (typeof value === 'function' ? value(given) : value), arg);
  } finally {
    await handle.dispose();
  }
}

// Runs in the page: the button a person would see as `name`, once it is visible and enabled.
function buttonNamed(name) {
  return [...document.querySelectorAll('button')].find((button) =>
    (button.getAttribute('aria-label') ?? button.textContent.trim()) === name
    && !button.disabled && button.checkVisibility());
}

// Until `source` (as in runIn) gives a truthy value, checked every `interval` ms from here,
// one check at a time; a TimeoutError after `timeout` ms.
async function waitFor(page, source, arg, timeout, interval = 20) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await runIn(page, source, arg);
    if (value) return value;
    if (Date.now() > deadline) {
      const error = new Error(`waited ${timeout} ms for ${source}`);
      error.name = 'TimeoutError';
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
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
    return runIn(pageOf(page), source, arg);
  },

  async waitForFunction({ page, source, arg, timeout, interval }) {
    await waitFor(pageOf(page), source, arg, timeout, interval);
  },

  // A real click (pointer events over BiDi) on the button named `name`, as a person clicks
  // it: it waits until the button is there, visible and enabled.
  async clickButton({ page, name, timeout }) {
    const current = pageOf(page);
    const deadline = Date.now() + timeout;
    for (;;) {
      const handle = await current.evaluateHandle(buttonNamed, name);
      const button = handle.asElement();
      try {
        if (button) return await button.click();
      } finally {
        await handle.dispose();
      }
      if (Date.now() > deadline) {
        const error = new Error(`waited ${timeout} ms for a button named ${name}`);
        error.name = 'TimeoutError';
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
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
