// A vitest reporter that names what has run for far longer than any timeout
// allows: a test, a hook, or a whole file. A run that hangs past every
// timeout (CI stops it after 15 minutes) otherwise ends with no word of
// where it hung, since the default reporter prints a file only once it ends.
import type { Reporter, ReportedHookContext, TestCase, TestModule } from 'vitest/node';

// Past the longest test timeout (180 s) and hook timeout (120 s) in the suites.
const STEP_LIMIT_MS = 4 * 60_000;
const MODULE_LIMIT_MS = 10 * 60_000;
const CHECK_EVERY_MS = 15_000;

type Running = { readonly what: string; readonly since: number; readonly limit: number; told: boolean };

export default class StuckTestReporter implements Reporter {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;

  onTestRunStart(): void {
    this.timer = setInterval(() => this.tell(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  onTestRunEnd(): void {
    clearInterval(this.timer);
    this.running.clear();
  }

  onTestModuleStart(module: TestModule): void {
    this.start(`file ${module.moduleId}`, module.relativeModuleId, MODULE_LIMIT_MS);
  }

  onTestModuleEnd(module: TestModule): void {
    this.running.delete(`file ${module.moduleId}`);
  }

  onTestCaseReady(test: TestCase): void {
    this.start(`test ${test.id}`, `${test.module.relativeModuleId} > ${test.fullName}`, STEP_LIMIT_MS);
  }

  onTestCaseResult(test: TestCase): void {
    this.running.delete(`test ${test.id}`);
  }

  onHookStart(hook: ReportedHookContext): void {
    this.start(...hookKey(hook), STEP_LIMIT_MS);
  }

  onHookEnd(hook: ReportedHookContext): void {
    this.running.delete(hookKey(hook)[0]);
  }

  private start(key: string, what: string, limit: number): void {
    this.running.set(key, { what, since: Date.now(), limit, told: false });
  }

  private tell(): void {
    const now = Date.now();
    for (const step of this.running.values()) {
      if (step.told || now - step.since < step.limit) continue;
      step.told = true;
      console.error(`[stuck] still running after ${Math.round((now - step.since) / 1000)} s: ${step.what}`);
    }
  }
}

function hookKey(hook: ReportedHookContext): [key: string, what: string] {
  const entity = hook.entity;
  const where =
    entity.type === 'module' ? entity.relativeModuleId : `${entity.module.relativeModuleId} > ${entity.fullName}`;
  return [`${hook.name} ${entity.id}`, `${hook.name} of ${where}`];
}
