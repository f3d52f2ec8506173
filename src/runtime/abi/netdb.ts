// <netdb.h> for getaddrinfo(3): the layout of struct addrinfo and the EAI_*
// error codes, per OS. Kept apart from the main ABI tables (types.ts,
// linux-x64.ts, illumos-amd64.ts), whose every struct is checked against
// ../shared/illumos-abi.json, which has no netdb entries; only the resolver
// task of the blocking pool (src/runtime/blocking-worker.ts) reads this file.
//
// Sources: glibc resolv/netdb.h (Linux x86_64) and illumos-gate
// usr/src/head/netdb.h, cross-checked with rust-lang libc
// src/unix/linux_like/mod.rs and src/unix/solarish/mod.rs.
//
// Trap: the two orders of ai_addr and ai_canonname differ. glibc puts
// ai_addr first (offset 24, canonname 32); illumos keeps the BSD order,
// ai_canonname at 24 and ai_addr at 32. The EAI_* codes differ too: negative
// on glibc, small positive numbers on illumos.

import type { Field } from './types.ts';

export type AddrinfoField =
  | 'ai_flags' | 'ai_family' | 'ai_socktype' | 'ai_protocol' | 'ai_addrlen'
  | 'ai_canonname' | 'ai_addr' | 'ai_next';

export interface AddrinfoLayout {
  readonly size: number;
  readonly align: number;
  readonly fields: Readonly<Record<AddrinfoField, Field>>;
}

/** EAI_* codes; null where the OS does not define the name. */
export interface EaiCodes {
  readonly EAI_ADDRFAMILY: number | null;
  readonly EAI_AGAIN: number;
  readonly EAI_BADFLAGS: number;
  readonly EAI_FAIL: number;
  readonly EAI_FAMILY: number;
  readonly EAI_MEMORY: number;
  readonly EAI_NODATA: number | null;
  readonly EAI_NONAME: number;
  readonly EAI_SERVICE: number;
  readonly EAI_SOCKTYPE: number;
  readonly EAI_SYSTEM: number;
  readonly EAI_OVERFLOW: number;
}

export interface Netdb {
  readonly addrinfo: AddrinfoLayout;
  readonly eai: EaiCodes;
}

export const netdbLinuxX64: Netdb = {
  addrinfo: {
    size: 48, align: 8,
    fields: {
      ai_flags: { offset: 0, size: 4 },
      ai_family: { offset: 4, size: 4 },
      ai_socktype: { offset: 8, size: 4 },
      ai_protocol: { offset: 12, size: 4 },
      ai_addrlen: { offset: 16, size: 4 },
      ai_addr: { offset: 24, size: 8 },
      ai_canonname: { offset: 32, size: 8 },
      ai_next: { offset: 40, size: 8 },
    },
  },
  // EAI_NODATA and EAI_ADDRFAMILY are GNU extensions (__USE_GNU), returned
  // by getaddrinfo all the same.
  eai: {
    EAI_BADFLAGS: -1, EAI_NONAME: -2, EAI_AGAIN: -3, EAI_FAIL: -4,
    EAI_NODATA: -5, EAI_FAMILY: -6, EAI_SOCKTYPE: -7, EAI_SERVICE: -8,
    EAI_ADDRFAMILY: -9, EAI_MEMORY: -10, EAI_SYSTEM: -11, EAI_OVERFLOW: -12,
  },
};

export const netdbIllumosAmd64: Netdb = {
  addrinfo: {
    size: 48, align: 8,
    fields: {
      ai_flags: { offset: 0, size: 4 },
      ai_family: { offset: 4, size: 4 },
      ai_socktype: { offset: 8, size: 4 },
      ai_protocol: { offset: 12, size: 4 },
      ai_addrlen: { offset: 16, size: 4 }, // no _ai_pad: that is sparcv9 only
      ai_canonname: { offset: 24, size: 8 },
      ai_addr: { offset: 32, size: 8 },
      ai_next: { offset: 40, size: 8 },
    },
  },
  eai: {
    EAI_ADDRFAMILY: 1, EAI_AGAIN: 2, EAI_BADFLAGS: 3, EAI_FAIL: 4,
    EAI_FAMILY: 5, EAI_MEMORY: 6, EAI_NODATA: 7, EAI_NONAME: 8,
    EAI_SERVICE: 9, EAI_SOCKTYPE: 10, EAI_SYSTEM: 11, EAI_OVERFLOW: 12,
  },
};

/** The netdb table for platform and arch, as selectAbi in index.ts. */
export function selectNetdb(platform: string, arch: string): Netdb {
  if (platform === 'sunos' && arch === 'x64') return netdbIllumosAmd64;
  if (platform === 'linux' && arch === 'x64') return netdbLinuxX64;
  throw new Error(`gort: no netdb table for ${platform}/${arch}`);
}

/** The EAI_* name of a code ('EAI_NONAME'), or 'EAI N' if unknown. */
export function eaiName(code: number, table: Netdb): string {
  for (const [name, value] of Object.entries(table.eai)) if (value === code) return name;
  return `EAI ${code}`;
}
