// keel::net: TCP, UDP and Unix-domain sockets on Keel's I/O driver, address parsing and DNS.
//
//   #include "net/net.h"
//   absl::StatusOr<keel::net::TcpListener> l = keel::net::TcpListener::bind("127.0.0.1:7000");
//   auto [conn, peer] = *co_await l->accept();
//   co_await keel::io::copy(conn, conn);   // an echo server, one connection
//
// See each header for its API: socket_addr.h (SocketAddr, lookup_host), tcp_stream.h,
// tcp_listener.h (TcpListener, TcpSocket), udp.h (UdpSocket), unix.h (UnixListener,
// UnixStream, UnixDatagram), error.h (io_error, errno_of).
#ifndef KEEL_NET_NET_H_
#define KEEL_NET_NET_H_

#include "net/error.h"
#include "net/socket_addr.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "net/udp.h"
#include "net/unix.h"

#endif  // KEEL_NET_NET_H_
