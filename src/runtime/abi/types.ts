// The shape of a per-OS ABI table: the constants, errno values, struct layouts
// and library names the runtime needs to talk to the kernel through koffi.
//
// One table per OS (illumos-amd64.ts, linux-x64.ts), selected in index.ts.
// Keys are the C names, so a table reads like the headers it comes from and
// can be checked mechanically against ../shared/illumos-abi.json
// (test/runtime/abi.test.ts). A value of null means the OS does not define the
// name; code must check for it rather than guess a number.

/** errno names the runtime handles by name. Order matters only in errnoName:
 * where two names share a value (EAGAIN/EWOULDBLOCK; EOPNOTSUPP/ENOTSUP on
 * Linux) the earlier one is reported. */
export const errnoNames = [
  'EPERM', 'ENOENT', 'EINTR', 'EBADF', 'EAGAIN', 'EWOULDBLOCK', 'ENOMEM',
  'EACCES', 'EFAULT', 'EBUSY', 'EEXIST', 'EINVAL', 'ENFILE', 'EMFILE', 'EPIPE',
  'ETIME', 'EPROTO', 'EBADFD', 'ENOSYS', 'ENOTSOCK', 'EDESTADDRREQ',
  'EMSGSIZE', 'ENOPROTOOPT', 'EPROTONOSUPPORT', 'EOPNOTSUPP', 'ENOTSUP',
  'EAFNOSUPPORT', 'EADDRINUSE', 'EADDRNOTAVAIL', 'ENETDOWN', 'ENETUNREACH',
  'ECONNABORTED', 'ECONNRESET', 'ENOBUFS', 'EISCONN', 'ENOTCONN', 'ESHUTDOWN',
  'ETIMEDOUT', 'ECONNREFUSED', 'EHOSTDOWN', 'EHOSTUNREACH', 'EALREADY',
  'EINPROGRESS',
] as const;

export type ErrnoName = (typeof errnoNames)[number];

export type ErrnoTable = Readonly<Record<ErrnoName, number>>;

export interface Libraries {
  /** Soname of the C library: fcntl, close, read, write, pipe2, port_*. */
  readonly libc: string;
  /** Soname that exports socket, bind, listen, accept4, connect, setsockopt,
   * getsockopt, shutdown, send, recv. The same as libc on Linux. */
  readonly libsocket: string;
}

export interface SocketConstants {
  readonly AF_UNSPEC: number;
  readonly AF_UNIX: number;
  readonly AF_INET: number;
  readonly AF_INET6: number;
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  /** Flags or-ed into the type of socket() and the flags of accept4(). */
  readonly SOCK_NONBLOCK: number;
  readonly SOCK_CLOEXEC: number;
  readonly SOL_SOCKET: number;
  readonly SO_REUSEADDR: number;
  readonly SO_REUSEPORT: number | null;
  readonly SO_KEEPALIVE: number;
  readonly SO_LINGER: number;
  readonly SO_SNDBUF: number;
  readonly SO_RCVBUF: number;
  readonly SO_ERROR: number;
  readonly SO_TYPE: number;
  readonly SOMAXCONN: number;
  readonly IPPROTO_IP: number;
  readonly IPPROTO_TCP: number;
  readonly IPPROTO_IPV6: number;
  readonly IPV6_V6ONLY: number;
  readonly TCP_NODELAY: number;
  readonly TCP_KEEPIDLE: number;
  readonly TCP_KEEPINTVL: number;
  readonly TCP_KEEPCNT: number;
  readonly SHUT_RD: number;
  readonly SHUT_WR: number;
  readonly SHUT_RDWR: number;
  readonly MSG_PEEK: number;
  readonly MSG_DONTWAIT: number;
  /** Suppresses SIGPIPE on send. illumos has it since about 2017 only; Node
   * ignores SIGPIPE anyway, so it is belt and braces. */
  readonly MSG_NOSIGNAL: number;
}

export interface FcntlConstants {
  readonly F_GETFD: number;
  readonly F_SETFD: number;
  readonly F_GETFL: number;
  readonly F_SETFL: number;
  readonly F_DUPFD_CLOEXEC: number;
  readonly FD_CLOEXEC: number;
  readonly O_NONBLOCK: number;
  readonly O_CLOEXEC: number;
}

/** poll(2) bits; also the event bits of port_associate and port_event_t. */
export interface PollConstants {
  readonly POLLIN: number;
  readonly POLLPRI: number;
  readonly POLLOUT: number;
  readonly POLLERR: number;
  readonly POLLHUP: number;
  readonly POLLNVAL: number;
  readonly POLLRDNORM: number;
  readonly POLLRDBAND: number;
  readonly POLLWRNORM: number;
  readonly POLLWRBAND: number;
  readonly POLLRDHUP: number;
}

export interface EventPortConstants {
  readonly PORT_SOURCE_AIO: number;
  readonly PORT_SOURCE_TIMER: number;
  readonly PORT_SOURCE_USER: number;
  readonly PORT_SOURCE_FD: number;
  readonly PORT_SOURCE_ALERT: number;
  readonly PORT_SOURCE_MQ: number;
  readonly PORT_SOURCE_FILE: number;
  readonly PORT_ALERT_SET: number;
  readonly PORT_ALERT_UPDATE: number;
  readonly PORT_ALERT_INVALID: number;
}

export interface EpollConstants {
  readonly EPOLLIN: number;
  readonly EPOLLPRI: number;
  readonly EPOLLOUT: number;
  readonly EPOLLERR: number;
  readonly EPOLLHUP: number;
  readonly EPOLLRDHUP: number;
  readonly EPOLLONESHOT: number;
  readonly EPOLLET: number;
  readonly EPOLL_CTL_ADD: number;
  readonly EPOLL_CTL_DEL: number;
  readonly EPOLL_CTL_MOD: number;
  readonly EPOLL_CLOEXEC: number;
}

export interface Field {
  readonly offset: number;
  readonly size: number;
}

export interface Layout<F extends string> {
  readonly size: number;
  readonly align: number;
  readonly fields: Readonly<Record<F, Field>>;
}

export type PortEventLayout = Layout<
  'portev_events' | 'portev_source' | 'portev_pad' | 'portev_object' | 'portev_user'>;

export interface StructLayouts {
  readonly timespec: Layout<'tv_sec' | 'tv_nsec'>;
  readonly sockaddr_in: Layout<'sin_family' | 'sin_port' | 'sin_addr' | 'sin_zero'>;
  /** Common fields only: illumos adds __sin6_src_id (must be zero) and is 32
   * bytes where Linux is 28; pass size as the address length. */
  readonly sockaddr_in6: Layout<
    'sin6_family' | 'sin6_port' | 'sin6_flowinfo' | 'sin6_addr' | 'sin6_scope_id'>;
  readonly sockaddr_un: Layout<'sun_family' | 'sun_path'>;
  readonly sockaddr_storage: Layout<'ss_family'>;
  readonly linger: Layout<'l_onoff' | 'l_linger'>;
  readonly port_event_t: PortEventLayout | null;
  readonly epoll_event: Layout<'events' | 'data'> | null;
}

export interface Abi {
  readonly name: 'illumos-amd64' | 'linux-x64';
  readonly libraries: Libraries;
  readonly errno: ErrnoTable;
  readonly socket: SocketConstants;
  readonly fcntl: FcntlConstants;
  readonly poll: PollConstants;
  /** Event ports; null where the OS has none. */
  readonly eventPort: EventPortConstants | null;
  /** epoll; null where the runtime does not use it (illumos has an epoll
   * emulation, but Go and libuv use event ports there; see
   * netpoll-protocol.md section 8). */
  readonly epoll: EpollConstants | null;
  readonly structs: StructLayouts;
}
