// Picks the ABI table of the running OS, in one place, and names errno values.
//
// Node reports illumos (and Solaris) as process.platform 'sunos'. Only the
// pairs with a table are accepted: a wrong table would not fail loudly, it
// would pass wrong numbers to the kernel.

import { illumosAmd64 } from './illumos-amd64.ts';
import { linuxX64 } from './linux-x64.ts';
import { errnoNames, type Abi, type ErrnoName } from './types.ts';

export type * from './types.ts';
export { errnoNames } from './types.ts';
export {
  eventPortConstants, illumosAmd64, illumosPoll, portEventLayout,
} from './illumos-amd64.ts';
export { linuxX64 } from './linux-x64.ts';

/** Returns the table for platform and arch (process.platform, process.arch). */
export function selectAbi(platform: string, arch: string): Abi {
  if (platform === 'sunos' && arch === 'x64') return illumosAmd64;
  if (platform === 'linux' && arch === 'x64') return linuxX64;
  throw new Error(`gort: no ABI table for ${platform}/${arch}`);
}

/** The ABI of this process. */
export const abi: Abi = selectAbi(process.platform, process.arch);

// errno value -> name, per table; the first name in errnoNames wins on ties.
const namesByTable = new Map<Abi, ReadonlyMap<number, ErrnoName>>();

function errnoNamesOf(table: Abi): ReadonlyMap<number, ErrnoName> {
  let names = namesByTable.get(table);
  if (names === undefined) {
    const m = new Map<number, ErrnoName>();
    for (const name of errnoNames) {
      const value = table.errno[name];
      if (!m.has(value)) m.set(value, name);
    }
    namesByTable.set(table, m);
    names = m;
  }
  return names;
}

/** Returns the name of an errno value ('EAGAIN'), or 'errno N' if unknown. */
export function errnoName(errno: number, table: Abi = abi): string {
  return errnoNamesOf(table).get(errno) ?? `errno ${errno}`;
}
