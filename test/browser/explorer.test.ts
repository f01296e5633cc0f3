// The API explorer as a person uses it, in Debian's Chromium: the page opens
// from the gateway alone, shows the schema's documentation and the explorer
// plugin, and on a new database runs its tabs in the order shown, from the
// one that creates the example data to Viewer, each answer with data and no
// errors (the subscription's first message, then its updates, in a window of
// its own, as a kiosk beside an agent's desk). On a gateway that requires
// credentials, the tabs run with the Headers pane's Authorization, the
// subscription's WebSocket included. Every request the page makes must go to
// the gateway, and nothing may break the page's Content-Security-Policy.
// Screenshots go to test-output/screenshots/; with UPDATE_DOCS_SCREENSHOTS=1
// those the docs show are also written to docs/screenshots/ (then commit them).
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';
import { assetPath } from '../../src/http/explorer-assets.js';
import { EXAMPLE_DATA, EXAMPLE_TABS } from '../../src/http/explorer-examples.js';
import { issueKey, type TestKey } from '../helpers/credentials.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** Debian's Chromium; CHROMIUM_PATH names another build (e.g. on a developer's Mac). */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'screenshots');
/** Where the docs' screenshots live: refreshed from this run when UPDATE_DOCS_SCREENSHOTS=1. */
const DOCS_SCREENSHOTS = join(PROJECT_ROOT, 'docs', 'screenshots');
const UPDATE_DOCS = process.env['UPDATE_DOCS_SCREENSHOTS'] === '1';
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

const QUERY_EDITOR = '.graphiql-query-editor';
// The pane under the query holds the variables editor, then the headers editor.
const VARIABLES_EDITOR = '.graphiql-editor-tool > .graphiql-editor:nth-child(1)';
const HEADERS_EDITOR = '.graphiql-editor-tool > .graphiql-editor:nth-child(2)';

/** An editor's text as drawn (Monaco draws only the lines in view, and spaces as no-break spaces). */
const editorText = async (page: Page, editor: string) =>
  (await page.locator(`${editor} .view-lines`).first().innerText()).replaceAll('\u00a0', ' ');

const responseText = (page: Page) => editorText(page, '.graphiql-response');

/** POSTs an operation to the gateway, as another client would, and returns its data. */
async function post(
  url: string,
  query: string,
  variables: unknown = {},
  authorization?: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  expect(body.errors ?? []).toEqual([]);
  return body.data ?? {};
}

const CALL_NEXT = 'mutation ($refs: [String!]) { callNext(input: { serviceExtRefs: $refs, agent: "desk-9" }) { id } }';

/** The tabs' names, in the order the explorer shows them: their first operation's. */
const TAB_NAMES = EXAMPLE_TABS.map((tab) => /^(?:mutation|query|subscription) (\w+)/m.exec(tab.query)?.[1] ?? '');

/** Saves a screenshot to test-output/screenshots/ and, for one the docs show, when asked, to docs/screenshots/. */
async function screenshot(page: Page, file: string, { docs = false } = {}): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, file) });
  if (docs && UPDATE_DOCS) copyFileSync(join(SCREENSHOTS, file), join(DOCS_SCREENSHOTS, file));
}

/**
 * Presses the play button for `operation` (from its menu when the tab holds several). Just after
 * a tab opens, GraphiQL may still hold the previous tab's operation name ("Cannot infer
 * operation"), for a moment: then it presses again, as a person would.
 */
async function execute(page: Page, operation: string): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const button = page.locator('.graphiql-execute-button');
    const menu = (await button.getAttribute('aria-haspopup')) === 'menu';
    await button.click();
    if (menu) await page.getByRole('menuitem', { name: operation, exact: true }).click();
    const stale = await expect
      .poll(() => responseText(page), { timeout: 1_500 })
      .toContain('Cannot infer operation')
      .then(
        () => true,
        () => false,
      );
    if (!stale) return;
  }
}

/**
 * Runs the open tab's operation `operation` with the play button (from its menu when the tab
 * holds several) and returns the gateway's answer, checked to have data and no errors.
 */
async function runOpenTab(page: Page, operation: string): Promise<Record<string, unknown>> {
  const answered = page.waitForResponse(
    (response: Response) =>
      new URL(response.url()).pathname === '/graphql' &&
      response.request().method() === 'POST' &&
      (response.request().postDataJSON() as { operationName?: unknown } | null)?.operationName === operation,
    { timeout: UI_TIMEOUT },
  );
  await execute(page, operation);
  const body = (await (await answered).json()) as { data?: Record<string, unknown> | null; errors?: unknown[] };
  expect(body.errors, operation).toBeUndefined();
  expect(body.data, operation).toBeTypeOf('object');
  // The pane shows it too.
  await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toContain('"data"');
  return body.data ?? {};
}

/** Opens a tab from the keyboard: the tabs can be dragged, and a synthetic click on one can start a drag instead. */
async function openTab(page: Page, name: string, shows: string): Promise<void> {
  await page.locator('.graphiql-tab-button', { hasText: name }).focus();
  await page.keyboard.press('Enter');
  await expect.poll(() => editorText(page, QUERY_EDITOR), { timeout: UI_TIMEOUT }).toContain(shows);
  // GraphiQL reads the new tab's operations a moment after it shows them.
  await page.waitForTimeout(500);
}

/**
 * Enters `value` as JSON into the variables or headers editor, as a person would.
 * The editor applies an insert a moment later, and on a busy machine a
 * keystroke can land before it has focus: inserted until it shows, 3 tries.
 */
async function enterJson(page: Page, pane: 'variables' | 'headers', value: unknown): Promise<void> {
  const editor = pane === 'variables' ? VARIABLES_EDITOR : HEADERS_EDITOR;
  await page.locator(`.graphiql-editor-tools button[data-name="${pane}"]`).click();
  const shown = async (): Promise<unknown> => {
    try {
      return JSON.parse(await editorText(page, editor)) as unknown;
    } catch {
      return undefined;
    }
  };
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    await page.locator(editor).click();
    await page.keyboard.press('ControlOrMeta+A');
    // Inserted in one input event (no clipboard: it needs a focused document, which a loaded
    // machine does not always give in time). The editor closes the first bracket and quote as
    // if typed; what it added after the cursor is deleted.
    await page.keyboard.insertText(JSON.stringify(value));
    await page.keyboard.press('Shift+ControlOrMeta+End');
    await page.keyboard.press('Delete');
    const entered = await expect
      .poll(shown, { timeout: UI_TIMEOUT / 3 })
      .toEqual(value)
      .then(
        () => true,
        () => false,
      );
    if (entered) break;
  }
  expect(await shown()).toEqual(value);
}

/** Runs the open tab's enqueue example and returns the new case's id, checked against what the gateway stored. */
async function runEnqueueTab(page: Page, url: string, authorization?: string): Promise<number> {
  await page.locator('.graphiql-execute-button').click();
  await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"caseId": \d+/);
  const enqueued = await responseText(page);
  const caseId = Number(/"caseId": (\d+)/.exec(enqueued)?.[1]);
  expect(enqueued).toContain('"status": "WAITING"');
  // The case is stored as the pane says.
  const stored = await post(url, 'query ($id: Int!) { case(id: $id) { id status } }', { id: caseId }, authorization);
  expect(stored['case']).toEqual({ id: caseId, status: 'WAITING' });
  return caseId;
}

/**
 * Playwright reports that a WebSocket closed, not its close code: this script,
 * run before the page's own, makes the page's WebSockets note theirs in
 * CLOSE_CODES (a subclass, otherwise the same; Playwright's scripts bypass the
 * page's Content-Security-Policy).
 */
const WATCH_CLOSE_CODES = `(() => {
  const closes = (globalThis.webSocketCloseCodes = []);
  const Native = globalThis.WebSocket;
  globalThis.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('close', (event) => closes.push(event.code));
    }
  };
})();`;
const CLOSE_CODES = 'globalThis.webSocketCloseCodes';

interface Visit {
  readonly page: Page;
  /** Every URL the page and its workers asked for, WebSockets included. */
  readonly requested: string[];
  /** Console errors and uncaught exceptions, Content-Security-Policy violations among them. */
  readonly problems: string[];
  /** Every HTTP answer the page got, with the Authorization its request carried. */
  readonly answers: { readonly url: string; readonly status: number; readonly authorization: string | undefined }[];
  /** The page's WebSockets, in order: the text frames each sent and received. */
  readonly sockets: { readonly sent: string[]; readonly received: string[] }[];
}

describe.skipIf(!present)(`the explorer in Chromium${present ? '' : ` (skipped: ${MISSING})`}`, () => {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
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
  });

  /**
   * Opens the explorer of the gateway at `url` in a fresh profile (no stored tabs), as a first
   * visitor; `before` runs in the page before its own scripts.
   */
  async function visit(url: string, before?: string): Promise<Visit> {
    if (!browser) throw new Error('the browser starts before the tests');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    const visited: Visit = { page: await context.newPage(), requested: [], problems: [], answers: [], sockets: [] };
    if (before !== undefined) await visited.page.addInitScript({ content: before });
    const { page, requested, problems, answers, sockets } = visited;
    context.on('request', (request) => requested.push(request.url()));
    context.on('response', (response) =>
      answers.push({
        url: response.url(),
        status: response.status(),
        authorization: response.request().headers()['authorization'],
      }),
    );
    page.on('websocket', (socket) => {
      requested.push(socket.url());
      const frames = { sent: [] as string[], received: [] as string[] };
      sockets.push(frames);
      socket.on('framesent', ({ payload }) => frames.sent.push(payload.toString()));
      socket.on('framereceived', ({ payload }) => frames.received.push(payload.toString()));
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(url);
    return visited;
  }

  /**
   * Only the gateway at `url` was asked for anything, `expected` among it,
   * and the page logged no error but those `allowed` (each matching one).
   */
  function expectSelfContained(
    { requested, problems }: Visit,
    url: string,
    expected: readonly string[],
    allowed: readonly RegExp[] = [],
  ): void {
    const origin = new URL(url).host;
    for (const asked of requested) expect(asked).toMatch(new RegExp(`^(http|ws)://${origin.replaceAll('.', '\\.')}/`));
    for (const path of expected) expect(requested).toContain(new URL(path, `http://${origin}`).href);
    expect(problems.filter((problem) => !allowed.some((pattern) => pattern.test(problem)))).toEqual([]);
  }

  describe('on an open gateway, with a new database', () => {
    let t: TestGateway | undefined;
    const gatewayUrl = () => t?.gateway.url ?? '';

    beforeAll(async () => {
      // Nothing seeded: the first tab creates the example data.
      t = await startTestGateway();
    });

    afterAll(async () => {
      await t?.stop();
    });

    it('opens from the gateway alone on the example data tab, with the documentation and the explorer plugin', async () => {
      const session = await visit(gatewayUrl());
      const { page } = session;
      // The documentation lists the root types once introspection has answered.
      const docs = page.locator('.graphiql-doc-explorer');
      await expect.poll(() => docs.innerText(), { timeout: UI_TIMEOUT }).toMatch(/mutation:\s*Mutation/);
      expect(await docs.innerText()).toMatch(/subscription:\s*Subscription/);
      // The example tabs in the order a new user runs them, the one that creates the data open.
      expect(TAB_NAMES).toEqual(['CreateExampleData', 'EnqueueCase', 'FollowCase', 'CallNext', 'Viewer']);
      expect(await page.locator('.graphiql-tab-button').allInnerTexts()).toEqual(TAB_NAMES);
      await expect
        .poll(() => editorText(page, QUERY_EDITOR), { timeout: UI_TIMEOUT })
        .toContain('mutation CreateExampleData');
      await screenshot(page, 'explorer-docs.png');

      await page.locator('button[aria-label="Show GraphiQL Explorer"]').click();
      // It shows the open operation's fields, ticked.
      await expect
        .poll(() => page.locator('.graphiql-plugin').innerText(), { timeout: UI_TIMEOUT })
        .toMatch(/mutation[\s\S]*createService/);
      await screenshot(page, 'explorer-plugin.png');

      // The editors' language workers, from the gateway too.
      expectSelfContained(session, gatewayUrl(), [
        '/graphql',
        assetPath('graphiql.css'),
        assetPath('yoga-graphiql.umd.js'),
        assetPath('monacoeditorwork/graphql.worker..bundle.js'),
        assetPath('monacoeditorwork/json.worker.bundle.js'),
      ]);
    });

    it('runs every tab in the order shown, as they are: each answer has data and no errors', async () => {
      // The kiosk's window: the example data, a ticket, then following it live.
      const kiosk = await visit(gatewayUrl());
      const { page } = kiosk;
      await expect
        .poll(() => editorText(page, QUERY_EDITOR), { timeout: UI_TIMEOUT })
        .toContain('mutation CreateExampleData');
      const created = await runOpenTab(page, 'CreateExampleData');
      expect(created['createService']).toMatchObject({ extRef: EXAMPLE_DATA.serviceExtRef });
      await screenshot(page, 'explorer-example-data.png', { docs: true });

      await openTab(page, 'EnqueueCase', 'enqueueCase(input: $input)');
      const enqueued = await runOpenTab(page, 'EnqueueCase');
      expect(enqueued['enqueueCase']).toMatchObject({
        caseId: EXAMPLE_DATA.caseId,
        status: 'WAITING',
        ticket: `${EXAMPLE_DATA.queueCode}001`,
      });
      await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"caseId": 1/);
      await screenshot(page, 'explorer-enqueue.png', { docs: true });

      await openTab(page, 'FollowCase', 'caseChanged(caseId: $caseId, receipt: $receipt)');
      await execute(page, 'FollowCase');
      // The first message: the case's state at once, waiting, first in the queue.
      await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"caseChanged"/);
      expect(await responseText(page)).toMatch(
        new RegExp(
          `"caseId": ${EXAMPLE_DATA.caseId},[\\s\\S]*"status": "WAITING",[\\s\\S]*"position": 1,[\\s\\S]*"lastAction": "ENQUEUE"`,
        ),
      );
      const [socket] = kiosk.sockets;
      const received = () =>
        (socket?.received ?? []).map(
          (frame) => JSON.parse(frame) as { type?: string; payload?: { data?: unknown; errors?: unknown } },
        );
      const [, first] = received();
      expect(first?.type).toBe('next');
      expect(first?.payload?.errors).toBeUndefined();
      expect(first?.payload?.data).toMatchObject({ caseChanged: { caseId: EXAMPLE_DATA.caseId, status: 'WAITING' } });

      // The agent's window (the kiosk's play button now stops its subscription): CallNext, then CompleteCase.
      const desk = await visit(gatewayUrl());
      await expect
        .poll(() => editorText(desk.page, QUERY_EDITOR), { timeout: UI_TIMEOUT })
        .toContain('mutation CreateExampleData');
      await openTab(desk.page, 'CallNext', 'callNext(input: { serviceExtRefs: $serviceExtRefs');
      const called = await runOpenTab(desk.page, 'CallNext');
      expect(called['callNext']).toMatchObject({ id: EXAMPLE_DATA.caseId, status: 'IN_SERVICE' });
      await screenshot(desk.page, 'explorer-call-next.png', { docs: true });
      // The update arrives in the kiosk's pane.
      await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"status": "IN_SERVICE"/);
      expect(await responseText(page)).toMatch(
        new RegExp(`"position": null,[\\s\\S]*"lastAction": "CALL_NEXT",\\s*"lastAgent": "${EXAMPLE_DATA.agent}"`),
      );
      await screenshot(page, 'explorer-subscription.png', { docs: true });
      const completed = await runOpenTab(desk.page, 'CompleteCase');
      expect(completed['completeCase']).toMatchObject({ id: EXAMPLE_DATA.caseId, status: 'COMPLETED' });
      await screenshot(desk.page, 'explorer-complete-case.png');
      await expect.poll(() => received().map(({ type }) => type), { timeout: UI_TIMEOUT }).toContain('complete');
      for (const message of received().filter(({ type }) => type === 'next'))
        expect(message.payload?.errors).toBeUndefined();

      await openTab(desk.page, 'Viewer', 'viewer {');
      const viewer = await runOpenTab(desk.page, 'Viewer');
      expect(viewer['viewer']).toMatchObject({ id: 'open', serviceIds: null });
      await screenshot(desk.page, 'explorer-viewer.png', { docs: true });

      expectSelfContained(kiosk, gatewayUrl(), ['/graphql', `ws://${new URL(gatewayUrl()).host}/graphql`]);
      expectSelfContained(desk, gatewayUrl(), ['/graphql']);
    });
  });

  describe('on a gateway requiring credentials', () => {
    let t: TestGateway | undefined;
    let admin: TestKey | undefined;
    let agent: TestKey | undefined;
    const gatewayUrl = () => t?.gateway.url ?? '';
    const key = (given: TestKey | undefined): TestKey => {
      if (!given) throw new Error('the keys are made before the tests');
      return given;
    };

    beforeAll(async () => {
      t = await startTestGateway({}, { AUTH_MODE: 'required' });
      admin = await issueKey(t.db, 'ADMIN');
      agent = await issueKey(t.db, 'AGENT');
    });

    afterAll(async () => {
      await t?.stop();
    });

    /** The page's introspection before it has a credential is refused, and Chromium logs each 401 as an error. */
    const REFUSED_LOAD = /^Failed to load resource: the server responded with a status of 401 \(Unauthorized\)$/;

    /** The graphql-ws messages a socket sent or received, parsed. */
    const messages = (frames: readonly string[]) => frames.map((frame) => JSON.parse(frame) as { type?: unknown });

    it("runs each tab with its Headers pane's key, the subscription's connection_init included", async () => {
      const session = await visit(gatewayUrl());
      const { page, answers, sockets } = session;
      const { authorization: adminAuthorization } = key(admin);
      const { authorization: agentAuthorization, secret: agentSecret } = key(agent);
      await expect
        .poll(() => editorText(page, QUERY_EDITOR), { timeout: UI_TIMEOUT })
        .toContain('mutation CreateExampleData');
      // No schema without a credential; with one, after a re-fetch (as the tab's comment says).
      const docs = page.locator('.graphiql-doc-explorer');
      await expect.poll(() => docs.innerText(), { timeout: UI_TIMEOUT }).toContain('Error fetching schema');
      await enterJson(page, 'headers', { Authorization: adminAuthorization });
      await page.locator('button[aria-label^="Re-fetch GraphQL schema"]').click();
      await expect.poll(() => docs.innerText(), { timeout: UI_TIMEOUT }).toMatch(/subscription:\s*Subscription/);
      await runOpenTab(page, 'CreateExampleData');
      // Each tab has its own headers: the admin's key in the enqueue tab's too.
      await openTab(page, 'EnqueueCase', 'enqueueCase(input: $input)');
      await enterJson(page, 'headers', { Authorization: adminAuthorization });
      const caseId = await runEnqueueTab(page, gatewayUrl(), agentAuthorization);

      // The kiosk tab has headers of its own: the agent's key there, for the WebSocket.
      await openTab(page, 'FollowCase', 'caseChanged(caseId: $caseId, receipt: $receipt)');
      await enterJson(page, 'variables', { caseId });
      await enterJson(page, 'headers', { Authorization: agentAuthorization });
      await page.locator('.graphiql-execute-button').click();
      await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"caseChanged"/);
      expect(await responseText(page)).toMatch(
        new RegExp(`"caseId": ${caseId},[\\s\\S]*"status": "WAITING",[\\s\\S]*"position": 1,`),
      );
      await post(gatewayUrl(), CALL_NEXT, { refs: [EXAMPLE_DATA.serviceExtRef] }, agentAuthorization);
      await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"status": "IN_SERVICE"/);
      expect(await responseText(page)).toMatch(/"lastAction": "CALL_NEXT",\s*"lastAgent": "desk-9"/);
      await screenshot(page, 'explorer-credentials.png');

      // One socket, admitted with the open tab's key, sent in connection_init's payload.
      expect(sockets).toHaveLength(1);
      const [socket] = sockets;
      const [init] = socket?.sent ?? [];
      expect(init).toContain('"authorization":"Bearer fcq_');
      expect(JSON.parse(init ?? '{}')).toEqual({
        type: 'connection_init',
        payload: { authorization: `Bearer ${agentSecret}` },
      });
      expect(messages(socket?.received ?? []).map(({ type }) => type)).toEqual(['connection_ack', 'next', 'next']);
      // Over HTTP, only the requests sent before the pane had a key were refused; the enqueue went with the admin's.
      const graphql = answers.filter(({ url }) => new URL(url).pathname === '/graphql');
      const refused = graphql.filter(({ status }) => status === 401);
      expect(refused.length).toBeGreaterThan(0);
      expect(new Set(refused.map(({ authorization }) => authorization))).toEqual(new Set([undefined]));
      const withKey = graphql.filter(({ authorization }) => authorization !== undefined);
      expect(new Set(withKey.map(({ status, authorization }) => `${status} ${authorization}`))).toEqual(
        new Set([`200 ${adminAuthorization}`]),
      );
      expectSelfContained(
        session,
        gatewayUrl(),
        ['/graphql', `ws://${new URL(gatewayUrl()).host}/graphql`],
        [REFUSED_LOAD],
      );
    });

    it('refuses the subscription without the header (4401), and follows the case once it is given', async () => {
      // The close code is the page's to see, not Playwright's: a WebSocket that notes it, before the page loads.
      const session = await visit(gatewayUrl(), WATCH_CLOSE_CODES);
      const { page, sockets } = session;
      const { authorization } = key(agent);
      // A service of its own: this test does not lean on the other's example data.
      await post(
        gatewayUrl(),
        'mutation { createService(input: { name: "Refusals", extRef: "REFUSALS" }) { id } }',
        {},
        key(admin).authorization,
      );
      const enqueued = await post(
        gatewayUrl(),
        'mutation ($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId } }',
        { input: { serviceIdExtRef: 'REFUSALS' } },
        authorization,
      );
      const caseId = Number((enqueued['enqueueCase'] as { caseId?: unknown } | undefined)?.caseId);
      expect(Number.isInteger(caseId)).toBe(true);
      await expect
        .poll(() => editorText(page, QUERY_EDITOR), { timeout: UI_TIMEOUT })
        .toContain('mutation CreateExampleData');
      await openTab(page, 'FollowCase', 'caseChanged(caseId: $caseId, receipt: $receipt)');
      await enterJson(page, 'variables', { caseId });
      await page.locator('.graphiql-execute-button').click();
      // The gateway closes the socket after connection_init, with graphql-ws's 4401; the pane shows an error.
      await expect.poll(() => page.evaluate(CLOSE_CODES), { timeout: UI_TIMEOUT }).toEqual([4401]);
      await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toContain('"errors"');
      expect(await responseText(page)).not.toContain('caseChanged');
      expect(sockets.map(({ sent, received }) => ({ sent: messages(sent), received }))).toEqual([
        { sent: [{ type: 'connection_init', payload: {} }], received: [] },
      ]);

      // With the key in the pane, the next run connects again, with it, and gets the state.
      await enterJson(page, 'headers', { Authorization: authorization });
      await page.locator('.graphiql-execute-button').click();
      await expect.poll(() => responseText(page), { timeout: UI_TIMEOUT }).toMatch(/"caseChanged"/);
      expect(await responseText(page)).toMatch(new RegExp(`"caseId": ${caseId},[\\s\\S]*"status": "WAITING"`));
      expect(sockets).toHaveLength(2);
      expect(messages(sockets[1]?.sent ?? [])[0]).toEqual({ type: 'connection_init', payload: { authorization } });
      expectSelfContained(session, gatewayUrl(), [`ws://${new URL(gatewayUrl()).host}/graphql`], [REFUSED_LOAD]);
    });
  });
});
