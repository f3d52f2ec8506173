// illumos on amd64: constants, errno values, struct layouts and library names.
//
// Every value comes from ../shared/illumos-abi.json (key illumos_amd64), which
// derives them from illumos-gate headers (sys/socket.h, sys/errno.h,
// sys/poll.h, sys/port.h, sys/fcntl.h, netinet/in.h, sys/epoll.h) and
// cross-checks them against golang/sys unix/z*_solaris_amd64.go and rust-lang
// libc src/unix/solarish. The json names the exact files and commits; the
// comments below give the header of each group. test/runtime/abi.test.ts
// compares every value with the json.
//
// Traps, all visible below: SOCK_STREAM/SOCK_DGRAM are swapped relative to
// Linux; AF_INET6 is 26; SOL_SOCKET is 0xffff; SOCK_NONBLOCK is not
// O_NONBLOCK; O_NONBLOCK (0x80) is not O_NDELAY; EBADFD is 81; sockaddr_in6 is
// 32 bytes.

import type {
  Abi, EventPortConstants, PollConstants, PortEventLayout,
} from './types.ts';

// sys/poll.h. Also the event bits of port_associate and portev_events.
export const illumosPoll: PollConstants = {
  POLLIN: 0x1,
  POLLPRI: 0x2,
  POLLOUT: 0x4,
  POLLERR: 0x8,
  POLLHUP: 0x10,
  POLLNVAL: 0x20,
  POLLRDNORM: 0x40,
  POLLRDBAND: 0x80,
  POLLWRNORM: 0x4, // == POLLOUT
  POLLWRBAND: 0x100,
  POLLRDHUP: 0x4000,
};

// sys/port.h
export const eventPortConstants: EventPortConstants = {
  PORT_SOURCE_AIO: 1,
  PORT_SOURCE_TIMER: 2,
  PORT_SOURCE_USER: 3,
  PORT_SOURCE_FD: 4,
  PORT_SOURCE_ALERT: 5,
  PORT_SOURCE_MQ: 6,
  PORT_SOURCE_FILE: 7,
  PORT_ALERT_SET: 1,
  PORT_ALERT_UPDATE: 2,
  PORT_ALERT_INVALID: 3,
};

/** port_event_t on amd64; also the layout of the Linux emulation. */
export const portEventLayout: PortEventLayout = {
  size: 24, align: 8,
  fields: {
    portev_events: { offset: 0, size: 4 },
    portev_source: { offset: 4, size: 2 },
    portev_pad: { offset: 6, size: 2 },
    portev_object: { offset: 8, size: 8 },
    portev_user: { offset: 16, size: 8 },
  },
};

export const illumosAmd64: Abi = {
  name: 'illumos-amd64',

  // Public socket entry points are in libsocket.so.1, not libc.so.1 (libc
  // mapfile-vers exports only private _so_* stubs).
  libraries: { libc: 'libc.so.1', libsocket: 'libsocket.so.1' },

  // sys/errno.h
  errno: {
    EPERM: 1, ENOENT: 2, EINTR: 4, EBADF: 9, EAGAIN: 11, EWOULDBLOCK: 11,
    ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EINVAL: 22,
    ENFILE: 23, EMFILE: 24, EPIPE: 32, ENOTSUP: 48, ETIME: 62, EPROTO: 71,
    EBADFD: 81, ENOSYS: 89, ENOTSOCK: 95, EDESTADDRREQ: 96, EMSGSIZE: 97,
    ENOPROTOOPT: 99, EPROTONOSUPPORT: 120, EOPNOTSUPP: 122, EAFNOSUPPORT: 124,
    EADDRINUSE: 125, EADDRNOTAVAIL: 126, ENETDOWN: 127, ENETUNREACH: 128,
    ECONNABORTED: 130, ECONNRESET: 131, ENOBUFS: 132, EISCONN: 133,
    ENOTCONN: 134, ESHUTDOWN: 143, ETIMEDOUT: 145, ECONNREFUSED: 146,
    EHOSTDOWN: 147, EHOSTUNREACH: 148, EALREADY: 149, EINPROGRESS: 150,
  },

  // sys/socket.h, netinet/in.h, netinet/tcp.h
  socket: {
    AF_UNSPEC: 0,
    AF_UNIX: 1,
    AF_INET: 2,
    AF_INET6: 26,
    SOCK_STREAM: 2,
    SOCK_DGRAM: 1,
    SOCK_NONBLOCK: 0x100000,
    SOCK_CLOEXEC: 0x80000,
    SOL_SOCKET: 0xffff,
    SO_REUSEADDR: 0x4,
    SO_REUSEPORT: null, // not in illumos (RFE illumos#12455)
    SO_KEEPALIVE: 0x8,
    SO_LINGER: 0x80,
    SO_SNDBUF: 0x1001,
    SO_RCVBUF: 0x1002,
    SO_ERROR: 0x1007,
    SO_TYPE: 0x1008,
    SOMAXCONN: 128,
    IPPROTO_IP: 0,
    IPPROTO_TCP: 6,
    IPPROTO_IPV6: 41,
    IPV6_V6ONLY: 0x27,
    TCP_NODELAY: 0x1,
    TCP_KEEPIDLE: 0x22,
    TCP_KEEPINTVL: 0x24,
    TCP_KEEPCNT: 0x23,
    SHUT_RD: 0,
    SHUT_WR: 1,
    SHUT_RDWR: 2,
    MSG_PEEK: 0x2,
    MSG_DONTWAIT: 0x80,
    MSG_NOSIGNAL: 0x200,
  },

  // sys/fcntl.h
  fcntl: {
    F_GETFD: 1,
    F_SETFD: 2,
    F_GETFL: 3,
    F_SETFL: 4,
    F_DUPFD_CLOEXEC: 37,
    FD_CLOEXEC: 1,
    O_NONBLOCK: 0x80,
    O_CLOEXEC: 0x800000,
  },

  poll: illumosPoll,
  eventPort: eventPortConstants,
  epoll: null,

  // json "structs"; amd64 is LP64 like Linux x86_64.
  structs: {
    timespec: {
      size: 16, align: 8,
      fields: { tv_sec: { offset: 0, size: 8 }, tv_nsec: { offset: 8, size: 8 } },
    },
    sockaddr_in: {
      size: 16, align: 4,
      fields: {
        sin_family: { offset: 0, size: 2 },
        sin_port: { offset: 2, size: 2 },
        sin_addr: { offset: 4, size: 4 },
        sin_zero: { offset: 8, size: 8 },
      },
    },
    sockaddr_in6: {
      size: 32, align: 4,
      fields: {
        sin6_family: { offset: 0, size: 2 },
        sin6_port: { offset: 2, size: 2 },
        sin6_flowinfo: { offset: 4, size: 4 },
        sin6_addr: { offset: 8, size: 16 },
        sin6_scope_id: { offset: 24, size: 4 },
      },
    },
    sockaddr_un: {
      size: 110, align: 2,
      fields: { sun_family: { offset: 0, size: 2 }, sun_path: { offset: 2, size: 108 } },
    },
    sockaddr_storage: {
      size: 256, align: 8,
      fields: { ss_family: { offset: 0, size: 2 } },
    },
    linger: {
      size: 8, align: 4,
      fields: { l_onoff: { offset: 0, size: 4 }, l_linger: { offset: 4, size: 4 } },
    },
    port_event_t: portEventLayout,
    epoll_event: null,
  },
};
