// Socket addresses (src/runtime/sockaddr.ts): IP text in and out, the
// kernel encodings for both ABI tables byte by byte, and the errors for bad
// addresses and ports. The kernel's side is in fd.test.ts (bind,
// getsockname, accept).

import assert from "node:assert/strict";

import { illumosAmd64, linuxX64, type Abi } from "../../src/runtime/abi/index.ts";
import { AddrError } from "../../src/runtime/errors.ts";
import {
  SockaddrInet4,
  SockaddrInet6,
  SockaddrUnix,
  decodeSockaddr,
  encodeSockaddr,
  familyOf,
  formatIP,
  formatIPv6,
  inet4,
  inet6,
  joinHostPort,
  parseAddrPort,
  parseIP,
  parseIPv4,
  parseIPv6,
  sockaddrOf,
  sockaddrStorageSize,
  splitHostPort,
  unix,
} from "../../src/runtime/sockaddr.ts";

const tables: [string, Abi][] = [
  ["linux-x64", linuxX64],
  ["illumos-amd64", illumosAmd64],
];

function bytes(...xs: number[]): Uint8Array {
  return Uint8Array.from(xs);
}

function v6(s: string): Uint8Array {
  const b = parseIPv6(s);
  assert.ok(b !== null, `${s} should parse`);
  return b;
}

function throwsAddr(f: () => unknown, message: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof AddrError, `expected an AddrError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("runtime/sockaddr", function () {
  describe("IP text", function () {
    it("IPv4: four decimal fields 0-255, no leading zeros", function () {
      assert.deepEqual(parseIPv4("127.0.0.1"), bytes(127, 0, 0, 1));
      assert.deepEqual(parseIPv4("255.255.255.255"), bytes(255, 255, 255, 255));
      assert.deepEqual(parseIPv4("0.0.0.0"), bytes(0, 0, 0, 0));
      for (const bad of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 ", "", "a.b.c.d", "1..2.3", "-1.2.3.4", "::1"]) {
        assert.equal(parseIPv4(bad), null, bad);
      }
    });

    it("IPv6: RFC 4291 text, :: and an IPv4 tail", function () {
      assert.deepEqual(v6("::"), new Uint8Array(16));
      assert.deepEqual(v6("::1"), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
      assert.deepEqual(v6("1::"), bytes(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
      assert.deepEqual(v6("2001:DB8::1"), bytes(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
      assert.deepEqual(v6("1:2:3:4:5:6:7:8"), bytes(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8));
      assert.deepEqual(v6("1:2:3:4:5:6:7::"), bytes(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0));
      assert.deepEqual(v6("::ffff:1.2.3.4"), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4));
      assert.deepEqual(v6("64:ff9b::192.0.2.33"), bytes(0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33));
      for (const bad of ["1:2:3:4:5:6:7:8:9", ":::", "1::2::3", "12345::", "g::1", "::1%1", "1:2:3:4:5:6:7", "", "1.2.3.4", "[::1]", "::1.2.3"]) {
        assert.equal(parseIPv6(bad), null, bad);
      }
    });

    it("parseIP picks the family from the text", function () {
      assert.equal(parseIP("10.0.0.1")?.length, 4);
      assert.equal(parseIP("::ffff:10.0.0.1")?.length, 16);
      assert.equal(parseIP("example.com"), null);
    });

    it("IPv6 out: RFC 5952 (lowercase, longest zero run of 2+, the first on ties), mapped as dotted", function () {
      const cases: [string, string][] = [
        ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
        ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
        ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group stays
        ["1:0:0:2:0:0:0:3", "1:0:0:2::3"], // the longest run
        ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"], // the first of equal runs
        ["2001:0DB8:00AB:0000:0000:0000:0000:0001", "2001:db8:ab::1"],
        ["0:0:0:0:0:0:0:0", "::"],
        ["0:0:0:0:0:0:0:1", "::1"],
        ["1:0:0:0:0:0:0:0", "1::"],
        ["::ffff:192.0.2.1", "192.0.2.1"], // Go's net.IP.String
        ["::192.0.2.1", "::c000:201"], // IPv4-compatible is not mapped
      ];
      for (const [input, want] of cases) assert.equal(formatIPv6(v6(input)), want, input);
      assert.equal(formatIP(bytes(10, 1, 2, 3)), "10.1.2.3");
    });

    it("IPv6 round trip on random addresses, and the same text as the WHATWG URL serializer", function () {
      const rand = rng(42);
      for (let i = 0; i < 2000; i++) {
        const b = new Uint8Array(16);
        // Mostly zero groups, so that runs of every length occur.
        for (let g = 0; g < 8; g++) {
          if (rand() < 0.5) continue;
          b[g * 2] = rand() < 0.5 ? 0 : Math.floor(rand() * 256);
          b[g * 2 + 1] = Math.floor(rand() * 256);
        }
        const s = formatIPv6(b);
        assert.deepEqual(parseIP(s.includes(":") ? s : `::ffff:${s}`), b, s);
        if (!s.includes(".")) assert.equal(new URL(`http://[${s}]/`).hostname, `[${s}]`);
      }
    });
  });

  describe("building addresses", function () {
    it("sockaddrOf follows the text; a numeric zone is the scope id", function () {
      const a = sockaddrOf("127.0.0.1", 80);
      assert.ok(a instanceof SockaddrInet4);
      assert.equal(a.toString(), "127.0.0.1:80");
      const b = sockaddrOf("::1", 443);
      assert.ok(b instanceof SockaddrInet6);
      assert.equal(b.toString(), "[::1]:443");
      const c = sockaddrOf("fe80::1%3", 8080);
      assert.ok(c instanceof SockaddrInet6);
      assert.equal(c.scopeId, 3);
      assert.equal(c.toString(), "[fe80::1%3]:8080");
      assert.equal(sockaddrOf("::ffff:1.2.3.4", 1).family, "inet6"); // the family of the text, not of the address
      assert.equal(inet6("::1", 0, 7).scopeId, 7);
      assert.equal(inet4(bytes(10, 0, 0, 1), 5).toString(), "10.0.0.1:5");
      assert.equal(unix("/tmp/s").toString(), "/tmp/s");
    });

    it("bad addresses and ports are AddrErrors with Go's messages", function () {
      throwsAddr(() => sockaddrOf("localhost", 80), "address localhost: not an IP address");
      throwsAddr(() => sockaddrOf("1.2.3.4", 65536), "address 1.2.3.4:65536: invalid port");
      throwsAddr(() => sockaddrOf("1.2.3.4", -1), "address 1.2.3.4:-1: invalid port");
      throwsAddr(() => sockaddrOf("1.2.3.4", 1.5), "address 1.2.3.4:1.5: invalid port");
      throwsAddr(() => sockaddrOf("::1", NaN), "address [::1]:NaN: invalid port");
      throwsAddr(() => sockaddrOf("fe80::1%eth0", 80), "address fe80::1%eth0: zone must be a numeric interface index");
      throwsAddr(() => sockaddrOf("1.2.3.4%1", 80), "address 1.2.3.4%1: not an IP address");
      throwsAddr(() => inet4("::1", 80), "address ::1: not an IPv4 address");
      throwsAddr(() => inet6("1.2.3.4", 80), "address 1.2.3.4: not an IPv6 address");
      assert.throws(() => new SockaddrInet4(new Uint8Array(3), 1), RangeError);
      assert.throws(() => new SockaddrInet6(new Uint8Array(16), 70000), RangeError);
    });

    it("splitHostPort and parseAddrPort as Go's SplitHostPort", function () {
      assert.deepEqual(splitHostPort("127.0.0.1:80"), ["127.0.0.1", "80"]);
      assert.deepEqual(splitHostPort("[::1]:80"), ["::1", "80"]);
      assert.deepEqual(splitHostPort("[fe80::1%2]:80"), ["fe80::1%2", "80"]);
      assert.deepEqual(splitHostPort("host:http"), ["host", "http"]);
      assert.deepEqual(splitHostPort(":0"), ["", "0"]);
      assert.deepEqual(splitHostPort("[::1]:"), ["::1", ""]);
      throwsAddr(() => splitHostPort("1.2.3.4"), "address 1.2.3.4: missing port in address");
      throwsAddr(() => splitHostPort("[::1]"), "address [::1]: missing port in address");
      throwsAddr(() => splitHostPort("::1:80"), "address ::1:80: too many colons in address");
      throwsAddr(() => splitHostPort("[::1]:80:90"), "address [::1]:80:90: too many colons in address");
      throwsAddr(() => splitHostPort("[::1]x:80"), "address [::1]x:80: missing port in address");
      throwsAddr(() => splitHostPort("[::1:80"), "address [::1:80: missing ']' in address");
      throwsAddr(() => splitHostPort("a[b:80"), "address a[b:80: unexpected '[' in address");
      throwsAddr(() => splitHostPort("a]b:80"), "address a]b:80: unexpected ']' in address");
      assert.equal(parseAddrPort("127.0.0.1:8080").toString(), "127.0.0.1:8080");
      assert.equal(parseAddrPort("[::1]:80").toString(), "[::1]:80");
      assert.equal(parseAddrPort("1.2.3.4:").port, 0);
      throwsAddr(() => parseAddrPort("1.2.3.4:x"), "address 1.2.3.4:x: invalid port");
      throwsAddr(() => parseAddrPort("1.2.3.4:99999"), "address 1.2.3.4:99999: invalid port");
      throwsAddr(() => parseAddrPort("1.2.3.4:-1"), "address 1.2.3.4:-1: invalid port");
      assert.equal(joinHostPort("::1", 80), "[::1]:80");
      assert.equal(joinHostPort("1.2.3.4", "80"), "1.2.3.4:80");
    });
  });

  for (const [name, table] of tables) {
    describe(`kernel encoding (${name})`, function () {
      const AF_INET6 = table.socket.AF_INET6;

      it("sockaddr_in: family (host order), port (network order), address, zero padding", function () {
        const b = encodeSockaddr(inet4("127.0.0.1", 0x1234), table);
        assert.deepEqual(b, bytes(2, 0, 0x12, 0x34, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0));
        const d = decodeSockaddr(b, b.length, table);
        assert.ok(d instanceof SockaddrInet4);
        assert.equal(d.toString(), "127.0.0.1:4660");
      });

      it(`sockaddr_in6: ${table.structs.sockaddr_in6.size} bytes, AF_INET6 = ${AF_INET6}, flowinfo big-endian, scope id host order`, function () {
        const sa = new SockaddrInet6(v6("fe80::1:2"), 443, 0x01020304, 0x000abcde);
        const b = encodeSockaddr(sa, table);
        assert.equal(b.length, table.name === "linux-x64" ? 28 : 32);
        const want = new Uint8Array(b.length);
        want.set([AF_INET6 & 0xff, AF_INET6 >> 8, 0x01, 0xbb, 0x00, 0x0a, 0xbc, 0xde]);
        want.set(v6("fe80::1:2"), 8);
        want.set([4, 3, 2, 1], 24);
        assert.deepEqual(b, want); // on illumos, __sin6_src_id (28..31) stays zero
        const d = decodeSockaddr(b, b.length, table);
        assert.ok(d instanceof SockaddrInet6);
        assert.equal(d.scopeId, 0x01020304);
        assert.equal(d.flowinfo, 0x000abcde);
        assert.equal(d.port, 443);
        assert.equal(d.ip(), `fe80::1:2%${0x01020304}`);
      });

      it("sockaddr_un: the length counts the path and its NUL; the longest path is 107 bytes", function () {
        const b = encodeSockaddr(unix("/tmp/x.sock"), table);
        assert.equal(b.length, 2 + 11 + 1);
        assert.deepEqual(b.subarray(0, 2), bytes(1, 0));
        assert.equal(new TextDecoder().decode(b.subarray(2, 13)), "/tmp/x.sock");
        assert.equal(b[13], 0);
        assert.equal((decodeSockaddr(b, b.length, table) as SockaddrUnix).path, "/tmp/x.sock");
        assert.equal(encodeSockaddr(unix("/" + "a".repeat(106)), table).length, 110);
        throwsAddr(() => encodeSockaddr(unix("/" + "a".repeat(107)), table), `address /${"a".repeat(107)}: unix socket path longer than 107 bytes`);
        throwsAddr(() => encodeSockaddr(unix("a\0b"), table), "address a\0b: unix socket path contains a NUL byte");
        assert.equal(encodeSockaddr(unix(""), table).length, 2); // unnamed (autobind)
        // Multi-byte UTF-8 counts in bytes.
        assert.equal(encodeSockaddr(unix("/tmp/é"), table).length, 2 + 7 + 1);
        assert.equal((decodeSockaddr(encodeSockaddr(unix("/tmp/é"), table), 10, table) as SockaddrUnix).path, "/tmp/é");
      });

      it("abstract unix names: '@' means sun_path[0] = 0 on Linux only", function () {
        const b = encodeSockaddr(unix("@gort"), table);
        if (table.name === "linux-x64") {
          assert.deepEqual(b, bytes(1, 0, 0, 0x67, 0x6f, 0x72, 0x74)); // no NUL counted
          assert.equal((decodeSockaddr(b, b.length, table) as SockaddrUnix).path, "@gort");
        } else {
          assert.deepEqual(b, bytes(1, 0, 0x40, 0x67, 0x6f, 0x72, 0x74, 0));
        }
      });

      it("decoding: unnamed unix is '', a short or unknown address is null", function () {
        const storage = new Uint8Array(sockaddrStorageSize(table));
        storage[0] = 1; // AF_UNIX
        assert.equal((decodeSockaddr(storage, 2, table) as SockaddrUnix).path, "");
        assert.equal(decodeSockaddr(storage, 0, table), null);
        storage[0] = 0; // AF_UNSPEC
        assert.equal(decodeSockaddr(storage, 16, table), null);
        storage[0] = 2; // AF_INET, but too short
        assert.equal(decodeSockaddr(storage, 8, table), null);
        assert.equal(familyOf(inet6("::1", 1), table), AF_INET6);
        assert.equal(familyOf(unix("/x"), table), 1);
        assert.equal(familyOf(inet4("1.2.3.4", 1), table), 2);
      });
    });
  }
});
