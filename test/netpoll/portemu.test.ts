// Exercises native/portemu (illumos event ports over epoll) through the koffi
// declarations of src/netpoll/eventport_ffi.ts, with real pipes and socket
// pairs: one-shot delivery, nget and ETIME, re-association and dissociation,
// alerts and user events waking a port_getn blocked in a worker thread, and
// the use-after-close violation counter. Every test checks that it leaves no
// descriptor behind and is bounded in time.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import koffi from 'koffi';

import {
  bindPortEmu, PORT_EVENT_SIZE, portConstants as P, portEmuPath, portEventType,
  portPollBits as POLL, readPortEvent, setTimespec, violationKind,
  type Cookie, type PortEvent,
} from '../../src/netpoll/eventport_ffi.ts';
import { abi, errnoName, portEventLayout } from '../../src/runtime/abi/index.ts';
import type { PollerJob, PollerMessage, PollerResult } from '../support/portemu-poller.ts';

const emu = bindPortEmu();
const E = abi.errno; // the emulation reports the host's (Linux) errno values

const libc = koffi.load(abi.libraries.libc);
const pipe2: (fds: Int32Array, flags: number) => number =
  libc.func('int pipe2(int *fds, int flags)');
const socketpair: (domain: number, type: number, protocol: number, sv: Int32Array) => number =
  libc.func('int socketpair(int domain, int type, int protocol, int *sv)');
const write: (fd: number, buf: Uint8Array, n: number) => number =
  libc.func('long write(int fd, const void *buf, size_t n)');

// --- descriptors -----------------------------------------------------------

/** Descriptors a test opened and has not closed; afterEach closes them. */
const opened = new Set<number>();

function check(r: number, what: string): number {
  if (r < 0) throw new Error(`${what}: ${errnoName(koffi.errno())}`);
  return r;
}

function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  check(pipe2(fds, abi.fcntl.O_NONBLOCK | abi.fcntl.O_CLOEXEC), 'pipe2');
  opened.add(fds[0]).add(fds[1]);
  return [fds[0], fds[1]];
}

function makeSocketPair(): [number, number] {
  const fds = new Int32Array(2);
  const { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC } = abi.socket;
  check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 'socketpair');
  opened.add(fds[0]).add(fds[1]);
  return [fds[0], fds[1]];
}

function writeByte(fd: number): void {
  check(write(fd, Uint8Array.of(1), 1), 'write');
}

/** Closes through the emulation, which does the event-port bookkeeping. */
function closeFd(fd: number): void {
  opened.delete(fd);
  check(emu.close(fd), 'close');
}

/** fd -> what it refers to, so a new file on an old number still shows. */
function openFds(): Map<number, string> {
  const fds = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      fds.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the directory descriptor readdirSync used, closed since
    }
  }
  return fds;
}

// --- port calls ------------------------------------------------------------

interface Got {
  r: number;
  errno: number;
  nget: number;
  events: PortEvent[];
}

const list = new Uint8Array(16 * PORT_EVENT_SIZE);
const listView = new DataView(list.buffer);
const ngetBuf = new Uint32Array(1);
const timespec = new BigInt64Array(2);

/** port_getn; timeoutMs 0 polls. Never waits forever on the main thread. */
function getn(port: number, { nget = 1, max = 8, timeoutMs = 1000 } = {},
  timeout: BigInt64Array = setTimespec(timespec, timeoutMs)): Got {
  ngetBuf[0] = nget;
  list.fill(0);
  const r = emu.port_getn(port, list, max, ngetBuf, timeout);
  const errno = r < 0 ? koffi.errno() : 0;
  const events: PortEvent[] = [];
  if (r === 0 || errno === E.ETIME) {
    const n = Math.min(ngetBuf[0], max); // max 0: nget is a count, nothing was stored
    for (let i = 0; i < n; i++) events.push(readPortEvent(listView, i));
  }
  return { r, errno, nget: ngetBuf[0], events };
}

function fdEvent(fd: number, events: number, user: bigint): PortEvent {
  return { events, source: P.PORT_SOURCE_FD, object: fd, user };
}

function associate(port: number, fd: number, events: number, user: Cookie): void {
  check(emu.port_associate(port, P.PORT_SOURCE_FD, fd, events, user), 'port_associate');
}

/** Asserts that a call failed with errno. */
function fails(r: number, errno: number): void {
  assert.equal(r, -1);
  assert.equal(errnoName(koffi.errno()), errnoName(errno));
}

function noEvents(port: number): void {
  assert.deepEqual(getn(port, { timeoutMs: 0 }), { r: 0, errno: 0, nget: 0, events: [] });
}

// --- worker pollers ----------------------------------------------------------

interface Poller {
  worker: Worker;
  blocking: Promise<void>;
  /** Every result so far, in order. */
  results: PollerResult[];
  first: Promise<PollerResult>;
  exited: Promise<unknown>;
}

const pollers = new Set<Poller>();

// tsx's --import hook does not reach a worker's entry module (Node 20), so a
// small eval'd bootstrap imports the TypeScript worker through tsx's API.
const pollerModule = new URL('../support/portemu-poller.ts', import.meta.url).href;
const pollerBootstrap = `import('tsx/esm/api').then((tsx) => tsx.tsImport(
  ${JSON.stringify(pollerModule)}, ${JSON.stringify(import.meta.url)}))`;

/** Starts a worker that polls port until an alert or an error. */
function spawnPoller(port: number): Poller {
  const job: PollerJob = { path: portEmuPath, port, max: 8 };
  const worker = new Worker(pollerBootstrap, { eval: true, workerData: job });
  const results: PollerResult[] = [];
  let blocked!: () => void;
  let done!: (res: PollerResult) => void;
  let failed!: (e: unknown) => void;
  const blocking = new Promise<void>((resolve) => { blocked = resolve; });
  const first = new Promise<PollerResult>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  worker.on('message', (m: PollerMessage) => {
    if (m.type === 'blocking') return blocked();
    results.push(m);
    done(m);
  });
  worker.on('error', (e) => failed(e));
  const p = { worker, blocking, results, first, exited: once(worker, 'exit') };
  pollers.add(p);
  void p.exited.then(() => pollers.delete(p));
  return p;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Busy-waits ms milliseconds: finer than any timer. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Waits until the poller is (almost certainly) inside port_getn. */
async function untilBlocked(p: Poller): Promise<void> {
  await within(p.blocking, 5000, 'worker start');
  await sleep(50);
}

const now = (): number => performance.timeOrigin + performance.now();

/** The first result of a poller, which must have been inside port_getn well
 * before wokenAt, when the main thread acted to wake it. */
async function woken(p: Poller, wokenAt: number): Promise<PollerResult> {
  const res = await within(p.first, 2000, 'port_getn in the worker');
  assert.ok(res.calledAt < wokenAt - 10,
    `port_getn was called ${res.calledAt - wokenAt} ms from the wake-up, not blocked`);
  return res;
}

/** Alerts the port (if not -1) to stop its pollers, and waits for them. */
async function stopPollers(port: number): Promise<void> {
  if (pollers.size > 0 && port >= 0) emu.port_alert(port, P.PORT_ALERT_SET, POLL.POLLHUP, 0);
  await within(Promise.all([...pollers].map((p) => p.exited)), 5000, 'pollers exit');
}

// ---------------------------------------------------------------------------

describe('netpoll/portemu: illumos event ports over epoll', function () {
  this.timeout(10000);

  let port = -1;
  let fdsBefore = new Map<number, string>();

  beforeEach(() => {
    fdsBefore = openFds();
    emu.resetViolations();
    port = check(emu.port_create(), 'port_create');
    opened.add(port);
  });

  afterEach(async () => {
    // Pollers still running (woken by something else, or a test failed)
    // block in port_getn: wake them so that they can end.
    await stopPollers(opened.has(port) ? port : -1);
    for (const fd of opened) emu.close(fd);
    opened.clear();
    const leaked = [...openFds()].filter(([fd, what]) => fdsBefore.get(fd) !== what);
    assert.deepEqual(leaked, [], 'descriptors left open');
  });

  it("koffi's port_event_t has the illumos amd64 layout", () => {
    assert.equal(koffi.sizeof(portEventType), portEventLayout.size);
    assert.equal(koffi.alignof(portEventType), portEventLayout.align);
    for (const [field, { offset }] of Object.entries(portEventLayout.fields)) {
      assert.equal(koffi.offsetof(portEventType, field), offset, field);
    }
  });

  it('delivers an fd event once; the next needs port_associate again', () => {
    const [r, w] = makePipe();
    const cookie = 0xdead_beef_0000_0001n; // above 2^53: a full 64-bit cookie
    writeByte(w);
    associate(port, r, POLL.POLLIN, cookie);
    assert.deepEqual(getn(port), { r: 0, errno: 0, nget: 1, events: [fdEvent(r, POLL.POLLIN, cookie)] });

    // Still readable, but the association was used up: the port sleeps (a
    // level-triggered registration left armed would make it spin).
    const cpu = process.cpuUsage();
    assert.deepEqual(getn(port, { timeoutMs: 100 }), { r: -1, errno: E.ETIME, nget: 0, events: [] });
    const { user, system } = process.cpuUsage(cpu);
    assert.ok(user + system < 50_000, `${(user + system) / 1000} ms of CPU in a 100 ms wait`);

    // Level-triggered: re-arming a ready fd fires at once.
    associate(port, r, POLL.POLLIN, 2);
    assert.deepEqual(getn(port).events, [fdEvent(r, POLL.POLLIN, 2n)]);
  });

  it('reports POLLHUP even when not asked for', () => {
    const [r, w] = makePipe();
    associate(port, r, 0, 3); // events 0: Go's netpollopen does this
    closeFd(w);
    assert.deepEqual(getn(port).events, [fdEvent(r, POLL.POLLHUP, 3n)]);
  });

  it('port_getn with nget 2 times out with ETIME and the partial count', () => {
    const [ra, wa] = makePipe();
    const [rb, wb] = makePipe();
    writeByte(wa);
    associate(port, ra, POLL.POLLIN, 1);
    associate(port, rb, POLL.POLLIN, 2);

    const t0 = performance.now();
    const got = getn(port, { nget: 2, timeoutMs: 100 });
    const elapsed = performance.now() - t0;
    assert.deepEqual(got, { r: -1, errno: E.ETIME, nget: 1, events: [fdEvent(ra, POLL.POLLIN, 1n)] });
    assert.ok(elapsed >= 99 && elapsed < 2000, `waited ${elapsed} ms for a 100 ms timeout`);

    // With both ready, nget 2 is satisfied at once.
    associate(port, ra, POLL.POLLIN, 1);
    writeByte(wb);
    const both = getn(port, { nget: 2 });
    assert.equal(both.r, 0);
    assert.deepEqual(both.events.map((e) => e.user).sort(), [1n, 2n]);
  });

  it('port_getn: max 0 counts, nget 0 returns at once, nget > max is EINVAL, a zero timeout polls', () => {
    const [r, w] = makePipe();
    writeByte(w);
    associate(port, r, POLL.POLLIN, 4);

    assert.deepEqual(getn(port, { max: 0 }), { r: 0, errno: 0, nget: 1, events: [] });
    assert.deepEqual(getn(port, { nget: 0 }), { r: 0, errno: 0, nget: 0, events: [] });
    assert.deepEqual(getn(port, { nget: 3, max: 2 }), { r: -1, errno: E.EINVAL, nget: 3, events: [] });
    // Fewer than nget, but a poll succeeds with what there is.
    assert.deepEqual(getn(port, { nget: 2, timeoutMs: 0 }),
      { r: 0, errno: 0, nget: 1, events: [fdEvent(r, POLL.POLLIN, 4n)] });
    noEvents(port);
    // An invalid timeout is EINVAL, and leaves nget alone.
    assert.deepEqual(getn(port, {}, BigInt64Array.of(0n, 1_000_000_000n)),
      { r: -1, errno: E.EINVAL, nget: 1, events: [] });
  });

  it('re-association replaces events and user, and drops an event fired before it', () => {
    const [s0] = makeSocketPair(); // writable, not readable
    associate(port, s0, POLL.POLLIN, 10);
    associate(port, s0, POLL.POLLOUT, 11);
    assert.deepEqual(getn(port).events, [fdEvent(s0, POLL.POLLOUT, 11n)]);
    noEvents(port);

    // Two fire; one is retrieved, the other waits in the port queue.
    const [ra, wa] = makePipe();
    const [rb, wb] = makePipe();
    writeByte(wa);
    writeByte(wb);
    associate(port, ra, POLL.POLLIN, 20);
    associate(port, rb, POLL.POLLIN, 21);
    const first = getn(port, { max: 1 }).events;
    assert.equal(first.length, 1);
    const queued = first[0].object === ra ? rb : ra;
    associate(port, queued, POLL.POLLIN, 22);
    assert.deepEqual(getn(port).events, [fdEvent(queued, POLL.POLLIN, 22n)]);
    noEvents(port);
  });

  it('port_dissociate: 0 while armed or fired, ENOENT once retrieved or gone', () => {
    const [r, w] = makePipe();
    associate(port, r, POLL.POLLIN, 30);
    assert.equal(emu.port_dissociate(port, P.PORT_SOURCE_FD, r), 0);
    fails(emu.port_dissociate(port, P.PORT_SOURCE_FD, r), E.ENOENT);
    writeByte(w);
    noEvents(port);

    associate(port, r, POLL.POLLIN, 31); // fires at once
    assert.equal(getn(port, { max: 0 }).nget, 1);
    assert.equal(emu.port_dissociate(port, P.PORT_SOURCE_FD, r), 0);
    noEvents(port); // the fired event went with the association

    associate(port, r, POLL.POLLIN, 32);
    assert.equal(getn(port).nget, 1);
    fails(emu.port_dissociate(port, P.PORT_SOURCE_FD, r), E.ENOENT);
  });

  it('close() drops the associations and queued events of the fd', () => {
    const [r, w] = makePipe();
    writeByte(w);
    associate(port, r, POLL.POLLIN, 40);
    assert.equal(getn(port, { max: 0 }).nget, 1);
    closeFd(r);
    noEvents(port);
  });

  it('rejects a bad port, source or object', () => {
    const [r, w] = makePipe();
    fails(emu.port_associate(w, P.PORT_SOURCE_FD, r, POLL.POLLIN, 1), E.EBADFD); // not a port
    fails(emu.port_associate(1 << 20, P.PORT_SOURCE_FD, r, POLL.POLLIN, 1), E.EBADF);
    fails(emu.port_associate(port, P.PORT_SOURCE_USER, r, POLL.POLLIN, 1), E.EINVAL);
    fails(emu.port_dissociate(port, P.PORT_SOURCE_TIMER, r), E.EINVAL);
    assert.equal(emu.violations(), 0);
  });

  it('port_alert: SET, UPDATE, EBUSY, EINVAL; queued events wait until it is cleared', () => {
    const { PORT_ALERT_SET: SET, PORT_ALERT_UPDATE: UPDATE } = P;
    check(emu.port_send(port, 5, 50), 'port_send');
    assert.equal(emu.port_alert(port, UPDATE, POLL.POLLHUP, 51), 0);
    fails(emu.port_alert(port, UPDATE, POLL.POLLHUP, 52), E.EBUSY);
    fails(emu.port_alert(port, SET | UPDATE, POLL.POLLHUP, 53), E.EINVAL);
    assert.equal(emu.port_alert(port, SET, POLL.POLLIN, 54), 0); // overwrites

    const alert = { events: POLL.POLLIN, source: P.PORT_SOURCE_ALERT, object: 0, user: 54n };
    assert.deepEqual(getn(port), { r: 0, errno: 0, nget: 1, events: [alert] });
    assert.deepEqual(getn(port, { nget: 2 }).events, [alert]); // not consumed
    assert.equal(getn(port, { max: 0 }).nget, 1); // the user event is still queued

    assert.equal(emu.port_alert(port, 0, 0, 0), 0); // events 0 clears
    const user = { events: 5, source: P.PORT_SOURCE_USER, object: 0, user: 50n };
    assert.deepEqual(getn(port).events, [user]);
    noEvents(port);
  });

  describe('a port_getn blocked in a worker thread', () => {
    it('is woken by port_alert from the main thread', async () => {
      const p = spawnPoller(port);
      await untilBlocked(p);
      const at = now();
      check(emu.port_alert(port, P.PORT_ALERT_UPDATE, POLL.POLLHUP, 0x60), 'port_alert');
      const res = await woken(p, at);
      assert.deepEqual([res.r, res.nget, res.events],
        [0, 1, [{ events: POLL.POLLHUP, source: P.PORT_SOURCE_ALERT, object: 0, user: 0x60n }]]);
    });

    it('is woken by port_send from the main thread', async () => {
      const p = spawnPoller(port);
      await untilBlocked(p);
      const at = now();
      check(emu.port_send(port, 0x42, 0x61), 'port_send');
      const res = await woken(p, at);
      assert.deepEqual([res.r, res.nget, res.events],
        [0, 1, [{ events: 0x42, source: P.PORT_SOURCE_USER, object: 0, user: 0x61n }]]);
    });

    it('is woken by an fd the main thread associates', async () => {
      const [r, w] = makePipe();
      const p = spawnPoller(port);
      await untilBlocked(p);
      const at = now();
      associate(port, r, POLL.POLLIN, 0x62);
      writeByte(w);
      const res = await woken(p, at);
      assert.deepEqual(res.events, [fdEvent(r, POLL.POLLIN, 0x62n)]);
    });

    it('every waiter gets the alert, until it is cleared', async () => {
      const a = spawnPoller(port);
      const b = spawnPoller(port);
      await Promise.all([untilBlocked(a), untilBlocked(b)]);
      const at = now();
      check(emu.port_alert(port, P.PORT_ALERT_SET, POLL.POLLHUP, 0x63), 'port_alert');
      const alert = { events: POLL.POLLHUP, source: P.PORT_SOURCE_ALERT, object: 0, user: 0x63n };
      for (const res of await Promise.all([woken(a, at), woken(b, at)])) {
        assert.deepEqual(res.events, [alert]);
      }
      check(emu.port_alert(port, 0, 0, 0), 'port_alert');
      assert.deepEqual(getn(port, { timeoutMs: 30 }), { r: -1, errno: E.ETIME, nget: 0, events: [] });
    });

    it('never gets the event of an association replaced while it was in flight', async () => {
      // The worker's epoll_wait may return an event for association 2i just
      // as the main thread replaces it with 2i+1 (POLLIN, never ready). That
      // event must be dropped, not delivered under the new association.
      const [s] = makeSocketPair(); // always writable, never readable
      const p = spawnPoller(port);
      await untilBlocked(p);
      // The window is a few microseconds at a random point of the worker's
      // wake-up; the spins spread the attempts over it and let the worker get
      // back into epoll_wait. Without the generation check in port.c this
      // fails 10 runs out of 10 (30 tried).
      for (let i = 0; i < 3000; i++) {
        associate(port, s, POLL.POLLOUT, 2 * i);
        spin(Math.random() * 0.05);
        associate(port, s, POLL.POLLIN, 2 * i + 1);
        spin(0.1);
      }
      await sleep(20);
      await stopPollers(port);
      const fdEvents = p.results.flatMap((res) => res.events)
        .filter((e) => e.source === P.PORT_SOURCE_FD);
      for (const e of fdEvents) {
        assert.deepEqual([e.events, e.user % 2n], [POLL.POLLOUT, 0n], `event ${e.user}`);
      }
    });

    it('returns EBADFD when the port is closed under it', async () => {
      const p = spawnPoller(port);
      await untilBlocked(p);
      const at = now();
      closeFd(port);
      const res = await woken(p, at);
      assert.deepEqual([res.r, res.errno, res.nget], [-1, E.EBADFD, 1]);
    });
  });

  describe('violation counter', () => {
    it('counts port_associate with a cookie whose fd was closed (Go issue 7410)', () => {
      const [r] = makePipe();
      associate(port, r, POLL.POLLIN, 0x7410);
      assert.equal(emu.port_dissociate(port, P.PORT_SOURCE_FD, r), 0); // as Go does
      closeFd(r);
      // The poller re-arms the stale cookie; the fd number is still free.
      fails(emu.port_associate(port, P.PORT_SOURCE_FD, r, POLL.POLLIN, 0x7410), E.EBADFD);
      assert.equal(emu.violations(), 1);
      assert.equal(emu.violationsOf(violationKind.associateAfterClose), 1);
      assert.deepEqual(emu.lastViolation(),
        { kind: violationKind.associateAfterClose, fd: r, closedFd: r, user: 0x7410n });
    });

    it('counts it when the fd number went to another file, though the call succeeds', () => {
      const [r] = makePipe();
      associate(port, r, POLL.POLLIN, 0x100);
      closeFd(r);
      const [r2] = makePipe();
      assert.equal(r2, r, 'precondition: the lowest free number is reused');
      associate(port, r2, POLL.POLLIN, 0x100); // an unrelated file, registered
      assert.equal(emu.violationsOf(violationKind.associateAfterClose), 1);
      assert.deepEqual(emu.lastViolation(),
        { kind: violationKind.associateAfterClose, fd: r2, closedFd: r, user: 0x100n });
    });

    it('does not count a new file on the same fd number with a new cookie', () => {
      const [r] = makePipe();
      associate(port, r, POLL.POLLIN, 0x200);
      closeFd(r);
      const [r2] = makePipe();
      assert.equal(r2, r, 'precondition: the lowest free number is reused');
      associate(port, r2, POLL.POLLIN, 0x201);
      // Re-arming a live cookie is legitimate, after retrieval or dissociate.
      const [s0] = makeSocketPair(); // writable
      associate(port, s0, POLL.POLLOUT, 0x202);
      assert.deepEqual(getn(port).events, [fdEvent(s0, POLL.POLLOUT, 0x202n)]);
      associate(port, s0, POLL.POLLOUT, 0x202);
      assert.equal(emu.port_dissociate(port, P.PORT_SOURCE_FD, s0), 0);
      associate(port, s0, POLL.POLLOUT, 0x202);
      assert.equal(emu.violations(), 0);
      assert.equal(emu.lastViolation(), null);
    });

    it('does not track NULL cookies', () => {
      const [r] = makePipe();
      associate(port, r, POLL.POLLIN, 0);
      closeFd(r);
      const [r2] = makePipe();
      associate(port, r2, POLL.POLLIN, 0);
      assert.equal(emu.violations(), 0);
    });

    it('counts calls naming a closed descriptor, and resets', () => {
      const [r] = makePipe();
      closeFd(r); // never associated: no cookie to recognise
      fails(emu.port_associate(port, P.PORT_SOURCE_FD, r, POLL.POLLIN, 0x300), E.EBADFD);
      fails(emu.port_dissociate(port, P.PORT_SOURCE_FD, r), E.EBADFD);
      assert.equal(emu.violationsOf(violationKind.associateBadFd), 1);
      assert.equal(emu.violationsOf(violationKind.dissociateBadFd), 1);
      assert.equal(emu.violations(), 2);
      assert.equal(emu.resetViolations(), 2);
      assert.equal(emu.violations(), 0);
      assert.equal(emu.lastViolation(), null);
    });
  });
});
