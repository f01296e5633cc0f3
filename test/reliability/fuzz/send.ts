// Sends plans to the gateway with a fixed number in flight, each resolved
// against the pools at the moment it is sent.
import type { RequestPlan } from './plans.js';
import type { Ledger } from './ledger.js';
import type { Pools } from './pools.js';
import { prepareOp, prepareRaw, type Prepared } from './render.js';

/** An answer slower than this is a finding: nothing the fuzz sends should take long. */
export const ANSWER_DEADLINE_MS = 60_000;

export async function send(url: string, request: Prepared): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}${request.search ? `?${request.search}` : ''}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body ? { body: request.body } : {}),
    signal: AbortSignal.timeout(ANSWER_DEADLINE_MS),
  });
  return { status: response.status, text: await response.text() };
}

function prepare(plan: RequestPlan, pools: Pools, ledger: Ledger): Prepared | null {
  switch (plan.kind) {
    case 'op':
      return prepareOp(plan, pools);
    case 'raw':
      return prepareRaw(plan, pools);
    case 'replay':
      return ledger.replayable[plan.pick % Math.max(1, ledger.replayable.length)] ?? null;
  }
}

export async function sendOne(url: string, request: Prepared, pools: Pools, ledger: Ledger): Promise<void> {
  ledger.sending(request);
  const started = performance.now();
  let answer;
  try {
    answer = await send(url, request);
  } catch (error) {
    ledger.failed(request, `no answer: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    return;
  }
  pools.harvest(ledger.answered(request, answer, performance.now() - started));
  // Keys sent before, for enqueues that reuse one with other input (a CONFLICT).
  for (const field of request.fields) {
    const key = (field.args['input'] as Record<string, unknown> | null | undefined)?.['idempotencyKey'];
    if (field.name === 'enqueueCase' && typeof key === 'string') pools.add('idempotencyKeys', key);
  }
}

/** Sends every plan, `concurrency` at a time, in order of the list. */
export async function sendAll(
  url: string,
  plans: readonly RequestPlan[],
  concurrency: number,
  pools: Pools,
  ledger: Ledger,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const plan = plans[next];
      next += 1;
      if (!plan) continue;
      // A replay before anything could be replayed: nothing to send.
      const request = prepare(plan, pools, ledger);
      if (request) await sendOne(url, request, pools, ledger);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
