// Name lookups (src/runtime/dns.ts) through getaddrinfo in the blocking pool.
//
// The machine may have no DNS service: only names the resolver answers
// without the network are asked (localhost from /etc/hosts, a .invalid
// name), and every lookup that could reach the network is bounded by a
// context deadline, so a resolver that hangs fails the test instead of
// hanging it.

import assert from 'node:assert/strict';

import { blockingPoolStats, closeBlockingPool, getaddrinfoTask, blocking } from '../../src/runtime/blocking.ts';
import { DNSError, lookupHost, lookupIP } from '../../src/runtime/dns.ts';
import { AddrError } from '../../src/runtime/errors.ts';
import {
  Canceled, DeadlineExceeded, background, run, withCancel, withTimeout, type Op,
} from '../../src/sched/index.ts';
import { checkNoLeaks } from '../support/leakcheck.ts';

/** Bound on any lookup that might reach the network. */
const LOOKUP_MS = 10_000;

function* thrown(op: Op<unknown>): Op<unknown> {
  try {
    yield* op;
  } catch (e) {
    return e;
  }
  return assert.fail('expected the operation to throw');
}

/** Runs op in a program, under a context canceled after LOOKUP_MS. */
function bounded<T>(op: (ctx: ReturnType<typeof withTimeout>[0]) => Op<T>): Promise<T> {
  return run(function* () {
    const [ctx, cancel] = withTimeout(background(), LOOKUP_MS);
    try {
      return yield* op(ctx);
    } finally {
      cancel();
    }
  });
}

describe('runtime/dns: lookups through getaddrinfo', function () {
  this.timeout(LOOKUP_MS + 10_000);
  after(closeBlockingPool);
  afterEach(checkNoLeaks);

  it('numeric hosts are answered without the pool', async function () {
    await closeBlockingPool();
    const calls = blockingPoolStats().calls;
    const r = await run(function* () {
      return {
        v4: yield* lookupHost('192.0.2.1'),
        v6: yield* lookupHost('2001:DB8::1'),
        ip: yield* lookupIP('ip', '2001:DB8:0::1'),
        ip4: yield* lookupIP('ip4', '::ffff:192.0.2.1'),
        zone: yield* lookupIP('ip6', 'FE80::1%2'),
        wrong: yield* thrown(lookupIP('ip4', '::1')),
        empty: yield* thrown(lookupHost('')),
        nul: yield* thrown(lookupHost('localhost\0.example')),
      };
    });
    assert.deepEqual(r.v4, ['192.0.2.1']);
    assert.deepEqual(r.v6, ['2001:DB8::1'], 'lookupHost returns a numeric host as given');
    assert.deepEqual(r.ip, ['2001:db8::1'], 'lookupIP canonicalizes');
    assert.deepEqual(r.ip4, ['192.0.2.1']);
    assert.deepEqual(r.zone, ['fe80::1%2']);
    assert.ok(r.wrong instanceof AddrError);
    assert.equal(r.wrong.message, 'address ::1: no suitable address found');
    assert.ok(r.empty instanceof DNSError && r.empty.isNotFound);
    assert.ok(r.nul instanceof DNSError && r.nul.isNotFound, 'a name with a NUL is not passed to C');
    assert.deepEqual(blockingPoolStats(), { ...blockingPoolStats(), open: false, calls }, 'the pool was not used');
  });

  it('localhost resolves through getaddrinfo to loopback addresses only', async function () {
    const calls = blockingPoolStats().calls;
    const r = await bounded(function* (ctx) {
      return {
        host: yield* lookupHost('localhost', ctx),
        ip4: yield* lookupIP('ip4', 'localhost', ctx),
        ip6: yield* lookupIP('ip6', 'LOCALHOST.', ctx),
        sub: yield* lookupHost('api.localhost', ctx),
      };
    });
    assert.ok(blockingPoolStats().calls >= calls + 4, 'asked getaddrinfo');
    assert.ok(r.host.length > 0);
    for (const a of [...r.host, ...r.ip4, ...r.ip6, ...r.sub]) {
      assert.ok(/^127\.\d+\.\d+\.\d+$/.test(a) || a === '::1', `${a} is not loopback`);
    }
    assert.ok(r.host.includes('127.0.0.1') || r.host.includes('::1'), r.host.join(' '));
    assert.ok(r.ip4.every((a) => !a.includes(':')) && r.ip4.length > 0, r.ip4.join(' '));
    assert.ok(r.ip6.every((a) => a.includes(':')) && r.ip6.length > 0, r.ip6.join(' '));
  });

  it('a name that does not resolve: DNSError isNotFound, mapped from EAI_NONAME', async function () {
    const r = await bounded(function* (ctx) {
      return yield* thrown(lookupHost('nonexistent.invalid', ctx));
    });
    assert.notEqual(r, DeadlineExceeded);
    assert.ok(r instanceof DNSError, `not a DNSError: ${String(r)}`);
    assert.ok(!r.isTimeout, `the resolver did not answer within ${LOOKUP_MS} ms: ${r.message}`);
    assert.equal(r.isNotFound, true, r.message);
    assert.equal(r.err, 'no such host');
    assert.equal(r.host, 'nonexistent.invalid');
    assert.equal(r.message, 'lookup nonexistent.invalid: no such host');
    assert.ok(r.gaiName === 'EAI_NONAME' || r.gaiName === 'EAI_NODATA', String(r.gaiName));
  });

  it('the raw task: getaddrinfo(host, family) returns addresses as text', async function () {
    const r = await run(function* () {
      return { any: yield* blocking(getaddrinfoTask, 'localhost', 0), v4: yield* blocking(getaddrinfoTask, 'localhost', 4) };
    });
    assert.ok(r.v4.includes('127.0.0.1'), r.v4.join(' '));
    assert.ok(r.any.length >= r.v4.length);
    assert.equal(new Set(r.any).size, r.any.length, 'no duplicates');
  });

  it('a lookup whose context is done: DNSError "operation was canceled" or "i/o timeout", the context error as cause', async function () {
    const r = await run(function* () {
      const [ctx, cancel] = withCancel(background());
      cancel();
      const c = yield* thrown(lookupHost('localhost', ctx));
      const [tctx, tcancel] = withTimeout(background(), 0);
      const t = yield* thrown(lookupIP('ip', 'localhost', tctx));
      tcancel();
      return { c, t };
    });
    assert.ok(r.c instanceof DNSError);
    assert.equal(r.c.message, 'lookup localhost: operation was canceled');
    assert.equal(r.c.cause, Canceled);
    assert.equal(r.c.isTimeout, false);
    assert.ok(r.t instanceof DNSError);
    assert.equal(r.t.message, 'lookup localhost: i/o timeout');
    assert.equal(r.t.cause, DeadlineExceeded);
    assert.equal(r.t.isTimeout, true);
  });
});
