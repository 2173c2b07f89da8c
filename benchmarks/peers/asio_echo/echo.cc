// Boost.Asio peer of Keel's TCP echo server (apps/echo), run by benchmarks/echo.sh.
//
// The common Asio shape with C++20 coroutines: one io_context run by N threads (2 by default),
// an accept loop and one coroutine per connection (co_spawn + use_awaitable) that
// async_read_some's into a 16 KiB buffer and async_write's what it read back, as in Asio's own
// cpp20 echo example (errors arrive as exceptions and end the connection). Accepted sockets get
// TCP_NODELAY, as Keel's server and the Tokio peer set it. Each connection has one operation
// outstanding at a time, so no strand is needed although two threads run the io_context.
//
// Prints "asio_echo listening on ADDR" to stderr once the acceptor listens (ADDR is the bound
// address, so --listen 127.0.0.1:0 reports the port chosen), and exits 0 on SIGTERM or SIGINT.
//
// usage: asio_echo --listen HOST:PORT [--threads N]
// Build: benchmarks/peers/asio_echo/build.sh (header-only Asio from Debian's libboost-dev).

// Before Asio: Boost 1.74's awaitable.hpp uses std::exchange without including <utility>,
// which g++ 12's headers no longer pull in on their own.
#include <utility>

#include <boost/asio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Threads calling io_context::run() by default: this machine's core count, and what Keel's
// server and the Tokio peer use in echo.sh.
constexpr int kDefaultThreads = 2;
// Read buffer per connection: large enough that one read takes a whole 4 KiB message (or
// several pipelined ones), the same size as Keel's server and the Tokio peer use.
constexpr std::size_t kBufferBytes = 16 * 1024;
// Pause after a failed accept (EMFILE, ENFILE, ...): retrying at once would spin a thread
// while no descriptor is free.
constexpr std::chrono::milliseconds kAcceptBackoff{10};

constexpr std::string_view kUsage =
    "usage: asio_echo --listen HOST:PORT [--threads N]\n"
    "\n"
    "Boost.Asio TCP echo server, the peer of Keel's apps/echo in benchmarks/echo.sh.\n"
    "\n"
    "  --listen HOST:PORT  address to listen on (port 0: any free port; [::1]:PORT for IPv6)\n"
    "  --threads N         threads running the io_context (default 2)\n";

struct Options {
  tcp::endpoint listen;
  int threads = kDefaultThreads;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "asio_echo: %s\n%.*s", message.c_str(), static_cast<int>(kUsage.size()),
               kUsage.data());
  std::exit(2);
}

// "127.0.0.1:7000" or "[::1]:7000" -> endpoint; exits with usage on anything else.
tcp::endpoint parse_endpoint(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    usage_error("--listen needs HOST:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  const unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port > 65535) usage_error("--listen " + text + ": bad port");
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) usage_error("--listen " + text + ": bad address: " + ec.message());
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

Options parse_args(int argc, char** argv) {
  Options options;
  bool have_listen = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool have_value = false;
    // Accept both "--flag value" and "--flag=value".
    if (const std::size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      have_value = true;
    }
    auto next_value = [&]() -> std::string {
      if (have_value) return value;
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      std::exit(0);
    } else if (arg == "--listen") {
      options.listen = parse_endpoint(next_value());
      have_listen = true;
    } else if (arg == "--threads") {
      const std::string text = next_value();
      char* end = nullptr;
      const long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n < 1 || n > 1024) {
        usage_error("--threads needs a positive integer, got '" + text + "'");
      }
      options.threads = static_cast<int>(n);
    } else {
      usage_error("unknown argument: " + std::string(argv[i]));
    }
  }
  if (!have_listen) usage_error("--listen is required");
  return options;
}

// Echoes until the peer closes or an error (a reset at the end of a benchmark is normal).
asio::awaitable<void> echo(tcp::socket socket) {
  try {
    char data[kBufferBytes];
    for (;;) {
      const std::size_t n =
          co_await socket.async_read_some(asio::buffer(data), asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // EOF or reset: the connection is over; the socket closes with the frame.
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      std::fprintf(stderr, "asio_echo: accept: %s\n", ec.message().c_str());
      asio::steady_timer timer(executor, kAcceptBackoff);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // A socket that refuses NODELAY still echoes; ignore the error.
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(executor, echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_args(argc, argv);

  asio::io_context context(options.threads);
  // Signals first, so that a SIGTERM sent right after the ready line is seen.
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&context](const boost::system::error_code&, int) { context.stop(); });

  tcp::acceptor acceptor(context);
  boost::system::error_code ec;
  // The constructor's steps one by one, so that a failure is a message, not an exception.
  // SO_REUSEADDR as Asio's and Tokio's listeners set it.
  acceptor.open(options.listen.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(options.listen, ec);
  if (!ec) acceptor.listen(tcp::acceptor::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "asio_echo: listen %s:%u: %s\n",
                 options.listen.address().to_string().c_str(), options.listen.port(),
                 ec.message().c_str());
    return 1;
  }
  const tcp::endpoint bound = acceptor.local_endpoint();
  const std::string address = bound.address().to_string();
  std::fprintf(stderr, bound.address().is_v6() ? "asio_echo listening on [%s]:%u\n"
                                               : "asio_echo listening on %s:%u\n",
               address.c_str(), bound.port());

  asio::co_spawn(context, accept_loop(acceptor), asio::detached);

  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) {
    threads.emplace_back([&context] { context.run(); });
  }
  context.run();
  for (std::thread& t : threads) t.join();
  return 0;
}
