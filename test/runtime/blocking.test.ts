// The blocking pool (src/runtime/blocking.ts): tasks run off the scheduler
// thread while goroutines keep running, errors come back typed, contexts
// cancel (terminating or abandoning the task), the pool closes without
// leaving threads, and a program that uses it exits by itself.
//
// The first call of a fresh pool boots a thread (tsx and the task modules),
// about a second on a small machine: `before` warms it, and tests that close
// the pool pay for it again.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  BlockingPoolClosedError, TaskError, blocking, blockingContext, blockingPoolStats,
  closeBlockingPool, configureBlockingPool, defineTask, readFile, registerTaskError,
  taskModule,
} from '../../src/runtime/blocking.ts';
import {
  Canceled, DeadlineExceeded, background, chan, go, newTicker, recv, run, select,
  sleep, withCancel, withTimeout, type Op,
} from '../../src/sched/index.ts';
import { ValidationError, type sleepSync } from '../support/blocking-tasks.ts';
import { checkNoLeaks } from '../support/leakcheck.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tasksURL = new URL('../support/blocking-tasks.ts', import.meta.url);
const tasks = taskModule<typeof import('../support/blocking-tasks.ts')>(tasksURL);
const add = tasks.task('add');
const sleepTask = tasks.task('sleepSync');
const sleepAbandon = defineTask<typeof sleepSync>(tasksURL, 'sleepSync', { cancel: 'abandon' });

/** Waits (in async code) until cond holds, polling; fails after ms. */
async function eventually(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The error a goroutine op throws, or fails if it returns. */
function* thrown(op: Op<unknown>): Op<unknown> {
  try {
    yield* op;
  } catch (e) {
    return e;
  }
  return assert.fail('expected the operation to throw');
}

/** OS threads of this process (Linux), or null. */
function osThreads(): number | null {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

describe('runtime/blocking: tasks in the blocking pool', function () {
  before(async function () {
    await closeBlockingPool();
    assert.equal(await run(function* () { return yield* blocking(add, 1, 1); }), 2); // boots a thread
  });
  after(closeBlockingPool);
  afterEach(checkNoLeaks);

  it('runs a task off the scheduler thread: a ticker keeps ticking meanwhile', async function () {
    const r = await run(function* () {
      const done = chan<number>(1);
      go(function* sleeper() {
        yield* done.send(yield* blocking(sleepTask, 300));
      });
      const t = newTicker(10);
      let ticks = 0;
      for (;;) {
        const s = yield* select([recv(done), recv(t.c)]);
        if (s.index === 0) {
          t.stop();
          return { ticks, slept: s.value };
        }
        ticks++;
      }
    });
    assert.ok(r.slept >= 290, `the task blocked its thread ${r.slept} ms`);
    assert.ok(r.ticks >= 10, `only ${r.ticks} ticks of 10 ms while the task blocked for 300 ms`);
  });

  it('many goroutines share the pool; arguments and results cross by structured clone', async function () {
    const r = await run(function* () {
      const out = chan<number>(20);
      for (let i = 0; i < 20; i++) go(function* () { yield* out.send(yield* blocking(add, i, 100)); });
      let sum = 0;
      for (let i = 0; i < 20; i++) sum += yield* out.recv();
      const later = yield* blocking(tasks.task('later'), 20, 'async result');
      return { sum, later };
    });
    assert.equal(r.sum, 20 * 100 + (19 * 20) / 2);
    assert.equal(r.later, 'async result');
    assert.equal(blockingPoolStats().pending, 0);
  });

  it('rethrows task errors typed: registered classes, built-in classes, TaskError otherwise', async function () {
    const r = await run(function* () {
      const unregistered = yield* thrown(blocking(tasks.task('validate'), ''));
      registerTaskError(ValidationError);
      const registered = yield* thrown(blocking(tasks.task('validate'), ''));
      const range = yield* thrown(blocking(tasks.task('validate'), 'range'));
      const bare = yield* thrown(blocking(tasks.task('validate'), 'string'));
      const ok = yield* blocking(tasks.task('validate'), 'fine');
      return { unregistered, registered, range, bare, ok };
    });
    const u = r.unregistered as TaskError & { field: string; code: string };
    assert.ok(u instanceof TaskError && u instanceof Error);
    assert.equal(u.name, 'ValidationError');
    assert.equal(u.message, 'v must not be empty');
    assert.equal(u.field, 'v');
    assert.equal(u.code, 'E_VALIDATION');
    assert.match(u.stack ?? '', /at validate .*blocking-tasks\.ts/, 'the stack is the pool thread\'s');

    const v = r.registered as ValidationError;
    assert.ok(v instanceof ValidationError, 'a registered class comes back as itself');
    assert.equal(v.name, 'ValidationError');
    assert.equal(v.message, 'v must not be empty');
    assert.equal(v.field, 'v');

    assert.ok(r.range instanceof RangeError);
    assert.equal((r.range as Error).message, 'v out of range');
    assert.ok(r.bare instanceof Error);
    assert.match((r.bare as Error).message, /a bare string/);
    assert.equal(r.ok, 'FINE');
  });

  it('a missing export or module fails the call, not the pool', async function () {
    const r = await run(function* () {
      const noExport = yield* thrown(blocking(defineTask<() => void>(tasksURL, 'nope')));
      const noModule = yield* thrown(blocking(defineTask<() => void>(new URL('./no-such-module.ts', tasksURL), 'f')));
      return { noExport, noModule, after: yield* blocking(add, 2, 2) };
    });
    assert.ok(r.noExport instanceof TypeError);
    assert.match((r.noExport as Error).message, /exports no function "nope"/);
    assert.ok(r.noModule instanceof Error);
    assert.match(String((r.noModule as Error).message), /no-such-module/);
    assert.equal(r.after, 4);
    assert.throws(() => defineTask(`relative/tasks.ts`, 'f'), /neither a URL nor an absolute path/);
  });

  it('an argument or a result that structured clone refuses fails the call, not the pool', async function () {
    const r = await run(function* () {
      const arg = yield* thrown(blocking(add, (() => 1) as unknown as number, 1));
      const result = yield* thrown(blocking(tasks.task('uncloneable')));
      return { arg, result, after: yield* blocking(add, 3, 3) };
    });
    assert.equal((r.arg as Error).name, 'DataCloneError');
    assert.ok(r.result instanceof TaskError);
    assert.match(r.result.message, /uncloneable: the pool thread failed/);
    assert.equal(r.after, 6);
  });

  it('readFile: the bytes of a file (transferred or copied); fs errors keep code and path', async function () {
    const big = fileURLToPath(new URL('../../src/runtime/blocking.ts', import.meta.url)); // > 8 KiB: its own buffer
    const small = fileURLToPath(new URL('../support/leakcheck.ts', import.meta.url)); // < 4 KiB: Node's pool slab
    const r = await run(function* () {
      return {
        big: yield* readFile(big),
        small: yield* readFile(small),
        missing: yield* thrown(readFile('/nonexistent/file')),
      };
    });
    assert.deepEqual(Buffer.from(r.big), readFileSync(big));
    assert.deepEqual(Buffer.from(r.small), readFileSync(small));
    const e = r.missing as NodeJS.ErrnoException;
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.path, '/nonexistent/file');
    assert.equal(e.syscall, 'open');
  });

  it('a context already done: throws ctx.err() without calling the pool', async function () {
    const before = blockingPoolStats().calls;
    const e = await run(function* () {
      const [ctx, cancel] = withCancel(background());
      cancel();
      return yield* thrown(blockingContext(ctx, add, 1, 2));
    });
    assert.equal(e, Canceled);
    assert.equal(blockingPoolStats().calls, before);
  });

  it('cancel (terminate mode): Canceled at once, the thread is replaced, the pool keeps working', async function () {
    const r = await run(function* () {
      const [ctx, cancel] = withCancel(background());
      let canceledAt = 0;
      go(function* () {
        yield* sleep(50);
        canceledAt = performance.now();
        cancel();
      });
      const e = yield* thrown(blockingContext(ctx, sleepTask, 10_000));
      const latency = performance.now() - canceledAt;
      return { e, latency, after: yield* blocking(add, 1, 2) };
    });
    assert.equal(r.e, Canceled);
    assert.ok(r.latency < 100, `returned ${r.latency.toFixed(1)} ms after cancel`);
    assert.equal(r.after, 3);
    await eventually('the canceled call to settle', () => blockingPoolStats().pending === 0);
  });

  it('deadline: DeadlineExceeded; a call that ends in time is not affected by its context', async function () {
    const r = await run(function* () {
      const [ctx, cancel] = withTimeout(background(), 100);
      const quick = yield* blockingContext(ctx, add, 5, 6);
      const e = yield* thrown(blockingContext(ctx, sleepTask, 10_000));
      cancel();
      return { quick, e };
    });
    assert.equal(r.quick, 11);
    assert.equal(r.e, DeadlineExceeded);
  });

  it('cancel (abandon mode): the goroutine returns at once, the task runs to its end', async function () {
    const t0 = performance.now();
    const r = await run(function* () {
      const [ctx, cancel] = withTimeout(background(), 50);
      const e = yield* thrown(blockingContext(ctx, sleepAbandon, 400));
      cancel();
      return { e, at: performance.now() - t0 };
    });
    assert.equal(r.e, DeadlineExceeded);
    assert.ok(r.at < 300, `returned after ${r.at.toFixed(0)} ms`);
    assert.equal(blockingPoolStats().pending, 1, 'the abandoned task still runs');
    await eventually('the abandoned task to end', () => blockingPoolStats().pending === 0);
    assert.equal(await run(function* () { return yield* blocking(add, 7, 8); }), 15);
  });
});

describe('runtime/blocking: closing and sizing the pool', function () {
  afterEach(checkNoLeaks);
  afterEach(async function () {
    await closeBlockingPool();
    configureBlockingPool({ maxThreads: 0, minThreads: 1 }); // back to the defaults
  });

  it('closeBlockingPool terminates every thread; calls in flight throw BlockingPoolClosedError', async function () {
    await closeBlockingPool();
    const baseline = osThreads();
    configureBlockingPool({ maxThreads: 2, minThreads: 2 });
    const r = await run(function* () {
      const out = chan<unknown>(2);
      for (let i = 0; i < 2; i++) go(function* () { yield* out.send(yield* thrown(blocking(sleepTask, 10_000))); });
      while (blockingPoolStats().threads < 2 || blockingPoolStats().queued > 0) yield* sleep(10);
      yield* sleep(50); // both tasks are running
      const stats = blockingPoolStats();
      const threads = osThreads();
      const closing = closeBlockingPool();
      return { stats, threads, closing, errs: [yield* out.recv(), yield* out.recv()] };
    });
    await r.closing; // resolves once every thread has exited
    assert.equal(r.stats.threads, 2);
    assert.equal(r.stats.pending, 2);
    for (const e of r.errs) assert.ok(e instanceof BlockingPoolClosedError, String(e));
    assert.deepEqual(blockingPoolStats(), { ...blockingPoolStats(), open: false, threads: 0, queued: 0, pending: 0 });
    if (baseline !== null && r.threads !== null) {
      assert.ok(r.threads >= baseline + 2, `${r.threads} OS threads with the pool, ${baseline} before`);
      await eventually('the pool threads to be gone', () => osThreads()! <= baseline);
    }
    // The next call opens a new pool.
    assert.equal(await run(function* () { return yield* blocking(add, 20, 22); }), 42);
    assert.equal(blockingPoolStats().open, true);
  });

  it('an abandoned task still queued is skipped when its turn comes', async function () {
    await closeBlockingPool();
    configureBlockingPool({ maxThreads: 1, minThreads: 1 });
    assert.equal(await run(function* () { return yield* blocking(add, 0, 0); }), 0); // boot the one thread
    const r = await run(function* () {
      const busy = chan<number>(1);
      go(function* () { yield* busy.send(yield* blocking(sleepTask, 300)); }); // takes the thread
      yield* sleep(20);
      const [ctx, cancel] = withCancel(background());
      go(function* () {
        yield* sleep(50);
        cancel();
      });
      const e = yield* thrown(blockingContext(ctx, sleepAbandon, 3000)); // queued behind it
      const t0 = performance.now();
      const sum = yield* blocking(add, 1, 1); // queued behind both, unless the second is skipped
      return { e, sum, waited: performance.now() - t0, busy: yield* busy.recv() };
    });
    assert.equal(r.e, Canceled);
    assert.equal(r.sum, 2);
    assert.ok(r.waited < 1500, `the next task waited ${r.waited.toFixed(0)} ms: the abandoned one ran`);
    assert.ok(r.busy >= 290);
  });

  it('configureBlockingPool refuses a running pool and bad sizes', async function () {
    await run(function* () { yield* blocking(add, 1, 1); });
    assert.throws(() => configureBlockingPool({ maxThreads: 2 }), /after the pool started/);
    await closeBlockingPool();
    assert.throws(() => configureBlockingPool({ maxThreads: -1 }), RangeError);
  });
});

describe('runtime/blocking: process exit', function () {
  this.timeout(30_000);

  for (const variant of ['', 'abandoned']) {
    it(`a program that used the pool exits by itself${variant === '' ? '' : ' (with an abandoned task running)'}`, function () {
      const t0 = performance.now();
      const args = ['--import', 'tsx', 'test/testprog/blocking-exit.ts', ...(variant === '' ? [] : [variant])];
      const r = spawnSync(process.execPath, args, {
        cwd: root, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' },
      });
      if (r.error !== undefined) throw r.error;
      assert.equal(r.signal, null, `killed by ${r.signal} after ${(performance.now() - t0).toFixed(0)} ms: it did not exit\n${r.stderr}`);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, `sum 42 hosts true localhost true${variant === '' ? '' : ' abandoned'}\n`);
    });
  }
});
