// Linux on x86_64 (glibc): constants, errno values, struct layouts and
// library names.
//
// Every value comes from ../shared/illumos-abi.json (key linux_x86_64), which
// takes them from golang/sys unix/z*_linux*.go and rust-lang libc
// src/unix/linux_like; the json names the exact files and commits.
// test/runtime/abi.test.ts compares every value with the json. Only x86_64:
// epoll_event is packed there and not on arm64, and several socket options
// differ on mips and sparc.

import type { Abi } from './types.ts';

export const linuxX64: Abi = {
  name: 'linux-x64',

  // glibc exports everything, sockets and epoll included.
  libraries: { libc: 'libc.so.6', libsocket: 'libc.so.6' },

  // asm-generic/errno-base.h, asm-generic/errno.h
  errno: {
    EPERM: 1, ENOENT: 2, EINTR: 4, EBADF: 9, EAGAIN: 11, EWOULDBLOCK: 11,
    ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EINVAL: 22,
    ENFILE: 23, EMFILE: 24, EPIPE: 32, ENOSYS: 38, ETIME: 62, EPROTO: 71,
    EBADFD: 77, ENOTSOCK: 88, EDESTADDRREQ: 89, EMSGSIZE: 90, ENOPROTOOPT: 92,
    EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, ENOTSUP: 95, EAFNOSUPPORT: 97,
    EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100, ENETUNREACH: 101,
    ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106,
    ENOTCONN: 107, ESHUTDOWN: 108, ETIMEDOUT: 110, ECONNREFUSED: 111,
    EHOSTDOWN: 112, EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115,
  },

  // sys/socket.h, netinet/in.h, netinet/tcp.h
  socket: {
    AF_UNSPEC: 0,
    AF_UNIX: 1,
    AF_INET: 2,
    AF_INET6: 10,
    SOCK_STREAM: 1,
    SOCK_DGRAM: 2,
    SOCK_NONBLOCK: 0x800, // == O_NONBLOCK
    SOCK_CLOEXEC: 0x80000, // == O_CLOEXEC
    SOL_SOCKET: 1,
    SO_REUSEADDR: 2,
    SO_REUSEPORT: 15,
    SO_KEEPALIVE: 9,
    SO_LINGER: 13,
    SO_SNDBUF: 7,
    SO_RCVBUF: 8,
    SO_ERROR: 4,
    SO_TYPE: 3,
    SOMAXCONN: 4096, // header value; the kernel clamps to net.core.somaxconn
    IPPROTO_IP: 0,
    IPPROTO_TCP: 6,
    IPPROTO_IPV6: 41,
    IPV6_V6ONLY: 26,
    TCP_NODELAY: 1,
    TCP_KEEPIDLE: 4,
    TCP_KEEPINTVL: 5,
    TCP_KEEPCNT: 6,
    SHUT_RD: 0,
    SHUT_WR: 1,
    SHUT_RDWR: 2,
    MSG_PEEK: 0x2,
    MSG_DONTWAIT: 0x40,
    MSG_NOSIGNAL: 0x4000,
  },

  // asm-generic/fcntl.h
  fcntl: {
    F_GETFD: 1,
    F_SETFD: 2,
    F_GETFL: 3,
    F_SETFL: 4,
    F_DUPFD_CLOEXEC: 1030,
    FD_CLOEXEC: 1,
    O_NONBLOCK: 0x800,
    O_CLOEXEC: 0x80000,
  },

  // asm-generic/poll.h
  poll: {
    POLLIN: 0x1,
    POLLPRI: 0x2,
    POLLOUT: 0x4,
    POLLERR: 0x8,
    POLLHUP: 0x10,
    POLLNVAL: 0x20,
    POLLRDNORM: 0x40,
    POLLRDBAND: 0x80,
    POLLWRNORM: 0x100,
    POLLWRBAND: 0x200,
    POLLRDHUP: 0x2000,
  },

  // Linux has no event ports. native/portemu emulates them with illumos's
  // constants, poll bits and layout; see src/netpoll/eventport_ffi.ts.
  eventPort: null,

  // sys/epoll.h
  epoll: {
    EPOLLIN: 0x1,
    EPOLLPRI: 0x2,
    EPOLLOUT: 0x4,
    EPOLLERR: 0x8,
    EPOLLHUP: 0x10,
    EPOLLRDHUP: 0x2000,
    EPOLLONESHOT: 0x40000000,
    EPOLLET: 0x80000000,
    EPOLL_CTL_ADD: 1,
    EPOLL_CTL_DEL: 2,
    EPOLL_CTL_MOD: 3,
    EPOLL_CLOEXEC: 0x80000,
  },

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
      size: 28, align: 4,
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
      size: 128, align: 8,
      fields: { ss_family: { offset: 0, size: 2 } },
    },
    linger: {
      size: 8, align: 4,
      fields: { l_onoff: { offset: 0, size: 4 }, l_linger: { offset: 4, size: 4 } },
    },
    port_event_t: null,
    // __attribute__((packed)) on x86_64: data is an unaligned u64 at 4.
    epoll_event: {
      size: 12, align: 4,
      fields: { events: { offset: 0, size: 4 }, data: { offset: 4, size: 8 } },
    },
  },
};
