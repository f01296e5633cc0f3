// The API explorer as a person uses it, in Debian's Chromium: the page opens
// from the gateway alone, shows the schema's documentation and the explorer
// plugin, runs the enqueue example, and follows the new case live. Every
// request the page makes must go to the gateway, and nothing may break the
// page's Content-Security-Policy. Screenshots go to test-output/screenshots/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';
import { assetPath } from '../../src/http/explorer-assets.js';
import { EXAMPLE_DATA, EXAMPLE_DATA_TAB } from '../../src/http/explorer-examples.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** Debian's Chromium; CHROMIUM_PATH names another build (e.g. on a developer's Mac). */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'screenshots');
const present = existsSync(CHROMIUM);
/** How long the page may take to show something: it parses a 5 MB bundle, on a busy machine too. */
const UI_TIMEOUT = 20_000;
const MISSING = `Chromium is not installed at ${CHROMIUM} (Debian: apt-get install chromium)`;

// Skipped where Chromium is missing, except on CI, where the browser test must run.
if (!present && process.env['CI']) {
  describe('the explorer in a browser', () => {
    it('needs Chromium on CI', () => {
      throw new Error(MISSING);
    });
  });
} else if (!present) {
  console.warn(`test/browser/explorer.test.ts skipped: ${MISSING}`);
}

/** An editor's text as drawn (Monaco draws only the lines in view, and spaces as no-break spaces). */
const editorText = async (page: Page, editor: string) =>
  (await page.locator(`${editor} .view-lines`).first().innerText()).replaceAll('\u00a0', ' ');

const responseText = (page: Page) => editorText(page, '.graphiql-response');

/** POSTs an operation to the gateway, as another client would, and returns its data. */
async function post(url: string, query: string, variables: unknown = {}): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  expect(body.errors ?? []).toEqual([]);
  return body.data ?? {};
}

interface Visit {
  readonly page: Page;
  /** Every URL the page and its workers asked for, WebSockets included. */
  readonly requested: string[];
  /** Console errors and uncaught exceptions, Content-Security-Policy violations among them. */
  readonly problems: string[];
}

describe.skipIf(!present)(`the explorer in Chromium${present ? '' : ` (skipped: ${MISSING})`}`, () => {
  let t: TestGateway | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    t = await startTestGateway();
    // What the examples name, made by the example data tab's own mutation.
    await post(t.gateway.url, EXAMPLE_DATA_TAB.query);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await browser?.close();
    await t?.stop();
  });

  /** Opens the explorer in a fresh profile (no stored tabs), as a first visitor. */
  async function visit(): Promise<Visit> {
    if (!browser || !t) throw new Error('the browser and the gateway start before the tests');
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      // The test pastes variables, as a person would.
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    contexts.push(context);
    const requested: string[] = [];
    const problems: string[] = [];
    context.on('request', (request) => requested.push(request.url()));
    const page = await context.newPage();
    page.on('websocket', (socket) => requested.push(socket.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(t.gateway.url);
    return { page, requested, problems };
  }

  /** Only the gateway was asked for anything, and the page logged no error. */
  function expectSelfContained({ requested, problems }: Visit, expected: readonly string[]): void {
    const origin = new URL(t?.gateway.url ?? '').host;
    for (const url of requested) expect(url).toMatch(new RegExp(`^(http|ws)://${origin.replaceAll('.', '\\.')}/`));
    for (const path of expected) expect(requested).toContain(new URL(path, `http://${origin}`).href);
    expect(problems).toEqual([]);
  }

  it('opens from the gateway alone, with the schema documentation and the explorer plugin', async () => {
    const session = await visit();
    const { page } = session;
    // The documentation lists the root types once introspection has answered.
    const docs = page.locator('.graphiql-doc-explorer');
    await expect.poll(() => docs.innerText(), { timeout: UI_TIMEOUT }).toMatch(/mutation:\s*Mutation/);
    expect(await docs.innerText()).toMatch(/subscription:\s*Subscription/);
    // The example tabs, the first one open.
    expect(await page.locator('.graphiql-tab-button').allInnerTexts()).toEqual([
      'EnqueueCase',
      'CallNext',
      'FollowCase',
      'CreateExampleData',
    ]);
    await expect
      .poll(() => editorText(page, '.graphiql-query-editor'), { timeout: UI_TIMEOUT })
      .toContain('enqueueCase(input: $input)');
    await page.screenshot({ path: join(SCREENSHOTS, 'explorer-docs.png') });

    await page.locator('button[aria-label="Show GraphiQL Explorer"]').click();
    // It shows the open operation's fields, ticked, with their arguments.
    await expect
      .poll(() => page.locator('.graphiql-plugin').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/mutation[\s\S]*enqueueCase\s+input\*: \$input/);
    await page.screenshot({ path: join(SCREENSHOTS, 'explorer-plugin.png') });

    // The editors' language workers, from the gateway too.
    expectSelfContained(session, [
      '/graphql',
      assetPath('graphiql.css'),
      assetPath('yoga-graphiql.umd.js'),
      assetPath('monacoeditorwork/graphql.worker..bundle.js'),
      assetPath('monacoeditorwork/json.worker.bundle.js'),
    ]);
  });

  it('runs the enqueue example, then follows the new case live with the kiosk example', async () => {
    const session = await visit();
    const { page } = session;
    await expect
      .poll(() => editorText(page, '.graphiql-query-editor'), { timeout: UI_TIMEOUT })
      .toContain('enqueueCase(input: $input)');
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"caseId": \d+/);
    const enqueued = await responseText(page);
    const caseId = Number(/"caseId": (\d+)/.exec(enqueued)?.[1]);
    expect(enqueued).toContain('"status": "WAITING"');
    // The case is stored as the pane says.
    const stored = await post(t?.gateway.url ?? '', 'query ($id: Int!) { case(id: $id) { id status } }', {
      id: caseId,
    });
    expect(stored['case']).toEqual({ id: caseId, status: 'WAITING' });
    await page.screenshot({ path: join(SCREENSHOTS, 'explorer-enqueue.png') });

    // The kiosk tab. Chosen from the keyboard: the tabs can be dragged, and a
    // synthetic click on one can start a drag instead of selecting it.
    await page.locator('.graphiql-tab-button', { hasText: 'FollowCase' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => editorText(page, '.graphiql-query-editor'), { timeout: UI_TIMEOUT })
      .toContain('caseChanged(caseId: $caseId)');
    // The new case into the variables.
    // The editor applies an insert a moment later, and on a busy machine a
    // keystroke can land before it has focus: inserted until it shows, 3 tries.
    const variables = async (): Promise<unknown> => {
      try {
        return JSON.parse(await editorText(page, '.graphiql-editor-tool')) as unknown;
      } catch {
        return undefined;
      }
    };
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await page.locator('.graphiql-editor-tool .graphiql-editor').first().click();
      await page.keyboard.press('ControlOrMeta+A');
      // Inserted in one input event (no clipboard: it needs a focused document, which a loaded
      // machine does not always give in time). The editor closes the first bracket and quote as
      // if typed; what it added after the cursor is deleted.
      await page.keyboard.insertText(JSON.stringify({ caseId }));
      await page.keyboard.press('Shift+ControlOrMeta+End');
      await page.keyboard.press('Delete');
      const pasted = await expect
        .poll(variables, { timeout: UI_TIMEOUT / 3 })
        .toEqual({ caseId })
        .then(
          () => true,
          () => false,
        );
      if (pasted) break;
    }
    expect(await variables()).toEqual({ caseId });
    await page.locator('.graphiql-execute-button').click();
    // The state at once (a CaseUpdate, which the enqueue's answer is not): waiting, first in the queue.
    await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"caseChanged"/);
    expect(await responseText(page)).toMatch(
      new RegExp(
        `"caseId": ${caseId},[\\s\\S]*"status": "WAITING",[\\s\\S]*"position": 1,[\\s\\S]*"lastAction": "ENQUEUE"`,
      ),
    );
    // An agent calls it: the update arrives in the pane.
    await post(
      t?.gateway.url ?? '',
      'mutation ($ids: [Int!]!) { callNext(input: { serviceIds: $ids, agent: "desk-9" }) { id } }',
      { ids: [EXAMPLE_DATA.serviceId] },
    );
    await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"status": "IN_SERVICE"/);
    expect(await responseText(page)).toMatch(
      /"position": null,[\s\S]*"lastAction": "CALL_NEXT",\s*"lastAgent": "desk-9"/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'explorer-subscription.png') });

    expectSelfContained(session, ['/graphql', `ws://${new URL(t?.gateway.url ?? '').host}/graphql`]);
  });
});
