// The error types of src/runtime/errors.ts against Go's: messages, the
// timeout/temporary answers, and the predicates that walk the cause chain
// (errors.Is / errors.As).

import assert from "node:assert/strict";

import { abi, illumosAmd64, linuxX64 } from "../../src/runtime/abi/index.ts";
import {
  AddrError,
  ClosedError,
  DeadlineExceededError,
  ErrClosed,
  ErrDeadlineExceeded,
  Errno,
  OpError,
  PartialWriteError,
  SyscallError,
  errnoOf,
  isClosed,
  isDeadlineExceeded,
  isErrno,
  isTemporary,
  isTimeout,
} from "../../src/runtime/errors.ts";
import { inet4, inet6 } from "../../src/runtime/sockaddr.ts";

const E = abi.errno;

describe("runtime/errors", function () {
  describe("Errno", function () {
    it("has the C name, the number and Go's text", function () {
      const e = new Errno(E.ECONNREFUSED);
      assert.ok(e instanceof Error);
      assert.equal(e.name, "ECONNREFUSED");
      assert.equal(e.code, "ECONNREFUSED");
      assert.equal(e.errno, E.ECONNREFUSED);
      assert.equal(e.message, "connection refused");
      assert.equal(new Errno(E.EPIPE).message, "broken pipe");
      assert.equal(new Errno(E.ECONNRESET).message, "connection reset by peer");
      assert.equal(new Errno(E.EAGAIN).message, "resource temporarily unavailable");
      assert.equal(new Errno(E.EADDRINUSE).message, "address already in use");
    });

    it("reads the values of the table it was made with (illumos numbers differ)", function () {
      const e = new Errno(146, illumosAmd64);
      assert.equal(e.name, "ECONNREFUSED");
      assert.ok(e.is("ECONNREFUSED"));
      assert.equal(new Errno(146, linuxX64).name, "errno 146");
      assert.equal(new Errno(111, linuxX64).name, "ECONNREFUSED");
      assert.equal(new Errno(150, illumosAmd64).message, "operation now in progress");
    });

    it("an errno without a name reads 'errno N', as Go's does", function () {
      const e = new Errno(4095);
      assert.equal(e.message, "errno 4095");
      assert.equal(e.code, "errno 4095");
      assert.equal(e.timeout(), false);
    });

    it("timeout: EAGAIN (= EWOULDBLOCK) and ETIMEDOUT; temporary: those, EINTR, EMFILE, ENFILE", function () {
      const t = (n: number): [boolean, boolean] => [new Errno(n).timeout(), new Errno(n).temporary()];
      assert.deepEqual(t(E.EAGAIN), [true, true]);
      assert.deepEqual(t(E.EWOULDBLOCK), [true, true]);
      assert.deepEqual(t(E.ETIMEDOUT), [true, true]);
      assert.deepEqual(t(E.EINTR), [false, true]);
      assert.deepEqual(t(E.EMFILE), [false, true]);
      assert.deepEqual(t(E.ENFILE), [false, true]);
      assert.deepEqual(t(E.ECONNRESET), [false, false]);
      assert.deepEqual(t(E.ECONNREFUSED), [false, false]);
      assert.ok(new Errno(E.EAGAIN).is("EWOULDBLOCK"));
    });
  });

  describe("SyscallError and OpError", function () {
    const refused = (): SyscallError => new SyscallError("connect", new Errno(E.ECONNREFUSED));

    it("SyscallError: 'connect: connection refused', the Errno as its cause", function () {
      const e = refused();
      assert.equal(e.message, "connect: connection refused");
      assert.equal(e.syscall, "connect");
      assert.ok(e.cause instanceof Errno);
      assert.equal(e.timeout(), false);
      assert.equal(new SyscallError("read", new Errno(E.ETIMEDOUT)).timeout(), true);
    });

    it("OpError reads like Go's: op, net, source->addr, cause", function () {
      const addr = inet4("127.0.0.1", 1);
      assert.equal(new OpError("dial", "tcp", null, addr, refused()).message, "dial tcp 127.0.0.1:1: connect: connection refused");
      const src = inet4("127.0.0.1", 50000);
      const reset = new SyscallError("read", new Errno(E.ECONNRESET));
      assert.equal(
        new OpError("read", "tcp", src, addr, reset).message,
        "read tcp 127.0.0.1:50000->127.0.0.1:1: read: connection reset by peer",
      );
      assert.equal(new OpError("accept", "tcp", null, inet6("::1", 80), ErrClosed).message, "accept tcp [::1]:80: use of closed network connection");
      assert.equal(new OpError("write", "tcp", src, null, ErrDeadlineExceeded).message, "write tcp 127.0.0.1:50000: i/o timeout");
      assert.equal(new OpError("close", "", null, null, ErrClosed).message, "close: use of closed network connection");
      const o = new OpError("dial", "tcp", null, addr, refused());
      assert.equal(o.op, "dial");
      assert.equal(o.net, "tcp");
      assert.equal(o.addr, addr);
      assert.equal(o.source, null);
    });

    it("OpError.timeout goes through a SyscallError to the errno, or asks the cause", function () {
      assert.equal(new OpError("dial", "tcp", null, null, refused()).timeout(), false);
      assert.equal(new OpError("read", "tcp", null, null, ErrDeadlineExceeded).timeout(), true);
      assert.equal(new OpError("read", "tcp", null, null, new SyscallError("read", new Errno(E.ETIMEDOUT))).timeout(), true);
      assert.equal(new OpError("read", "tcp", null, null, ErrClosed).timeout(), false);
      assert.equal(new OpError("read", "tcp", null, null, new Error("plain")).timeout(), false);
    });

    it("OpError.temporary: ECONNRESET and ECONNABORTED from accept are (golang/go#6163), from read they are not", function () {
      const reset = (): SyscallError => new SyscallError("accept", new Errno(E.ECONNRESET));
      assert.equal(new OpError("accept", "tcp", null, null, reset()).temporary(), true);
      assert.equal(new OpError("accept", "tcp", null, null, new SyscallError("accept", new Errno(E.ECONNABORTED))).temporary(), true);
      assert.equal(new OpError("read", "tcp", null, null, reset()).temporary(), false);
      assert.equal(new OpError("accept", "tcp", null, null, new SyscallError("accept", new Errno(E.EMFILE))).temporary(), true);
      assert.equal(new OpError("accept", "tcp", null, null, refused()).temporary(), false);
    });
  });

  describe("sentinels", function () {
    it("ErrClosed: Go's net.ErrClosed text, neither timeout nor temporary", function () {
      assert.ok(ErrClosed instanceof ClosedError);
      assert.equal(ErrClosed.message, "use of closed network connection");
      assert.equal(ErrClosed.timeout(), false);
      assert.equal(ErrClosed.temporary(), false);
      assert.ok(isClosed(ErrClosed));
      assert.ok(!isTimeout(ErrClosed));
    });

    it("ErrDeadlineExceeded: 'i/o timeout', timeout and temporary", function () {
      assert.ok(ErrDeadlineExceeded instanceof DeadlineExceededError);
      assert.equal(ErrDeadlineExceeded.message, "i/o timeout");
      assert.ok(ErrDeadlineExceeded.timeout());
      assert.ok(ErrDeadlineExceeded.temporary());
      assert.ok(isDeadlineExceeded(ErrDeadlineExceeded));
      assert.ok(!isClosed(ErrDeadlineExceeded));
    });
  });

  describe("AddrError and PartialWriteError", function () {
    it("AddrError reads 'address A: why', or just 'why' without an address", function () {
      const e = new AddrError("invalid port", "1.2.3.4:x");
      assert.equal(e.message, "address 1.2.3.4:x: invalid port");
      assert.equal(e.err, "invalid port");
      assert.equal(e.addr, "1.2.3.4:x");
      assert.equal(new AddrError("no suitable address found", "").message, "no suitable address found");
      assert.equal(e.timeout(), false);
      assert.equal(e.temporary(), false);
    });

    it("PartialWriteError carries the count and answers as its cause", function () {
      const e = new PartialWriteError(4096, ErrDeadlineExceeded);
      assert.equal(e.written, 4096);
      assert.equal(e.message, "i/o timeout");
      assert.ok(e.timeout());
      assert.ok(isTimeout(e));
      assert.ok(isDeadlineExceeded(e));
      assert.ok(isClosed(new PartialWriteError(1, ErrClosed)));
      assert.ok(isErrno(new PartialWriteError(1, new SyscallError("write", new Errno(E.EPIPE))), "EPIPE"));
    });
  });

  describe("predicates over the cause chain", function () {
    const chain = (): OpError => new OpError("dial", "tcp", null, null, new SyscallError("connect", new Errno(E.ECONNREFUSED)));

    it("isErrno and errnoOf find the Errno under OpError and SyscallError", function () {
      assert.ok(isErrno(chain(), "ECONNREFUSED"));
      assert.ok(isErrno(chain(), E.ECONNREFUSED));
      assert.ok(!isErrno(chain(), "ECONNRESET"));
      assert.equal(errnoOf(chain())?.errno, E.ECONNREFUSED);
      assert.equal(errnoOf(new Error("x")), null);
      assert.equal(errnoOf(null), null);
      assert.equal(errnoOf("a string"), null);
    });

    it("isTimeout / isTemporary: the first error of the chain that can answer does", function () {
      assert.ok(isTimeout(new OpError("read", "tcp", null, null, ErrDeadlineExceeded)));
      assert.ok(isTimeout(new Error("wrapped", { cause: ErrDeadlineExceeded })));
      assert.ok(!isTimeout(chain()));
      assert.ok(!isTimeout(new Error("plain")));
      assert.ok(!isTimeout(undefined));
      assert.ok(isTemporary(new Errno(E.EINTR)));
      assert.ok(!isTemporary(chain()));
    });

    it("isClosed and isDeadlineExceeded see through wrapping", function () {
      assert.ok(isClosed(new OpError("read", "tcp", null, null, ErrClosed)));
      assert.ok(isDeadlineExceeded(new OpError("read", "tcp", null, null, ErrDeadlineExceeded)));
      assert.ok(!isClosed(chain()));
      // A cycle does not hang the walk.
      const a = new Error("a");
      const b = new Error("b", { cause: a });
      (a as { cause?: unknown }).cause = b;
      assert.ok(!isClosed(a));
    });
  });
});
