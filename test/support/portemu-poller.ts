// Worker thread for test/netpoll/portemu.test.ts. It binds the event ports of
// the library at job.path in its own thread (koffi loads the same shared
// object, so the port state is the main thread's) and calls port_getn with no
// timeout in a loop, as the runtime's poller thread will, posting every
// result. It stops after an alert or an error other than EINTR. It posts
// 'blocking' once, just before its first call.

import koffi from 'koffi';
import { parentPort, workerData } from 'node:worker_threads';

import {
  bindEventPorts, PORT_EVENT_SIZE, portConstants, readPortEvent, type PortEvent,
} from '../../src/netpoll/eventport_ffi.ts';
import { abi } from '../../src/runtime/abi/index.ts';

export interface PollerJob {
  path: string;
  port: number;
  max: number;
}

export interface PollerResult {
  r: number;
  errno: number;
  nget: number;
  events: PortEvent[];
  /** When port_getn was called: performance.timeOrigin + performance.now(),
   * comparable across threads. */
  calledAt: number;
}

export type PollerMessage = { type: 'blocking' } | ({ type: 'result' } & PollerResult);

function post(m: PollerMessage): void {
  parentPort?.postMessage(m);
}

const job = workerData as PollerJob;
const ports = bindEventPorts(job.path);
const list = new Uint8Array(job.max * PORT_EVENT_SIZE);
const view = new DataView(list.buffer);
const nget = new Uint32Array(1);

post({ type: 'blocking' });
for (;;) {
  nget[0] = 1;
  const calledAt = performance.timeOrigin + performance.now();
  const r = ports.port_getn(job.port, list, job.max, nget, null);
  const errno = r < 0 ? koffi.errno() : 0;
  const events: PortEvent[] = [];
  for (let i = 0; r === 0 && i < nget[0]; i++) events.push(readPortEvent(view, i));
  post({ type: 'result', r, errno, nget: nget[0], events, calledAt });
  if (r < 0 && errno !== abi.errno.EINTR) break;
  if (events.some((e) => e.source === portConstants.PORT_SOURCE_ALERT)) break;
}
