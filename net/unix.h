// keel::net's Unix-domain sockets in one include: UnixAddr (unix_addr.h: paths and "@abstract"
// names), UnixListener and UnixStream (unix_stream.h: streams, peer credentials) and
// UnixDatagram (unix_datagram.h).
//
//   #include "net/unix.h"
//   absl::StatusOr<keel::net::UnixListener> l = keel::net::UnixListener::bind("@echo");
//   absl::StatusOr<keel::net::UnixStream> c = co_await keel::net::UnixStream::connect("@echo");
//
// Thread-safety: see each header.
#ifndef KEEL_NET_UNIX_H_
#define KEEL_NET_UNIX_H_

#include "net/unix_addr.h"
#include "net/unix_datagram.h"
#include "net/unix_stream.h"

#endif  // KEEL_NET_UNIX_H_
