// Tests of Bytes and BytesMut: construction without allocation, sharing and aliasing (slices
// and split halves outlive and stay independent of their origin; ASan checks the lifetimes),
// growth and reclaiming of the front, bounds violations (death tests), a randomized comparison
// of BytesMut against a std::string model, and Bytes shared across threads (for TSan).

#include "runtime/bytes/bytes.h"

#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace keel {
namespace {

TEST(Bytes, EmptyAndStatic) {
  Bytes e;
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.size(), 0u);
  EXPECT_NE(e.data(), nullptr);
  EXPECT_EQ(e.view(), "");
  Bytes s = Bytes::from_static("hello");
  EXPECT_EQ(s.view(), "hello");
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(s.slice(1, 3), "el");
  EXPECT_EQ(Bytes::copy_from("").size(), 0u);
  EXPECT_EQ(Bytes::from(std::string()).size(), 0u);
}

TEST(Bytes, CopyFromAndFromString) {
  std::string src = "a fairly long string that does not fit in small string optimization";
  Bytes a = Bytes::copy_from(src);
  EXPECT_EQ(a.view(), src);
  EXPECT_NE(a.data(), src.data());
  const char* p = src.data();
  Bytes b = Bytes::from(std::move(src));
  EXPECT_EQ(b.data(), p);  // adopted, not copied
  EXPECT_EQ(a, b);
  Bytes small = Bytes::from(std::string("hi"));  // SSO string: still adopted safely
  EXPECT_EQ(small, "hi");
  Bytes moved = std::move(small);
  EXPECT_EQ(moved, "hi");
}

TEST(Bytes, SliceOutlivesOriginal) {
  Bytes slice;
  {
    Bytes orig = Bytes::copy_from("0123456789");
    slice = orig.slice(2, 7);
    Bytes c = orig.clone();
    EXPECT_EQ(c.data(), orig.data());
  }
  EXPECT_EQ(slice, "23456");  // ASan would flag a use after free
  Bytes sub = slice.slice(1, 3);
  slice = Bytes();
  EXPECT_EQ(sub, "34");
  EXPECT_EQ(sub.slice_from(1), "4");
  EXPECT_EQ(sub.slice(2, 2).size(), 0u);
}

TEST(Bytes, SplitAdvanceTruncate) {
  Bytes b = Bytes::copy_from("hello world");
  Bytes h = b.split_to(5);
  EXPECT_EQ(h, "hello");
  EXPECT_EQ(b, " world");
  b.advance(1);
  EXPECT_EQ(b, "world");
  Bytes tail = b.split_off(3);
  EXPECT_EQ(b, "wor");
  EXPECT_EQ(tail, "ld");
  b.truncate(10);
  EXPECT_EQ(b, "wor");
  b.truncate(1);
  EXPECT_EQ(b, "w");
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(h[4], 'o');
}

TEST(Bytes, Comparisons) {
  Bytes a = Bytes::copy_from("abc");
  Bytes b = Bytes::copy_from("abd");
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, Bytes::from_static("abc"));
  EXPECT_TRUE(a < std::string_view("abd"));
  std::ostringstream os;
  os << a;
  EXPECT_EQ(os.str(), "abc");
}

TEST(BytesMut, EmptyDoesNotAllocate) {
  BytesMut b;
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_TRUE(b.spare().empty());
  EXPECT_EQ(b.view(), "");
  Bytes f = std::move(b).freeze();
  EXPECT_TRUE(f.empty());
  BytesMut c;
  EXPECT_EQ(c.split().size(), 0u);
  EXPECT_EQ(c.split_to(0).size(), 0u);
  c.advance(0);
  c.commit(0);
}

TEST(BytesMut, AppendAndGrow) {
  BytesMut b;
  b.append("hello");
  b.push_back(' ');
  b.append(std::span<const char>("world", 5));
  EXPECT_EQ(b, "hello world");
  EXPECT_GE(b.capacity(), b.size());
  std::string model = b.to_string();
  for (int i = 0; i < 1000; ++i) {
    b.append("0123456789");
    model += "0123456789";
  }
  EXPECT_EQ(b.view(), model);
  b[0] = 'H';
  EXPECT_EQ(b[0], 'H');
  b.resize(3);
  EXPECT_EQ(b, "Hel");
  b.resize(5, 'x');
  EXPECT_EQ(b, "Helxx");
}

TEST(BytesMut, SpareAndCommit) {
  BytesMut b(16);
  EXPECT_GE(b.capacity(), 16u);
  std::span<char> s = b.spare();
  ASSERT_GE(s.size(), 16u);
  std::memcpy(s.data(), "abcd", 4);
  b.commit(4);
  EXPECT_EQ(b, "abcd");
  EXPECT_EQ(b.spare().size(), b.capacity() - 4);
}

TEST(BytesMut, SplitToHalvesAreIndependent) {
  BytesMut b;
  b.append("frame1frame2rest");
  BytesMut f1 = b.split_to(6);
  EXPECT_EQ(f1, "frame1");
  EXPECT_EQ(b, "frame2rest");
  // Appending to the front half must not clobber the back half (it reallocates).
  f1.append("XXXXXXXX");
  EXPECT_EQ(f1, "frame1XXXXXXXX");
  EXPECT_EQ(b, "frame2rest");
  // Appending to the back half must not clobber the front either.
  b.append("more");
  EXPECT_EQ(b, "frame2restmore");
  EXPECT_EQ(f1, "frame1XXXXXXXX");
  Bytes f2 = b.split_to(6).freeze();
  EXPECT_EQ(f2, "frame2");
  {
    BytesMut dropped = std::move(b);
  }
  EXPECT_EQ(f2, "frame2");  // outlives the buffer it came from
}

TEST(BytesMut, SplitToSharesStorage) {
  BytesMut b;
  b.append("abcdefgh");
  const char* p = b.data();
  BytesMut front = b.split_to(3);
  EXPECT_EQ(front.data(), p);
  EXPECT_EQ(b.data(), p + 3);
  Bytes frozen = std::move(front).freeze();
  EXPECT_EQ(frozen.data(), p);  // no copy
  EXPECT_TRUE(front.empty());
}

TEST(BytesMut, SplitTakesAllAndKeepsSpare) {
  BytesMut b(128);
  b.append("abc");
  std::size_t cap = b.capacity();
  BytesMut all = b.split();
  EXPECT_EQ(all, "abc");
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), cap - 3);
  b.append("def");
  EXPECT_EQ(all, "abc");
  EXPECT_EQ(b, "def");
}

TEST(BytesMut, SplitOff) {
  BytesMut b;
  b.append("headtail");
  BytesMut t = b.split_off(4);
  EXPECT_EQ(b, "head");
  EXPECT_EQ(t, "tail");
  b.append("!!");
  EXPECT_EQ(t, "tail");
  EXPECT_EQ(b, "head!!");
}

TEST(BytesMut, AdvanceIsO1AndReserveReclaimsFront) {
  BytesMut b(1024);
  std::size_t cap = b.capacity();
  const char* base = b.data();
  b.append(std::string(1000, 'a'));
  b.advance(990);
  EXPECT_EQ(b.size(), 10u);
  EXPECT_EQ(b.data(), base + 990);
  // Needs more room than is left at the back: reclaims the front instead of growing.
  b.reserve(500);
  EXPECT_EQ(b.data(), base);
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b, std::string(10, 'a'));
}

TEST(BytesMut, ReserveReusesStorageOnceFramesAreDropped) {
  BytesMut b(256);
  const char* base = b.data();
  for (int i = 0; i < 100; ++i) {
    b.reserve(64);
    b.append(std::string(50, static_cast<char>('a' + i % 26)));
    Bytes frame = b.split_to(50).freeze();
    EXPECT_EQ(frame.size(), 50u);
    // frame dropped here: the next reserve() finds the storage unique again
  }
  b.reserve(200);
  EXPECT_EQ(b.data(), base);
}

TEST(BytesMut, ReserveGrowsWhenShared) {
  BytesMut b(64);
  b.append(std::string(64, 'x'));
  Bytes frame = b.split_to(32).freeze();
  b.reserve(100);  // storage is shared with `frame`: must not move data over it
  b.append(std::string(100, 'y'));
  EXPECT_EQ(frame, std::string(32, 'x'));
  EXPECT_EQ(b.view(), std::string(32, 'x') + std::string(100, 'y'));
}

TEST(BytesMut, TruncateAndClear) {
  BytesMut b = BytesMut::copy_from("hello");
  b.truncate(10);
  EXPECT_EQ(b, "hello");
  b.truncate(2);
  EXPECT_EQ(b, "he");
  std::size_t cap = b.capacity();
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), cap);
}

TEST(BytesDeathTest, BoundsViolationsAbort) {
  Bytes b = Bytes::copy_from("abc");
  EXPECT_DEATH((void)b.slice(1, 4), "Bytes::slice: out of bounds");
  EXPECT_DEATH((void)b.slice(3, 2), "begin > end");
  EXPECT_DEATH((void)b[3], "Bytes::operator\\[\\]");
  EXPECT_DEATH(b.advance(4), "Bytes::advance");
  EXPECT_DEATH((void)b.split_to(4), "Bytes::split_to");
  BytesMut m = BytesMut::copy_from("abc");
  EXPECT_DEATH(m.advance(4), "BytesMut::advance");
  EXPECT_DEATH((void)m.split_to(4), "BytesMut::split_to");
  EXPECT_DEATH((void)m.split_off(4), "BytesMut::split_off");
  EXPECT_DEATH(m.commit(m.capacity() - m.size() + 1), "BytesMut::commit");
  EXPECT_DEATH((void)m[3], "BytesMut::operator\\[\\]");
}

// Random operations on a BytesMut checked against a std::string after every step; frozen
// frames are kept for a while and re-checked, so that any aliasing bug shows.
TEST(BytesMut, RandomizedAgainstStringModel) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    BytesMut b;
    std::string model;
    std::vector<std::pair<Bytes, std::string>> kept;
    std::vector<std::pair<BytesMut, std::string>> kept_mut;
    char next = 'a';
    auto fresh = [&](std::size_t n) {
      std::string s;
      for (std::size_t i = 0; i < n; ++i) {
        s.push_back(next);
        next = next == 'z' ? 'a' : static_cast<char>(next + 1);
      }
      return s;
    };
    for (int step = 0; step < 2000; ++step) {
      std::size_t len = model.size();
      switch (rng() % 11) {
        case 0:
        case 1: {
          std::string s = fresh(rng() % 100);
          b.append(s);
          model += s;
          break;
        }
        case 2:
          b.push_back('#');
          model.push_back('#');
          break;
        case 3: {
          std::size_t n = len == 0 ? 0 : rng() % (len + 1);
          b.advance(n);
          model.erase(0, n);
          break;
        }
        case 4: {
          std::size_t n = len == 0 ? 0 : rng() % (len + 1);
          Bytes f = b.split_to(n).freeze();
          EXPECT_EQ(f.view(), model.substr(0, n));
          kept.emplace_back(std::move(f), model.substr(0, n));
          model.erase(0, n);
          break;
        }
        case 5: {
          std::size_t n = len == 0 ? 0 : rng() % (len + 1);
          BytesMut f = b.split_to(n);
          std::string fm = model.substr(0, n);
          f.append("tail");  // writes into the front half must not reach b
          kept_mut.emplace_back(std::move(f), fm + "tail");
          model.erase(0, n);
          break;
        }
        case 6: {
          std::size_t n = rng() % 300;
          b.reserve(n);
          EXPECT_GE(b.capacity() - b.size(), n);
          break;
        }
        case 7: {
          std::size_t n = rng() % 50;
          b.reserve(n);
          std::span<char> sp = b.spare();
          ASSERT_GE(sp.size(), n);
          std::string s = fresh(n);
          if (n > 0) std::memcpy(sp.data(), s.data(), n);
          b.commit(n);
          model += s;
          break;
        }
        case 8: {
          std::size_t n = rng() % (len + 10);
          b.truncate(n);
          if (n < len) model.resize(n);
          break;
        }
        case 9: {
          if (rng() % 10 == 0) {
            b.clear();
            model.clear();
          } else if (len > 0) {
            std::size_t at = rng() % len;
            BytesMut back = b.split_off(at);
            EXPECT_EQ(back.view(), model.substr(at));
            model.resize(at);
            // Give the tail back (models "unsplit" through a copy).
            b.append(back.view());
            model += back.to_string();
          }
          break;
        }
        case 10:
          // Drop some kept frames so the storage can become unique again.
          if (!kept.empty()) kept.erase(kept.begin());
          if (!kept_mut.empty() && rng() % 2 == 0) kept_mut.erase(kept_mut.begin());
          break;
      }
      ASSERT_EQ(b.view(), model) << "round " << round << " step " << step;
      ASSERT_GE(b.capacity(), b.size());
      if (kept.size() > 20) kept.erase(kept.begin());
      if (kept_mut.size() > 20) kept_mut.erase(kept_mut.begin());
    }
    for (auto& [f, m] : kept) EXPECT_EQ(f.view(), m);
    for (auto& [f, m] : kept_mut) EXPECT_EQ(f.view(), m);
  }
}

// A Bytes shared by several threads that copy, slice and drop it concurrently, while the
// producer keeps filling the buffer it came from: TSan checks the reference counting and that
// the buffer never writes into bytes a frame still views.
TEST(Bytes, SharedAcrossThreads) {
  BytesMut buf;
  std::vector<Bytes> frames;
  for (int i = 0; i < 64; ++i) {
    buf.append(std::string(100, static_cast<char>('A' + i % 26)));
    frames.push_back(buf.split_to(100).freeze());
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([frames] {
      for (int round = 0; round < 200; ++round) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
          Bytes s = frames[i].slice(10, 90);
          Bytes c = s;
          ASSERT_EQ(c[0], static_cast<char>('A' + i % 26));
        }
      }
    });
  }
  // Meanwhile this thread reuses the buffer (which shares storage with the frames).
  for (int i = 0; i < 1000; ++i) {
    buf.reserve(100);
    buf.append(std::string(100, 'z'));
    buf.advance(100);
  }
  frames.clear();
  for (auto& th : threads) th.join();
}

}  // namespace
}  // namespace keel
