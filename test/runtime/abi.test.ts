// Checks every value of the per-OS ABI tables against ../shared/illumos-abi.json,
// the research notes they were written from: constants and errno values by C
// name, struct sizes and field offsets, library names. A typo in a table, or a
// name the json does not know, fails here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  abi, errnoName, errnoNames, illumosAmd64, linuxX64, selectAbi,
  type Abi, type Layout,
} from '../../src/runtime/abi/index.ts';

const json: unknown = JSON.parse(
  readFileSync(new URL('../../../shared/illumos-abi.json', import.meta.url), 'utf8'));

type OsKey = 'illumos_amd64' | 'linux_x86_64';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** json[k0][k1]...; fails the test if a step is missing. */
function at(v: unknown, ...path: string[]): unknown {
  for (const k of path) {
    assert.ok(isRecord(v) && k in v, `illumos-abi.json has no ${path.join('.')}`);
    v = v[k];
  }
  return v;
}

const constantGroups = ['socket', 'fcntl', 'poll', 'eventPort', 'epoll'] as const;

function checkConstants(table: Abi, os: OsKey): void {
  for (const group of constantGroups) {
    const values = table[group];
    if (values === null) continue;
    for (const [name, value] of Object.entries(values)) {
      assert.equal(value, at(json, 'constants', name, os), `${table.name} ${name}`);
    }
  }
}

function checkErrno(table: Abi, os: OsKey): void {
  for (const name of errnoNames) {
    assert.equal(table.errno[name], at(json, 'errno', name, os), `${table.name} ${name}`);
  }
  const documented = at(json, 'errno');
  assert.ok(isRecord(documented));
  assert.deepEqual(Object.keys(documented).sort(), [...errnoNames].sort(),
    'the tables cover exactly the errno values of the json');
}

function jsonLayout(name: string, os: OsKey): unknown {
  const s = at(json, 'structs', name);
  return at(s, 'platform') === 'DIFFERS' ? at(s, os) : s;
}

function checkLayout(table: Abi, name: string, layout: Layout<string>, os: OsKey): void {
  const want = jsonLayout(name, os);
  assert.equal(layout.size, at(want, 'size'), `${table.name} sizeof ${name}`);
  assert.equal(layout.align, at(want, 'align'), `${table.name} alignof ${name}`);
  const fields = at(want, 'fields');
  assert.ok(Array.isArray(fields));
  for (const [field, { offset, size }] of Object.entries(layout.fields)) {
    const f: unknown = fields.find((x: unknown) => at(x, 'name') === field);
    assert.ok(f !== undefined, `${table.name} ${name}.${field} is not in the json`);
    assert.equal(offset, at(f, 'offset'), `${table.name} offsetof ${name}.${field}`);
    assert.equal(size, at(f, 'size'), `${table.name} sizeof ${name}.${field}`);
  }
}

function checkLayouts(table: Abi, os: OsKey): void {
  for (const [name, layout] of Object.entries(table.structs)) {
    if (layout !== null) checkLayout(table, name, layout, os);
  }
}

/** The json describes a library as "soname  (what it exports...)". */
function checkLibrary(os: OsKey, key: string, soname: string): void {
  const text = at(json, 'libraries', os, key);
  assert.equal(typeof text === 'string' && text.split(' ')[0], soname, `${os} ${key}`);
}

describe('runtime/abi', () => {
  describe('illumos-amd64 matches illumos-abi.json', () => {
    it('constants', () => checkConstants(illumosAmd64, 'illumos_amd64'));
    it('errno', () => checkErrno(illumosAmd64, 'illumos_amd64'));
    it('struct layouts', () => {
      assert.notEqual(illumosAmd64.structs.port_event_t, null);
      checkLayouts(illumosAmd64, 'illumos_amd64');
    });
    it('libraries', () => {
      checkLibrary('illumos_amd64', 'libc', illumosAmd64.libraries.libc);
      checkLibrary('illumos_amd64', 'libsocket', illumosAmd64.libraries.libsocket);
    });
  });

  describe('linux-x64 matches illumos-abi.json', () => {
    it('constants', () => checkConstants(linuxX64, 'linux_x86_64'));
    it('has no event ports, as the json says', () => {
      assert.equal(linuxX64.eventPort, null);
      for (const name of Object.keys(illumosAmd64.eventPort ?? {})) {
        assert.equal(at(json, 'constants', name, 'linux_x86_64'), null, name);
      }
    });
    it('errno', () => checkErrno(linuxX64, 'linux_x86_64'));
    it('struct layouts', () => checkLayouts(linuxX64, 'linux_x86_64'));
    it('libraries', () => {
      checkLibrary('linux_x86_64', 'libc', linuxX64.libraries.libc);
      assert.equal(linuxX64.libraries.libsocket, linuxX64.libraries.libc);
    });
  });

  it('both tables define the same names', () => {
    for (const group of ['socket', 'fcntl', 'poll'] as const) {
      assert.deepEqual(Object.keys(illumosAmd64[group]), Object.keys(linuxX64[group]), group);
    }
  });

  it('selects the table by platform and arch', () => {
    assert.equal(selectAbi('sunos', 'x64'), illumosAmd64);
    assert.equal(selectAbi('linux', 'x64'), linuxX64);
    assert.throws(() => selectAbi('linux', 'arm64'), /no ABI table/);
    assert.throws(() => selectAbi('darwin', 'x64'), /no ABI table/);
    assert.equal(abi, selectAbi(process.platform, process.arch));
  });

  it('names errno values, the first name winning on shared values', () => {
    assert.equal(errnoName(11, illumosAmd64), 'EAGAIN');
    assert.equal(errnoName(81, illumosAmd64), 'EBADFD');
    assert.equal(errnoName(122, illumosAmd64), 'EOPNOTSUPP');
    assert.equal(errnoName(48, illumosAmd64), 'ENOTSUP');
    assert.equal(errnoName(95, linuxX64), 'EOPNOTSUPP');
    assert.equal(errnoName(62, linuxX64), 'ETIME');
    assert.equal(errnoName(4242, linuxX64), 'errno 4242');
  });
});
