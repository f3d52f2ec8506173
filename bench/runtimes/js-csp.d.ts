// The part of js-csp (1.x, untyped) that bench/runtimes/jscsp.ts uses.
declare module "js-csp" {
  namespace csp {
    interface Channel {
      close(): void;
      readonly closed: boolean;
    }
    /** An instruction a process yields: put, take, alts. */
    interface Instruction {
      readonly __instruction: unique symbol;
    }
    interface AltResult {
      readonly value: unknown;
      readonly channel: Channel;
    }
    type Process = (...args: never[]) => Generator<Instruction, unknown, unknown>;
    /** The value a take yields on a closed, drained channel. */
    const CLOSED: null;
    function chan(bufferOrNumber?: number): Channel;
    /** Starts f(...args) as a process; the returned channel gets its result. */
    function go<A extends unknown[]>(f: (...args: A) => Generator<Instruction, unknown, unknown>, args?: A): Channel;
    function put(ch: Channel, value: unknown): Instruction;
    function take(ch: Channel): Instruction;
    function alts(ops: ReadonlyArray<Channel | [Channel, unknown]>, options?: { priority?: boolean; default?: unknown }): Instruction;
    function putAsync(ch: Channel, value: unknown, callback?: (ok: boolean) => void): void;
    function takeAsync(ch: Channel, callback: (value: unknown) => void): void;
  }
  export = csp;
}
